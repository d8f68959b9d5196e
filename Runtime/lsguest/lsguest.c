/*
 * liblsguest.so — the guest runtime (fast path, DESIGN.md "How a guest system
 * call is served"). Loaded with LD_PRELOAD into an unmodified program, it
 * interposes libc's wrappers for the calls in LS_CALLS and sends each one as a
 * request on the calling thread's channel slot instead of trapping to the kernel.
 *
 * Plain C with no dependencies beyond libc: it runs inside every guest, so it
 * must be small and start fast. Nothing here is trusted by the service — the
 * seccomp filter stays the boundary — so when anything is off (no channel, a
 * header that does not validate, no free slot, a call from inside a call) the
 * wrapper simply makes the raw system call, which the filter and guard judge.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "liteshield_abi.h"

#define EXPORT __attribute__((visibility("default")))

/* ---------------------------------------------------------------------------
 * The channel, validated once at load.
 * ------------------------------------------------------------------------- */
static struct {
    uint8_t *base;
    uint32_t slot_count;
    uint32_t slot_size;
    uint32_t ring_capacity;
    uint32_t payload_size;
} channel;

/* The calling thread's slot. `slot` is -1 until claimed; `claimed_in` tells a
 * forked child that the slot belongs to its parent. */
struct thread_state {
    int slot;
    pid_t claimed_in;
    uint64_t request_tail;   /* our producer counter on the request ring */
    uint64_t reply_head;     /* our consumer counter on the reply ring */
    int busy;                /* reentrancy guard: a call is on the wire */
};
static __thread struct thread_state self = { .slot = -1 };
static pthread_key_t release_key;

static uint8_t *slot_base(int slot) {
    return channel.base + LS_CHANNEL_HEADER_SIZE + (uint64_t)slot * channel.slot_size;
}
static ls_ring_header *request_ring(int slot) {
    return (ls_ring_header *)(slot_base(slot) + ls_slot_request_ring_offset());
}
static ls_ring_header *reply_ring(int slot) {
    return (ls_ring_header *)(slot_base(slot) + ls_slot_reply_ring_offset(channel.ring_capacity));
}
static ls_request *request_record(int slot, uint64_t position) {
    return (ls_request *)((uint8_t *)request_ring(slot) + LS_RING_HEADER_SIZE) + (position & (channel.ring_capacity - 1));
}
static ls_reply *reply_record(int slot, uint64_t position) {
    return (ls_reply *)((uint8_t *)reply_ring(slot) + LS_RING_HEADER_SIZE) + (position & (channel.ring_capacity - 1));
}
static uint8_t *payload_area(int slot) {
    return slot_base(slot) + ls_slot_payload_offset(channel.ring_capacity);
}

/* ---------------------------------------------------------------------------
 * Waiting: the same spin → yield → futex protocol as LiteIPC's WaitWord
 * (Sources/LiteIPC/WaitStrategy.swift), with the budgets measured for a guest
 * and its service on this kind of machine (2 vCPUs, shared): spin only 1 µs
 * (a reply from another core takes ~0.4 µs), because the scheduler often puts
 * the service on the guest's own core, where spinning only delays the answer;
 * then yield for up to 100 µs, which lets a service on the same core run; only
 * then sleep on the wait word (in 50 ms slices). Sleeping sooner is a trap:
 * waking a halted vCPU takes 15–50 µs, longer than the peer's patience, and
 * both sides then sleep on every call. (LiteIPC's `.adaptive`, 20 µs of spin
 * and 16 yields, measured 10–50 µs per call here for that reason.)
 * ------------------------------------------------------------------------- */
enum { SPIN_NS = 1000, YIELD_NS = 100000, SLEEP_SLICE_NS = 50000000 };

static uint64_t monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);  /* vDSO: no system call */
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static long futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout) {
    return syscall(SYS_futex, word, op, value, timeout, 0, 0);
}

/* Wakes the waiter on `word` if it sleeps; the caller has published its data. */
static void notify(ls_wait_word *word) {
    ls_fence_seqcst();
    if (ls_load_relaxed_u32(&word->sleeping)) {
        ls_fetch_add_u32(&word->sequence, 1);
        futex(&word->sequence, FUTEX_WAKE, 1, 0);
    }
}

typedef int (*ready_fn)(const void *context);

/* Waits until ready(context). There is no liveness check of the service: it is
 * the guest's tracer, and the guest dies with it (PTRACE_O_EXITKILL). */
