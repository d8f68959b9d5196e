/* Find the guard's read-only page (after a pinned call, the path register still
 * points into it: the kernel preserves rsi) and unmap, remap or reprotect it, so
 * a later pinned path could be rewritten while the kernel reads it. */
#include "escape.h"
#include <sys/mman.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/file", allowed_dir);
    long result;
    long path_register = (long)probe;
    register long r10 __asm__("r10") = 0;
    __asm__ volatile("syscall"
                     : "=a"(result), "+S"(path_register)
                     : "a"(SYS_openat), "D"(AT_FDCWD), "d"(O_RDONLY), "r"(r10)
                     : "rcx", "r11", "memory");
    if (path_register == (long)probe) { printf("BLOCKED the path was not pinned (opened: %ld)\n", result); return 0; }
    long page = path_register & ~4095L;
    printf("the pinned path is at 0x%lx: \"%s\"\n", path_register, (char *)path_register);
    expect_failure("mprotect(guard page, RW)", raw3(SYS_mprotect, page, 4096, PROT_READ | PROT_WRITE));
    expect_failure("munmap(guard page)", raw2(SYS_munmap, page, 4096));
    expect_failure("mmap(MAP_FIXED over guard page)", raw6(SYS_mmap, page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    expect_failure("mremap(guard page)", raw5(SYS_mremap, page, 4096, 8192, MREMAP_MAYMOVE, 0));
    /* A plain write must fault: catch it in a child so the parent can report. */
    long pid = raw0(SYS_fork);
    if (pid == 0) { *(volatile char *)path_register = 'X'; raw1(SYS_exit_group, 1); }
    int status = 0;
    raw4(SYS_wait4, pid, &status, 0, 0);
    if ((status & 0x7f) == SIGSEGV) printf("BLOCKED writing the guard page: SIGSEGV\n");
    else { printf("ESCAPED wrote the guard page (status %d)\n", status); escapes++; }
    return verdict();
}
