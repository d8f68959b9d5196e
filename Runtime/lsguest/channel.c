/*
 * channel.c — the channel: attached once at load, one slot per guest thread,
 * one request at a time on it, and the waiting in between.
 */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

struct ls_channel ls_channel = { .fd = -1 };
pid_t ls_pid;

/* The calling thread's own slot: -1 until its first call. `busy` is set while a
 * call of this thread is on the wire: a call made meanwhile (by a signal
 * handler, or the SIGSYS handler for a call libc makes inside it) takes a
 * temporary slot instead, so neither call can read the other's reply.
 *
 * Why not make such a nested call natively, as the first slice did: on a
 * placeholder a native call acts on the channel memfd, which is wrong. Why not
 * queue it on the thread's own ring: the interrupted call may sit between
 * publishing its request and reading its reply, and the nested one would take
 * that reply. A second slot costs one CAS and is async-signal-safe; when none
 * is free the nested call waits like any other (the interrupted call's slot
 * stays claimed, and the service answers it whatever the thread does). */
struct thread_slot {
    int slot;
    int busy;
    pid_t tid;               /* cached gettid(), 0 until first needed */
    uint64_t request_tail;
    uint64_t reply_head;
};
static __thread struct thread_slot self = { .slot = -1 };
static pthread_key_t release_key;

static uint8_t *slot_base(int slot) {
    return ls_channel.base + LS_CHANNEL_HEADER_SIZE + (uint64_t)slot * ls_channel.slot_size;
}
static ls_slot_control *slot_control(int slot) { return (ls_slot_control *)slot_base(slot); }
static ls_ring_header *request_ring(int slot) {
    return (ls_ring_header *)(slot_base(slot) + ls_slot_request_ring_offset());
}
static ls_ring_header *reply_ring(int slot) {
    return (ls_ring_header *)(slot_base(slot) + ls_slot_reply_ring_offset(ls_channel.ring_capacity));
}
static ls_request *request_record(int slot, uint64_t position) {
    return (ls_request *)((uint8_t *)request_ring(slot) + LS_RING_HEADER_SIZE) + (position & (ls_channel.ring_capacity - 1));
}
static ls_reply *reply_record(int slot, uint64_t position) {
    return (ls_reply *)((uint8_t *)reply_ring(slot) + LS_RING_HEADER_SIZE) + (position & (ls_channel.ring_capacity - 1));
}

int ls_attached(void) { return __atomic_load_n(&ls_channel.base, __ATOMIC_ACQUIRE) != 0; }

/* ---------------------------------------------------------------------------
 * Waiting: the same spin → yield → futex protocol as LiteIPC's WaitWord
 * (Sources/LiteIPC/WaitStrategy.swift), with the budgets measured for a guest
 * and its service on this kind of machine (2 vCPUs, shared): spin only 1 µs
 * (a reply from another core takes ~0.4 µs), because the scheduler often puts
 * the service on the guest's own core, where spinning only delays the answer;
 * then yield for up to 100 µs, which lets a service on the same core run; only
 * then sleep on the wait word (in 50 ms slices). Sleeping sooner is a trap:
 * waking a halted vCPU takes 15–50 µs, longer than the peer's patience, and
 * both sides then sleep on every call.
 *
 * A signal that interrupts the futex wait (EINTR) just resumes the loop: the
 * reply must not be lost, and a service call never blocks for long.
 * ------------------------------------------------------------------------- */
enum { SPIN_NS = 1000, YIELD_NS = 100000, SLEEP_SLICE_NS = 50000000 };

static uint64_t monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);  /* vDSO: no system call */
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* sched_yield through our own instruction: libc's is not trapped, but the
 * runtime keeps to one rule for every call it makes. */
static void yield(void) { ls_raw(SYS_sched_yield, 0, 0, 0, 0, 0, 0); }

static void notify(ls_wait_word *word) {
    ls_fence_seqcst();
    if (ls_load_relaxed_u32(&word->sleeping)) {
        ls_fetch_add_u32(&word->sequence, 1);
        ls_raw(SYS_futex, (uint64_t)(uintptr_t)&word->sequence, FUTEX_WAKE, 1, 0, 0, 0);
    }
}

typedef int (*ready_fn)(const void *context);

/* Waits until ready(context). No liveness check of the service: it is the
 * guest's tracer, and the guest dies with it (PTRACE_O_EXITKILL). */
