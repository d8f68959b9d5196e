/* Try to get a fault-handling fd, the classic race amplifier. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    
    expect_failure("userfaultfd", raw1(SYS_userfaultfd, 0));
    return verdict();
}
