/* Signal the supervisor's threads directly. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    long parent = raw0(SYS_getppid);
    expect_failure("tgkill(supervisor)", raw3(SYS_tgkill, parent, parent, SIGKILL));
    expect_failure("tkill(supervisor)", raw2(SYS_tkill, parent, SIGKILL));
    siginfo_t info = {0};
    info.si_signo = SIGKILL;
    expect_failure("rt_sigqueueinfo(supervisor)", raw3(SYS_rt_sigqueueinfo, parent, SIGKILL, &info));
    expect_failure("pidfd_open(supervisor)", raw2(SYS_pidfd_open, parent, 0));
    return verdict();
}
