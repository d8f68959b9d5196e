/* Try to become root. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    
    expect_failure("setuid(0)", raw1(SYS_setuid, 0));
    return verdict();
}
