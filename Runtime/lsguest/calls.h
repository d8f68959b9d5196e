/*
 * calls.h — THE ONE LIST of calls the runtime serves.
 *
 * LS_SYSCALLS has one row per system call number the service may serve: how the
 * call is routed and the shape of each argument (what is copied into the slot's
 * payload and back). serve.c builds its table from it, the trap filter (trap.c)
 * traps exactly these numbers when libc makes them, and LS_WRAPPERS lists the
 * libc symbols interposed for them (several symbols share a number, which is
 * why the symbols are a second column set rather than rows of the first).
 *
 * Row: S(number, route, fd argument, shapes of arguments 0..5)
 */
#ifndef LSGUEST_CALLS_H
#define LSGUEST_CALLS_H

#include <sys/syscall.h>

enum ls_route {
    R_NONE = 0,    /* not served: native (also the unlisted numbers) */
    R_PATH,        /* a path call: always the service (it answers RUN_NATIVE for paths not its own);
                      an empty path with AT_EMPTY_PATH, or a NULL one, makes it an fd call on `fd` */
    R_FD,          /* an fd call: the service only when argument `fd` is a placeholder */
    R_WRITE,       /* as R_FD, and also fds 1 and 2 (the service bridges stdout/stderr) */
    R_ALWAYS,      /* always the service (process state: getppid, cwd, umask, sync) */
    R_SPECIAL,     /* fd numbers change: code of its own in serve.c (open, close, dup, fcntl) */
};

enum ls_kind {
    K_VAL = 0,     /* a plain value */
    K_PATH,        /* NUL-terminated string in */
    K_PATH_OPT,    /* as K_PATH, may be NULL */
    K_IN,          /* buffer in; its length is argument `param` */
    K_OUT,         /* buffer out; length argument `param`; the result says how many bytes came back */
    K_OUT_FIX,     /* `param` bytes out, copied back on success (struct stat, statx, statfs) */
    K_IN_FIX,      /* `param` bytes in, may be NULL (utimensat's times) */
    K_INOUT_FIX,   /* `param` bytes in and out (struct flock) */
    K_IOV_IN,      /* struct iovec array gathered in; its count is argument `param` */
    K_IOV_OUT,     /* struct iovec array scattered out; count argument `param`; result = bytes */
};

/* NULL pointer arguments travel as LS_NULL_POINTER (liteshield_abi.h). */
#define LS_NULL_ARG LS_NULL_POINTER

#define V  { K_VAL, 0 }
#define P  { K_PATH, 0 }
#define PO { K_PATH_OPT, 0 }
#define IN(i) { K_IN, i }
#define OUT(i) { K_OUT, i }
#define OF(n) { K_OUT_FIX, n }
#define IF(n) { K_IN_FIX, n }
#define IOF(n) { K_INOUT_FIX, n }
#define IOVI(i) { K_IOV_IN, i }
#define IOVO(i) { K_IOV_OUT, i }

/* Sizes of the kernel's x86-64 structures. */
#define LS_STAT_BYTES 144
#define LS_STATX_BYTES 256
#define LS_STATFS_BYTES 120

