/* Use an x32 system call number (bit 30 set), which a filter checking only the
 * x86-64 numbers would let through. The filter must kill the guest. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    printf("trying x32 openat\n");
    long fd = raw4(0x40000000 | SYS_openat, AT_FDCWD, host_file, O_WRONLY, 0);
    printf("ESCAPED x32 call returned %ld\n", fd);
    return 1;
}
