/* Make a forked child lose the guard's read-only page (MADV_DONTFORK), map a
 * writable page of its own at the same address, and race: if the guard pinned
 * the child's path there, another thread could swap in the secret's path before
 * the kernel reads it. The guard must give the child regions of its own. */
#include "escape.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
static char allowed[4096], forbidden[4096];
static volatile char *target;
static volatile int stop;
static void *flipper(void *unused) {
    (void)unused;
    while (!stop) memcpy((char *)target, forbidden, strlen(forbidden) + 1);
    return 0;
}
int main(int argc, char **argv) {
    setup(argc, argv);
    snprintf(allowed, sizeof allowed, "%s/file", allowed_dir);
    size_t a = strlen(allowed), s = strlen(secret_file);
    if (s > a) { printf("SETUP ERROR: the secret path must not be longer than ALLOWED_DIR/file\n"); return 2; }
    memset(forbidden, '/', a - s);
    memcpy(forbidden + (a - s), secret_file, s + 1);
    /* Find the guard page: after a pinned call rsi still points into it. */
    long result, path_register = (long)allowed;
    register long r10 __asm__("r10") = 0;
    __asm__ volatile("syscall" : "=a"(result), "+S"(path_register)
                     : "a"(SYS_openat), "D"(AT_FDCWD), "d"(O_RDONLY), "r"(r10) : "rcx", "r11", "memory");
    if (path_register == (long)allowed) { printf("BLOCKED the path was not pinned\n"); return 0; }
    long page = path_register & ~4095L;
    long advised = raw3(SYS_madvise, page, 4096, MADV_DONTFORK);
    printf("guard page 0x%lx, MADV_DONTFORK: %ld\n", page, advised);
    long pid = raw0(SYS_fork);
    if (pid == 0) {
        long mine = raw6(SYS_mmap, page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mine != page) { printf("BLOCKED child: the old guard address is still taken (%lx)\n", mine); raw1(SYS_exit_group, 0); }
        target = (char *)page;
        pthread_t thread;
        pthread_create(&thread, 0, flipper, 0);
        for (int i = 0; i < 2000; i++) {
            long fd = raw4(SYS_openat, AT_FDCWD, allowed, O_RDONLY, 0);
            if (fd < 0) continue;
            char buffer[64] = {0};
            raw3(SYS_read, fd, buffer, sizeof buffer - 1);
            raw1(SYS_close, fd);
            if (strncmp(buffer, "secret", 6) == 0) {
                printf("ESCAPED child read the secret through its own page after %d tries\n", i);
                stop = 1;
                raw1(SYS_exit_group, 1);
            }
        }
        stop = 1;
        printf("BLOCKED child: 2000 opens, the guard never pinned into the child's own page\n");
        raw1(SYS_exit_group, 0);
    }
    int status = 0;
    raw4(SYS_wait4, pid, &status, 0, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) escapes++;
    return verdict();
}