static void wait_until(ls_wait_word *word, ready_fn ready, const void *context) {
    if (ready(context)) return;
    uint64_t end = monotonic_ns() + SPIN_NS;
    for (;;) {
        for (int i = 0; i < 32; i++) {   /* the clock costs about a poll: read it every 32 */
            ls_cpu_relax();
            if (ready(context)) return;
        }
        if (monotonic_ns() >= end) break;
    }
    end = monotonic_ns() + YIELD_NS;
    do {
        yield();
        if (ready(context)) return;
    } while (monotonic_ns() < end);
    for (;;) {
        uint32_t observed = ls_load_acquire_u32(&word->sequence);
        ls_store_seqcst_u32(&word->sleeping, 1);
        if (ready(context)) { ls_store_release_u32(&word->sleeping, 0); return; }
        struct timespec slice = { 0, SLEEP_SLICE_NS };
        ls_raw(SYS_futex, (uint64_t)(uintptr_t)&word->sequence, FUTEX_WAIT, observed, (uint64_t)(uintptr_t)&slice, 0, 0);
        ls_store_release_u32(&word->sleeping, 0);
        if (ready(context)) return;
    }
}

static int reply_ready(const void *context) {
    const struct ls_slot_use *u = context;
    ls_reply *r = reply_record(u->slot, u->reply_head);
    return ls_load_acquire_u64(&r->sequence) == u->reply_head + 1;
}

/* The reply to a call that may wait for another guest (F_SETLKW, flock),
 * which the service holds until it can be granted. After the usual short spin
 * it sleeps with no time limit, so that the kernel applies the guest's signal
 * dispositions: a signal with no handler or an SA_RESTART handler restarts the
 * sleep by itself; a handler without SA_RESTART ends it with EINTR. Then the
 * service is asked to give the call up (liteshield_abi.h, "Calls that wait")
 * and answers EINTR, or the result if it granted the call first; the caller's
 * usual wait collects that answer. */
static void wait_for_held_reply(struct ls_slot_use *use, uint64_t sequence) {
    ls_wait_word *word = &reply_ring(use->slot)->consumer_wait;
    uint64_t end = monotonic_ns() + SPIN_NS;
    do {
        if (reply_ready(use)) return;
        ls_cpu_relax();
    } while (monotonic_ns() < end);
    for (;;) {
        uint32_t observed = ls_load_acquire_u32(&word->sequence);
        ls_store_seqcst_u32(&word->sleeping, 1);
        if (reply_ready(use)) { ls_store_release_u32(&word->sleeping, 0); return; }
        long r = ls_raw(SYS_futex, (uint64_t)(uintptr_t)&word->sequence, FUTEX_WAIT, observed, 0, 0, 0);
        ls_store_release_u32(&word->sleeping, 0);
        if (reply_ready(use)) return;
        if (r == -EINTR) {
            ls_store_release_u64(&slot_control(use->slot)->interrupted, sequence);
            notify(&((ls_channel_header *)ls_channel.base)->doorbell);
            return;
        }
    }
}

static int request_room(const void *context) {
    const struct ls_slot_use *u = context;
    uint64_t head = ls_load_acquire_u64(&request_ring(u->slot)->head);
    return u->request_tail - head < ls_channel.ring_capacity;
}

/* ---------------------------------------------------------------------------
 * Slots: claimed by CAS, the thread's own released when the thread exits.
 * ------------------------------------------------------------------------- */

/* Claims a free slot for `pid`, starting from the counters in it (skipping
 * replies left for an earlier owner); -1 when every slot is taken. `free_seen`
 * gets how many slots were free (at least the one claimed). */
static int try_claim(struct ls_slot_use *use, pid_t pid, pid_t tid, uint32_t *free_seen) {
    uint32_t seen = 0;
    int claimed = -1;
    for (uint32_t i = 0; i < ls_channel.slot_count; i++) {
        ls_slot_control *control = slot_control((int)i);
        if (ls_load_relaxed_u32(&control->state) != LS_SLOT_FREE) continue;
        seen++;
        if (claimed >= 0 || !ls_cas_u32(&control->state, LS_SLOT_FREE, LS_SLOT_CLAIMED)) continue;
        claimed = (int)i;
        if (!free_seen) break;
    }
    if (free_seen) *free_seen = seen;
    if (claimed < 0) return -1;
    {
        int i = claimed;
        ls_slot_control *control = slot_control(i);
        control->owner_pid = pid;
        control->owner_tid = tid;
        ls_fetch_add_u32(&control->generation, 1);
        use->slot = (int)i;
        use->request_tail = ls_load_acquire_u64(&request_ring(use->slot)->tail);
        use->reply_head = ls_load_acquire_u64(&reply_ring(use->slot)->head);
        while (reply_ready(use)) {
            use->reply_head++;
            ls_store_release_u64(&reply_ring(use->slot)->head, use->reply_head);
        }
        ls_note_slot_change((ls_channel_header *)ls_channel.base);
        return 0;
    }
}

/* No free slot: wait for one (spin → yield → sleep 1 ms) rather than make the
 * call natively, which would be wrong on a placeholder. Threads hold slots until
 * they exit and the service reclaims slots of dead processes, so one frees. */
