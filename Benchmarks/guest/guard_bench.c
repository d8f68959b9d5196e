/* The guest side of `liteshield-bench guard`: times N raw system calls of one
 * kind and prints "ns_per_call VALUE". Run natively and inside the sandbox by
 * the benchmark, which compiles it with gcc.
 *   guard_bench allowed N     getpid: allowed by the filter, never stops
 *   guard_bench monitored N   prctl(PR_GET_DUMPABLE): stops in the guard, runs on the host
 *   guard_bench delegated N   getppid: stops in the guard, goes through the dispatcher
 *   guard_bench read N        read(2) of 4 KiB from /dev/zero: allowed, with real work
 *   guard_bench filtered FILE N
 *                             getpid in a child that installed the filter in FILE
 *                             (raw struct sock_filter records) itself, no guard:
 *                             with a one-instruction allow-all filter this is the
 *                             kernel's floor for any seccomp sandbox */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

static inline long raw2(long n, long a, long b) {
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return result;
}

static unsigned long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);  /* vDSO: no system call */
    return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

/* Under a filter even write(2) may be traced (failing without a tracer), so a
 * child measures and leaves the figure in shared memory. */
static int filtered(const char *path, long n) {
    static struct sock_filter code[4096];
    FILE *f = fopen(path, "rb");
    if (!f) return 2;
    size_t count = fread(code, sizeof code[0], 4096, f);
    fclose(f);
    double *result = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t child = fork();
    if (child == 0) {
        struct sock_fprog program = {(unsigned short)count, code};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
            _exit(3);
        for (long i = 0; i < n / 10 + 1; i++) raw2(SYS_getpid, 0, 0);
        unsigned long long start = now_ns();
        for (long i = 0; i < n; i++) raw2(SYS_getpid, 0, 0);
        *result = (double)(now_ns() - start) / (double)n;
        raw2(SYS_exit_group, 0, 0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 3;
    printf("ns_per_call %.1f\n", *result);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    if (strcmp(argv[1], "filtered") == 0) return argc < 4 ? 2 : filtered(argv[2], atol(argv[3]));
    long n = atol(argv[2]);
    long number = 0, a = 0;
    if (strcmp(argv[1], "allowed") == 0) number = SYS_getpid;
    else if (strcmp(argv[1], "monitored") == 0) { number = SYS_prctl; a = 3; /* PR_GET_DUMPABLE */ }
    else if (strcmp(argv[1], "delegated") == 0) number = SYS_getppid;
    else if (strcmp(argv[1], "read") == 0) {
        static char buffer[4096];
        long fd = open("/dev/zero", O_RDONLY);
        if (fd < 0) return 3;
        for (long i = 0; i < n / 10 + 1; i++) read((int)fd, buffer, sizeof buffer);
        unsigned long long start = now_ns();
        for (long i = 0; i < n; i++) {
            long result;
            __asm__ volatile("syscall" : "=a"(result) : "a"(SYS_read), "D"(fd), "S"(buffer), "d"(sizeof buffer)
                             : "rcx", "r11", "memory");
        }
        printf("ns_per_call %.1f\n", (double)(now_ns() - start) / (double)n);
        return 0;
    }
    else return 2;
    for (long i = 0; i < n / 10 + 1; i++) raw2(number, a, 0);  /* warm up */
    unsigned long long start = now_ns();
    for (long i = 0; i < n; i++) raw2(number, a, 0);
    unsigned long long elapsed = now_ns() - start;
    printf("ns_per_call %.1f\n", (double)elapsed / (double)n);
    return 0;
}
