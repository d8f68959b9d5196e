/* ls_ipc.h — system calls LiteIPC needs that Swift cannot make directly. */
#ifndef LS_IPC_H
#define LS_IPC_H

#include <stdint.h>
#include <time.h>

/* Each returns the call's result, or -1 with errno set. */

/* Why C: memfd_create and its MFD_ flags need _GNU_SOURCE, which Swift's Glibc
 * module does not define. Creates a close-on-exec memfd that allows sealing
 * (sealable != 0) or not. */
int ls_memfd_create(const char *name, int sealable);
/* Why C: fcntl is variadic. Adds F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL. */
int ls_memfd_seal_size(int fd);
/* Why C: fcntl is variadic and F_SEAL_ needs _GNU_SOURCE. Returns 1 when fd is
 * sealed against both shrinking and growing, 0 when not, -1 when fd has no seals
 * (not a memfd). */
int ls_memfd_size_is_sealed(int fd);
/* Why C: fcntl is variadic. Clears FD_CLOEXEC so a child can inherit fd. */
int ls_fd_set_inheritable(int fd, int inheritable);
/* Why C: futex has no libc wrapper (syscall is variadic). Shared (not PRIVATE)
 * futex, since the word lives in memory mapped by two processes. timeout_ns < 0
 * waits forever. Returns 0 when woken or the value differed, -1 with errno
 * ETIMEDOUT / EINTR / EAGAIN otherwise. */
int ls_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns);
/* Why C: futex has no libc wrapper. Returns the number of waiters woken. */
int ls_futex_wake(uint32_t *word, int count);
/* Why C: pidfd_open has no wrapper in Debian 12's glibc (syscall is variadic). */
int ls_pidfd_open(int pid);
/* Why C: gettid needs _GNU_SOURCE. */
int ls_gettid(void);
/* Why C: a raw getppid syscall, bypassing any libc caching, as the native baseline. */
long ls_raw_getppid(void);
/* Why C: CLOCK_MONOTONIC nanoseconds without Foundation, in one inlinable place. */
static inline uint64_t ls_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
