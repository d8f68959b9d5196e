/*
 * patch.c — glibc's own file calls, sent over the fast path.
 *
 * glibc opens files for itself: setlocale reads about fifteen locale files,
 * NSS reads /etc/passwd and /etc/group through fopen, iconv loads its modules,
 * and stdio reads, writes, seeks and closes files for fread, fgets, printf and
 * fclose. It calls its own entry points for these (internal calls bind to them
 * directly, past LD_PRELOAD), and they make the system call from libc's text:
 * each is a trap, which under the guard is a ptrace stop of 10–50 µs — some 30
 * in every program start, one per 4 KiB of stdio.
 *
 * Fix: the entry of each of those functions is overwritten with a jump to the
 * runtime's replacements below, which take the fast path like the interposed
 * libc wrappers do.
 *
 * Where it is done:
 *   - only in the glibc build it was checked against: Debian 12's 2.36. For
 *     each function the first 12 bytes must be exactly the expected bytes, and
 *     no code of the function jumps into bytes 1–11 (checked with objdump on
 *     that build): once the jump is written nothing runs past it;
 *   - in the runtime's constructor, before the program has threads, with
 *     every signal blocked while libc's text is writable (and so not
 *     executable).
 * Anything unexpected leaves libc as it is, and the trap path still serves
 * those calls. The boundary does not depend on this: it is the seccomp filter.
 */
#include "runtime.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

/* The replacements. glibc calls these entries from places a libc wrapper is
 * never called from, posix_spawn's child among them: a CLONE_VM child running
 * on its parent's memory and thread. So each replacement asks who is calling,
 * as the trap handler does (trap.c), and such a child's calls go on a slot of
 * their own in its own name. */
static long internal_call(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
    pid_t now = (pid_t)ls_raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
    const struct ls_origin origin = { 0, now != ls_pid ? now : 0 };
    const uint64_t a[6] = { a0, a1, a2, a3 };
    long r = ls_syscall(nr, a, &origin);
    if (ls_failed(r)) { errno = (int)-r; return -1; }
    return r;
}

static uint64_t mode_argument(int flags, va_list list) {
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(list, unsigned) : 0;
}

static int internal_open(const char *path, int flags, ...) {
    va_list list;
    va_start(list, flags);
    uint64_t mode = mode_argument(flags, list);
    va_end(list);
    return (int)internal_call(SYS_open, (uint64_t)(uintptr_t)path, (uint64_t)flags, mode, 0);
}

static int internal_openat(int dirfd, const char *path, int flags, ...) {
    va_list list;
    va_start(list, flags);
    uint64_t mode = mode_argument(flags, list);
    va_end(list);
    return (int)internal_call(SYS_openat, (uint64_t)dirfd, (uint64_t)(uintptr_t)path, (uint64_t)flags, mode);
}

static ssize_t internal_read(int fd, void *buffer, size_t count) {
    return internal_call(SYS_read, (uint64_t)fd, (uint64_t)(uintptr_t)buffer, count, 0);
}

static ssize_t internal_write(int fd, const void *buffer, size_t count) {
    return internal_call(SYS_write, (uint64_t)fd, (uint64_t)(uintptr_t)buffer, count, 0);
}

static ssize_t internal_pread(int fd, void *buffer, size_t count, off_t offset) {
    return internal_call(SYS_pread64, (uint64_t)fd, (uint64_t)(uintptr_t)buffer, count, (uint64_t)offset);
}

static ssize_t internal_pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    return internal_call(SYS_pwrite64, (uint64_t)fd, (uint64_t)(uintptr_t)buffer, count, (uint64_t)offset);
}

static off_t internal_lseek(int fd, off_t offset, int whence) {
    return internal_call(SYS_lseek, (uint64_t)fd, (uint64_t)offset, (uint64_t)whence, 0);
}

static int internal_close(int fd) { return (int)internal_call(SYS_close, (uint64_t)fd, 0, 0, 0); }