#define LS_SYSCALLS(S) \
    S(SYS_read,        R_FD,      0, V, OUT(2), V, V, V, V) \
    S(SYS_write,       R_WRITE,   0, V, IN(2), V, V, V, V) \
    S(SYS_pread64,     R_FD,      0, V, OUT(2), V, V, V, V) \
    S(SYS_pwrite64,    R_WRITE,   0, V, IN(2), V, V, V, V) \
    S(SYS_readv,       R_FD,      0, V, IOVO(2), V, V, V, V) \
    S(SYS_writev,      R_WRITE,   0, V, IOVI(2), V, V, V, V) \
    S(SYS_preadv,      R_FD,      0, V, IOVO(2), V, V, V, V) \
    S(SYS_pwritev,     R_WRITE,   0, V, IOVI(2), V, V, V, V) \
    S(SYS_lseek,       R_FD,      0, V, V, V, V, V, V) \
    S(SYS_close,       R_SPECIAL, 0, V, V, V, V, V, V) \
    S(SYS_close_range, R_SPECIAL, 0, V, V, V, V, V, V) \
    S(SYS_dup,         R_SPECIAL, 0, V, V, V, V, V, V) \
    S(SYS_dup2,        R_SPECIAL, 0, V, V, V, V, V, V) \
    S(SYS_dup3,        R_SPECIAL, 0, V, V, V, V, V, V) \
    S(SYS_fcntl,       R_SPECIAL, 0, V, V, V, V, V, V) \
    S(SYS_open,        R_SPECIAL, 0, P, V, V, V, V, V) \
    S(SYS_openat,      R_SPECIAL, 0, V, P, V, V, V, V) \
    S(SYS_creat,       R_SPECIAL, 0, P, V, V, V, V, V) \
    S(SYS_fstat,       R_FD,      0, V, OF(LS_STAT_BYTES), V, V, V, V) \
    S(SYS_stat,        R_PATH,    0, P, OF(LS_STAT_BYTES), V, V, V, V) \
    S(SYS_lstat,       R_PATH,    0, P, OF(LS_STAT_BYTES), V, V, V, V) \
    S(SYS_newfstatat,  R_PATH,    0, V, P, OF(LS_STAT_BYTES), V, V, V) \
    S(SYS_statx,       R_PATH,    0, V, P, V, V, OF(LS_STATX_BYTES), V) \
    S(SYS_access,      R_PATH,    0, P, V, V, V, V, V) \
    S(SYS_faccessat,   R_PATH,    0, V, P, V, V, V, V) \
    S(SYS_faccessat2,  R_PATH,    0, V, P, V, V, V, V) \
    S(SYS_getdents64,  R_FD,      0, V, OUT(2), V, V, V, V) \
    S(SYS_mkdir,       R_PATH,    0, P, V, V, V, V, V) \
    S(SYS_mkdirat,     R_PATH,    0, V, P, V, V, V, V) \
    S(SYS_rmdir,       R_PATH,    0, P, V, V, V, V, V) \
    S(SYS_unlink,      R_PATH,    0, P, V, V, V, V, V) \
    S(SYS_unlinkat,    R_PATH,    0, V, P, V, V, V, V) \
    S(SYS_rename,      R_PATH,    0, P, P, V, V, V, V) \
    S(SYS_renameat,    R_PATH,    0, V, P, V, P, V, V) \
    S(SYS_renameat2,   R_PATH,    0, V, P, V, P, V, V) \
    S(SYS_link,        R_PATH,    0, P, P, V, V, V, V) \
    S(SYS_linkat,      R_PATH,    0, V, P, V, P, V, V) \
    S(SYS_symlink,     R_PATH,    0, P, P, V, V, V, V) \
    S(SYS_symlinkat,   R_PATH,    1, P, V, P, V, V, V) \
    S(SYS_readlink,    R_PATH,    0, P, OUT(2), V, V, V, V) \
    S(SYS_readlinkat,  R_PATH,    0, V, P, OUT(3), V, V, V) \
    S(SYS_chmod,       R_PATH,    0, P, V, V, V, V, V) \
    S(SYS_fchmod,      R_FD,      0, V, V, V, V, V, V) \
    S(SYS_fchmodat,    R_PATH,    0, V, P, V, V, V, V) \
    S(SYS_chown,       R_PATH,    0, P, V, V, V, V, V) \
    S(SYS_lchown,      R_PATH,    0, P, V, V, V, V, V) \
    S(SYS_fchown,      R_FD,      0, V, V, V, V, V, V) \
    S(SYS_fchownat,    R_PATH,    0, V, P, V, V, V, V) \
    S(SYS_utimensat,   R_PATH,    0, V, PO, IF(32), V, V, V) \
    S(SYS_truncate,    R_PATH,    0, P, V, V, V, V, V) \
    S(SYS_ftruncate,   R_FD,      0, V, V, V, V, V, V) \
    S(SYS_fsync,       R_FD,      0, V, V, V, V, V, V) \
    S(SYS_fdatasync,   R_FD,      0, V, V, V, V, V, V) \
    S(SYS_flock,       R_FD,      0, V, V, V, V, V, V) \
    S(SYS_fadvise64,   R_FD,      0, V, V, V, V, V, V) \
    S(SYS_syncfs,      R_FD,      0, V, V, V, V, V, V) \
    S(SYS_sync,        R_ALWAYS,  0, V, V, V, V, V, V) \
    S(SYS_statfs,      R_PATH,    0, P, OF(LS_STATFS_BYTES), V, V, V, V) \
    S(SYS_fstatfs,     R_FD,      0, V, OF(LS_STATFS_BYTES), V, V, V, V) \
    S(SYS_chdir,       R_PATH,    0, P, V, V, V, V, V) \
    S(SYS_fchdir,      R_ALWAYS,  0, V, V, V, V, V, V) \
    S(SYS_getcwd,      R_ALWAYS,  0, OUT(1), V, V, V, V, V) \
    S(SYS_umask,       R_ALWAYS,  0, V, V, V, V, V, V) \
    S(SYS_ioctl,       R_FD,      0, V, V, V, V, V, V) \
    S(SYS_getppid,     R_ALWAYS,  0, V, V, V, V, V, V) \
    S(SYS_getuid,      R_ALWAYS,  0, V, V, V, V, V, V) \
    S(SYS_geteuid,     R_ALWAYS,  0, V, V, V, V, V, V) \
    S(SYS_getgid,      R_ALWAYS,  0, V, V, V, V, V, V) \
    S(SYS_getegid,     R_ALWAYS,  0, V, V, V, V, V, V)

