/* Install an allow-everything filter of our own, then try denied calls: a new
 * filter can only add restrictions. */
#include "escape.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog program = {1, &allow};
    long r = raw3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
    printf("installed allow-all filter: %ld\n", r);
    expect_failure("ptrace(PTRACE_ATTACH, supervisor) after", raw4(SYS_ptrace, PTRACE_ATTACH, raw0(SYS_getppid), 0, 0));
    expect_failure("openat(host file, O_WRONLY) after", raw4(SYS_openat, AT_FDCWD, host_file, O_WRONLY, 0));
    expect_failure("mount after", raw5(SYS_mount, "none", allowed_dir, "tmpfs", 0, 0));
    return verdict();
}
