/* Try to make all readable memory executable. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    
    expect_failure("personality(READ_IMPLIES_EXEC)", raw1(SYS_personality, 0x0400000));
    return verdict();
}
