/*
 * patch.c — glibc's own file opens, sent over the fast path.
 *
 * glibc opens files for itself: setlocale reads about fifteen locale files,
 * NSS reads /etc/passwd and /etc/group through fopen, iconv loads its modules.
 * It calls its own open entry points for these (internal calls bind to them
 * directly, past LD_PRELOAD), and they make the system call from libc's text:
 * each is a trap, which under the guard is a ptrace stop of 10–50 µs. Some 30
 * of them in every program start made that the largest cost of an exec in the
 * sandbox.
 *
 * Fix: the entry of each of those functions is overwritten with a jump to the
 * runtime's own open or openat (wrappers.c), which take the fast path like any
 * other open.
 *
 * Where it is done:
 *   - only in the glibc build it was checked against: Debian 12's 2.36. For
 *     each function the first 12 bytes must be exactly the expected whole
 *     instructions, and no code of the function jumps back into them;
 *   - in the runtime's constructor, before the program has threads.
 * Anything unexpected leaves libc as it is, and the trap path still serves
 * those calls. The boundary does not depend on this: it is the seccomp filter.
 */
#include "runtime.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

/* The runtime's exported wrappers (wrappers.c). */
int open(const char *path, int flags, ...);
int openat(int dirfd, const char *path, int flags, ...);

struct entry_patch {
    const char *symbol;
    const char *version;
    unsigned char expected[12];   /* the first bytes of Debian 12's glibc 2.36 build */
    void *replacement;
};

/* A jump to an absolute address: movabs $target, %rax; jmp *%rax (12 bytes).
 * %rax is free at a function's entry (it holds no argument of these functions;
 * a variadic call's %al, the vector-register count, is only read by va_start,
 * and the replacement's own prologue reads its own). */
static void write_jump(unsigned char *at, void *target) {
    /* Byte by byte, no library call: libc's text may be unexecutable just now. */
    uint64_t address = (uint64_t)(uintptr_t)target;
    at[0] = 0x48; at[1] = 0xB8;
    for (int i = 0; i < 8; i++) at[2 + i] = (unsigned char)(address >> (8 * i));
    at[10] = 0xFF; at[11] = 0xE0;
}

/* Makes the pages of [start, start+length) writable (not executable) or back to
 * read+execute; false when the guard or the kernel refuses. */
static int protect(unsigned char *start, size_t length, int writable) {
    uint64_t page = (uint64_t)(uintptr_t)start & ~(uint64_t)4095;
    uint64_t end = ((uint64_t)(uintptr_t)start + length + 4095) & ~(uint64_t)4095;
    long r = ls_raw(SYS_mprotect, page, end - page, writable ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC, 0, 0, 0);
    return r == 0;
}

void ls_patch_libc(void) {
    if (strcmp(gnu_get_libc_version(), "2.36") != 0) return;
    struct entry_patch patches[] = {
        /* setlocale, iconv, … */
        { "__open64_nocancel", "GLIBC_PRIVATE",
          { 0x48, 0x83, 0xec, 0x58, 0x41, 0x89, 0xf2, 0x48, 0x89, 0x54, 0x24, 0x30 }, (void *)open },
        /* fopen (NSS's /etc files) and libc's other internal opens */
        { "open64", "GLIBC_2.2.5",
          { 0x55, 0x41, 0x89, 0xf2, 0x48, 0x89, 0xfd, 0x53, 0x89, 0xf3, 0x48, 0x83 }, (void *)open },
        { "openat64", "GLIBC_2.4",
          { 0x48, 0x83, 0xec, 0x78, 0x48, 0x89, 0x4c, 0x24, 0x58, 0x64, 0x48, 0x8b }, (void *)openat },
    };
    enum { COUNT = sizeof patches / sizeof patches[0] };
    unsigned char *entries[COUNT];
    uintptr_t low = UINTPTR_MAX, high = 0;
    for (size_t i = 0; i < COUNT; i++) {
        /* RTLD_NEXT: libc's own definition, not the runtime's interposed one. */
        entries[i] = dlvsym(RTLD_NEXT, patches[i].symbol, patches[i].version);
        if (!entries[i] || memcmp(entries[i], patches[i].expected, sizeof patches[i].expected) != 0) {
            entries[i] = NULL;
            continue;
        }
        if ((uintptr_t)entries[i] < low) low = (uintptr_t)entries[i];
        if ((uintptr_t)entries[i] + 12 > high) high = (uintptr_t)entries[i] + 12;
    }
    if (high == 0 || high - low > (64u << 10)) return;   /* none, or not close together as expected */
    /* One writable window for all (each mprotect is a stop in the guard). */
    if (!protect((unsigned char *)low, high - low, 1)) return;
    for (size_t i = 0; i < COUNT; i++)
        if (entries[i]) write_jump(entries[i], patches[i].replacement);
    if (!protect((unsigned char *)low, high - low, 0)) {
        /* Writable and not executable: every call into those pages would fault.
         * End the process with a clear status rather than let it crash later
         * somewhere unrelated. */
        ls_raw(SYS_exit_group, 127, 0, 0, 0, 0, 0);
    }
}
