/* ls_sandbox.h — what LiteShieldCore's security boundary needs from C: the
 * async-signal-safe spawn path (fork → limits → filter → exec), ptrace requests,
 * guest registers and memory, seccomp structures. Every function returns its
 * result or -1 with errno set unless it says otherwise. */
#ifndef LS_SANDBOX_H
#define LS_SANDBOX_H

#include <stdint.h>
#include <sys/types.h>

/* One classic BPF instruction, laid out exactly as the kernel's struct sock_filter
 * (checked with _Static_assert in spawn.c) so Swift can build programs without
 * importing <linux/filter.h>. */
typedef struct ls_bpf_instruction {
    uint16_t code;
    uint8_t jt;
    uint8_t jf;
    uint32_t k;
} ls_bpf_instruction;

/* Namespace requests for ls_spawn_config.namespaces (CLONE_NEW* values, which Swift
 * cannot import because <sched.h> hides them behind _GNU_SOURCE). */
enum {
    LS_NS_USER = 0x10000000,
    LS_NS_PID = 0x20000000,
    LS_NS_MOUNT = 0x00020000,
    LS_NS_NET = 0x40000000,
    LS_NS_IPC = 0x08000000,
    LS_NS_UTS = 0x04000000,
};

typedef struct ls_spawn_config {
    const char *path;            /* the program, absolute */
    char *const *argv;
    char *const *envp;
    const int *stdio_fds;        /* guest fd i is a dup of stdio_fds[i] */
    int stdio_count;             /* every other fd is closed */
    const ls_bpf_instruction *filter;
    uint16_t filter_length;
    uint64_t limit_processes;    /* RLIMIT_NPROC (0: unchanged) */
    uint64_t limit_address_space;/* RLIMIT_AS bytes (0: unchanged) */
    uint64_t limit_open_files;   /* RLIMIT_NOFILE (0: unchanged) */
    uint64_t limit_file_size;    /* RLIMIT_FSIZE bytes (0: unchanged) */
    int namespaces;              /* LS_NS_* requested; each is tried, refusals ignored */
    int64_t guest_uid;           /* when ≥ 0 and the caller is root: run the guest as this uid */
    int64_t guest_gid;           /* … and this gid (supplementary groups dropped) */
    int error_pipe;              /* write end, close-on-exec: child reports failures here */
} ls_spawn_config;

/* What the child writes to error_pipe when a step fails: the step and its errno. */
typedef struct ls_spawn_failure {
    int32_t step;   /* LS_SPAWN_STEP_* */
    int32_t error;  /* errno */
} ls_spawn_failure;

enum {
    LS_SPAWN_STEP_TRACEME = 1, LS_SPAWN_STEP_STDIO, LS_SPAWN_STEP_SETSID, LS_SPAWN_STEP_RLIMIT,
    LS_SPAWN_STEP_CREDENTIALS, LS_SPAWN_STEP_NO_NEW_PRIVS, LS_SPAWN_STEP_FILTER, LS_SPAWN_STEP_EXEC,
};

/* Why C: after fork in a multi-threaded process only async-signal-safe calls may
 * run, with no Swift runtime (allocation, locks) — and prctl/ptrace are variadic.
 * Forks the guest, which makes itself traceable, closes every fd but its stdio,
 * starts a new session, sets the limits, enters the namespaces the host allows,
 * sets NO_NEW_PRIVS, stops itself (SIGSTOP) so the caller can set the ptrace
 * options before the filter exists, installs the filter and execs. Returns the
 * guest's pid once it is traced with `ptrace_options` and running towards its
 * filter; the calling thread is the guest's tracer. Returns -1 with errno on
 * failure (the child's own step failure arrives on error_pipe). */
pid_t ls_spawn_guest(const ls_spawn_config *config, int ptrace_options);

/* Why C: the PTRACE_O_* options are enum members of <sys/ptrace.h> that glibc
 * and the kernel headers define differently; C picks the right ones. */
int ls_guard_ptrace_options(void);

/* A system call as the guard sees it at a seccomp stop. */
typedef struct ls_syscall_regs {
    int64_t number;    /* orig_rax */
    uint64_t args[6];  /* rdi rsi rdx r10 r8 r9 */
    int64_t result;    /* rax */
    uint64_t ip;       /* rip */
    uint64_t sp;       /* rsp */
} ls_syscall_regs;

