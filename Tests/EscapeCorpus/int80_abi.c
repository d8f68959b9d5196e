/* Use the i386 system call ABI (int 0x80) from a 64-bit process: its numbers
 * differ (e.g. 11 is execve there), which fools filters that check numbers only.
 * The filter must kill the guest. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    printf("trying int 0x80\n");
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(20 /* i386 getpid */) : "memory");
    printf("ESCAPED int 0x80 returned %ld\n", result);
    return 1;
}