static void wait_until(ls_wait_word *word, ready_fn ready, const void *context) {
    if (ready(context)) return;
    uint64_t end = monotonic_ns() + SPIN_NS;
    for (;;) {
        /* The clock costs about as much as a poll: read it every 32 polls. */
        for (int i = 0; i < 32; i++) {
            ls_cpu_relax();
            if (ready(context)) return;
        }
        if (monotonic_ns() >= end) break;
    }
    end = monotonic_ns() + YIELD_NS;
    do {
        sched_yield();
        if (ready(context)) return;
    } while (monotonic_ns() < end);
    for (;;) {
        uint32_t observed = ls_load_acquire_u32(&word->sequence);
        ls_store_seqcst_u32(&word->sleeping, 1);
        if (ready(context)) { ls_store_release_u32(&word->sleeping, 0); return; }
        struct timespec slice = { 0, SLEEP_SLICE_NS };
        futex(&word->sequence, FUTEX_WAIT, observed, &slice);
        ls_store_release_u32(&word->sleeping, 0);
        if (ready(context)) return;
    }
}

static int reply_ready(const void *context) {
    const struct thread_state *s = context;
    ls_reply *r = reply_record(s->slot, s->reply_head);
    return ls_load_acquire_u64(&r->sequence) == s->reply_head + 1;
}

static int request_room(const void *context) {
    const struct thread_state *s = context;
    uint64_t head = ls_load_acquire_u64(&request_ring(s->slot)->head);
    return s->request_tail - head < channel.ring_capacity;
}

/* ---------------------------------------------------------------------------
 * Slots: claimed by CAS on first use, released when the thread exits.
 * ------------------------------------------------------------------------- */
static void release_slot(void *unused) {
    (void)unused;
    if (self.slot < 0 || self.claimed_in != getpid()) return;
    ls_slot_control *control = (ls_slot_control *)slot_base(self.slot);
    ls_store_release_u32(&control->state, LS_SLOT_FREE);
    self.slot = -1;
}

static int claim_slot(void) {
    pid_t pid = getpid();
    for (uint32_t i = 0; i < channel.slot_count; i++) {
        ls_slot_control *control = (ls_slot_control *)slot_base((int)i);
        if (!ls_cas_u32(&control->state, LS_SLOT_FREE, LS_SLOT_CLAIMED)) continue;
        control->owner_pid = pid;
        control->owner_tid = gettid();
        ls_fetch_add_u32(&control->generation, 1);
        self.slot = (int)i;
        self.claimed_in = pid;
        /* Start from the counters in the slot, like LiteIPC's ChannelSlot, and
         * skip replies left for an earlier owner. */
        self.request_tail = ls_load_acquire_u64(&request_ring(self.slot)->tail);
        self.reply_head = ls_load_acquire_u64(&reply_ring(self.slot)->head);
        while (reply_ready(&self)) {
            self.reply_head++;
            ls_store_release_u64(&reply_ring(self.slot)->head, self.reply_head);
        }
        pthread_setspecific(release_key, (void *)1);  /* any non-NULL value runs the destructor */
        return 0;
    }
    return -1;
}

/* After fork the child's thread still holds its parent's slot number: forget it
 * (it is the parent's) and claim one of its own on the next call. */
static void forget_slot_in_child(void) {
    self.slot = -1;
    self.busy = 0;
}

