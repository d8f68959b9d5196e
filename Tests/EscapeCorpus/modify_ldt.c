/* Try to install segment descriptors. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    unsigned d[4] = {0, 0, 0xfffff, 0x51}; void *desc = d;
    expect_failure("modify_ldt(write)", raw3(SYS_modify_ldt, 1, desc, 16));
    return verdict();
}
