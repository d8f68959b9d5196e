/* Install a filter with a user-notification listener, or one synchronised over
 * all threads, or one that turns off speculation mitigations. */
#include "escape.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog program = {1, &allow};
    expect_failure("seccomp(NEW_LISTENER)", raw3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program));
    expect_failure("seccomp(TSYNC)", raw3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program));
    expect_failure("seccomp(SPEC_ALLOW)", raw3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &program));
    expect_failure("prctl(PR_SET_PTRACER, any)", raw2(SYS_prctl, 0x59616d61, -1));
    expect_failure("prctl(PR_SET_DUMPABLE, 0)", raw2(SYS_prctl, 4, 0));
    return verdict();
}
