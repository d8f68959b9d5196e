/*
 * serve.c — one system call served as the kernel would: routed to the service
 * (its arguments marshalled into the slot's payload, pointers replaced by
 * payload offsets) or made natively. The libc wrappers (wrappers.c) and the
 * SIGSYS handler (trap.c) both come here, so each call has one implementation.
 *
 * Results follow the kernel's convention (value, or -errno); errno is never
 * touched here.
 */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <sys/statfs.h>

/* Last: its one-letter shape macros (V, P, IN, …) must not meet system headers. */
#include "calls.h"

_Static_assert(LS_STAT_BYTES == sizeof(struct stat), "struct stat as the kernel writes it");
_Static_assert(LS_STATX_BYTES == sizeof(struct statx), "struct statx as the kernel writes it");
_Static_assert(LS_STATFS_BYTES == sizeof(struct statfs), "struct statfs as the kernel writes it");

struct arg_shape { uint8_t kind; uint16_t param; };
struct shape {
    uint8_t route;
    int8_t fd_arg;
    struct arg_shape arg[6];
};

enum { SHAPE_LIMIT = 512, PATH_LIMIT = 4096, IOV_LIMIT = 1024 };

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define SHAPE_ROW(nr, route, fd, a0, a1, a2, a3, a4, a5) [nr] = { route, fd, { a0, a1, a2, a3, a4, a5 } },
static const struct shape shapes[SHAPE_LIMIT] = { LS_SYSCALLS(SHAPE_ROW) };
#pragma GCC diagnostic pop

/* fcntl on a placeholder, by command (F_*LK carry a struct flock in and out). */
static const struct shape fcntl_value = { R_FD, 0, { V, V, V, V, V, V } };
static const struct shape fcntl_lock = { R_FD, 0, { V, V, IOF(32), V, V, V } };

int ls_served_number(long nr) { return nr >= 0 && nr < SHAPE_LIMIT && shapes[nr].route != R_NONE; }

/* The service said "make it yourself", maybe naming the host path to use. */
struct rewrite {
    int index;               /* the replaced path argument, -1: none */
    long duplicate;          /* LS_ERROR_DUPLICATE_FD: the caller's own fd to duplicate, -1: none */
    char path[PATH_LIMIT];
};
#define RUN_NATIVE (-0x7FFFFFFFL - 4096)   /* not a result any call returns */

static uint64_t ptr(const void *p) { return (uint64_t)(uintptr_t)p; }

static long native(long nr, const uint64_t a[6], const struct rewrite *rw) {
    if (!rw || rw->index < 0) return ls_raw_args(nr, a);
    uint64_t b[6];
    memcpy(b, a, sizeof b);
    b[rw->index] = ptr(rw->path);
    return ls_raw_args(nr, b);
}

/* 0: native; 1: the service; 2: the service, because the call acts on a
 * placeholder (then never natively: see by_shape). */
static int routed(const struct shape *s, const uint64_t a[6]) {
    switch ((enum ls_route)s->route) {
    case R_NONE: case R_SPECIAL: return 0;
    case R_ALWAYS: return 1;
    case R_FD: return ls_fd_is_placeholder((long)(int)a[s->fd_arg]) ? 2 : 0;
    case R_WRITE: {
        /* write/writev pass the filter for the guest's kernel fds (stdio, pipes):
         * only pwrite64 on stdout/stderr still goes by the service, which bridges it. */
        int fd = (int)a[s->fd_arg];
        return ls_fd_is_placeholder(fd) ? 2 : s == &shapes[SYS_pwrite64] && (fd == 1 || fd == 2);
    }
    case R_PATH:
        for (int i = 0; i < 6; i++) {
            if (s->arg[i].kind != K_PATH && s->arg[i].kind != K_PATH_OPT) continue;
            const char *path = (const char *)(uintptr_t)a[i];
            /* A NULL or "" path beside a dirfd (utimensat(fd, NULL), fstatat with
             * AT_EMPTY_PATH) names the dirfd itself: an fd call. */
            if ((!path || !*path) && i > s->fd_arg) return ls_fd_is_placeholder((long)(int)a[s->fd_arg]) ? 2 : 0;
            if (!path) return 0;   /* the kernel's EFAULT */
            return 1;
        }
        return 1;
    }
    return 0;
}

