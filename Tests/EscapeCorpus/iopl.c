/* Try to raw I/O privilege level. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    
    expect_failure("iopl", raw1(SYS_iopl, 3));
    return verdict();
}
