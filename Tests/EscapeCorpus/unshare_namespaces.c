/* Enter new namespaces, where the guest would be root. */
#include "escape.h"
#include <sched.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("unshare(CLONE_NEWUSER)", raw1(SYS_unshare, CLONE_NEWUSER));
    expect_failure("unshare(CLONE_NEWNS)", raw1(SYS_unshare, CLONE_NEWNS));
    expect_failure("unshare(CLONE_NEWNET)", raw1(SYS_unshare, CLONE_NEWNET));
    return verdict();
}
