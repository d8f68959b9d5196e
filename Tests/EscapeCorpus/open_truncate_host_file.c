/* Truncate a host file through a read-only open with O_TRUNC. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("openat(host file, O_RDONLY|O_TRUNC)", raw4(SYS_openat, AT_FDCWD, host_file, O_RDONLY | O_TRUNC, 0));
    return verdict();
}
