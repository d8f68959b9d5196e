/*
 * liteshield_abi.h — every byte that crosses between a guest and a service.
 *
 * This header is the single definition of the LiteIPC shared-memory layout. The
 * Swift services (through CLiteShim) and the C guest runtime both include it;
 * nothing restates these layouts by hand. Everything here lives in memory that a
 * hostile peer can rewrite at any moment: readers copy values out once (with the
 * single-read helpers below) and validate the copy.
 *
 * Layout of a channel region (all offsets from the start of the region):
 *
 *   [ls_channel_header]                      LS_CHANNEL_HEADER_SIZE bytes
 *   slot 0: [ls_slot_control]                LS_SLOT_CONTROL_SIZE bytes
 *           [ls_ring_header][ls_request × ring_capacity]   request ring
 *           [ls_ring_header][ls_reply × ring_capacity]     reply ring
 *           [payload area: payload_size bytes]
 *   slot 1: ...                              every slot is slot_size bytes
 */
#ifndef LITESHIELD_ABI_H
#define LITESHIELD_ABI_H

#include <stdint.h>
#include <stddef.h>

#define LS_CACHE_LINE 64u

/* "LSHLDCHN" read as a little-endian integer. */
#define LS_CHANNEL_MAGIC 0x4E4843444C48534CULL
#define LS_ABI_VERSION 1u

/* ---------------------------------------------------------------------------
 * Wait word: a futex a single waiter sleeps on.
 *
 * The waiter reads `sequence`, sets `sleeping` to 1, re-checks its condition,
 * then futex-waits on `sequence` while it still holds the value it read. A
 * notifier publishes its data, issues a full fence, and if `sleeping` is set it
 * bumps `sequence` and wakes. The full fences on both sides close the lost-wake
 * window (store→load ordering).
 * ------------------------------------------------------------------------- */
typedef struct ls_wait_word {
    uint32_t sleeping;
    uint32_t sequence;
} ls_wait_word;

/* ---------------------------------------------------------------------------
 * SPSC ring header. `head` and `tail` are free-running 64-bit counters (records
 * for a record ring, bytes for a byte ring); the index is counter & (capacity-1).
 * Each counter sits on its own cache line, written by one side only.
 * ------------------------------------------------------------------------- */
typedef struct ls_ring_header {
    /* Written by the consumer only, on every dequeue. */
    uint64_t head;
    uint8_t pad_consumer[LS_CACHE_LINE - 8];
    /* Written by the producer only, on every enqueue. */
    uint64_t tail;
    uint8_t pad_producer[LS_CACHE_LINE - 8];
    /* Written only when a side goes to sleep, so the notifier's check of the
     * sleeping flags reads a line that is nearly always shared and cached. */
    ls_wait_word consumer_wait;   /* consumer sleeps here waiting for data */
    ls_wait_word producer_wait;   /* producer sleeps here waiting for space */
    /* Written once by the creator. Peers keep their own validated copy. */
    uint32_t capacity;            /* records or bytes, a power of two */
    uint32_t record_size;         /* bytes per record; 0 for a byte ring */
    uint8_t pad_config[LS_CACHE_LINE - 24];
} ls_ring_header;

/* Sizes as enum constants, because Swift imports those but not sizeof macros. */
enum { LS_RING_HEADER_SIZE = 3 * LS_CACHE_LINE };

/* Byte rings frame each record as a 64-bit length word then the bytes, padded to 8. */
#define LS_BYTE_RECORD_HEADER 8u
#define LS_BYTE_RECORD_ALIGN 8u
/* A frame header holding this length means "skip to the start of the ring". */
#define LS_BYTE_RECORD_WRAP 0xFFFFFFFFu

/* ---------------------------------------------------------------------------
 * Requests and replies: the wire for guest system calls.
 * ------------------------------------------------------------------------- */
typedef struct ls_request {
    uint64_t sequence;            /* chosen by the caller, echoed in the reply */
    uint32_t op;                  /* operation code (system call or service op) */
    uint32_t flags;
    uint64_t args[6];             /* the six system-call arguments */
    uint32_t payload_offset;      /* bytes into the slot's payload area */
    uint32_t payload_length;
    uint64_t reserved;
} ls_request;

typedef struct ls_reply {
    uint64_t sequence;            /* the request's sequence */
    int64_t result;               /* the call's return value */
    int32_t error;                /* errno, 0 on success */
    uint32_t payload_length;      /* bytes written back at the request's payload_offset */
    uint64_t reserved;
} ls_reply;

