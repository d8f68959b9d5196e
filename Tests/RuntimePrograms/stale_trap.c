/* A stale trap: the parent (dynamic, with the guest runtime and its trap filter
 * over libc's text) execs a static child, which has no runtime and no SIGSYS
 * handler, and the child makes a system call the old filter traps from an
 * address inside the old libc text range. Without the guard's help the child
 * dies of SIGSYS; with it, the call runs and returns.
 *   stale_trap parent CHILD     stale_trap child ADDRESS */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static long call_at(void *code, long number) {
    long result;
    __asm__ volatile("call *%2" : "=a"(result) : "a"(number), "r"(code) : "rcx", "r11", "memory");
    return result;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "parent")) {
        /* A libc function's page: inside the text range the runtime's filter traps. */
        uintptr_t page = (uintptr_t)&sched_yield & ~(uintptr_t)4095;
        char address[32];
        snprintf(address, sizeof address, "%#lx", (unsigned long)page);
        execl(argv[2], argv[2], "child", address, (char *)0);
        perror("execl");
        return 1;
    }
    if (argc == 3 && !strcmp(argv[1], "child")) {
        void *want = (void *)strtoul(argv[2], 0, 16);
        unsigned char *code = mmap(want, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (code != want) { printf("could not map at %p (taken): nothing to test\n", want); return 2; }
        code[0] = 0x0f; code[1] = 0x05; code[2] = 0xc3;   /* syscall; ret */
        if (mprotect(code, 4096, PROT_READ | PROT_EXEC) != 0) { perror("mprotect"); return 1; }
        long parent = call_at(code, SYS_getppid);
        printf("stale trap survived: getppid from the old libc range = %ld (%s)\n", parent,
               parent == getppid() ? "same as the kernel's" : "differs");
        return 0;
    }
    fprintf(stderr, "usage: stale_trap parent CHILD | child ADDRESS\n");
    return 2;
}