/* Whether the service may hold this call until another guest lets go of a lock. */
static int may_wait_for_another_guest(long nr, const uint64_t a[6]) {
    if (nr == SYS_fcntl) return (int)a[1] == F_SETLKW || (int)a[1] == F_OFD_SETLKW;
    if (nr == SYS_flock) return !((int)a[1] & LOCK_NB);
    return 0;
}

/* Marshals one call into a slot's payload, sends it, and copies the outputs
 * back. Returns the result, -errno, or RUN_NATIVE (with `rw` filled). */
static long remote(long nr, const struct shape *s, const uint64_t original[6], const struct ls_origin *origin,
                   uint32_t reserved_fd_plus_one, struct rewrite *rw) {
    struct ls_slot_use use;
    rw->duplicate = -1;
    if (ls_call_begin(&use, origin->acting_pid != 0) != 0) { rw->index = -1; return RUN_NATIVE; }
    uint8_t *payload = use.payload;
    uint32_t room = ls_channel.payload_size;
    uint64_t a[6];
    memcpy(a, original, sizeof a);
    uint64_t offset[6] = { 0 };
    uint32_t used = 0;
    long result = 0;
#define TAKE(n) ({ uint32_t at_ = used; used += (uint32_t)ls_align_up((n), 8); at_; })
    for (int i = 0; i < 6; i++) {
        const struct arg_shape *k = &s->arg[i];
        const void *p = (const void *)(uintptr_t)original[i];
        switch ((enum ls_kind)k->kind) {
        case K_VAL: break;
        case K_PATH: case K_PATH_OPT: {
            if (!p) { a[i] = LS_NULL_ARG; break; }
            size_t n = strnlen(p, PATH_LIMIT);
            if (n == PATH_LIMIT) { result = -ENAMETOOLONG; goto done; }
            if (used + n + 1 > room) { result = -ENAMETOOLONG; goto done; }
            offset[i] = TAKE(n + 1);
            memcpy(payload + offset[i], p, n + 1);
            a[i] = offset[i];
            break;
        }
        case K_IN: case K_OUT: {
            uint64_t n = original[k->param];
            /* A shorter transfer is a legal short read or write: the caller loops. */
            if (n > room - used) n = room - used;
            a[k->param] = n;
            if (!p) { a[i] = LS_NULL_ARG; break; }
            offset[i] = TAKE(n);
            if (k->kind == K_IN) memcpy(payload + offset[i], p, n);
            a[i] = offset[i];
            break;
        }
        case K_OUT_FIX: case K_IN_FIX: case K_INOUT_FIX: {
            if (!p) { a[i] = LS_NULL_ARG; break; }
            if (k->param > room - used) { result = -EINVAL; goto done; }
            offset[i] = TAKE(k->param);
            if (k->kind != K_OUT_FIX) memcpy(payload + offset[i], p, k->param);
            a[i] = offset[i];
            break;
        }
        case K_IOV_IN: case K_IOV_OUT: {
            /* The payload holds an iovec array whose bases are payload offsets,
             * then the data; an array that does not fit is cut short (a short
             * transfer), as the kernel may. */
            long count = (long)(int)original[k->param];
            if (count < 0 || count > IOV_LIMIT) { result = -EINVAL; goto done; }
            if (!p) { a[i] = LS_NULL_ARG; break; }
            const struct iovec *iov = p;
            if ((uint64_t)count * sizeof(struct iovec) > room - used) count = (room - used) / sizeof(struct iovec);
            offset[i] = TAKE((uint64_t)count * sizeof(struct iovec));
            struct iovec *sent = (struct iovec *)(payload + offset[i]);
            long n = 0;
            for (; n < count && used < room; n++) {
                size_t length = iov[n].iov_len;
                if (length && !iov[n].iov_base) { result = -EFAULT; goto done; }
                if (length > room - used) length = room - used;
                uint32_t at = TAKE(length);
                if (k->kind == K_IOV_IN) memcpy(payload + at, iov[n].iov_base, length);
                sent[n].iov_base = (void *)(uintptr_t)at;
                sent[n].iov_len = length;
                if (length < iov[n].iov_len) { n++; break; }
            }
            a[k->param] = (uint64_t)n;
            a[i] = offset[i];
            break;
        }
        }
    }
#undef TAKE

    /* A path call's range leaves room for the host path of a RUN_NATIVE answer,
     * which the service writes at payload offset 0. */
    uint32_t announced = used;
    for (int i = 0; i < 6; i++)
        if ((s->arg[i].kind == K_PATH || s->arg[i].kind == K_PATH_OPT) && announced < PATH_LIMIT) announced = PATH_LIMIT;
    if (announced > room) announced = room;
    uint64_t reserved = (uint64_t)reserved_fd_plus_one | ((uint64_t)(uint32_t)origin->acting_pid << 32);
    ls_reply reply;
    use.may_wait = may_wait_for_another_guest(nr, original);
    ls_call_send(&use, (uint32_t)nr, origin->flags, a, announced, reserved, &reply);
    used = announced;
    uint32_t returned = reply.payload_length <= used ? reply.payload_length : used;

    if (reply.error == LS_ERROR_RUN_NATIVE) {
        rw->index = -1;
        /* A rewritten host path for argument reply.result, NUL-terminated in the payload. */
        if (returned > 0 && reply.result >= 0 && reply.result < 6
            && (s->arg[reply.result].kind == K_PATH || s->arg[reply.result].kind == K_PATH_OPT)) {
            uint32_t n = returned < PATH_LIMIT ? returned : PATH_LIMIT;
            memcpy(rw->path, payload, n);
            if (memchr(rw->path, 0, n)) rw->index = (int)reply.result;
            else { result = -ENAMETOOLONG; goto done; }
        }
        result = RUN_NATIVE;
        goto done;
    }
    if (reply.error == LS_ERROR_DUPLICATE_FD) {
        rw->index = -1;
        rw->duplicate = reply.result >= 0 && reply.result < 0x7FFFFFFF ? (long)reply.result : -1;
        result = rw->duplicate >= 0 ? RUN_NATIVE : -EIO;
        goto done;
    }
    if (reply.error != 0) { result = reply.error > 0 && reply.error < 4096 ? -reply.error : -EIO; goto done; }
    result = reply.result;
    for (int i = 0; i < 6; i++) {
        const struct arg_shape *k = &s->arg[i];
        void *p = (void *)(uintptr_t)original[i];
        if (!p) continue;
        switch ((enum ls_kind)k->kind) {
        case K_OUT: {
            uint64_t n = result > 0 ? (uint64_t)result : 0;
            if (n > a[k->param]) n = a[k->param];
            if (offset[i] + n > returned) n = returned > offset[i] ? returned - offset[i] : 0;
            memcpy(p, payload + offset[i], n);
            break;
        }
        case K_OUT_FIX: case K_INOUT_FIX:
            if (offset[i] + k->param <= returned) memcpy(p, payload + offset[i], k->param);
            break;
        case K_IOV_OUT: {
            uint64_t left = result > 0 ? (uint64_t)result : 0;
            const struct iovec *iov = p;
            const struct iovec *sent = (const struct iovec *)(payload + offset[i]);
            for (uint64_t n = 0; n < a[k->param] && left > 0; n++) {
                uint64_t at = (uint64_t)(uintptr_t)sent[n].iov_base, length = sent[n].iov_len;
                if (length > left) length = left;
                if (at + length > returned) break;
                memcpy(iov[n].iov_base, payload + at, length);
                left -= length;
            }
            break;
        }
        default: break;
        }
    }
done:
    ls_call_end(&use);
    return result;
}

