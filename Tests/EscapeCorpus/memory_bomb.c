/* Map memory until something gives; the address-space limit must stop it. */
#include "escape.h"
#include <sys/mman.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long total = 0, r = 0;
    for (int i = 0; i < 4096; i++) {
        r = raw6(SYS_mmap, 0, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r < 0) break;
        ((char *)r)[0] = 1;  /* touch one page of each, not all of it */
        total += 64;
    }
    long brk_result = raw1(SYS_brk, 0);
    long grown = raw1(SYS_brk, brk_result + (64L << 30));
    if (r < 0 && total < 100000 && grown != brk_result + (64L << 30))
        printf("BLOCKED memory bomb: %s after %ld MiB, brk +64 GiB refused\n", strerror((int)-r), total);
    else { printf("ESCAPED memory bomb: %ld MiB mapped\n", total); escapes++; }
    return verdict();
}
