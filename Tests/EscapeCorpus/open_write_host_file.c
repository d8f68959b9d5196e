/* Open a host file for writing and overwrite it. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    long fd = expect_failure("openat(host file, O_WRONLY)", raw4(SYS_openat, AT_FDCWD, host_file, O_WRONLY, 0));
    if (fd >= 0) raw3(SYS_write, fd, "pwned\n", 6);
    return verdict();
}
