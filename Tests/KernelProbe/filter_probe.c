/* Installs a seccomp filter read from a file (struct sock_filter array, as the
 * Swift compiler emits it) and makes each listed system call with zero
 * arguments, printing "NUMBER RESULT" per call: the kernel's verdict, compared
 * by the test with the software interpreter's. Only numbers the policy denies or
 * traces are listed (with no tracer, RET_TRACE fails the call with ENOSYS), plus
 * a few harmless allowed ones — so no listed call ever really runs. The calls are
 * made in a child; the parent prints. With --int80 / --x32 the parent prints
 * "killed SIGNAL" and exits 128+SIGNAL when the filter killed the child.
 *   filter_probe FILTER NUMBER...      |   filter_probe FILTER --int80 | --x32 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

static long raw0(long n) {
    long result;
    register long r10 __asm__("r10") = 0, r8 __asm__("r8") = 0, r9 __asm__("r9") = 0;
    __asm__ volatile("syscall" : "=a"(result) : "a"(n), "D"(0), "S"(0), "d"(0), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return result;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    static struct sock_filter code[4096];
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror("filter"); return 2; }
    size_t n = fread(code, sizeof code[0], 4096, f);
    fclose(f);
    /* Under the filter even write(2) is traced (and so fails without a tracer):
     * a child makes the calls and leaves the results in shared memory. */
    int count = argc - 2;
    long *results = mmap(0, sizeof(long) * (size_t)(count + 1), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t child = fork();
    if (child == 0) {
        struct sock_fprog program = {(unsigned short)n, code};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
            _exit(3);
        if (strcmp(argv[2], "--int80") == 0) {
            long r;
            __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
            results[0] = r;
        } else if (strcmp(argv[2], "--x32") == 0) {
            results[0] = raw0(0x40000000 | 39);
        } else {
            for (int i = 0; i < count; i++) results[i] = raw0(strtol(argv[i + 2], 0, 10));
        }
        raw0(SYS_exit_group);  /* exit_group(0), allowed by the filter */
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) { printf("killed %d\n", WTERMSIG(status)); return 128 + WTERMSIG(status); }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { printf("child status %d\n", status); return 2; }
    if (argv[2][0] == '-') { printf("survived %ld\n", results[0]); return 0; }
    for (int i = 0; i < count; i++) printf("%s %ld\n", argv[i + 2], results[i]);
    return 0;
}