/* Why C: ptrace is variadic. Reads the stopped thread's system call registers. */
int ls_ptrace_get_syscall(pid_t tid, ls_syscall_regs *out);
/* Why C: ptrace is variadic. Writes number, args and result back (ip and sp untouched). */
int ls_ptrace_set_syscall(pid_t tid, const ls_syscall_regs *in);
/* Why C: ptrace is variadic. Skips the stopped call (number −1) and makes it return `result`. */
int ls_ptrace_skip_syscall(pid_t tid, int64_t result);
/* Why C: ptrace is variadic. Resumes with `signal` (0 for none). */
int ls_ptrace_cont(pid_t tid, int signal);
/* Why C: ptrace is variadic. Resumes to the next syscall-exit stop. */
int ls_ptrace_syscall(pid_t tid, int signal);

/* Why C: ptrace is variadic. Resumes a stopped thread for one instruction. */
int ls_ptrace_singlestep(pid_t tid, int signal);

/* Why C: the seccomp fields of siginfo_t are a union Swift cannot name. When the
 * signal that stopped `tid` is a seccomp trap (SIGSYS with SYS_SECCOMP): its
 * system call number, and in *address the instruction after the trapping
 * syscall; else -1. */
long ls_seccomp_trap(pid_t tid, uint64_t *address);

/* Why C: user_regs_struct. Points a stopped thread at a `syscall` instruction at
 * `ip` with rax = `number` (its argument registers as they are); *resume gets
 * where it was. */
int ls_redirect_to_syscall(pid_t tid, uint64_t ip, long number, uint64_t *resume);

/* Why C: user_regs_struct. Sets a stopped thread's instruction pointer. */
int ls_set_instruction_pointer(pid_t tid, uint64_t ip);
/* Why C: ptrace is variadic. The event message (new tid, exit status, old tid). */
int ls_ptrace_event_message(pid_t tid, unsigned long *out);

/* Why C: runs one mmap inside the stopped guest thread (it is at a seccomp stop):
 * rewrites the call to mmap, steps to its exit, then rewinds the thread so it
 * re-executes its original syscall instruction. Returns the mapped address, or a
 * negative errno; -ESRCH when the thread died meanwhile (its exit status is then
 * stored in *died_status). A signal that arrived meanwhile is held back and
 * stored in *pending_signal for the caller to deliver when it resumes the thread.
 * Needs ptrace and waitpid with __WALL, which Swift lacks. */
int64_t ls_inject_mmap(pid_t tid, uint64_t length, int prot, int *died_status, int *pending_signal);

/* Why C: __WALL and __WNOTHREAD are Linux-only flags Swift's Glibc does not
 * export. Waits for any tracee or child of the calling thread only (never the
 * children other threads of this process started, e.g. a test runner's). */
pid_t ls_wait_tracee(int *status, int nohang);

/* Why C: process_vm_readv needs _GNU_SOURCE. Reads guest memory (may be partial). */
ssize_t ls_guest_read(pid_t pid, uint64_t address, void *buffer, size_t count);
/* Why C: pwrite on /proc/PID/mem (a tracer may write read-only pages there, which
 * process_vm_writev refuses) with _GNU_SOURCE's pwrite64 at a 64-bit address. */
ssize_t ls_guest_write_mem(int mem_fd, uint64_t address, const void *buffer, size_t count);

/* Why C: forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to `pid`
 * from an async-signal-safe handler (Swift closures may not run in a signal
 * handler); also unblocks them in the calling thread. pid 0 restores the default. */
void ls_forward_signals_to(pid_t pid);

/* Why C: the status macros (WIFEXITED…) are macros Swift cannot call. */
int ls_status_exited(int status);
int ls_status_exit_code(int status);
int ls_status_signaled(int status);
int ls_status_term_signal(int status);
int ls_status_stopped(int status);
int ls_status_stop_signal(int status);
int ls_status_event(int status);

/* Event and option numbers Swift needs (macros/enum members in <sys/ptrace.h>). */
enum {
    LS_EVENT_FORK = 1, LS_EVENT_VFORK = 2, LS_EVENT_CLONE = 3, LS_EVENT_EXEC = 4,
    LS_EVENT_VFORK_DONE = 5, LS_EVENT_EXIT = 6, LS_EVENT_SECCOMP = 7, LS_EVENT_STOP = 128,
};

/* Why C: kcmp has no libc wrapper (syscall is variadic). Whether fd `guest_fd` of
 * process `pid` and our fd `host_fd` are the same open file description: 1 yes,
 * 0 no, -1 with errno when the kernel cannot tell (no CONFIG_KCMP, bad fd). */
int ls_same_open_file(pid_t pid, int guest_fd, int host_fd);

/* Why C: statx needs _GNU_SOURCE, which Swift's Glibc module does not define.
 * Fills `buffer` (256 bytes, struct statx) for `path`; 0 or -1 with errno. */
int ls_statx(int dirfd, const char *path, int flags, unsigned mask, void *buffer);

/* Why C: pipe2 needs _GNU_SOURCE, which Swift's Glibc module does not define. */
int ls_pipe_cloexec(int fds[2]);

#endif