/* ---------------------------------------------------------------------------
 * Channel header and slot control block.
 * ------------------------------------------------------------------------- */
typedef struct ls_channel_header {
    uint64_t magic;               /* LS_CHANNEL_MAGIC */
    uint32_t abi_version;         /* LS_ABI_VERSION */
    uint32_t header_size;         /* LS_CHANNEL_HEADER_SIZE */
    uint32_t slot_count;
    uint32_t slot_size;           /* bytes per slot, a multiple of LS_CACHE_LINE */
    uint32_t ring_capacity;       /* records per request and per reply ring */
    uint32_t payload_size;        /* bytes of payload area per slot */
    uint64_t region_size;         /* total bytes of the region */
    int32_t service_pid;          /* process that serves the channel */
    uint32_t claim_epoch;         /* bumped by whoever claims or frees a slot (ls_note_slot_change):
                                     the service rescans which slots are claimed only when it moves */
    uint8_t pad0[LS_CACHE_LINE - 48];
    ls_wait_word doorbell;        /* the service sleeps here when every slot is idle */
    uint8_t pad1[LS_CACHE_LINE - 8];
} ls_channel_header;

enum { LS_CHANNEL_HEADER_SIZE = 2 * LS_CACHE_LINE };

/* Slot states in ls_slot_control.state. */
#define LS_SLOT_FREE 0u
#define LS_SLOT_CLAIMED 1u

typedef struct ls_slot_control {
    uint32_t state;               /* LS_SLOT_FREE / LS_SLOT_CLAIMED, changed by CAS */
    int32_t owner_pid;            /* process of the claiming thread */
    int32_t owner_tid;            /* the claiming thread */
    uint32_t generation;          /* bumped on every claim, so stale owners are noticed */
    uint64_t interrupted;         /* the sequence of a request whose caller stopped waiting (a signal
                                     handler without SA_RESTART ran during a call that waits for another
                                     guest, e.g. F_SETLKW): if the service still holds it, it answers
                                     EINTR; otherwise the word is ignored. Written by the caller, then
                                     the doorbell is rung. */
    uint8_t pad[LS_CACHE_LINE - 24];
} ls_slot_control;

enum { LS_SLOT_CONTROL_SIZE = LS_CACHE_LINE };

_Static_assert(sizeof(ls_wait_word) == 8, "wait word is two futex words");
_Static_assert(sizeof(ls_ring_header) == LS_RING_HEADER_SIZE, "ring header is three cache lines");
_Static_assert(offsetof(ls_ring_header, tail) == LS_CACHE_LINE, "tail on its own cache line");
_Static_assert(offsetof(ls_ring_header, consumer_wait) == 2 * LS_CACHE_LINE, "wait words off the counters' lines");
_Static_assert(offsetof(ls_ring_header, capacity) == 2 * LS_CACHE_LINE + 16, "config after the wait words");
_Static_assert(sizeof(ls_request) == 80, "request layout");
_Static_assert(sizeof(ls_reply) == 32, "reply layout");
_Static_assert(sizeof(ls_channel_header) == LS_CHANNEL_HEADER_SIZE, "channel header layout");
_Static_assert(offsetof(ls_channel_header, doorbell) == LS_CACHE_LINE, "doorbell on its own line");
_Static_assert(sizeof(ls_slot_control) == LS_SLOT_CONTROL_SIZE, "slot control is one line");
_Static_assert(offsetof(ls_slot_control, interrupted) == 16, "interrupted word after the owner");

/* ---------------------------------------------------------------------------
 * Layout arithmetic, computed from validated header values by both sides.
 * ------------------------------------------------------------------------- */
static inline uint64_t ls_align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}
static inline uint64_t ls_slot_request_ring_offset(void) {
    return LS_SLOT_CONTROL_SIZE;
}
static inline uint64_t ls_slot_reply_ring_offset(uint32_t ring_capacity) {
    return ls_align_up(ls_slot_request_ring_offset() + LS_RING_HEADER_SIZE
                       + (uint64_t)ring_capacity * sizeof(ls_request), LS_CACHE_LINE);
}
static inline uint64_t ls_slot_payload_offset(uint32_t ring_capacity) {
    return ls_align_up(ls_slot_reply_ring_offset(ring_capacity) + LS_RING_HEADER_SIZE
                       + (uint64_t)ring_capacity * sizeof(ls_reply), LS_CACHE_LINE);
}
static inline uint64_t ls_slot_size(uint32_t ring_capacity, uint32_t payload_size) {
    return ls_align_up(ls_slot_payload_offset(ring_capacity) + payload_size, LS_CACHE_LINE);
}
static inline uint64_t ls_channel_region_size(uint32_t slot_count, uint32_t ring_capacity,
                                              uint32_t payload_size) {
    return ls_align_up(LS_CHANNEL_HEADER_SIZE
                       + (uint64_t)slot_count * ls_slot_size(ring_capacity, payload_size), 4096);
}