static int internal_fstat(int fd, struct stat *info) {
    return (int)internal_call(SYS_fstat, (uint64_t)fd, (uint64_t)(uintptr_t)info, 0, 0);
}

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
    /* Another library's constructor may have started a thread: then the text
     * cannot be rewritten safely, and the trap path keeps serving these calls. */
    if (!__libc_single_threaded) return;
    struct entry_patch patches[] = {
        /* setlocale's locale files, iconv's modules */
        { "__open64_nocancel", "GLIBC_PRIVATE",
          { 0x48, 0x83, 0xec, 0x58, 0x41, 0x89, 0xf2, 0x48, 0x89, 0x54, 0x24, 0x30 }, (void *)internal_open },
        /* fopen (NSS's /etc files) and libc's other internal opens */
        { "open64", "GLIBC_2.2.5",
          { 0x55, 0x41, 0x89, 0xf2, 0x48, 0x89, 0xfd, 0x53, 0x89, 0xf3, 0x48, 0x83 }, (void *)internal_open },
        { "openat64", "GLIBC_2.4",
          { 0x48, 0x83, 0xec, 0x78, 0x48, 0x89, 0x4c, 0x24, 0x58, 0x64, 0x48, 0x8b }, (void *)internal_openat },
        /* stdio's reads, writes, seeks and closes (fread, fgets, printf's flush, fclose) */
        { "read", "GLIBC_2.2.5",
          { 0x80, 0x3d, 0x31, 0x33, 0x0e, 0x00, 0x00, 0x74, 0x17, 0x31, 0xc0, 0x0f }, (void *)internal_read },
        { "write", "GLIBC_2.2.5",
          { 0x80, 0x3d, 0x91, 0x32, 0x0e, 0x00, 0x00, 0x74, 0x17, 0xb8, 0x01, 0x00 }, (void *)internal_write },
        { "lseek64", "GLIBC_2.2.5",
          { 0xb8, 0x08, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff }, (void *)internal_lseek },
        { "close", "GLIBC_2.2.5",
          { 0x80, 0x3d, 0xf1, 0x2b, 0x0e, 0x00, 0x00, 0x74, 0x17, 0xb8, 0x03, 0x00 }, (void *)internal_close },
        { "__close_nocancel", "GLIBC_PRIVATE",
          { 0xb8, 0x03, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff }, (void *)internal_close },
        { "__read_nocancel", "GLIBC_PRIVATE",
          { 0x31, 0xc0, 0x0f, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff, 0x77, 0x04 }, (void *)internal_read },
        { "__write_nocancel", "GLIBC_PRIVATE",
          { 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff }, (void *)internal_write },
        { "__pread64_nocancel", "GLIBC_PRIVATE",
          { 0x49, 0x89, 0xca, 0xb8, 0x11, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x3d }, (void *)internal_pread },
        { "pread64", "GLIBC_2.2.5",
          { 0x80, 0x3d, 0x11, 0x52, 0x0e, 0x00, 0x00, 0x49, 0x89, 0xca, 0x74, 0x14 }, (void *)internal_pread },
        { "pwrite64", "GLIBC_2.2.5",
          { 0x80, 0x3d, 0x61, 0x51, 0x0e, 0x00, 0x00, 0x49, 0x89, 0xca, 0x74, 0x14 }, (void *)internal_pwrite },
        /* stdio's buffer sizing, opendir's checks */
        { "__fstat64", "GLIBC_PRIVATE",
          { 0x48, 0x89, 0xf2, 0x85, 0xff, 0x78, 0x19, 0xb9, 0x00, 0x10, 0x00, 0x00 }, (void *)internal_fstat },
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
    if (high == 0 || high - low > (256u << 10)) return;   /* none, or not close together as expected */
    /* One writable window for all (each mprotect is a stop in the guard), with
     * no signal handler able to run into the unexecutable pages meanwhile. */
    uint64_t all = ~(uint64_t)0, before = 0;
    ls_raw(SYS_rt_sigprocmask, SIG_SETMASK, (uint64_t)(uintptr_t)&all, (uint64_t)(uintptr_t)&before, 8, 0, 0);
    int writable = protect((unsigned char *)low, high - low, 1);
    if (writable)
        for (size_t i = 0; i < COUNT; i++)
            if (entries[i]) write_jump(entries[i], patches[i].replacement);
    int executable = !writable || protect((unsigned char *)low, high - low, 0);
    ls_raw(SYS_rt_sigprocmask, SIG_SETMASK, (uint64_t)(uintptr_t)&before, 0, 8, 0, 0);
    if (!executable) {
        /* Writable and not executable: every call into those pages would fault.
         * End the process with a clear status rather than let it crash later
         * somewhere unrelated. */
        ls_raw(SYS_exit_group, 127, 0, 0, 0, 0, 0);
    }
}
