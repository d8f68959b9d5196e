/* Try to load a kernel module. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    char m[16] = {0x7f, 'E', 'L', 'F'}; void *image = m;
    expect_failure("init_module", raw3(SYS_init_module, image, 16, ""));
    return verdict();
}
