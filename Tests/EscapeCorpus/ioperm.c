/* Try to raw I/O ports. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    
    expect_failure("ioperm", raw3(SYS_ioperm, 0x60, 8, 1));
    return verdict();
}
