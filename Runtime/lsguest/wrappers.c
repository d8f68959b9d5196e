/*
 * wrappers.c — the libc symbols liblsguest.so interposes (the fast path). Each
 * is a thin shell around ls_syscall: errno is set only on failure (so a
 * successful call leaves it as it was), and the call itself is served in
 * serve.c like a trapped one.
 */
#include "runtime.h"
#include "calls.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

static const struct ls_origin fast = { 0, 0 };

static long result(long r) {
    if (ls_failed(r)) { errno = (int)-r; return -1; }
    return r;
}

#define LS_UNPAREN(...) __VA_ARGS__
#define WRAPPER(ret, name, params, args, nr) \
    LS_EXPORT ret name params { \
        uint64_t a[6] = { 0 }; \
        const uint64_t given[] = { 0, LS_UNPAREN args }; \
        memcpy(a, given + 1, sizeof given - sizeof given[0]); \
        return (ret)result(ls_syscall(nr, a, &fast)); \
    }
LS_WRAPPERS(WRAPPER)

/* open and friends: a mode is read only when the flags say one was passed. */
#define OPEN_WRAPPER(name, params, args, nr) \
    LS_EXPORT int name(LS_UNPAREN params, ...) { \
        uint64_t a[6] = { 0 }; \
        const uint64_t given[] = { LS_UNPAREN args }; \
        memcpy(a, given, sizeof given); \
        if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) { \
            va_list list; \
            va_start(list, flags); \
            a[sizeof given / sizeof given[0]] = va_arg(list, unsigned); \
            va_end(list); \
        } \
        return (int)result(ls_syscall(nr, a, &fast)); \
    }
OPEN_WRAPPER(open,     (const char *path, int flags),            (U(path), U(flags)),            SYS_open)
OPEN_WRAPPER(open64,   (const char *path, int flags),            (U(path), U(flags)),            SYS_open)
OPEN_WRAPPER(openat,   (int dirfd, const char *path, int flags), (U(dirfd), U(path), U(flags)), SYS_openat)
OPEN_WRAPPER(openat64, (int dirfd, const char *path, int flags), (U(dirfd), U(path), U(flags)), SYS_openat)

/* posix_fadvise answers with the error number itself, not -1 and errno. */
LS_EXPORT int posix_fadvise(int fd, off_t offset, off_t length, int advice) {
    const uint64_t a[6] = { U(fd), U(offset), U(length), U(advice) };
    long r = ls_syscall(SYS_fadvise64, a, &fast);
    return ls_failed(r) ? (int)-r : 0;
}
LS_EXPORT int posix_fadvise64(int fd, off64_t offset, off64_t length, int advice) {
    return posix_fadvise(fd, offset, length, advice);
}

LS_EXPORT int creat(const char *path, mode_t mode) {
    const uint64_t a[6] = { U(path), U(mode) };
    return (int)result(ls_syscall(SYS_creat, a, &fast));
}
LS_EXPORT int creat64(const char *path, mode_t mode) { return creat(path, mode); }

/* fcntl's third argument is an int or a pointer; both travel in one register. */
LS_EXPORT int fcntl(int fd, int command, ...) {
    va_list list;
    va_start(list, command);
    uint64_t argument = va_arg(list, uint64_t);
    va_end(list);
    const uint64_t a[6] = { U(fd), U(command), argument };
    return (int)result(ls_syscall(SYS_fcntl, a, &fast));
}
LS_EXPORT int fcntl64(int fd, int command, ...) {
    va_list list;
    va_start(list, command);
    uint64_t argument = va_arg(list, uint64_t);
    va_end(list);
    return fcntl(fd, command, argument);
}

/* ioctl: the service's fds only (a placeholder answers what the service knows,
 * ENOTTY for the rest); terminals and sockets stay native. */
LS_EXPORT int ioctl(int fd, unsigned long request, ...) {
    va_list list;
    va_start(list, request);
    uint64_t argument = va_arg(list, uint64_t);
    va_end(list);
    const uint64_t a[6] = { U(fd), request, argument };
    return (int)result(ls_syscall(SYS_ioctl, a, &fast));
}

