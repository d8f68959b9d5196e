/*
 * trap.c — the trap path (DESIGN.md): system calls that libc makes from its
 * own text without going through an interposed symbol (fopen's openat,
 * printf's write, readdir's getdents64, syscall(2), ...) are caught by a second
 * seccomp filter this runtime stacks on the sandbox's, and served in-process by
 * a SIGSYS handler with the same code as the wrappers.
 *
 * The filter returns SECCOMP_RET_TRAP only when the instruction pointer lies in
 * libc's executable mapping AND the number is one the runtime serves (calls.h);
 * everything else is ALLOW here, and the sandbox's own filter decides as
 * before (the kernel takes the strictest verdict of all filters). The runtime's
 * own calls use its own `syscall` instruction (ls_raw), outside libc, so the
 * handler never traps itself.
 *
 * SIGSYS must never be blocked when libc makes a trapped call: a forced SIGSYS
 * that is blocked kills the process. So the filter also traps libc's
 * rt_sigprocmask and rt_sigaction: the handler emulates them, keeping SIGSYS
 * out of every mask (posix_spawn blocks all signals around its clone, handlers
 * are often installed with a full sa_mask). A guest's own SIGSYS handler is
 * remembered, not installed, and called for SIGSYS that is not ours.
 *
 * Cost: under the guard every SIGSYS is also a ptrace signal-delivery stop
 * (the kernel stops a traced thread for each signal it is sent; no ptrace
 * option avoids it), so a trapped call costs a trap, a guard stop and a channel
 * round trip. Measured with Tests/RuntimePrograms/trapcost.c, release service,
 * 2 vCPUs shared with other work (load 3-8, so only the ratios mean much):
 * trapped getppid 11 µs, the same call through the wrapper 1.1-2.5 µs, and
 * 60 µs for the guard stop the first slice made for it; a native getpid
 * 0.2 µs. It is the compatibility path, not the fast one.
 *
 * A filter survives exec, and the stale filter keeps trapping the OLD libc's
 * address range: code of the next program that lands there (its loader, before
 * its runtime is up; a static program) traps without a handler. It happens more
 * often than ASLR suggests (a 40-exec chain died about once in 30 runs), so the
 * guard re-issues such calls (Sources/LiteShieldCore/Guard/StaleTraps.swift);
 * a new image with the runtime serves the trap itself. Known holes: each exec stacks one
 * more filter (about 80 instructions; the kernel's limit of 32768 in all ends
 * the trap path after some 400 nested execs: seccomp then fails and the
 * runtime goes on without it). A thread blocked in a native call made by the
 * handler (read of a pipe) returns EINTR to the program when a signal arrives,
 * even for an SA_RESTART handler.
 */
#include "runtime.h"

#include <errno.h>
#include <link.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

/* The filter's return data, so the handler knows a SIGSYS is ours. */
#define TRAP_DATA 0x15A

/* The guest's own SIGSYS disposition, in the kernel's struct sigaction layout. */
struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};
static struct kernel_sigaction theirs;   /* handler NULL: SIG_DFL */

static const uint64_t never_blocked = 1ull << (SIGSYS - 1);

/* ---- the handler --------------------------------------------------------- */

/* rt_sigprocmask made inside the handler would be undone by sigreturn, which
 * restores the mask saved in the signal frame: so the frame's mask is changed. */
static long emulate_sigprocmask(ucontext_t *uc, const uint64_t a[6]) {
    int how = (int)a[0];
    const uint64_t *set = (const uint64_t *)(uintptr_t)a[1];
    uint64_t *old = (uint64_t *)(uintptr_t)a[2];
    if (a[3] != 8) return -EINVAL;
    uint64_t current;
    memcpy(&current, &uc->uc_sigmask, 8);
    uint64_t wanted = set ? *set : 0;   /* read before writing `old`: they may be one buffer */
    if (old) *old = current;
    if (!set) return 0;
    switch (how) {
    case SIG_BLOCK: current |= wanted; break;
    case SIG_UNBLOCK: current &= ~wanted; break;
    case SIG_SETMASK: current = wanted; break;
    default: return -EINVAL;
    }
    current &= ~(never_blocked | 1ull << (SIGKILL - 1) | 1ull << (SIGSTOP - 1));
    memcpy(&uc->uc_sigmask, &current, 8);
    return 0;
}

static long emulate_sigaction(const uint64_t a[6], const struct ls_origin *origin) {
    int signal = (int)a[0];
    const struct kernel_sigaction *act = (const struct kernel_sigaction *)(uintptr_t)a[1];
    struct kernel_sigaction *old = (struct kernel_sigaction *)(uintptr_t)a[2];
    if (a[3] != 8) return -EINVAL;
    if (signal != SIGSYS) {
        if (!act || !(act->mask & never_blocked)) return ls_raw_args(SYS_rt_sigaction, a);
        struct kernel_sigaction copy = *act;
        copy.mask &= ~never_blocked;
        return ls_raw(SYS_rt_sigaction, (uint64_t)signal, (uint64_t)(uintptr_t)&copy, a[2], 8, 0, 0);
    }
    struct kernel_sigaction wanted = act ? *act : theirs;
    if (old) *old = theirs;
    /* A vfork child resetting its handlers (posix_spawn) shares our memory: it
     * must not change the parent's record, and keeps our handler until exec. */
    if (act && !origin->acting_pid) theirs = wanted;
    return 0;
}

