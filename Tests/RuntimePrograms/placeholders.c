/* Guest fds as placeholders (liteshield_abi.h, "Guest fds"), run by
 * RuntimeTests under `liteshield run --runtime`: a LiteFS file dup2'ed onto
 * stdout and written by stdio in a parent and a forked child, F_DUPFD and
 * close_range on it, the file read back through fopen/fgets (libc-internal
 * calls: the trap path), a private mmap of it, a posix_spawn child whose
 * stdout is the file, and raw syscall(2)s caught by the trap filter. Each check
 * prints "ok NAME" or "FAIL NAME (detail)". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static volatile int sigsys_seen;
static void on_sigsys(int signal) { (void)signal; sigsys_seen++; }
static int failures;
static void check(int ok, const char *name, const char *detail) {
    char line[256];
    if (ok) snprintf(line, sizeof line, "ok %s\n", name);
    else { snprintf(line, sizeof line, "FAIL %s (%s, errno %d)\n", name, detail, errno); failures++; }
    write(2, line, strlen(line));   /* stderr: the test's stdout is redirected at times */
}

int main(int argc, char **argv) {
    const char *echo = argc > 1 ? argv[1] : "/bin/echo";
    int fd = open("/tmp/out.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    check(fd >= 3 && fd < 64, "open gives a low kernel number", "fd");

    /* stdout onto the file: printf's buffered write goes through the placeholder. */
    int saved = dup(1);
    check(saved >= 0, "dup of stdout", "dup");
    check(dup2(fd, 1) == 1, "dup2 onto 1", "dup2");
    printf("line from parent\n");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("line from child\n");
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "forked child wrote", "status");
    printf("parent again\n");
    fflush(stdout);
    dup2(saved, 1);
    close(saved);

    /* F_DUPFD: a second number for the same file, with a shared offset. */
    int high = fcntl(fd, F_DUPFD, 20);
    check(high >= 20, "F_DUPFD", "fcntl");
    check(lseek(high, 0, SEEK_CUR) == lseek(fd, 0, SEEK_CUR), "shared offset", "lseek");
    check(fcntl(high, F_GETFL) >= 0 && (fcntl(high, F_GETFL) & O_ACCMODE) == O_RDWR, "F_GETFL from the service", "F_GETFL");
    check(fcntl(high, F_SETFD, FD_CLOEXEC) == 0 && fcntl(high, F_GETFD) == FD_CLOEXEC, "FD_CLOEXEC kept by the kernel", "F_GETFD");
    check(close_range(high, high + 5, 0) == 0, "close_range", "close_range");
    errno = 0;
    check(write(high, "x", 1) == -1 && errno == EBADF, "closed number is gone", "write after close_range");
    close(fd);

    /* Read back through stdio: fopen/fgets/fclose make their calls inside libc. */
    FILE *f = fopen("/tmp/out.txt", "r");
    check(f != 0, "fopen", "fopen");
    char text[256] = { 0 };
    size_t got = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    check(got > 0 && strstr(text, "line from parent\n") && strstr(text, "line from child\n") && strstr(text, "parent again\n"),
          "stdio wrote through the placeholder", text);

    /* A private mapping of a placeholder is a copy of the file. */
    fd = open("/tmp/out.txt", O_RDONLY);
    char *map = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    check(map != MAP_FAILED && memcmp(map, "line from parent\n", 17) == 0, "mmap MAP_PRIVATE", "mmap");
    check(mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED && errno == ENODEV, "mmap MAP_SHARED is ENODEV", "mmap");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size == (off_t)got, "fstat of a placeholder", "fstat");
    close(fd);

    /* writev gathers, readv scatters: iovec arrays through the payload. */
    fd = open("/tmp/vectors", O_CREAT | O_RDWR | O_TRUNC, 0644);
    struct iovec out[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
    check(writev(fd, out, 3) == 6, "writev", "writev");
    char first[3] = { 0 }, second[4] = { 0 };
    struct iovec in[2] = { { first, 2 }, { second, 3 } };
    lseek(fd, 0, SEEK_SET);
    check(readv(fd, in, 2) == 5 && !strcmp(first, "ab") && !strcmp(second, "cde"), "readv", "readv");
    close(fd);

    /* posix_spawn: its child runs on our memory (CLONE_VM) and makes its dup2 from
     * libc: trapped, and sent in the child's name. */
    fd = open("/tmp/spawned.txt", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fd, 1);
    pid_t spawned;
    char *args[] = { (char *)echo, "spawned child", 0 };
    int rc = posix_spawn(&spawned, echo, &actions, 0, args, environ);
    check(rc == 0, "posix_spawn", "posix_spawn");
    if (rc == 0) waitpid(spawned, &status, 0);
    close(fd);
    f = fopen("/tmp/spawned.txt", "r");
    memset(text, 0, sizeof text);
    if (f) { fread(text, 1, sizeof text - 1, f); fclose(f); }
    check(strcmp(text, "spawned child\n") == 0, "posix_spawn child wrote to the file", text);

    /* posix_spawn whose child opens a file on the image as its stdout and closes
     * one of our fds: libc's own open and close, made in the child's name, so the
     * parent's fd stays open and the file is the child's. */
    int kept = open("/tmp/kept.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    posix_spawn_file_actions_t opening;
    posix_spawn_file_actions_init(&opening);
    posix_spawn_file_actions_addopen(&opening, 1, "/tmp/opened-by-child.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    posix_spawn_file_actions_addclose(&opening, kept);
    char *opened_args[] = { (char *)echo, "opened by the child", 0 };
    rc = posix_spawn(&spawned, echo, &opening, 0, opened_args, environ);
    check(rc == 0, "posix_spawn with addopen", "posix_spawn");
    if (rc == 0) waitpid(spawned, &status, 0);
    check(write(kept, "still ours", 10) == 10, "write after the child's close", "write");
    close(kept);
    f = fopen("/tmp/kept.txt", "r");
    memset(text, 0, sizeof text);
    if (f) { fread(text, 1, sizeof text - 1, f); fclose(f); }
    check(strcmp(text, "still ours") == 0, "the parent's fd survives the child's close", text);
    f = fopen("/tmp/opened-by-child.txt", "r");
    memset(text, 0, sizeof text);
    if (f) { fread(text, 1, sizeof text - 1, f); fclose(f); }
    check(strcmp(text, "opened by the child\n") == 0, "posix_spawn child opened its stdout", text);

    /* Raw system calls from libc's syscall(): trapped. */
    check(syscall(SYS_getppid) == getppid(), "trapped getppid", "getppid");
    errno = 77;
    syscall(SYS_getppid);
    check(errno == 77, "errno kept across a trap", "errno");

    /* SIGSYS stays the runtime's: a program's own handler is remembered and
     * called for a SIGSYS that is not a trap, and blocking every signal does not
     * block SIGSYS (a trapped call would then kill the process). */
    struct sigaction mine = { 0 }, seen = { 0 };
    mine.sa_handler = on_sigsys;
    sigemptyset(&mine.sa_mask);
    check(sigaction(SIGSYS, &mine, 0) == 0, "sigaction(SIGSYS)", "sigaction");
    check(sigaction(SIGSYS, 0, &seen) == 0 && seen.sa_handler == on_sigsys, "SIGSYS handler reported back", "sigaction");
    raise(SIGSYS);
    check(sigsys_seen == 1, "own SIGSYS handler called for raise(SIGSYS)", "handler");
    check(syscall(SYS_getppid) == getppid(), "trap after the program's SIGSYS handler", "getppid");
    sigset_t all, before, now;
    sigfillset(&all);
    check(sigprocmask(SIG_BLOCK, &all, &before) == 0, "block every signal", "sigprocmask");
    check(syscall(SYS_getppid) == getppid(), "trap with every signal blocked", "getppid");
    sigprocmask(SIG_SETMASK, 0, &now);
    check(sigismember(&now, SIGTERM) && !sigismember(&now, SIGSYS), "mask kept, SIGSYS left out", "mask");
    sigprocmask(SIG_SETMASK, &before, 0);
    check(sigsys_seen == 1, "no stray SIGSYS for the program", "handler");

    printf("%s\n", failures ? "placeholders FAILED" : "placeholders passed");
    return failures != 0;
}