/* ---------------------------------------------------------------------------
 * Atomics on shared memory (C11 builtins; identical code in guest and service).
 * Swift imports these static inline functions and inlines them.
 * ------------------------------------------------------------------------- */
static inline uint64_t ls_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint64_t ls_load_relaxed_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void ls_store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint32_t ls_load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t ls_load_relaxed_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void ls_store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void ls_store_seqcst_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t ls_fetch_add_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline int ls_cas_u32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline void ls_fence_seqcst(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
/* Tells the service that a slot was claimed or freed, after the state word changed. */
static inline void ls_note_slot_change(ls_channel_header *header) { ls_fetch_add_u32(&header->claim_epoch, 1); }
/* Tells the CPU it is in a spin loop (x86 PAUSE), so a hyperthread sibling runs. */
static inline void ls_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Copies `length` bytes (a multiple of 8, both pointers 8-aligned) out of shared
 * memory reading each word exactly once, so a peer rewriting the source cannot
 * make the reader see two different values for one field. */
static inline void ls_copy_from_shared(void *dst, const void *src, size_t length) {
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *s = (const uint64_t *)src;
    for (size_t i = 0; i < length / 8; i++) d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}


/* ---------------------------------------------------------------------------
 * Fast-path conventions (the guest runtime liblsguest.so ↔ the service).
 *
 * A request's `op` is the x86-64 system call number and `args` its six
 * arguments, except that pointer arguments carry an offset into the request's
 * payload range instead of a guest address: the runtime copies paths and input
 * buffers there, and the service writes output buffers there.
 * ------------------------------------------------------------------------- */
/* Pointer arguments in detail (second revision, compatible with the first):
 *  - a NULL pointer travels as LS_NULL_POINTER (no payload offset is that large);
 *  - a struct the kernel fills (struct stat 144 bytes, statx 256, statfs 120) or
 *    reads (utimensat's two timespecs 32, struct flock 32 in and out) has its
 *    kernel size at its offset;
 *  - an iovec array (readv/writev/preadv/pwritev) is a struct iovec array in
 *    the payload whose iov_base values are payload offsets of the data; the
 *    runtime may send fewer entries or shorter ones (a short transfer);
 *  - a buffer the service fills (read, getdents64, readlink, getcwd) is copied
 *    back for as many bytes as the result says, within the reply's length.
 * A request that names a path announces at least 4096 bytes of payload (or the
 * whole area), so a LS_ERROR_RUN_NATIVE answer has room for a host path. */
#define LS_NULL_POINTER UINT64_MAX

/* The environment variable naming the inherited channel memfd's fd number. */
#define LS_CHANNEL_FD_ENV "LITESHIELD_CHANNEL_FD"

/* A reply error meaning "not the service's object: make the call yourself". The
 * runtime then issues the raw system call, which the filter and guard judge.
 * When the reply's payload_length is not 0, the payload (at the request's
 * payload_offset) holds a NUL-terminated absolute host path and reply.result
 * the index of the path argument it replaces: the service resolved the guest's
 * path (its cwd, its mounts) and the kernel must see the host's name for it. */
#define LS_ERROR_RUN_NATIVE 0x7FFFFFFF

/* A reply error to an open meaning "that path is one of your own kernel fds"
 * (/dev/stdin, /dev/fd/1, /proc/self/fd/2 of a pipe or the sandbox's stdio):
 * the runtime duplicates fd reply.result itself, with FD_CLOEXEC if the open
 * asked for O_CLOEXEC. (On the guard path the service rewrites the open into
 * fcntl(fd, F_DUPFD, 0), which the kernel runs.) */
#define LS_ERROR_DUPLICATE_FD 0x7FFFFFFE

/* ---------------------------------------------------------------------------
 * Guest fds (protocol of LS_ABI_VERSION 1, second revision).
 *
 * Every fd number a guest sees is a kernel fd number. An fd served by the
 * service (a LiteFS file, /dev/null, a /proc file, ...) is a *placeholder*: a
 * kernel duplicate of the channel memfd, made by the runtime with
 * fcntl(channel_fd, F_DUPFD or F_DUPFD_CLOEXEC, 0). So the kernel picks the
 * lowest free number (as POSIX requires of open and dup), keeps FD_CLOEXEC, and
 * copies the numbers on fork and closes the close-on-exec ones on exec. The
 * service keeps, per guest process, which of its numbers are placeholders and
 * which open file description each stands for; it can check any claim with
 * kcmp(KCMP_FILE) against its own fd of the channel.
 *
 *  - open/openat/creat: the runtime reserves a placeholder first and passes its
 *    number in the request (ls_request.reserved, see below). On success the
 *    service installs the description at that number and returns it; on
 *    failure or LS_ERROR_RUN_NATIVE the runtime closes the placeholder.
 *  - dup/dup2/dup3/fcntl(F_DUPFD*), close, close_range: the runtime makes the
 *    kernel call itself (the kernel's numbers are the truth), then, when the
 *    source or a target was a placeholder, tells the service with
 *    LS_OP_FD_ALIAS / LS_OP_FD_CLOSED so both tables stay the same.
 *  - fork/clone and exec: the guard sees both (ptrace events) and tells the
 *    service before the new process runs; after exec the service drops every
 *    number that is no longer a placeholder. A runtime starting in a process
 *    asks which of its fds are the service's with LS_OP_ATTACH.
 *
 * ls_request.reserved: bits 0-31 = placeholder fd + 1 (0: none);
 *                      bits 32-63 = acting pid (0: the slot's owner). A vfork
 *                      child runs on its parent's thread and slot until it
 *                      execs; its calls name the child.
 * ls_request.flags:    LS_REQUEST_TRAPPED when the call was caught by the trap
 *                      path (SIGSYS), not by a libc wrapper (for statistics).
 *
 * Runtime behaviour the service can rely on (second revision):
 *  - calls on a placeholder always come to the service (fstatat/utimensat with
 *    an empty or NULL path and a placeholder dirfd too); LS_ERROR_RUN_NATIVE
 *    for such a call is answered EINVAL to the program, never made natively
 *    (the kernel would act on the channel memfd);
 *  - write/pwrite/writev on fds 1 and 2 come to the service even when they are
 *    not placeholders (it bridges stdout/stderr or says LS_ERROR_RUN_NATIVE);
 *  - getppid, getcwd, chdir, fchdir, umask, sync always come to the service;
 *  - pipe/pipe2, and every fd call on a non-placeholder, are made natively;
 *  - close reports LS_OP_FD_CLOSED BEFORE the kernel close (so a number reused
 *    by another thread's open is never dropped late); dup*, F_DUPFD* report
 *    LS_OP_FD_ALIAS after the kernel call;
 *  - a vfork child (posix_spawn) sends its acting pid and reports every dup2 and
 *    close (LS_OP_FD_ALIAS / LS_OP_FD_CLOSED), placeholder or not, since it
 *    cannot keep a table of its own;
 *  - the channel fd itself sits at RLIMIT_NOFILE's soft limit - 16 (the
 *    variable LS_CHANNEL_FD_ENV says where) and is never a placeholder.
 *
 * Calls that wait for another guest (fcntl F_SETLKW / F_OFD_SETLKW, flock
 * without LOCK_NB): the service holds such a request, unanswered, until it can
 * be granted, and serves the other slots meanwhile. The caller sleeps on its
 * reply; when a signal handler without SA_RESTART interrupts that sleep, it
 * writes the request's sequence to ls_slot_control.interrupted and rings the
 * doorbell, and the service answers the held request EINTR (or its result, if
 * it was granted first). A slot holds at most one such request: the service
 * takes no further request from it until that one is answered.
 * ------------------------------------------------------------------------- */
#define LS_REQUEST_TRAPPED 0x1u

/* The first slice's service fds (numbers above any kernel fd); goes away when
 * the runtime and the service move to placeholders. */
#define LS_SERVICE_FD_BASE 0x100000

/* Service operations: op numbers above every system call number. */
enum {
    LS_OP_BASE = 0x10000,
    /* args: (old, new). `new` now stands for the same description as `old`
     * (dup, dup2, dup3, F_DUPFD*); when `old` is not a placeholder, `new` is
     * just no longer one. Result 0. */
    LS_OP_FD_ALIAS = LS_OP_BASE + 1,
    /* args: (first, last). Numbers first...last are no longer placeholders
     * (close, close_range). Result 0. */
    LS_OP_FD_CLOSED = LS_OP_BASE + 2,
    /* args: (payload offset, capacity in bytes). Writes the calling process's
     * placeholder numbers as int32 values; result = how many. */
    LS_OP_ATTACH = LS_OP_BASE + 3,
};

#endif /* LITESHIELD_ABI_H */