__attribute__((constructor)) static void attach_channel(void) {
    const char *text = getenv(LS_CHANNEL_FD_ENV);
    if (!text || !*text) return;
    char *end;
    long fd = strtol(text, &end, 10);
    if (*end || fd < 0 || fd > 65535) return;
    struct stat st;
    if (syscall(SYS_fstat, (int)fd, &st) != 0 || st.st_size < LS_CHANNEL_HEADER_SIZE) return;
    void *base = mmap(0, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
    if (base == MAP_FAILED) return;
    /* Copy the header once and validate the copy (the same checks as Channel.attach). */
    ls_channel_header h;
    ls_copy_from_shared(&h, base, sizeof h);
    uint32_t cap = h.ring_capacity;
    if (h.magic != LS_CHANNEL_MAGIC || h.abi_version != LS_ABI_VERSION || h.header_size != LS_CHANNEL_HEADER_SIZE
        || h.slot_count == 0 || h.slot_count > 4096 || cap == 0 || cap > 4096 || (cap & (cap - 1))
        || h.payload_size % LS_CACHE_LINE || h.payload_size > (16u << 20)
        || h.slot_size != ls_slot_size(cap, h.payload_size)
        || h.region_size != ls_channel_region_size(h.slot_count, cap, h.payload_size)
        || h.region_size > (uint64_t)st.st_size) {
        munmap(base, (size_t)st.st_size);
        return;
    }
    if (pthread_key_create(&release_key, release_slot) != 0) { munmap(base, (size_t)st.st_size); return; }
    /* A slot already owned by this pid was claimed before an exec (which ends
     * every thread without running key destructors) or by a dead process whose
     * pid came back: either way no thread of ours uses it now. Its rings are
     * quiescent (a thread execs only between calls), so it can simply be freed. */
    pid_t pid = getpid();
    for (uint32_t i = 0; i < h.slot_count; i++) {
        ls_slot_control *control = (ls_slot_control *)((uint8_t *)base + LS_CHANNEL_HEADER_SIZE + (uint64_t)i * h.slot_size);
        if (ls_load_acquire_u32(&control->state) == LS_SLOT_CLAIMED && ls_load_relaxed_u32((uint32_t *)&control->owner_pid) == (uint32_t)pid)
            ls_cas_u32(&control->state, LS_SLOT_CLAIMED, LS_SLOT_FREE);
    }
    pthread_atfork(0, 0, forget_slot_in_child);
    channel.slot_count = h.slot_count;
    channel.slot_size = h.slot_size;
    channel.ring_capacity = cap;
    channel.payload_size = h.payload_size;
    __atomic_store_n(&channel.base, (uint8_t *)base, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------------------
 * One call on the wire.
 *
 * Each interposed call is described by its shape: which argument is a path or a
 * buffer (copied into the payload, the argument replaced by its payload offset)
 * and how its fd argument routes it.
 * ------------------------------------------------------------------------- */
enum arg_kind { A_VALUE, A_PATH, A_IN, A_OUT, A_STAT };
enum route {
    R_ALWAYS,      /* always the service: it answers LS_ERROR_RUN_NATIVE for what is not its own */
    R_SERVICE_FD,  /* the service's fds only (argument 0) */
    R_WRITE_FD,    /* the service's fds and stdout/stderr, which the service bridges */
};
struct shape {
    long op;
    enum route route;
    uint8_t kind[6];     /* enum arg_kind of each argument */
    int8_t length_arg;   /* the argument holding A_IN / A_OUT's length */
};

/* Native calls keep their own errno behaviour: syscall() sets errno on failure only. */
static long native(const struct shape *s, const uint64_t a[6]) {
    return syscall(s->op, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int routed_to_service(const struct shape *s, const uint64_t a[6]) {
    int fd = (int)a[0];
    switch (s->route) {
    case R_ALWAYS: return 1;
    case R_SERVICE_FD: return fd >= LS_SERVICE_FD_BASE;
    case R_WRITE_FD: return fd >= LS_SERVICE_FD_BASE || fd == 1 || fd == 2;
    }
    return 0;
}

static long send_call(const struct shape *s, const uint64_t original[6]) {
    if (!__atomic_load_n(&channel.base, __ATOMIC_ACQUIRE) || self.busy || !routed_to_service(s, original))
        return native(s, original);
    /* No getpid() here (a system call on every call): fork's atfork handler
     * forgets the parent's slot in the child. */
    if (self.slot < 0 && claim_slot() != 0) return native(s, original);
    self.busy = 1;
    int saved_errno = errno;

    uint8_t *payload = payload_area(self.slot);
    uint64_t a[6];
    memcpy(a, original, sizeof a);
    uint32_t used = 0;
    uint64_t out_index = 6, out_length = 0;
    for (int i = 0; i < 6; i++) {
        switch ((enum arg_kind)s->kind[i]) {
        case A_VALUE: break;
        case A_PATH: {
            const char *path = (const char *)original[i];
            if (!path) goto native_call;  /* the kernel's EFAULT */
            size_t n = strnlen(path, 4096) + 1;
            if (n > 4096 || used + n > channel.payload_size) goto native_call;
            memcpy(payload + used, path, n);
            a[i] = used;
            used += (uint32_t)ls_align_up(n, 8);
            break;
        }
        case A_IN: case A_OUT: case A_STAT: {
            uint64_t n = s->kind[i] == A_STAT ? sizeof(struct stat) : original[(int)s->length_arg];
            uint64_t room = channel.payload_size - used;
            /* A shorter transfer is a legal short read or write; the caller loops. */
            if (n > room) {
                if (s->kind[i] == A_STAT) goto native_call;
                n = room;
                a[(int)s->length_arg] = n;
            }
            if (s->kind[i] == A_IN) memcpy(payload + used, (const void *)original[i], n);
            else { out_index = (uint64_t)i; out_length = n; }
            a[i] = used;
            used += (uint32_t)ls_align_up(n, 8);
            break;
        }
        }
    }

    /* Publish: fill the record, then its sequence word (position + 1) last with
     * release order, then the tail, then ring the doorbell. */
    if (!request_room(&self)) wait_until(&request_ring(self.slot)->producer_wait, request_room, &self);
    uint64_t sequence = self.request_tail + 1;
    ls_request *record = request_record(self.slot, self.request_tail);
    record->op = (uint32_t)s->op;
    record->flags = 0;
    memcpy(record->args, a, sizeof a);
    record->payload_offset = 0;
    record->payload_length = used;
    record->reserved = 0;
    ls_store_release_u64(&record->sequence, sequence);
    self.request_tail++;
    ls_store_release_u64(&request_ring(self.slot)->tail, self.request_tail);
    notify(&((ls_channel_header *)channel.base)->doorbell);

    /* The reply comes back in order on the reply ring, found by its sequence word. */
    ls_reply reply;
    do {
        wait_until(&reply_ring(self.slot)->consumer_wait, reply_ready, &self);
        ls_copy_from_shared(&reply, reply_record(self.slot, self.reply_head), sizeof reply);
        self.reply_head++;
        ls_store_release_u64(&reply_ring(self.slot)->head, self.reply_head);
    } while (reply.sequence < sequence);
    self.busy = 0;

    if (reply.sequence != sequence) { errno = EIO; return -1; }
    if (reply.error == LS_ERROR_RUN_NATIVE) { errno = saved_errno; return native(s, original); }
    if (reply.error != 0) { errno = reply.error; return -1; }
    if (out_index < 6) {
        uint64_t n = s->kind[out_index] == A_STAT ? out_length
                   : (reply.result > 0 ? (uint64_t)reply.result : 0);
        if (n > out_length) n = out_length;
        if (n > reply.payload_length) n = reply.payload_length;
        memcpy((void *)original[out_index], payload + a[out_index], n);
    }
    errno = saved_errno;
    return reply.result;

native_call:
    self.busy = 0;
    errno = saved_errno;
    return native(s, original);
}

/* ---------------------------------------------------------------------------
 * The interposed calls: ONE list. Each row is
 *   X(return type, symbol, parameters, arguments as uint64_t, system call, route,
 *     kinds of the six arguments, length argument)
 * open-family rows take a variadic mode and are generated by XV.
 * ------------------------------------------------------------------------- */
#define V A_VALUE
#define U(x) ((uint64_t)(uintptr_t)(x))
#define LS_CALLS(X, XV) \
    X(pid_t,   getppid,    (void),                                       (0),                                   SYS_getppid,    R_ALWAYS,     V, V, V, V, V, V, -1) \
    X(ssize_t, write,      (int fd, const void *buf, size_t n),          (U(fd), U(buf), n),                    SYS_write,      R_WRITE_FD,   V, A_IN, V, V, V, V, 2) \
    X(ssize_t, read,       (int fd, void *buf, size_t n),                (U(fd), U(buf), n),                    SYS_read,       R_SERVICE_FD, V, A_OUT, V, V, V, V, 2) \
    X(ssize_t, pread,      (int fd, void *buf, size_t n, off_t at),      (U(fd), U(buf), n, U(at)),             SYS_pread64,    R_SERVICE_FD, V, A_OUT, V, V, V, V, 2) \
    X(ssize_t, pread64,    (int fd, void *buf, size_t n, off64_t at),    (U(fd), U(buf), n, U(at)),             SYS_pread64,    R_SERVICE_FD, V, A_OUT, V, V, V, V, 2) \
    X(ssize_t, pwrite,     (int fd, const void *buf, size_t n, off_t at), (U(fd), U(buf), n, U(at)),            SYS_pwrite64,   R_WRITE_FD,   V, A_IN, V, V, V, V, 2) \
    X(ssize_t, pwrite64,   (int fd, const void *buf, size_t n, off64_t at), (U(fd), U(buf), n, U(at)),          SYS_pwrite64,   R_WRITE_FD,   V, A_IN, V, V, V, V, 2) \
    X(int,     mkdir,      (const char *path, mode_t mode),              (U(path), U(mode)),                    SYS_mkdir,      R_ALWAYS,     A_PATH, V, V, V, V, V, -1) \
    X(int,     unlink,     (const char *path),                           (U(path)),                             SYS_unlink,     R_ALWAYS,     A_PATH, V, V, V, V, V, -1) \
    X(int,     close,      (int fd),                                     (U(fd)),                               SYS_close,      R_SERVICE_FD, V, V, V, V, V, V, -1) \
    X(off_t,   lseek,      (int fd, off_t offset, int whence),           (U(fd), U(offset), U(whence)),         SYS_lseek,      R_SERVICE_FD, V, V, V, V, V, V, -1) \
    X(off64_t,   lseek64,    (int fd, off64_t offset, int whence),           (U(fd), U(offset), U(whence)),         SYS_lseek,      R_SERVICE_FD, V, V, V, V, V, V, -1) \
    X(int,     fstat,      (int fd, struct stat *st),                    (U(fd), U(st)),                        SYS_fstat,      R_SERVICE_FD, V, A_STAT, V, V, V, V, -1) \
    X(int,     fstat64,    (int fd, struct stat64 *st),                    (U(fd), U(st)),                        SYS_fstat,      R_SERVICE_FD, V, A_STAT, V, V, V, V, -1) \
    X(int,     stat,       (const char *path, struct stat *st),          (U(path), U(st)),                      SYS_stat,       R_ALWAYS,     A_PATH, A_STAT, V, V, V, V, -1) \
    X(int,     stat64,     (const char *path, struct stat64 *st),          (U(path), U(st)),                      SYS_stat,       R_ALWAYS,     A_PATH, A_STAT, V, V, V, V, -1) \
    X(int,     lstat,      (const char *path, struct stat *st),          (U(path), U(st)),                      SYS_lstat,      R_ALWAYS,     A_PATH, A_STAT, V, V, V, V, -1) \
    X(int,     lstat64,    (const char *path, struct stat64 *st),          (U(path), U(st)),                      SYS_lstat,      R_ALWAYS,     A_PATH, A_STAT, V, V, V, V, -1) \
    X(int,     fstatat,    (int dirfd, const char *path, struct stat *st, int flags), (U(dirfd), U(path), U(st), U(flags)), SYS_newfstatat, R_ALWAYS, V, A_PATH, A_STAT, V, V, V, -1) \
    X(int,     fstatat64,  (int dirfd, const char *path, struct stat64 *st, int flags), (U(dirfd), U(path), U(st), U(flags)), SYS_newfstatat, R_ALWAYS, V, A_PATH, A_STAT, V, V, V, -1) \
    XV(open,     (const char *path, int flags),            (U(path), U(flags)),         SYS_open,   A_PATH, V, V, V) \
    XV(open64,   (const char *path, int flags),            (U(path), U(flags)),         SYS_open,   A_PATH, V, V, V) \
    XV(openat,   (int dirfd, const char *path, int flags), (U(dirfd), U(path), U(flags)), SYS_openat, V, A_PATH, V, V) \
    XV(openat64, (int dirfd, const char *path, int flags), (U(dirfd), U(path), U(flags)), SYS_openat, V, A_PATH, V, V)

/* The shapes, one per row, named shape_SYMBOL. */
#define SHAPE(ret, name, params, args, op, route, k0, k1, k2, k3, k4, k5, len) \
    static const struct shape shape_##name = { op, route, { k0, k1, k2, k3, k4, k5 }, len };
#define SHAPE_V(name, params, args, op, k0, k1, k2, k3) \
    static const struct shape shape_##name = { op, R_ALWAYS, { k0, k1, k2, k3, V, V }, -1 };
LS_CALLS(SHAPE, SHAPE_V)

/* The wrappers. A mode is read only when the flags say one was passed. */
#define WRAPPER(ret, name, params, args, op, route, k0, k1, k2, k3, k4, k5, len) \
    EXPORT ret name params { \
        uint64_t a[6] = { 0 }; \
        const uint64_t given[] = { 0, LS_UNPAREN args }; \
        memcpy(a, given + 1, sizeof given - sizeof given[0]); \
        return (ret)send_call(&shape_##name, a); \
    }
#define WRAPPER_V(name, params, args, op, k0, k1, k2, k3) \
    EXPORT int name(LS_UNPAREN params, ...) { \
        uint64_t a[6] = { 0 }; \
        const uint64_t given[] = { LS_UNPAREN args }; \
        memcpy(a, given, sizeof given); \
        if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) { \
            va_list list; \
            va_start(list, flags); \
            a[sizeof given / sizeof given[0]] = va_arg(list, unsigned); \
            va_end(list); \
        } \
        return (int)send_call(&shape_##name, a); \
    }
#define LS_UNPAREN(...) __VA_ARGS__
LS_CALLS(WRAPPER, WRAPPER_V)
