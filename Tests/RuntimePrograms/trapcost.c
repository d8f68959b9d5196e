/* The cost of the trap path against the fast path: getppid through the
 * interposed libc wrapper (fast) and through syscall(2), whose `syscall`
 * instruction is in libc's text (trapped: SIGSYS, then the same channel), and a
 * native getpid for scale. Prints nanoseconds per call. Run by
 * PlaceholderTests with a small count; by hand with a large one:
 *   liteshield run --runtime -- trapcost 20000 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    if (n < 1) n = 1;
    double t0 = now();
    for (int i = 0; i < n; i++) getppid();
    double t1 = now();
    for (int i = 0; i < n; i++) syscall(SYS_getppid);
    double t2 = now();
    for (int i = 0; i < n; i++) syscall(SYS_getpid);
    double t3 = now();
    printf("getppid: wrapper %.0f ns, trapped %.0f ns; native getpid %.0f ns\n", (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n);
    return 0;
}