static void claim(struct ls_slot_use *use, pid_t pid, pid_t tid, uint32_t *free_seen) {
    for (unsigned attempt = 0;; attempt++) {
        if (try_claim(use, pid, tid, free_seen) == 0) return;
        if (attempt < 64) ls_cpu_relax();
        else if (attempt < 1024) yield();
        else {
            struct timespec ms = { 0, 1000000 };
            ls_raw(SYS_nanosleep, (uint64_t)(uintptr_t)&ms, 0, 0, 0, 0, 0);
        }
    }
}

static void free_slot(int slot) {
    ls_store_release_u32(&slot_control(slot)->state, LS_SLOT_FREE);
    ls_note_slot_change((ls_channel_header *)ls_channel.base);
}

static void release_thread_slot(void *unused) {
    (void)unused;
    if (self.slot < 0) return;
    free_slot(self.slot);
    self.slot = -1;
}

static pid_t thread_id(void) {
    if (!self.tid) self.tid = (pid_t)ls_raw(SYS_gettid, 0, 0, 0, 0, 0, 0);
    return self.tid;
}

int ls_call_begin(struct ls_slot_use *use, int temporary) {
    if (!ls_attached()) return -1;
    if (temporary) {
        /* A vfork child claims in its own name (its tid is its pid). */
        pid_t child = (pid_t)ls_raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
        use->temporary = 1;
        claim(use, child, child, 0);
    } else if (self.busy) {
        /* A call inside a call (a signal handler): a slot of its own for now. */
        use->temporary = 1;
        claim(use, ls_pid, thread_id(), 0);
    } else if (self.slot < 0) {
        /* A thread keeps the slot it claims while plenty are free; past that
         * (more live threads than a quarter of the slots can spare) it claims
         * one per call, so threads that hold none never wait for ever on
         * threads that hold one and are idle. */
        self.busy = 1;
        uint32_t free_seen = 0;
        claim(use, ls_pid, thread_id(), &free_seen);
        if (free_seen > ls_channel.slot_count / 4) {
            self.slot = use->slot;
            pthread_setspecific(release_key, (void *)1);  /* any non-NULL value runs the destructor */
            use->temporary = 0;
        } else {
            use->temporary = 2;   /* released after the call, like a nested one, but clears busy */
        }
    } else {
        self.busy = 1;
        use->temporary = 0;
        use->slot = self.slot;
        use->request_tail = self.request_tail;
        use->reply_head = self.reply_head;
    }
    use->payload = slot_base(use->slot) + ls_slot_payload_offset(ls_channel.ring_capacity);
    use->may_wait = 0;
    return 0;
}

void ls_call_send(struct ls_slot_use *use, uint32_t op, uint32_t flags, const uint64_t args[6],
                  uint32_t payload_length, uint64_t reserved, ls_reply *reply) {
    /* Publish: fill the record, then its sequence word (position + 1) last with
     * release order, then the tail, then ring the doorbell. */
    if (!request_room(use)) wait_until(&request_ring(use->slot)->producer_wait, request_room, use);
    uint64_t sequence = use->request_tail + 1;
    ls_request *record = request_record(use->slot, use->request_tail);
    record->op = op;
    record->flags = flags;
    memcpy(record->args, args, sizeof record->args);
    record->payload_offset = 0;
    record->payload_length = payload_length;
    record->reserved = reserved;
    ls_store_release_u64(&record->sequence, sequence);
    use->request_tail++;
    ls_store_release_u64(&request_ring(use->slot)->tail, use->request_tail);
    notify(&((ls_channel_header *)ls_channel.base)->doorbell);

    if (use->may_wait) wait_for_held_reply(use, sequence);
    /* The reply comes back in order on the reply ring, found by its sequence word. */
    do {
        wait_until(&reply_ring(use->slot)->consumer_wait, reply_ready, use);
        ls_copy_from_shared(reply, reply_record(use->slot, use->reply_head), sizeof *reply);
        use->reply_head++;
        ls_store_release_u64(&reply_ring(use->slot)->head, use->reply_head);
    } while (reply->sequence < sequence);
    if (reply->sequence != sequence) {
        reply->result = -1;
        reply->error = EIO;
        reply->payload_length = 0;
    }
}

void ls_call_end(struct ls_slot_use *use) {
    if (use->temporary) {
        free_slot(use->slot);
        if (use->temporary == 2) self.busy = 0;
        return;
    }
    self.request_tail = use->request_tail;
    self.reply_head = use->reply_head;
    self.busy = 0;
}

/* After fork the child's thread still holds its parent's slot number: forget it
 * (it is the parent's) and claim one of its own on the next call. */
static void after_fork_in_child(void) {
    self.slot = -1;
    self.busy = 0;
    self.tid = 0;
    ls_pid = (pid_t)ls_raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
}

