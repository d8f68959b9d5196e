/* Map a read-only host file shared and writable, then write through the mapping. */
#include "escape.h"
#include <sys/mman.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long fd = raw4(SYS_openat, AT_FDCWD, host_file, O_RDONLY, 0);
    if (fd < 0) { printf("BLOCKED could not even read the host file\n"); return 0; }
    long p = expect_failure("mmap(host file, PROT_WRITE, MAP_SHARED)",
                            raw6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    if (p >= 0) memcpy((void *)p, "pwned\n", 6);
    return verdict();
}