long ls_service_op(uint32_t op, uint64_t a0, uint64_t a1, const struct ls_origin *origin) {
    struct ls_slot_use use;
    if (ls_call_begin(&use, origin->acting_pid != 0) != 0) return -ENOSYS;
    uint64_t a[6] = { a0, a1, 0, 0, 0, 0 };
    ls_reply reply;
    ls_call_send(&use, op, origin->flags, a, 0, (uint64_t)(uint32_t)origin->acting_pid << 32, &reply);
    ls_call_end(&use);
    return reply.error ? -(long)reply.error : reply.result;
}

/* Serves a call by shape: the service when routed there, else natively. */
/* A read or write of a service file larger than a slot's payload goes in
 * payload-sized pieces, so the program sees what the kernel gives for a regular
 * file: the whole transfer, not a short one (dd does not retry a short write).
 * A piece that comes back short (end of file, a full disk, a terminal) ends it. */
static int is_transfer(long nr) {
    return nr == SYS_read || nr == SYS_write || nr == SYS_pread64 || nr == SYS_pwrite64;
}

static long in_pieces(long nr, const struct shape *s, const uint64_t a[6], const struct ls_origin *o) {
    uint64_t total = a[2], done = 0;
    while (done < total) {
        uint64_t piece[6];
        memcpy(piece, a, sizeof piece);
        uint64_t n = total - done;
        if (n > ls_channel.payload_size) n = ls_channel.payload_size;
        piece[1] = a[1] + done;
        piece[2] = n;
        if (nr == SYS_pread64 || nr == SYS_pwrite64) piece[3] = a[3] + done;
        struct rewrite rw;
        long r = remote(nr, s, piece, o, 0, &rw);
        if (r == RUN_NATIVE) r = -EINVAL;   /* never natively on a placeholder (see by_shape) */
        if (r < 0) return done ? (long)done : r;
        done += (uint64_t)r;
        if ((uint64_t)r < n) break;
    }
    return (long)done;
}

