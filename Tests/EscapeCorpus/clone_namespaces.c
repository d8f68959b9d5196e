/* Start a child in new namespaces with a raw clone. */
#include "escape.h"
#include <sched.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long pid = raw5(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) raw1(SYS_exit_group, 0);  /* the child of an escape: leave */
    expect_failure("clone(CLONE_NEWUSER|CLONE_NEWNS)", pid);
    pid = raw5(SYS_clone, CLONE_NEWPID | CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) raw1(SYS_exit_group, 0);
    expect_failure("clone(CLONE_NEWPID|CLONE_NEWNET)", pid);
    return verdict();
}
