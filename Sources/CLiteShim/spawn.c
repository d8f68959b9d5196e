/* The guest spawn path: see ls_spawn_guest in ls_sandbox.h for why it is C. Between
 * fork and exec only async-signal-safe calls run: raw syscalls, no malloc, no stdio. */
#define _GNU_SOURCE
#include "ls_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

_Static_assert(sizeof(ls_bpf_instruction) == sizeof(struct sock_filter), "sock_filter layout");
_Static_assert(offsetof(ls_bpf_instruction, k) == offsetof(struct sock_filter, k), "sock_filter.k");
_Static_assert(LS_NS_USER == CLONE_NEWUSER && LS_NS_PID == CLONE_NEWPID && LS_NS_MOUNT == CLONE_NEWNS &&
               LS_NS_NET == CLONE_NEWNET && LS_NS_IPC == CLONE_NEWIPC && LS_NS_UTS == CLONE_NEWUTS,
               "namespace flags");
_Static_assert(LS_EVENT_SECCOMP == PTRACE_EVENT_SECCOMP && LS_EVENT_EXEC == PTRACE_EVENT_EXEC &&
               LS_EVENT_CLONE == PTRACE_EVENT_CLONE && LS_EVENT_STOP == PTRACE_EVENT_STOP,
               "ptrace events");

int ls_guard_ptrace_options(void) {
    return PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
           PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD;
}

static void fail(int pipe_fd, int step) {
    ls_spawn_failure failure = {step, errno};
    /* Best effort: the parent sees the exit status even if this write fails. */
    ssize_t ignored = write(pipe_fd, &failure, sizeof failure);
    (void)ignored;
    _exit(127);
}

static void set_limit(int resource, uint64_t value, int pipe_fd) {
    if (value == 0) return;
    struct rlimit limit = {value, value};
    if (setrlimit(resource, &limit) != 0) fail(pipe_fd, LS_SPAWN_STEP_RLIMIT);
}

/* Writes a whole small string to a /proc file; async-signal-safe. */
static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t length = 0;
    while (text[length]) length++;
    ssize_t written = write(fd, text, length);
    close(fd);
    return written == (ssize_t)length ? 0 : -1;
}

/* Formats "N N 1\n" for an identity map of one id, without stdio. */
static void identity_map(char *out, uint64_t id) {
    char digits[24];
    int n = 0;
    do { digits[n++] = (char)('0' + id % 10); id /= 10; } while (id);
    int at = 0;
    for (int copy = 0; copy < 2; copy++) {
        for (int i = n - 1; i >= 0; i--) out[at++] = digits[i];
        out[at++] = ' ';
    }
    out[at++] = '1'; out[at++] = '\n'; out[at] = 0;
}

static void enter_namespaces(int requested) {
    if (requested & LS_NS_USER) {
        uid_t uid = geteuid();
        gid_t gid = getegid();
        if (unshare(CLONE_NEWUSER) == 0) {
            /* Map our own ids (the only mapping an unprivileged process may write) so
             * file permissions inside stay what they were outside. */
            char map[64];
            identity_map(map, uid);
            write_file("/proc/self/uid_map", map);
            write_file("/proc/self/setgroups", "deny");
            identity_map(map, gid);
            write_file("/proc/self/gid_map", map);
        }
    }
    /* Each namespace on its own: a host that refuses one (e.g. no CONFIG_NET_NS)
     * still gets the others. They are defence in depth, not the boundary. */
    static const int others[] = {CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNS};
    for (unsigned i = 0; i < sizeof others / sizeof others[0]; i++)
        if (requested & others[i]) (void)unshare(others[i]);
}

static void close_other_fds(int first, int keep_pipe) {
    /* close_range(first, keep_pipe-1) and (keep_pipe+1, ~0): the error pipe stays
     * open (it is close-on-exec) so exec failures can still be reported. */
    if (keep_pipe >= first) {
        if (keep_pipe > first) syscall(SYS_close_range, (unsigned)first, (unsigned)keep_pipe - 1, 0);
        if (syscall(SYS_close_range, (unsigned)keep_pipe + 1, ~0u, 0) == 0) return;
    } else if (syscall(SYS_close_range, (unsigned)first, ~0u, 0) == 0) {
        return;
    }
    for (int fd = first; fd < 65536; fd++)
        if (fd != keep_pipe) close(fd);
}