LS_EXPORT char *getcwd(char *buffer, size_t size) {
    char local[4096];
    char *target = buffer ? buffer : local;
    size_t room = buffer ? size : (size && size < sizeof local ? size : sizeof local);
    const uint64_t a[6] = { U(target), room };
    long r = result(ls_syscall(SYS_getcwd, a, &fast));
    if (r < 0) return 0;
    if (r == 0 || target[0] != '/') { errno = ENOENT; return 0; }   /* "(unreachable)", as glibc says */
    if (buffer) return buffer;
    char *copy = malloc(size ? size : (size_t)r);
    if (!copy) { errno = ENOMEM; return 0; }
    memcpy(copy, local, (size_t)r);
    return copy;
}

LS_EXPORT mode_t umask(mode_t mask) {
    const uint64_t a[6] = { U(mask) };
    long r = ls_syscall(SYS_umask, a, &fast);
    return ls_failed(r) ? (mode_t)ls_raw(SYS_umask, mask, 0, 0, 0, 0, 0) : (mode_t)r;
}

LS_EXPORT void sync(void) {
    const uint64_t a[6] = { 0 };
    ls_syscall(SYS_sync, a, &fast);
}

/* mmap of a placeholder: MAP_PRIVATE becomes an anonymous mapping filled with
 * pread (a private copy is what the program sees anyway); MAP_SHARED cannot be
 * kept coherent with the service's file, so it fails as for a device without
 * mmap (ENODEV). */
LS_EXPORT void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    if (!(flags & MAP_ANONYMOUS) && ls_attached() && ls_fd_is_placeholder(fd)) {
        if ((flags & MAP_TYPE) != MAP_PRIVATE) { errno = ENODEV; return MAP_FAILED; }
        long mapped = ls_raw(SYS_mmap, U(address), length, (uint64_t)(protection | PROT_WRITE),
                             (uint64_t)(flags | MAP_ANONYMOUS), (uint64_t)-1, 0);
        if (ls_failed(mapped)) { errno = (int)-mapped; return MAP_FAILED; }
        for (size_t done = 0; done < length; ) {
            const uint64_t a[6] = { U(fd), (uint64_t)mapped + done, length - done, (uint64_t)offset + done };
            long n = ls_syscall(SYS_pread64, a, &fast);
            if (ls_failed(n)) {
                ls_raw(SYS_munmap, (uint64_t)mapped, length, 0, 0, 0, 0);
                errno = (int)-n;
                return MAP_FAILED;
            }
            if (n == 0) break;
            done += (size_t)n;
        }
        if (!(protection & PROT_WRITE)) ls_raw(SYS_mprotect, (uint64_t)mapped, length, (uint64_t)protection, 0, 0, 0);
        return (void *)mapped;
    }
    long r = ls_raw(SYS_mmap, U(address), length, (uint64_t)protection, (uint64_t)flags, (uint64_t)fd, (uint64_t)offset);
    if (ls_failed(r)) { errno = (int)-r; return MAP_FAILED; }
    return (void *)r;
}
LS_EXPORT void *mmap64(void *address, size_t length, int protection, int flags, int fd, off64_t offset) {
    return mmap(address, length, protection, flags, fd, offset);
}

/* vfork is fork: the child then runs the atfork handlers (it forgets the
 * parent's slot) and has memory of its own, so the runtime's state (slot,
 * placeholder bitmap) is never shared with a parent that is suspended mid-call. */
LS_EXPORT pid_t vfork(void) { return fork(); }

/* ---------------------------------------------------------------------------
 * exec: a program that builds its children's environment itself (env -i,
 * sudo-like tools) would drop the runtime and the channel variable; a child's
 * placeholders then mean nothing to it. Adding them back costs one scan of the
 * environment per exec, so the exec wrappers do it.
 * ------------------------------------------------------------------------- */
static char *preload_entry;   /* "LD_PRELOAD=..." as this image was started with */