static long by_shape(long nr, const struct shape *s, const uint64_t a[6], const struct ls_origin *o) {
    int route = ls_attached() ? routed(s, a) : 0;
    if (!route) return ls_raw_args(nr, a);
    if (route == 2 && is_transfer(nr) && a[2] > ls_channel.payload_size) return in_pieces(nr, s, a, o);
    struct rewrite rw;
    long r = remote(nr, s, a, o, 0, &rw);
    if (r != RUN_NATIVE) return r;
    /* Never a native call on a placeholder: the kernel would act on the channel
     * memfd itself (a write there overwrites the channel's header). A service
     * that cannot serve a call on its own fd gets EINVAL for it. */
    if (route == 2) return nr == SYS_ioctl ? -ENOTTY : -EINVAL;
    return native(nr, a, &rw);
}

/* ---------------------------------------------------------------------------
 * Calls that make or drop fd numbers. The kernel's numbers are the truth: the
 * runtime makes the kernel call and tells the service (liteshield_abi.h, "Guest
 * fds"). A vfork child shares this process's memory but not its fd table, so
 * it leaves the bitmap alone and tells the service about every change.
 * ------------------------------------------------------------------------- */
static void mark(long fd, int placeholder, const struct ls_origin *o) {
    if (!o->acting_pid) ls_fd_set(fd, placeholder);
}

/* fcntl(fd, F_DUPFD_CLOEXEC, from) as F_DUPFD then F_SETFD: the filter passes
 * F_DUPFD, F_GETFD, F_SETFD and F_GETFL without a guard stop, and every open of
 * a service file reserves its number this way. (Another thread's exec between
 * the two calls would inherit the new fd; the same window exists for any
 * program that sets FD_CLOEXEC after open.) */
static long duplicate_fd(long fd, uint64_t from, int close_on_exec) {
    long r = ls_raw(SYS_fcntl, (uint64_t)fd, F_DUPFD, from, 0, 0, 0);
    if (r >= 0 && close_on_exec) ls_raw(SYS_fcntl, (uint64_t)r, F_SETFD, FD_CLOEXEC, 0, 0, 0);
    return r;
}

static long open_call(long nr, const uint64_t a[6], const struct ls_origin *o) {
    const struct shape *s = &shapes[nr];
    const char *path = (const char *)(uintptr_t)a[nr == SYS_openat ? 1 : 0];
    if (!ls_attached() || !path) return ls_raw_args(nr, a);   /* NULL: the kernel's EFAULT */
    int flags = nr == SYS_openat ? (int)a[2] : nr == SYS_open ? (int)a[1] : O_CREAT | O_WRONLY | O_TRUNC;
    /* The placeholder first: the kernel picks the number open must return. */
    long placeholder = duplicate_fd(ls_channel.fd, 0, (flags & O_CLOEXEC) != 0);
    if (placeholder < 0) return placeholder;
    struct rewrite rw;
    long r = remote(nr, s, a, o, (uint32_t)placeholder + 1, &rw);
    if (r == placeholder) {
        mark(r, 1, o);
        return r;
    }
    ls_raw(SYS_close, (uint64_t)placeholder, 0, 0, 0, 0, 0);
    if (r == RUN_NATIVE && rw.duplicate >= 0) {
        /* One of our own kernel fds by name (/dev/stdin): the kernel's dup. A
         * placeholder named so is the service's and never comes back this way. */
        long fd = duplicate_fd(rw.duplicate, 0, (flags & O_CLOEXEC) != 0);
        if (fd >= 0) mark(fd, 0, o);
        return fd;
    }
    return r == RUN_NATIVE ? native(nr, a, &rw) : r;
}

