/* Try to power off the host. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    
    expect_failure("reboot", raw4(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0));
    return verdict();
}
