/*
 * runtime.h — what the files of the guest runtime (liblsguest.so) share.
 *
 *   channel.c   attaching the channel, slots, waiting, one request on the wire
 *   calls.h     THE ONE LIST of interposed calls and their argument shapes
 *   serve.c     one system call served: routing, marshalling, placeholders
 *   fds.c       the per-process placeholder bitmap
 *   wrappers.c  the libc symbols this library interposes
 *   trap.c      the second seccomp filter and the SIGSYS handler (trap path)
 *
 * Every call the runtime makes itself goes through ls_raw (its own `syscall`
 * instruction), never through libc: the trap filter traps the served calls made
 * from libc's text, and the runtime's own calls must not be trapped again.
 */
#ifndef LSGUEST_RUNTIME_H
#define LSGUEST_RUNTIME_H

#define _GNU_SOURCE
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include "liteshield_abi.h"

#define LS_EXPORT __attribute__((visibility("default")))
#define LS_HIDDEN __attribute__((visibility("hidden")))

/* A system call from this library's own text: returns the kernel's result,
 * -errno on failure; errno is never touched. */
static inline long ls_raw(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5) {
    long ret;
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    register uint64_t r9 __asm__("r9") = a5;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    return ret;
}
static inline long ls_raw_args(long nr, const uint64_t a[6]) {
    return ls_raw(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
static inline int ls_failed(long r) { return (unsigned long)r > -4096UL; }

/* ---- channel.c ---------------------------------------------------------- */

/* The validated channel, set once by the constructor (base NULL: no channel,
 * every call is native). */
struct ls_channel {
    uint8_t *base;
    uint32_t slot_count;
    uint32_t slot_size;
    uint32_t ring_capacity;
    uint32_t payload_size;
    int fd;                  /* the channel memfd, moved to a high number */
};
extern struct ls_channel ls_channel;
/* This process's pid, cached at load and after fork (atfork child handler). */
extern pid_t ls_pid;

/* One slot in use by one call: the thread's own, or a temporary one for a call
 * made inside a call (a signal handler) or by a vfork child. */
struct ls_slot_use {
    int slot;
    int temporary;           /* 0: the thread's own; 1: for this call only; 2: the same, for a
                                thread that holds no slot of its own (channel.c, ls_call_begin) */
    uint64_t request_tail;   /* our producer counter on the request ring */
    uint64_t reply_head;     /* our consumer counter on the reply ring */
    uint8_t *payload;
    int may_wait;            /* the call may wait for another guest (F_SETLKW, flock): its reply
                                is awaited so that a signal can interrupt it (channel.c) */
};
/* Gets a slot for one call (waiting for a free one if need be); `temporary`
 * forces a slot of its own. Returns 0, or -1 when there is no channel. */
LS_HIDDEN int ls_call_begin(struct ls_slot_use *use, int temporary);
/* Publishes a request and waits for its reply (resuming after signals). */
LS_HIDDEN void ls_call_send(struct ls_slot_use *use, uint32_t op, uint32_t flags, const uint64_t args[6],
                            uint32_t payload_length, uint64_t reserved, ls_reply *reply);
LS_HIDDEN void ls_call_end(struct ls_slot_use *use);
LS_HIDDEN int ls_attached(void);

/* ---- patch.c ------------------------------------------------------------- */
/* Points glibc's internal file-call entry points at the runtime (see patch.c). */
LS_HIDDEN void ls_patch_libc(void);

/* ---- fds.c --------------------------------------------------------------- */
enum { LS_FD_LIMIT = 65536 };   /* placeholders above this are not tracked */
LS_HIDDEN int ls_fd_is_placeholder(long fd);
LS_HIDDEN void ls_fd_set(long fd, int placeholder);
/* Clears first..last; returns whether any of them was a placeholder. */
LS_HIDDEN int ls_fd_clear_range(unsigned long first, unsigned long last);

/* ---- serve.c ------------------------------------------------------------- */

/* Where a call came from. */
struct ls_origin {
    uint32_t flags;          /* LS_REQUEST_TRAPPED or 0 */
    int32_t acting_pid;      /* a vfork child's pid (not ls_pid), else 0 */
};
/* Serves system call `nr` with arguments `a` like the kernel would: routes it to
 * the service or makes it natively; returns the result or -errno. */
LS_HIDDEN long ls_syscall(long nr, const uint64_t a[6], const struct ls_origin *origin);
/* Sends a service operation (LS_OP_*) without payload; returns result or -errno. */
LS_HIDDEN long ls_service_op(uint32_t op, uint64_t a0, uint64_t a1, const struct ls_origin *origin);
/* Whether the trap filter should catch `nr` (the calls with a shape in calls.h). */
LS_HIDDEN int ls_served_number(long nr);
LS_HIDDEN void ls_fds_attach(void);

/* ---- trap.c -------------------------------------------------------------- */
LS_HIDDEN void ls_trap_install(void);

#endif
