/* Start a child in a new user namespace with clone3, whose flags live in guest
 * memory (the guard checks a pinned copy of struct clone_args). */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    unsigned long a[11] = {0x10000000 /* CLONE_NEWUSER */, 0, 0, 0, 17 /* SIGCHLD */};
    long pid = raw2(SYS_clone3, a, 88);
    if (pid == 0) raw1(SYS_exit_group, 0);  /* the child of an escape: leave */
    expect_failure("clone3(CLONE_NEWUSER)", pid);
    a[0] = 0x00800000;  /* CLONE_UNTRACED */
    pid = raw2(SYS_clone3, a, 88);
    if (pid == 0) raw1(SYS_exit_group, 0);
    expect_failure("clone3(CLONE_UNTRACED)", pid);
    return verdict();
}
