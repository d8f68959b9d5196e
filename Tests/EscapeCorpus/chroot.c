/* Try to change the root directory. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    
    expect_failure("chroot", raw1(SYS_chroot, "/tmp"));
    return verdict();
}