static void child(const ls_spawn_config *c) {
    int pipe_fd = c->error_pipe;
    /* TRACEME first: from here on the caller's thread is our tracer. */
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) fail(pipe_fd, LS_SPAWN_STEP_TRACEME);

    /* Move the error pipe and the stdio sources above the stdio range, then dup
     * them into place: a source may itself be one of 0..n-1. */
    int high = c->stdio_count + 3;
    pipe_fd = fcntl(pipe_fd, F_DUPFD_CLOEXEC, high);
    if (pipe_fd < 0) fail(c->error_pipe, LS_SPAWN_STEP_STDIO);
    int moved[16];
    int count = c->stdio_count > 16 ? 16 : c->stdio_count;
    for (int i = 0; i < count; i++) {
        moved[i] = fcntl(c->stdio_fds[i], F_DUPFD_CLOEXEC, high);
        if (moved[i] < 0) fail(pipe_fd, LS_SPAWN_STEP_STDIO);
    }
    for (int i = 0; i < count; i++)
        if (dup2(moved[i], i) != i) fail(pipe_fd, LS_SPAWN_STEP_STDIO);
    close_other_fds(count, pipe_fd);

    if (setsid() < 0) fail(pipe_fd, LS_SPAWN_STEP_SETSID);
    /* The guest starts in "/" (the service's cwd of it, too), not in whatever
     * directory the supervisor was started from: that path is none of its business,
     * and a relative path the kernel resolves must mean what the service means. */
    if (chdir("/") < 0) fail(pipe_fd, LS_SPAWN_STEP_SETSID);

    /* A clean signal state: the supervisor's blocked and ignored signals (test
     * runners and shells block or ignore some) are not the guest's business. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    for (int signal = 1; signal < NSIG; signal++) {
        if (signal == SIGKILL || signal == SIGSTOP) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = SIG_DFL;
        sigaction(signal, &action, 0);  /* fails harmlessly for the libc-reserved ones */
    }

    /* Raw system calls: glibc's set*id wrappers signal every thread it believes
     * exists (setxid broadcast), and after a raw clone it still believes in the
     * supervisor's threads. Credentials are per thread; this child has one. */
    int root = geteuid() == 0;
    if (c->guest_gid >= 0 && root) {
        if (syscall(SYS_setgroups, 0, NULL) != 0 ||
            syscall(SYS_setresgid, (gid_t)c->guest_gid, (gid_t)c->guest_gid, (gid_t)c->guest_gid) != 0)
            fail(pipe_fd, LS_SPAWN_STEP_CREDENTIALS);
    }
    if (c->guest_uid >= 0 && root) {
        if (syscall(SYS_setresuid, (uid_t)c->guest_uid, (uid_t)c->guest_uid, (uid_t)c->guest_uid) != 0)
            fail(pipe_fd, LS_SPAWN_STEP_CREDENTIALS);
    }
    /* Limits after the credential change, so RLIMIT_NPROC counts the guest's uid. */
    set_limit(RLIMIT_NPROC, c->limit_processes, pipe_fd);
    set_limit(RLIMIT_AS, c->limit_address_space, pipe_fd);
    set_limit(RLIMIT_NOFILE, c->limit_open_files, pipe_fd);
    set_limit(RLIMIT_FSIZE, c->limit_file_size, pipe_fd);
    /* No core files: a guest killed by the filter must not leave its memory on
     * the host's disk (set_limit treats 0 as "unchanged", so set it here). */
    struct rlimit no_core = {0, 0};
    if (setrlimit(RLIMIT_CORE, &no_core) != 0) fail(pipe_fd, LS_SPAWN_STEP_RLIMIT);

    enter_namespaces(c->namespaces);

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(pipe_fd, LS_SPAWN_STEP_NO_NEW_PRIVS);
    /* Die with the supervisor even if EXITKILL were somehow lost. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

    /* Stop so the tracer can set TRACESECCOMP & co. before the filter exists:
     * a RET_TRACE with no tracer options would fail the call with ENOSYS. */
    /* kill(getpid()), not raise(): raise() signals the tid glibc cached in the
     * thread block, which after a raw clone is the supervisor's guard thread. */
    kill((pid_t)syscall(SYS_getpid), SIGSTOP);

    struct sock_fprog program = {c->filter_length, (struct sock_filter *)c->filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
        fail(pipe_fd, LS_SPAWN_STEP_FILTER);
    /* The exec itself is the first call the filter sees: it stops in the guard,
     * which checks the path like any other execve. */
    execve(c->path, c->argv, c->envp);
    fail(pipe_fd, LS_SPAWN_STEP_EXEC);
}

pid_t ls_spawn_guest(const ls_spawn_config *config, int ptrace_options) {
    pid_t pid = -1;
    if (config->namespaces & LS_NS_PID) {
        /* The guest must be pid 1 of its own namespace, which only clone can make
         * (unshare(CLONE_NEWPID) moves the caller's future children, not itself).
         * Fork semantics: no new stack, SIGCHLD to us. Refused without
         * CAP_SYS_ADMIN: then the guest simply shares our pid namespace. */
        pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    }
    if (pid < 0) pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) child(config);  /* never returns */

    int status;
    for (;;) {
        pid_t got = waitpid(pid, &status, __WALL);
        if (got == pid) break;
        if (got < 0 && errno != EINTR) return -1;
    }
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
        /* The child failed before its stop (the reason is on the error pipe) and
         * has been reaped here. */
        errno = ECHILD;
        return -1;
    }
    if (ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)(long)ptrace_options) != 0) {
        int saved = errno;
        kill(pid, SIGKILL);
        waitpid(pid, &status, __WALL);
        errno = saved;
        return -1;
    }
    /* Resume, swallowing the SIGSTOP. */
    if (ptrace(PTRACE_CONT, pid, 0, 0) != 0) return -1;
    return pid;
}
