/* The guest of `liteshield-bench syscalls`: one call in a loop through libc's
 * wrappers (so the guest runtime can interpose them), printing the mean cost.
 *
 *   syscalls_bench getppid N        a null call
 *   syscalls_bench getppid-p50 N    the median of N getppid calls timed one by one
 *                                   (the mean hides two modes: peer on another core or on ours)
 *   syscalls_bench read1 DIR N      read 1 byte at offset 0 of DIR/bench (pread-like: lseek+read)
 *   syscalls_bench read4k DIR N     read 4 KiB
 *   syscalls_bench write4k DIR N    write 4 KiB at offset 0
 *   syscalls_bench openclose DIR N  open + close of DIR/bench
 *   syscalls_bench stat DIR N       stat of DIR/bench
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    long n = atol(argv[argc - 1]);
    static char buffer[4096];
    char path[512] = "";
    int fd = -1;
    if (strncmp(mode, "getppid", 7) != 0) {
        snprintf(path, sizeof path, "%s/bench", argv[2]);
        fd = open(path, O_CREAT | O_RDWR, 0644);
        if (fd < 0 || write(fd, buffer, sizeof buffer) != sizeof buffer) { perror(path); return 1; }
    }
    if (!strcmp(mode, "getppid-p50")) {
        double *times = malloc(sizeof(double) * (size_t)n);
        for (long i = 0; i < n; i++) { double t = now_ns(); getppid(); times[i] = now_ns() - t; }
        /* Counting sort is overkill; a simple selection of the median by qsort. */
        int compare(const void *x, const void *y) { double a = *(const double *)x, b = *(const double *)y; return (a > b) - (a < b); }
        qsort(times, (size_t)n, sizeof(double), compare);
        char line[64];
        int len = snprintf(line, sizeof line, "ns_per_call %.1f\n", times[n / 2]);
        write(1, line, len);
        return 0;
    }
    double start = now_ns();
    for (long i = 0; i < n; i++) {
        if (!strcmp(mode, "getppid")) getppid();
        else if (!strcmp(mode, "read1")) { lseek(fd, 0, SEEK_SET); if (read(fd, buffer, 1) != 1) return 1; }
        else if (!strcmp(mode, "read4k")) { lseek(fd, 0, SEEK_SET); if (read(fd, buffer, 4096) != 4096) return 1; }
        else if (!strcmp(mode, "write4k")) { lseek(fd, 0, SEEK_SET); if (write(fd, buffer, 4096) != 4096) return 1; }
        else if (!strcmp(mode, "openclose")) { int f = open(path, O_RDONLY); if (f < 0) return 1; close(f); }
        else if (!strcmp(mode, "stat")) { struct stat st; if (stat(path, &st) != 0) return 1; }
        else return 2;
    }
    double elapsed = now_ns() - start;
    char line[64];
    int len = snprintf(line, sizeof line, "ns_per_call %.1f\n", elapsed / n);
    write(1, line, len);
    return 0;
}
