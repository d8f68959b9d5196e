/* Read a host file outside the allowed paths. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("openat(secret, O_RDONLY)", raw4(SYS_openat, AT_FDCWD, secret_file, O_RDONLY, 0));
    expect_failure("openat(/etc/shadow)", raw4(SYS_openat, AT_FDCWD, "/etc/shadow", O_RDONLY, 0));
    return verdict();
}