/* A SIGSYS that is not ours: to the guest's handler, or its default action. */
static void chain(int signal, siginfo_t *info, void *context) {
    void *handler = theirs.handler;
    if (handler == SIG_IGN) return;
    if (handler == SIG_DFL || !handler) {
        struct kernel_sigaction dfl = { 0 };
        ls_raw(SYS_rt_sigaction, SIGSYS, (uint64_t)(uintptr_t)&dfl, 0, 8, 0, 0);
        ls_raw(SYS_tgkill, (uint64_t)ls_raw(SYS_getpid, 0, 0, 0, 0, 0, 0),
               (uint64_t)ls_raw(SYS_gettid, 0, 0, 0, 0, 0, 0), SIGSYS, 0, 0, 0);
        return;
    }
    if (theirs.flags & SA_SIGINFO) ((void (*)(int, siginfo_t *, void *))handler)(signal, info, context);
    else ((void (*)(int))handler)(signal);
}

static void on_sigsys(int signal, siginfo_t *info, void *context) {
    int saved_errno = errno;
    if (info->si_code != 1 /* SYS_SECCOMP */ || info->si_errno != TRAP_DATA) {
        chain(signal, info, context);
        errno = saved_errno;
        return;
    }
    ucontext_t *uc = context;
    greg_t *r = uc->uc_mcontext.gregs;
    long nr = info->si_syscall;
    const uint64_t a[6] = { (uint64_t)r[REG_RDI], (uint64_t)r[REG_RSI], (uint64_t)r[REG_RDX],
                            (uint64_t)r[REG_R10], (uint64_t)r[REG_R8], (uint64_t)r[REG_R9] };
    /* A vfork child (posix_spawn) runs on its parent's memory and thread state:
     * its calls name it, and take a slot of their own. */
    pid_t now = (pid_t)ls_raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
    const struct ls_origin origin = { LS_REQUEST_TRAPPED, now != ls_pid ? now : 0 };
    long result;
    if (nr == SYS_rt_sigprocmask) result = emulate_sigprocmask(uc, a);
    else if (nr == SYS_rt_sigaction) result = emulate_sigaction(a, &origin);
    else result = ls_syscall(nr, a, &origin);
    r[REG_RAX] = result;
    errno = saved_errno;
}

/* ---- the filter ---------------------------------------------------------- */

struct text_range { uintptr_t target, start, end; };

static int find_text(struct dl_phdr_info *object, size_t size, void *context) {
    (void)size;
    struct text_range *range = context;
    for (int i = 0; i < object->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &object->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X)) continue;
        uintptr_t start = object->dlpi_addr + segment->p_vaddr;
        uintptr_t end = start + segment->p_memsz;
        if (range->target >= start && range->target < end) {
            range->start = start;
            range->end = end;
            return 1;
        }
    }
    return 0;
}

void ls_trap_install(void) {
    const char *off = getenv("LITESHIELD_NO_TRAP");
    if (off && *off == '1') return;
    /* libc's text: the executable segment holding a libc function this runtime
     * does not interpose (taking its address gives libc's, not ours). */
    struct text_range range = { (uintptr_t)&sched_yield, 0, 0 };
    if (!dl_iterate_phdr(find_text, &range) || range.start == 0) return;
    if ((uint64_t)range.start >> 32 != (uint64_t)(range.end - 1) >> 32) return;   /* one 4 GiB window, as a mapping is */

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigsys;
    /* NODEFER: a trap inside the handler (a guest signal handler interrupting
     * it) must find SIGSYS unblocked. No mask: other signals may interrupt a
     * long native call made here. */
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSYS, &action, 0) != 0) return;

    /* 0 arch, 1 check, 2-3 ip high word, 4-6 ip low word in [start, end),
     * 7 load nr, then one JEQ per number, then ALLOW, then TRAP. */
    enum { MAX = 160 };
    struct sock_filter filter[MAX];
    int numbers[MAX - 16], count = 0;
    for (long nr = 0; nr < 512 && count < MAX - 20; nr++) if (ls_served_number(nr)) numbers[count++] = (int)nr;
    numbers[count++] = SYS_rt_sigprocmask;
    numbers[count++] = SYS_rt_sigaction;
    const int allow = 8 + count, trap = allow + 1;
    int n = 0;
#define TO(target) ((uint8_t)((target) - n - 1))
#define PUT(instruction) do { filter[n] = (struct sock_filter)instruction; n++; } while (0)
    PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
    PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, TO(allow)));
    PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4));
    PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)((uint64_t)range.start >> 32), 0, TO(allow)));
    PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)));
    PUT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)range.start, 0, TO(allow)));
    PUT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)range.end, TO(allow), 0));
    PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
    for (int i = 0; i < count; i++) PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)numbers[i], TO(trap), 0));
    PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | TRAP_DATA));
#undef PUT
#undef TO
    struct sock_fprog fprog = { (unsigned short)n, filter };
    /* NO_NEW_PRIVS is set already (the sandbox's filter needed it). */
    ls_raw(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (uint64_t)(uintptr_t)&fprog, 0, 0, 0);
}