/* Moves the channel fd out of the way of the guest's own numbers (a shell's
 * `exec 3>` would otherwise close it): to the soft RLIMIT_NOFILE minus 16, and
 * tells exec'd children where it is. Returns the fd to use. */
static int move_channel_fd(int fd) {
    struct rlimit limit;
    if (ls_raw(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (uint64_t)(uintptr_t)&limit, 0, 0) != 0) return fd;
    uint64_t target = limit.rlim_cur > 64 ? limit.rlim_cur - 16 : 0;
    if (target > 1u << 20) target = 1u << 20;
    if (target == 0 || (uint64_t)fd >= target) return fd;
    long moved = ls_raw(SYS_fcntl, (uint64_t)fd, F_DUPFD, target, 0, 0, 0);
    if (moved < 0) return fd;
    char text[16];
    int n = 0;
    char digits[16];
    long v = moved;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (int i = 0; i < n; i++) text[i] = digits[n - 1 - i];
    text[n] = 0;
    if (setenv(LS_CHANNEL_FD_ENV, text, 1) != 0) {
        ls_raw(SYS_close, (uint64_t)moved, 0, 0, 0, 0, 0);
        return fd;
    }
    ls_raw(SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
    return (int)moved;
}

__attribute__((constructor)) static void attach_channel(void) {
    ls_pid = (pid_t)ls_raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
    const char *text = getenv(LS_CHANNEL_FD_ENV);
    if (!text || !*text) return;
    char *end;
    long fd = strtol(text, &end, 10);
    if (*end || fd < 0 || fd > (1 << 20)) return;
    struct stat st;
    if (ls_raw(SYS_fstat, (uint64_t)fd, (uint64_t)(uintptr_t)&st, 0, 0, 0, 0) != 0 || st.st_size < LS_CHANNEL_HEADER_SIZE) return;
    long mapped = ls_raw(SYS_mmap, 0, (uint64_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, (uint64_t)fd, 0);
    if (ls_failed(mapped)) return;
    uint8_t *base = (uint8_t *)mapped;
    /* Copy the header once and validate the copy (the same checks as Channel.attach). */
    ls_channel_header h;
    ls_copy_from_shared(&h, base, sizeof h);
    uint32_t cap = h.ring_capacity;
    if (h.magic != LS_CHANNEL_MAGIC || h.abi_version != LS_ABI_VERSION || h.header_size != LS_CHANNEL_HEADER_SIZE
        || h.slot_count == 0 || h.slot_count > 4096 || cap == 0 || cap > 4096 || (cap & (cap - 1))
        || h.payload_size % LS_CACHE_LINE || h.payload_size < 8192 || h.payload_size > (16u << 20)
        || h.slot_size != ls_slot_size(cap, h.payload_size)
        || h.region_size != ls_channel_region_size(h.slot_count, cap, h.payload_size)
        || h.region_size > (uint64_t)st.st_size) {
        ls_raw(SYS_munmap, (uint64_t)mapped, (uint64_t)st.st_size, 0, 0, 0, 0);
        return;
    }
    if (pthread_key_create(&release_key, release_thread_slot) != 0) {
        ls_raw(SYS_munmap, (uint64_t)mapped, (uint64_t)st.st_size, 0, 0, 0, 0);
        return;
    }
    /* A slot already owned by this pid was claimed before an exec (which ends
     * every thread without running key destructors) or by a dead process whose
     * pid came back: either way no thread of ours uses it now, and its rings are
     * quiescent (a thread execs only between calls), so it can simply be freed. */
    for (uint32_t i = 0; i < h.slot_count; i++) {
        ls_slot_control *control = (ls_slot_control *)(base + LS_CHANNEL_HEADER_SIZE + (uint64_t)i * h.slot_size);
        if (ls_load_acquire_u32(&control->state) == LS_SLOT_CLAIMED
            && ls_load_relaxed_u32((uint32_t *)&control->owner_pid) == (uint32_t)ls_pid
            && ls_cas_u32(&control->state, LS_SLOT_CLAIMED, LS_SLOT_FREE))
            ls_note_slot_change((ls_channel_header *)base);
    }
    pthread_atfork(0, 0, after_fork_in_child);
    ls_channel.slot_count = h.slot_count;
    ls_channel.slot_size = h.slot_size;
    ls_channel.ring_capacity = cap;
    ls_channel.payload_size = h.payload_size;
    ls_channel.fd = move_channel_fd((int)fd);
    __atomic_store_n(&ls_channel.base, base, __ATOMIC_RELEASE);
    /* Which inherited fds are placeholders (after an exec), then the trap path. */
    ls_fds_attach();
    ls_trap_install();
    /* glibc's own opens over the fast path too (patch.c). */
    ls_patch_libc();
}
