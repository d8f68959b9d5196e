/* Open a host file read-write through the legacy open(2) number. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    long fd = expect_failure("open(host file, O_RDWR)", raw3(SYS_open, host_file, O_RDWR, 0));
    if (fd >= 0) raw3(SYS_write, fd, "pwned\n", 6);
    return verdict();
}
