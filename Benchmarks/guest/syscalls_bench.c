/* The guest of `liteshield-bench syscalls` (figure 5 of the LiteShield paper):
 * one kind of call in a loop, in one of two styles, printing its cost.
 *
 *   syscalls_bench STYLE OP DIR N
 *
 * STYLE  libc  the libc wrappers (getppid(), pread(), open(), …): what the guest
 *              runtime interposes, so inside `liteshield run --runtime` this is
 *              the fast path.
 *        raw   the same calls as syscall(SYS_xxx, …): the syscall instruction then
 *              runs in libc's text, which is what the runtime's trap filter
 *              covers, so inside `liteshield run --runtime` this is the trap path.
 *              Every call of the guest, the file's set-up included, takes this style.
 *        selftrap    getppid only: the guest stacks its own seccomp filter that
 *              traps getppid (SECCOMP_RET_TRAP) and answers in its SIGSYS handler:
 *              the kernel's floor for any trap path, with or without a tracer
 *              (under ptrace every signal, SIGSYS included, stops in the tracer).
 * OP     getppid     a call with no work in it
 *        pread1      read 1 byte at offset 0 of DIR/bench
 *        pread4k     read 4 KiB at offset 0
 *        pwrite4k    write 4 KiB at offset 0
 *        openclose   open + close of DIR/bench (two calls per iteration)
 *        stat        stat of DIR/bench
 * DIR    the directory that holds the file (ignored by getppid): the sandbox's
 *        file system is mounted at different places as it grows, so the caller says.
 * N      iterations.
 *
 * Output: "ns_per_call MEDIAN" and "mean_ns MEAN", per iteration. The loop is
 * timed in batches of BATCH iterations and MEDIAN is the median batch: on a
 * shared machine the mean carries every descheduling, while timing each call
 * alone would add the clock's own ~20 ns to a ~250 ns call.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define BATCH 16

static int raw;
static char path[512];
static char buffer[4096];

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);  /* vDSO: no system call, nothing to interpose */
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* selftrap: the SIGSYS handler is the whole "service": it sets the result. */
static void answer_trap(int signal, siginfo_t *info, void *context) {
    (void)signal; (void)info;
    ((ucontext_t *)context)->uc_mcontext.gregs[REG_RAX] = 1;
}

static int install_self_trap(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = answer_trap;
    action.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSYS, &action, 0) != 0) return -1;
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { sizeof code / sizeof code[0], code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
}

/* Each call in the chosen style; the raw forms are what glibc's wrappers issue. */
static long call_getppid(void) { return raw ? syscall(SYS_getppid) : getppid(); }
static long call_open(int flags) {
    return raw ? syscall(SYS_openat, AT_FDCWD, path, flags, 0644) : open(path, flags, 0644);
}
static long call_close(int fd) { return raw ? syscall(SYS_close, fd) : close(fd); }
static long call_pread(int fd, size_t n) {
    return raw ? syscall(SYS_pread64, fd, buffer, n, 0) : pread(fd, buffer, n, 0);
}
static long call_pwrite(int fd, size_t n) {
    return raw ? syscall(SYS_pwrite64, fd, buffer, n, 0) : pwrite(fd, buffer, n, 0);
}
static long call_stat(struct stat *st) {
    return raw ? syscall(SYS_newfstatat, AT_FDCWD, path, st, 0) : stat(path, st);
}

/* One iteration of OP; nonzero on failure. */
static int iterate(const char *op, int fd) {
    struct stat st;
    if (!strcmp(op, "getppid")) return call_getppid() < 0;
    if (!strcmp(op, "pread1")) return call_pread(fd, 1) != 1;
    if (!strcmp(op, "pread4k")) return call_pread(fd, 4096) != 4096;
    if (!strcmp(op, "pwrite4k")) return call_pwrite(fd, 4096) != 4096;
    if (!strcmp(op, "openclose")) {
        long f = call_open(O_RDONLY);
        return f < 0 || call_close((int)f) != 0;
    }
    if (!strcmp(op, "stat")) return call_stat(&st) != 0;
    return 2;
}

static int compare(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: syscalls_bench libc|raw OP DIR N\n");
        return 2;
    }
    raw = !strcmp(argv[1], "raw") || !strcmp(argv[1], "selftrap");
    const char *op = argv[2];
    if (!strcmp(argv[1], "selftrap")) {
        if (strcmp(op, "getppid") != 0) { fprintf(stderr, "syscalls_bench: selftrap is for getppid only\n"); return 2; }
        if (install_self_trap() != 0) { perror("seccomp"); return 1; }
    }
    long n = atol(argv[4]);
    if (n < BATCH) n = BATCH;
    int fd = -1;
    if (strcmp(op, "getppid") != 0) {
        snprintf(path, sizeof path, "%s/bench", argv[3]);
        long f = call_open(O_CREAT | O_RDWR);
        if (f < 0) { perror(path); return 1; }
        fd = (int)f;
        if (call_pwrite(fd, sizeof buffer) != (long)sizeof buffer) { perror("pwrite"); return 1; }
    }
    /* Warm up (first-touch faults, the runtime claiming its channel slot). */
    for (long i = 0; i < n / 10 + 1; i++)
        if (iterate(op, fd)) { fprintf(stderr, "syscalls_bench: %s %s failed\n", argv[1], op); return 1; }

    long batches = n / BATCH;
    double *times = malloc(sizeof(double) * (size_t)batches);
    if (!times) return 1;
    double start = now_ns();
    for (long b = 0; b < batches; b++) {
        double t = now_ns();
        for (int i = 0; i < BATCH; i++)
            if (iterate(op, fd)) { fprintf(stderr, "syscalls_bench: %s %s failed\n", argv[1], op); return 1; }
        times[b] = (now_ns() - t) / BATCH;
    }
    double mean = (now_ns() - start) / (double)(batches * BATCH);
    qsort(times, (size_t)batches, sizeof(double), compare);
    if (fd >= 0) call_close(fd);
    printf("ns_per_call %.1f\nmean_ns %.1f\n", times[batches / 2], mean);
    return 0;
}
