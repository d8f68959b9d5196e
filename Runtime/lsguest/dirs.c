/*
 * dirs.c — directory streams (<dirent.h>: opendir, readdir, closedir, …) written
 * over the runtime's own calls.
 *
 * Why: glibc's versions make their system calls from inside libc (openat,
 * fstat and fcntl in fdopendir, getdents64 in readdir), which only the trap path
 * catches — a ptrace stop each, 10–50 µs. ls, find, du, tar and Python's
 * os.scandir walk directories through these functions; here each of their
 * calls takes the fast path instead.
 *
 * Every public function that makes or takes a DIR* is defined here, so a stream
 * never passes between glibc's implementation and this one. (glibc's own users
 * of streams — scandir, nftw, glob — call its internal functions on its own
 * streams and stay consistent; they keep the trap path.)
 */
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* On x86-64 struct dirent and struct dirent64 are the kernel's linux_dirent64:
 * readdir hands out records straight from the getdents64 buffer, as glibc does. */
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "one record layout");
_Static_assert(offsetof(struct dirent, d_name) == 19, "linux_dirent64 layout");

enum { STREAM_BUFFER = 32768 };

/* <dirent.h> declares DIR as the incomplete `struct __dirstream`: this is ours. */
struct __dirstream {
    int fd;
    int failed;               /* errno of a bad record from the service, reported once */
    pthread_mutex_t lock;     /* readdir on one stream from several threads, as glibc allows */
    size_t position;          /* bytes of `buffer` handed out */
    size_t filled;            /* bytes getdents64 put in `buffer` */
    long offset;              /* d_off of the last record handed out: what telldir says */
    _Alignas(8) char buffer[STREAM_BUFFER];
};

static const struct ls_origin fast = { 0, 0 };

static long call(long nr, uint64_t a0, uint64_t a1, uint64_t a2) {
    const uint64_t a[6] = { a0, a1, a2 };
    return ls_syscall(nr, a, &fast);
}

static DIR *stream_for(int fd) {
    DIR *stream = malloc(sizeof *stream);
    if (!stream) return NULL;   /* errno: ENOMEM from malloc */
    stream->fd = fd;
    stream->failed = 0;
    pthread_mutex_init(&stream->lock, NULL);
    stream->position = stream->filled = 0;
    stream->offset = 0;
    return stream;
}

LS_EXPORT DIR *opendir(const char *path) {
    long fd = call(SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)path,
                   O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC);
    if (ls_failed(fd)) { errno = (int)-fd; return NULL; }
    DIR *stream = stream_for((int)fd);
    if (!stream) {
        int saved = errno;
        call(SYS_close, (uint64_t)fd, 0, 0);
        errno = saved;
    }
    return stream;
}

LS_EXPORT DIR *fdopendir(int fd) {
    struct stat info;
    long r = call(SYS_fstat, (uint64_t)fd, (uint64_t)(uintptr_t)&info, 0);
    if (ls_failed(r)) { errno = (int)-r; return NULL; }
    if (!S_ISDIR(info.st_mode)) { errno = ENOTDIR; return NULL; }
    long flags = call(SYS_fcntl, (uint64_t)fd, F_GETFL, 0);
    if (ls_failed(flags)) { errno = (int)-flags; return NULL; }
    if ((flags & O_ACCMODE) == O_WRONLY) { errno = EINVAL; return NULL; }
    return stream_for(fd);
}

LS_EXPORT int closedir(DIR *stream) {
    int fd = stream->fd;
    pthread_mutex_destroy(&stream->lock);
    free(stream);
    long r = call(SYS_close, (uint64_t)fd, 0, 0);
    if (ls_failed(r)) { errno = (int)-r; return -1; }
    return 0;
}

/* The next record, or NULL at the end (errno untouched) or on an error (errno set). */
static struct dirent64 *next_record(DIR *stream) {
    if (stream->position >= stream->filled) {
        if (stream->failed) { errno = stream->failed; stream->failed = 0; return NULL; }
        long n = call(SYS_getdents64, (uint64_t)stream->fd, (uint64_t)(uintptr_t)stream->buffer, STREAM_BUFFER);
        if (ls_failed(n)) { errno = (int)-n; return NULL; }
        if (n == 0) return NULL;
        stream->position = 0;
        stream->filled = (size_t)n;
    }
    struct dirent64 *record = (struct dirent64 *)(stream->buffer + stream->position);
    size_t left = stream->filled - stream->position;
    /* Records come from the service or the kernel; a malformed one ends the
     * stream with EIO rather than a loop or a read past the buffer. */
    if (left < offsetof(struct dirent64, d_name) + 1 || record->d_reclen < offsetof(struct dirent64, d_name) + 1
        || record->d_reclen > left || record->d_reclen % 8 != 0
        || !memchr(record->d_name, 0, record->d_reclen - offsetof(struct dirent64, d_name))) {
        stream->position = stream->filled;
        errno = EIO;
        return NULL;
    }
    stream->position += record->d_reclen;
    stream->offset = (long)record->d_off;
    return record;
}

LS_EXPORT struct dirent64 *readdir64(DIR *stream) {
    pthread_mutex_lock(&stream->lock);
    struct dirent64 *record = next_record(stream);
    pthread_mutex_unlock(&stream->lock);
    return record;
}

LS_EXPORT struct dirent *readdir(DIR *stream) { return (struct dirent *)readdir64(stream); }

/* Deprecated in glibc, still called by older programs. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
LS_EXPORT int readdir64_r(DIR *stream, struct dirent64 *entry, struct dirent64 **result) {
    int saved = errno;
    errno = 0;
    pthread_mutex_lock(&stream->lock);
    struct dirent64 *record = next_record(stream);
    if (record) memcpy(entry, record, record->d_reclen < sizeof *entry ? record->d_reclen : sizeof *entry);
    pthread_mutex_unlock(&stream->lock);
    int error = record ? 0 : errno;
    errno = saved;
    *result = record ? entry : NULL;
    return error;
}

LS_EXPORT int readdir_r(DIR *stream, struct dirent *entry, struct dirent **result) {
    return readdir64_r(stream, (struct dirent64 *)entry, (struct dirent64 **)result);
}

/* Moves the stream to `offset` (a d_off the stream handed out, or 0). */
static void reposition(DIR *stream, long offset) {
    pthread_mutex_lock(&stream->lock);
    long r = call(SYS_lseek, (uint64_t)stream->fd, (uint64_t)offset, SEEK_SET);
    if (!ls_failed(r)) {
        stream->position = stream->filled = 0;
        stream->offset = offset;
        stream->failed = 0;
    }
    pthread_mutex_unlock(&stream->lock);
}

LS_EXPORT void rewinddir(DIR *stream) { reposition(stream, 0); }
LS_EXPORT void seekdir(DIR *stream, long offset) { reposition(stream, offset); }

LS_EXPORT long telldir(DIR *stream) {
    pthread_mutex_lock(&stream->lock);
    long offset = stream->offset;
    pthread_mutex_unlock(&stream->lock);
    return offset;
}

LS_EXPORT int dirfd(DIR *stream) { return stream->fd; }
