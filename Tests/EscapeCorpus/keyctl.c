/* Try to reach the kernel keyring. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    
    expect_failure("keyctl(KEYCTL_GET_KEYRING_ID)", raw3(SYS_keyctl, 0, -3, 1));
    return verdict();
}