static long closed(unsigned long first, unsigned long last, const struct ls_origin *o) {
    return ls_service_op(LS_OP_FD_CLOSED, first, last, o);
}

static long close_call(const uint64_t a[6], const struct ls_origin *o) {
    long fd = (long)(int)a[0];
    /* The channel stays: a guest closing it (closefrom-style loops do) is told
     * it is closed, and the runtime keeps working. */
    if (ls_attached() && fd == ls_channel.fd) return 0;
    if (ls_attached() && (ls_fd_is_placeholder(fd) || o->acting_pid)) {
        /* Tell the service first: once the kernel has freed the number another
         * thread may reuse it, and a late "closed" would drop the new one. */
        mark(fd, 0, o);
        closed((unsigned long)fd, (unsigned long)fd, o);
    }
    return ls_raw(SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
}

static long close_range_call(const uint64_t a[6], const struct ls_origin *o) {
    unsigned long first = (unsigned int)a[0], last = (unsigned int)a[1], flags = (unsigned int)a[2];
    if (!ls_attached()) return ls_raw(SYS_close_range, first, last, flags, 0, 0, 0);
    if (first > last) return -EINVAL;
    if (!(flags & CLOSE_RANGE_CLOEXEC)) {
        int any = o->acting_pid ? 1 : ls_fd_clear_range(first, last);
        if (any) closed(first, last, o);
    }
    /* Around the channel fd, which must survive (and must not become close-on-exec). */
    unsigned long channel = (unsigned long)ls_channel.fd;
    if (channel < first || channel > last) return ls_raw(SYS_close_range, first, last, flags, 0, 0, 0);
    long r = 0;
    if (channel > first) r = ls_raw(SYS_close_range, first, channel - 1, flags, 0, 0, 0);
    if (r == 0 && channel < last) r = ls_raw(SYS_close_range, channel + 1, last, flags, 0, 0, 0);
    return r;
}

/* After a kernel dup of `from` onto `to`: the bitmap and the service follow. */
static void aliased(long from, long to, int to_was_placeholder, const struct ls_origin *o) {
    int from_placeholder = ls_fd_is_placeholder(from);
    if (!from_placeholder && !to_was_placeholder && !o->acting_pid) return;
    mark(to, from_placeholder, o);
    ls_service_op(LS_OP_FD_ALIAS, (uint64_t)from, (uint64_t)to, o);
}

static long dup_call(long nr, const uint64_t a[6], const struct ls_origin *o) {
    if (!ls_attached()) return ls_raw_args(nr, a);
    long from = (long)(int)a[0];
    long to = nr == SYS_dup ? -1 : (long)(int)a[1];
    if (to >= 0 && to == ls_channel.fd) return -EBADF;   /* the channel is not the guest's to replace */
    if (nr == SYS_dup2 && from == to) return ls_raw_args(nr, a);
    int was = to >= 0 && ls_fd_is_placeholder(to);
    long r = ls_raw_args(nr, a);
    if (r >= 0) aliased(from, r, was, o);
    return r;
}

static long fcntl_call(const uint64_t a[6], const struct ls_origin *o) {
    long fd = (long)(int)a[0];
    int command = (int)a[1];
    if (!ls_attached() || fd == ls_channel.fd) return ls_raw_args(SYS_fcntl, a);
    switch (command) {
    case F_DUPFD: case F_DUPFD_CLOEXEC: {
        long r = duplicate_fd(fd, a[2], command == F_DUPFD_CLOEXEC);
        if (r >= 0) aliased(fd, r, 0, o);
        return r;
    }
    case F_GETFD: case F_SETFD:
        return ls_raw_args(SYS_fcntl, a);   /* the kernel keeps FD_CLOEXEC of a placeholder */
    case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
        return by_shape(SYS_fcntl, &fcntl_lock, a, o);
    default:
        return by_shape(SYS_fcntl, &fcntl_value, a, o);
    }
}

/* fstat as glibc 2.33+ makes it: newfstatat(fd, "", AT_EMPTY_PATH). On one of
 * the guest's own kernel fds it is exactly fstat(fd), which the filter lets
 * through, where newfstatat (a path call) would stop in the guard. */
static int is_plain_fstat(const uint64_t a[6]) {
    const char *path = (const char *)(uintptr_t)a[1];
    long fd = (long)(int)a[0];
    return path && !*path && ((int)a[3] & AT_EMPTY_PATH) && fd >= 0 && !ls_fd_is_placeholder(fd);
}

/* The file type of one of the guest's own kernel fds (not a placeholder), by
 * fstat, which the filter lets through; 0 when there is none to tell. */
static mode_t kernel_fd_type(long fd) {
    if (fd < 0 || ls_fd_is_placeholder(fd)) return 0;
    struct stat info;
    if (ls_raw(SYS_fstat, (uint64_t)fd, (uint64_t)(uintptr_t)&info, 0, 0, 0, 0) != 0) return 0;
    return info.st_mode & S_IFMT;
}

/* isatty() and the like on one of the guest's own kernel fds that is a regular
 * file, a directory or a pipe: the kernel's answer is always ENOTTY, and asking
 * it would be a stop in the guard (ioctl is checked there). Python asks this of
 * every file it opens. */
static int is_terminal_query_on_a_file(const uint64_t a[6]) {
    unsigned request = (unsigned)a[1];
    if (request != TCGETS && request != TIOCGWINSZ && request != TIOCGPGRP) return 0;
    mode_t type = kernel_fd_type((long)(int)a[0]);
    return type == S_IFREG || type == S_IFDIR || type == S_IFIFO;
}

/* Advice (posix_fadvise) on one of the guest's own kernel fds that is a regular
 * file, a host file: checked as the kernel checks it, then taken and ignored,
 * as advice may be; the kernel would be a stop in the guard (cp and cat give
 * advice on every file). Returns 1 with *result set when it answered. */
static int advice_on_a_file(const uint64_t a[6], long *result) {
    if (kernel_fd_type((long)(int)a[0]) != S_IFREG) return 0;
    *result = (int64_t)a[2] < 0 || (unsigned)a[3] > POSIX_FADV_NOREUSE ? -EINVAL : 0;
    return 1;
}

long ls_syscall(long nr, const uint64_t a[6], const struct ls_origin *origin) {
    if (nr == SYS_newfstatat && is_plain_fstat(a)) return ls_raw(SYS_fstat, a[0], a[2], 0, 0, 0, 0);
    if (nr == SYS_ioctl && is_terminal_query_on_a_file(a)) return -ENOTTY;
    long answered;
    if (nr == SYS_fadvise64 && advice_on_a_file(a, &answered)) return answered;
    switch (nr) {
    case SYS_open: case SYS_openat: case SYS_creat: return open_call(nr, a, origin);
    case SYS_close: return close_call(a, origin);
    case SYS_close_range: return close_range_call(a, origin);
    case SYS_dup: case SYS_dup2: case SYS_dup3: return dup_call(nr, a, origin);
    case SYS_fcntl: return fcntl_call(a, origin);
    default:
        if (nr < 0 || nr >= SHAPE_LIMIT) return ls_raw_args(nr, a);
        return by_shape(nr, &shapes[nr], a, origin);
    }
}

/* Which inherited fds are placeholders: after an exec the service knows (the
 * guard told it which close-on-exec ones are gone); a first process has none. */
void ls_fds_attach(void) {
    struct ls_slot_use use;
    if (ls_call_begin(&use, 0) != 0) return;
    uint64_t a[6] = { 0, ls_channel.payload_size, 0, 0, 0, 0 };
    ls_reply reply;
    ls_call_send(&use, LS_OP_ATTACH, 0, a, ls_channel.payload_size, 0, &reply);
    if (reply.error == 0 && reply.result > 0) {
        uint64_t count = (uint64_t)reply.result;
        if (count > ls_channel.payload_size / 4) count = ls_channel.payload_size / 4;
        if (count * 4 > reply.payload_length) count = reply.payload_length / 4;
        const int32_t *numbers = (const int32_t *)use.payload;
        for (uint64_t i = 0; i < count; i++)
            if (numbers[i] != ls_channel.fd) ls_fd_set(numbers[i], 1);
    }
    ls_call_end(&use);
}
