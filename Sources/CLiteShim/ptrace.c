/* ptrace, guest memory and wait-status helpers for the guard; see ls_sandbox.h for
 * why each one is in C. */
#define _GNU_SOURCE
#include "ls_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int ls_ptrace_get_syscall(pid_t tid, ls_syscall_regs *out) {
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0) return -1;
    out->number = (int64_t)r.orig_rax;
    out->args[0] = r.rdi; out->args[1] = r.rsi; out->args[2] = r.rdx;
    out->args[3] = r.r10; out->args[4] = r.r8; out->args[5] = r.r9;
    out->result = (int64_t)r.rax;
    out->ip = r.rip;
    out->sp = r.rsp;
    return 0;
}

int ls_ptrace_set_syscall(pid_t tid, const ls_syscall_regs *in) {
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0) return -1;
    r.orig_rax = (unsigned long long)in->number;
    r.rdi = in->args[0]; r.rsi = in->args[1]; r.rdx = in->args[2];
    r.r10 = in->args[3]; r.r8 = in->args[4]; r.r9 = in->args[5];
    r.rax = (unsigned long long)in->result;
    return (int)ptrace(PTRACE_SETREGS, tid, 0, &r);
}

int ls_ptrace_skip_syscall(pid_t tid, int64_t result) {
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0) return -1;
    /* At a seccomp stop, number −1 makes the kernel skip the call and return rax. */
    r.orig_rax = (unsigned long long)-1;
    r.rax = (unsigned long long)result;
    return (int)ptrace(PTRACE_SETREGS, tid, 0, &r);
}

int ls_ptrace_cont(pid_t tid, int signal) {
    return (int)ptrace(PTRACE_CONT, tid, 0, (void *)(long)signal);
}

int ls_ptrace_singlestep(pid_t tid, int signal) {
    return (int)ptrace(PTRACE_SINGLESTEP, tid, 0, (void *)(intptr_t)signal);
}

long ls_seccomp_trap(pid_t tid, uint64_t *address) {
    siginfo_t info;
    if (ptrace(PTRACE_GETSIGINFO, tid, 0, &info) != 0) return -1;
    if (info.si_signo != SIGSYS || info.si_code != 1 /* SYS_SECCOMP */) return -1;
    *address = (uint64_t)(uintptr_t)info.si_call_addr;
    return info.si_syscall;
}

int ls_redirect_to_syscall(pid_t tid, uint64_t ip, long number, uint64_t *resume) {
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0) return -errno;
    *resume = regs.rip;
    regs.rip = ip;
    regs.rax = (unsigned long long)number;
    if (ptrace(PTRACE_SETREGS, tid, 0, &regs) != 0) return -errno;
    return 0;
}

int ls_set_instruction_pointer(pid_t tid, uint64_t ip) {
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0) return -errno;
    regs.rip = ip;
    return ptrace(PTRACE_SETREGS, tid, 0, &regs) == 0 ? 0 : -errno;
}

int ls_ptrace_syscall(pid_t tid, int signal) {
    return (int)ptrace(PTRACE_SYSCALL, tid, 0, (void *)(long)signal);
}

int ls_ptrace_event_message(pid_t tid, unsigned long *out) {
    return (int)ptrace(PTRACE_GETEVENTMSG, tid, 0, out);
}

int64_t ls_inject_mmap(pid_t tid, uint64_t length, int prot, int *died_status, int *pending_signal) {
    struct user_regs_struct saved, r;
    if (ptrace(PTRACE_GETREGS, tid, 0, &saved) != 0) return -errno;
    r = saved;
    r.orig_rax = SYS_mmap;
    r.rdi = 0; r.rsi = length; r.rdx = (unsigned long long)prot;
    r.r10 = MAP_PRIVATE | MAP_ANONYMOUS; r.r8 = (unsigned long long)-1; r.r9 = 0;
    if (ptrace(PTRACE_SETREGS, tid, 0, &r) != 0) return -errno;
    /* The changed call is re-checked by the filter, where RET_TRACE now means
     * "allow" (the tracer already decided); step to its exit. */
    if (ptrace(PTRACE_SYSCALL, tid, 0, 0) != 0) return -errno;
    for (;;) {
        int status;
        pid_t got = waitpid(tid, &status, __WALL);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            *died_status = status;
            return -ESRCH;
        }
        if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80)) break;
        /* A signal arrived on the way: hold it back (delivering it now would run a
         * handler in the middle of the injected call) and hand it to the caller,
         * which delivers it when it resumes the thread. */
        if (WIFSTOPPED(status) && WSTOPSIG(status) != SIGTRAP) *pending_signal = WSTOPSIG(status);
        if (ptrace(PTRACE_SYSCALL, tid, 0, 0) != 0) return -errno;
    }
    if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0) return -errno;
    int64_t address = (int64_t)r.rax;
    /* Rewind onto the 2-byte syscall instruction so the original call runs again
     * (and stops in the guard again, now with the page in place). */
    saved.rip -= 2;
    saved.rax = saved.orig_rax;
    if (ptrace(PTRACE_SETREGS, tid, 0, &saved) != 0) return -errno;
    return address;
}

pid_t ls_wait_tracee(int *status, int nohang) {
    return waitpid(-1, status, __WALL | __WNOTHREAD | (nohang ? WNOHANG : 0));
}

ssize_t ls_guest_read(pid_t pid, uint64_t address, void *buffer, size_t count) {
    struct iovec local = {buffer, count};
    struct iovec remote = {(void *)(uintptr_t)address, count};
    return process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

ssize_t ls_guest_write_mem(int mem_fd, uint64_t address, const void *buffer, size_t count) {
    return pwrite64(mem_fd, buffer, count, (off64_t)address);
}

static volatile sig_atomic_t forward_pid;

static void forward(int signal) {
    pid_t pid = forward_pid;
    if (pid > 0) kill(pid, signal);
}

void ls_forward_signals_to(pid_t pid) {
    forward_pid = pid;
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    sigset_t set;
    sigemptyset(&set);
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) sigaddset(&set, signals[i]);
    /* Whoever started us may have blocked them (threads created later inherit this). */
    pthread_sigmask(SIG_UNBLOCK, &set, 0);
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction action = {0};
        action.sa_handler = pid > 0 ? forward : SIG_DFL;
        action.sa_flags = SA_RESTART;
        sigemptyset(&action.sa_mask);
        sigaction(signals[i], &action, 0);
    }
}

int ls_status_exited(int status) { return WIFEXITED(status); }
int ls_status_exit_code(int status) { return WEXITSTATUS(status); }
int ls_status_signaled(int status) { return WIFSIGNALED(status); }
int ls_status_term_signal(int status) { return WTERMSIG(status); }
int ls_status_stopped(int status) { return WIFSTOPPED(status); }
int ls_status_stop_signal(int status) { return WSTOPSIG(status); }
int ls_status_event(int status) { return (status >> 16) & 0xff; }

int ls_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int ls_statx(int dirfd, const char *path, int flags, unsigned mask, void *buffer) {
    _Static_assert(sizeof(struct statx) == 256, "struct statx is 256 bytes");
    return statx(dirfd, path, flags, mask, (struct statx *)buffer);
}

int ls_same_open_file(pid_t pid, int guest_fd, int host_fd) {
    long r = syscall(SYS_kcmp, pid, getpid(), 0 /* KCMP_FILE */, guest_fd, host_fd);
    if (r < 0) return -1;
    return r == 0 ? 1 : 0;
}