/*
 * The interposed libc symbols. W(return type, symbol, parameters, arguments as
 * uint64_t, number): a plain wrapper that calls ls_syscall(number, arguments).
 * Calls with variadic or unusual signatures (open*, fcntl*, ioctl, getcwd,
 * umask, sync, mmap*, vfork, exec*) are written out in wrappers.c.
 */
#define U(x) ((uint64_t)(uintptr_t)(x))
#define LS_WRAPPERS(W) \
    W(ssize_t, read,        (int fd, void *b, size_t n),                      (U(fd), U(b), n), SYS_read) \
    W(ssize_t, write,       (int fd, const void *b, size_t n),                (U(fd), U(b), n), SYS_write) \
    W(ssize_t, pread,       (int fd, void *b, size_t n, off_t at),            (U(fd), U(b), n, U(at)), SYS_pread64) \
    W(ssize_t, pread64,     (int fd, void *b, size_t n, off64_t at),          (U(fd), U(b), n, U(at)), SYS_pread64) \
    W(ssize_t, pwrite,      (int fd, const void *b, size_t n, off_t at),      (U(fd), U(b), n, U(at)), SYS_pwrite64) \
    W(ssize_t, pwrite64,    (int fd, const void *b, size_t n, off64_t at),    (U(fd), U(b), n, U(at)), SYS_pwrite64) \
    W(ssize_t, readv,       (int fd, const struct iovec *v, int n),           (U(fd), U(v), U(n)), SYS_readv) \
    W(ssize_t, writev,      (int fd, const struct iovec *v, int n),           (U(fd), U(v), U(n)), SYS_writev) \
    W(ssize_t, preadv,      (int fd, const struct iovec *v, int n, off_t at), (U(fd), U(v), U(n), U(at), 0), SYS_preadv) \
    W(ssize_t, preadv64,    (int fd, const struct iovec *v, int n, off64_t at), (U(fd), U(v), U(n), U(at), 0), SYS_preadv) \
    W(ssize_t, pwritev,     (int fd, const struct iovec *v, int n, off_t at), (U(fd), U(v), U(n), U(at), 0), SYS_pwritev) \
    W(ssize_t, pwritev64,   (int fd, const struct iovec *v, int n, off64_t at), (U(fd), U(v), U(n), U(at), 0), SYS_pwritev) \
    W(off_t,   lseek,       (int fd, off_t o, int w),                         (U(fd), U(o), U(w)), SYS_lseek) \
    W(off64_t, lseek64,     (int fd, off64_t o, int w),                       (U(fd), U(o), U(w)), SYS_lseek) \
    W(int,     close,       (int fd),                                         (U(fd)), SYS_close) \
    W(int,     close_range, (unsigned first, unsigned last, int flags),       (U(first), U(last), U(flags)), SYS_close_range) \
    W(int,     dup,         (int fd),                                         (U(fd)), SYS_dup) \
    W(int,     dup2,        (int fd, int to),                                 (U(fd), U(to)), SYS_dup2) \
    W(int,     dup3,        (int fd, int to, int flags),                      (U(fd), U(to), U(flags)), SYS_dup3) \
    W(int,     fstat,       (int fd, struct stat *s),                         (U(fd), U(s)), SYS_fstat) \
    W(int,     fstat64,     (int fd, struct stat64 *s),                       (U(fd), U(s)), SYS_fstat) \
    W(int,     stat,        (const char *p, struct stat *s),                  (U(p), U(s)), SYS_stat) \
    W(int,     stat64,      (const char *p, struct stat64 *s),                (U(p), U(s)), SYS_stat) \
    W(int,     lstat,       (const char *p, struct stat *s),                  (U(p), U(s)), SYS_lstat) \
    W(int,     lstat64,     (const char *p, struct stat64 *s),                (U(p), U(s)), SYS_lstat) \
    W(int,     fstatat,     (int d, const char *p, struct stat *s, int f),    (U(d), U(p), U(s), U(f)), SYS_newfstatat) \
    W(int,     fstatat64,   (int d, const char *p, struct stat64 *s, int f),  (U(d), U(p), U(s), U(f)), SYS_newfstatat) \
    W(int,     statx,       (int d, const char *p, int f, unsigned m, struct statx *s), (U(d), U(p), U(f), U(m), U(s)), SYS_statx) \
    W(int,     access,      (const char *p, int m),                           (U(p), U(m)), SYS_access) \
    W(int,     faccessat,   (int d, const char *p, int m, int f),             (U(d), U(p), U(m), U(f)), SYS_faccessat2) \
    W(ssize_t, getdents64,  (int fd, void *b, size_t n),                      (U(fd), U(b), n), SYS_getdents64) \
    W(int,     mkdir,       (const char *p, mode_t m),                        (U(p), U(m)), SYS_mkdir) \
    W(int,     mkdirat,     (int d, const char *p, mode_t m),                 (U(d), U(p), U(m)), SYS_mkdirat) \
    W(int,     rmdir,       (const char *p),                                  (U(p)), SYS_rmdir) \
    W(int,     unlink,      (const char *p),                                  (U(p)), SYS_unlink) \
    W(int,     unlinkat,    (int d, const char *p, int f),                    (U(d), U(p), U(f)), SYS_unlinkat) \
    W(int,     rename,      (const char *p, const char *q),                   (U(p), U(q)), SYS_rename) \
    W(int,     renameat,    (int d, const char *p, int e, const char *q),     (U(d), U(p), U(e), U(q)), SYS_renameat) \
    W(int,     renameat2,   (int d, const char *p, int e, const char *q, unsigned f), (U(d), U(p), U(e), U(q), U(f)), SYS_renameat2) \
    W(int,     link,        (const char *p, const char *q),                   (U(p), U(q)), SYS_link) \
    W(int,     linkat,      (int d, const char *p, int e, const char *q, int f), (U(d), U(p), U(e), U(q), U(f)), SYS_linkat) \
    W(int,     symlink,     (const char *p, const char *q),                   (U(p), U(q)), SYS_symlink) \
    W(int,     symlinkat,   (const char *p, int d, const char *q),            (U(p), U(d), U(q)), SYS_symlinkat) \
    W(ssize_t, readlink,    (const char *restrict p, char *restrict b, size_t n), (U(p), U(b), n), SYS_readlink) \
    W(ssize_t, readlinkat,  (int d, const char *restrict p, char *restrict b, size_t n), (U(d), U(p), U(b), n), SYS_readlinkat) \
    W(int,     chmod,       (const char *p, mode_t m),                        (U(p), U(m)), SYS_chmod) \
    W(int,     fchmod,      (int fd, mode_t m),                               (U(fd), U(m)), SYS_fchmod) \
    W(int,     fchmodat,    (int d, const char *p, mode_t m, int f),          (U(d), U(p), U(m), U(f)), SYS_fchmodat) \
    W(int,     chown,       (const char *p, uid_t u, gid_t g),                (U(p), U(u), U(g)), SYS_chown) \
    W(int,     lchown,      (const char *p, uid_t u, gid_t g),                (U(p), U(u), U(g)), SYS_lchown) \
    W(int,     fchown,      (int fd, uid_t u, gid_t g),                       (U(fd), U(u), U(g)), SYS_fchown) \
    W(int,     fchownat,    (int d, const char *p, uid_t u, gid_t g, int f),  (U(d), U(p), U(u), U(g), U(f)), SYS_fchownat) \
    W(int,     utimensat,   (int d, const char *p, const struct timespec t[2], int f), (U(d), U(p), U(t), U(f)), SYS_utimensat) \
    W(int,     futimens,    (int fd, const struct timespec t[2]),             (U(fd), 0, U(t), 0), SYS_utimensat) \
    W(int,     truncate,    (const char *p, off_t n),                         (U(p), U(n)), SYS_truncate) \
    W(int,     truncate64,  (const char *p, off64_t n),                       (U(p), U(n)), SYS_truncate) \
    W(int,     ftruncate,   (int fd, off_t n),                                (U(fd), U(n)), SYS_ftruncate) \
    W(int,     ftruncate64, (int fd, off64_t n),                              (U(fd), U(n)), SYS_ftruncate) \
    W(int,     fsync,       (int fd),                                         (U(fd)), SYS_fsync) \
    W(int,     fdatasync,   (int fd),                                         (U(fd)), SYS_fdatasync) \
    W(int,     flock,       (int fd, int operation),                          (U(fd), U(operation)), SYS_flock) \
    W(int,     syncfs,      (int fd),                                         (U(fd)), SYS_syncfs) \
    W(int,     statfs,      (const char *p, struct statfs *s),                (U(p), U(s)), SYS_statfs) \
    W(int,     statfs64,    (const char *p, struct statfs64 *s),              (U(p), U(s)), SYS_statfs) \
    W(int,     fstatfs,     (int fd, struct statfs *s),                       (U(fd), U(s)), SYS_fstatfs) \
    W(int,     fstatfs64,   (int fd, struct statfs64 *s),                     (U(fd), U(s)), SYS_fstatfs) \
    W(int,     chdir,       (const char *p),                                  (U(p)), SYS_chdir) \
    W(int,     fchdir,      (int fd),                                         (U(fd)), SYS_fchdir) \
    W(pid_t,   getppid,     (void),                                           (0), SYS_getppid) \
    W(uid_t,   getuid,      (void),                                           (0), SYS_getuid) \
    W(uid_t,   geteuid,     (void),                                           (0), SYS_geteuid) \
    W(gid_t,   getgid,      (void),                                           (0), SYS_getgid) \
    W(gid_t,   getegid,     (void),                                           (0), SYS_getegid)

#endif
