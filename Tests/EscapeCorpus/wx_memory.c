/* Get writable and executable memory (to run injected code), directly or by
 * flipping protections. */
#include "escape.h"
#include <sys/mman.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("mmap(RWX, anonymous)", raw6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    long p = raw6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect_failure("mprotect(RW → RWX)", raw3(SYS_mprotect, p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC));
    return verdict();
}
