/* Start a child the guard cannot follow (CLONE_UNTRACED) and escape from it. */
#include "escape.h"
#include <sched.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long pid = raw5(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        /* Untraced: the RET_TRACE calls would fail, but try anyway. */
        long fd = raw4(SYS_openat, AT_FDCWD, host_file, O_WRONLY, 0);
        if (fd >= 0) raw3(SYS_write, fd, "pwned\n", 6);
        raw1(SYS_exit_group, 0);
    }
    expect_failure("clone(CLONE_UNTRACED)", pid);
    pid = raw5(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) raw1(SYS_exit_group, 0);
    expect_failure("clone(CLONE_PARENT)", pid);
    return verdict();
}