__attribute__((constructor)) static void remember_preload(void) {
    const char *value = getenv("LD_PRELOAD");
    if (value && *value) {
        size_t n = strlen(value);
        preload_entry = malloc(n + 12);
        if (preload_entry) { memcpy(preload_entry, "LD_PRELOAD=", 11); memcpy(preload_entry + 11, value, n + 1); }
    }
}

static int has(char *const envp[], const char *prefix) {
    size_t n = strlen(prefix);
    for (size_t i = 0; envp && envp[i]; i++) if (!strncmp(envp[i], prefix, n)) return 1;
    return 0;
}

/* envp, or a new array with what is missing added (freed by the caller when
 * the exec fails). */
static char **repaired(char *const envp[], char *channel_entry) {
    if (!ls_attached()) return (char **)envp;
    int need_channel = !has(envp, LS_CHANNEL_FD_ENV "=");
    int need_preload = preload_entry && !has(envp, "LD_PRELOAD=");
    if (!need_channel && !need_preload) return (char **)envp;
    size_t count = 0;
    while (envp && envp[count]) count++;
    char **copy = malloc((count + 3) * sizeof *copy);
    if (!copy) return (char **)envp;
    if (count) memcpy(copy, envp, count * sizeof *copy);
    if (need_channel) {
        snprintf(channel_entry, 48, "%s=%d", LS_CHANNEL_FD_ENV, ls_channel.fd);
        copy[count++] = channel_entry;
    }
    if (need_preload) copy[count++] = preload_entry;
    copy[count] = 0;
    return copy;
}

LS_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
    char channel_entry[48];
    char **environment = repaired(envp, channel_entry);
    long r = ls_raw(SYS_execve, U(path), U(argv), U(environment), 0, 0, 0);
    if (environment != envp) free(environment);
    return (int)result(r);
}
LS_EXPORT int execv(const char *path, char *const argv[]) { return execve(path, argv, environ); }

LS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
    static int (*next)(const char *, char *const[], char *const[]);
    if (!next) next = (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execvpe");
    if (!next) { errno = ENOSYS; return -1; }
    char channel_entry[48];
    char **environment = repaired(envp, channel_entry);
    int r = next(file, argv, environment);
    int saved = errno;
    if (environment != envp) free(environment);
    errno = saved;
    return r;
}
LS_EXPORT int execvp(const char *file, char *const argv[]) { return execvpe(file, argv, environ); }

/* ---------------------------------------------------------------------------
 * _FORTIFY_SOURCE entry points: Debian builds its programs with it, and their
 * open/read/readlink/getcwd calls then reach these symbols instead of the
 * plain ones (libc would make them from its own text: the trap path, slower).
 * The checks are glibc's: a buffer smaller than the length is a fatal error.
 * ------------------------------------------------------------------------- */
extern void __chk_fail(void) __attribute__((noreturn));

LS_EXPORT int __open_2(const char *path, int flags) { return open(path, flags); }
LS_EXPORT int __open64_2(const char *path, int flags) { return open(path, flags); }
LS_EXPORT int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
LS_EXPORT int __openat64_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }

LS_EXPORT ssize_t __read_chk(int fd, void *buffer, size_t n, size_t room) {
    if (n > room) __chk_fail();
    return read(fd, buffer, n);
}
LS_EXPORT ssize_t __pread_chk(int fd, void *buffer, size_t n, off_t at, size_t room) {
    if (n > room) __chk_fail();
    return pread(fd, buffer, n, at);
}
LS_EXPORT ssize_t __pread64_chk(int fd, void *buffer, size_t n, off64_t at, size_t room) {
    if (n > room) __chk_fail();
    return pread64(fd, buffer, n, at);
}
LS_EXPORT ssize_t __readlink_chk(const char *path, char *buffer, size_t n, size_t room) {
    if (n > room) __chk_fail();
    return readlink(path, buffer, n);
}
LS_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buffer, size_t n, size_t room) {
    if (n > room) __chk_fail();
    return readlinkat(dirfd, path, buffer, n);
}
LS_EXPORT char *__getcwd_chk(char *buffer, size_t size, size_t room) {
    if (size > room) __chk_fail();
    return getcwd(buffer, size);
}
