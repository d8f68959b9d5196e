/* Try to clone with flags the guard cannot pin. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    unsigned long a[11] = {0x10000000 /* CLONE_NEWUSER */}; void *args = a;
    expect_failure("clone3", raw2(SYS_clone3, args, 88));
    return verdict();
}
