/* Locks that wait for another guest process. Prints "locks ok" or what was wrong.
 *  1. flock: the child's LOCK_NB attempt fails with EWOULDBLOCK while the
 *     parent holds the file; its blocking flock waits until the parent unlocks,
 *     so its line in the log comes after the parent's.
 *  2. fcntl F_SETLKW and signals: with a handler without SA_RESTART the wait
 *     ends in EINTR; with SA_RESTART it goes on through the signal and gets the
 *     lock once the parent releases it.
 *  3. A lock held by a process that exits is released: a waiter gets it.
 *  4. Two processes each waiting for the other's range: the second F_SETLKW
 *     answers EDEADLK. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int signal) { (void)signal; alarms++; }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void pause_ms(int ms) {
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

/* A record lock on [start, start + length) (length 0: to the end of the file). */
static int lock_range(int fd, int command, short type, off_t start, off_t length) {
    struct flock lock = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = length };
    return fcntl(fd, command, &lock);
}

/* The whole file. */
static int record_lock(int fd, int command, short type) { return lock_range(fd, command, type, 0, 0); }

static void alarm_in(int ms, int restart) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alarm;
    action.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &action, 0);
    struct itimerval timer = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &timer, 0);
}

static int child_status(pid_t child) {
    int status;
    if (waitpid(child, &status, 0) != child) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static int flock_waits(const char *dir) {
    char path[256], log[256];
    snprintf(path, sizeof path, "%s/lock-flock", dir);
    snprintf(log, sizeof log, "%s/lock-log", dir);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    int out = open(log, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0644);
    if (fd < 0 || out < 0) { perror("open"); return 1; }
    if (flock(fd, LOCK_EX) != 0) { perror("flock parent"); return 1; }
    pid_t child = fork();
    if (child == 0) {
        int mine = open(path, O_RDWR);   /* a description of its own */
        if (flock(mine, LOCK_EX | LOCK_NB) != -1 || errno != EWOULDBLOCK) _exit(2);
        double start = now();
        if (flock(mine, LOCK_EX) != 0) _exit(3);
        if (now() - start < 0.2) _exit(4);   /* it did not wait for the parent */
        if (write(out, "child\n", 6) != 6) _exit(5);
        _exit(flock(mine, LOCK_UN) == 0 ? 0 : 6);
    }
    pause_ms(400);
    if (write(out, "parent\n", 7) != 7) return 1;
    if (flock(fd, LOCK_UN) != 0) { perror("unlock"); return 1; }
    int status = child_status(child);
    if (status != 0) { fprintf(stderr, "flock child: %d\n", status); return 1; }
    char text[64] = { 0 };
    int in = open(log, O_RDONLY);
    if (in < 0 || read(in, text, sizeof text - 1) < 0) return 1;
    if (strcmp(text, "parent\nchild\n") != 0) { fprintf(stderr, "flock log: %s", text); return 1; }
    close(in); close(out); close(fd);
    return 0;
}

static int setlkw_and_signals(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/lock-fcntl", dir);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    int ready[2];
    if (fd < 0 || pipe(ready) != 0) { perror("setup"); return 1; }
    if (record_lock(fd, F_SETLK, F_WRLCK) != 0) { perror("F_SETLK"); return 1; }
    pid_t child = fork();
    if (child == 0) {
        int mine = open(path, O_RDWR);
        if (record_lock(mine, F_SETLK, F_WRLCK) != -1 || (errno != EAGAIN && errno != EACCES)) _exit(2);
        alarm_in(200, 0);
        if (record_lock(mine, F_SETLKW, F_WRLCK) != -1 || errno != EINTR || alarms != 1) _exit(3);
        alarm_in(100, 1);
        if (write(ready[1], "r", 1) != 1) _exit(4);
        if (record_lock(mine, F_SETLKW, F_WRLCK) != 0) _exit(5);
        if (alarms != 2) _exit(6);   /* the signal came while it waited, and the wait went on */
        _exit(0);
    }
    char byte;
    if (read(ready[0], &byte, 1) != 1) return 1;
    pause_ms(400);
    if (record_lock(fd, F_SETLK, F_UNLCK) != 0) { perror("F_UNLCK"); return 1; }
    int status = child_status(child);
    if (status != 0) { fprintf(stderr, "F_SETLKW child: %d\n", status); return 1; }
    close(fd); close(ready[0]); close(ready[1]);
    return 0;
}

static int released_at_exit(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/lock-exit", dir);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    int held[2];
    if (fd < 0 || pipe(held) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        if (record_lock(fd, F_SETLK, F_WRLCK) != 0) _exit(2);
        if (write(held[1], "h", 1) != 1) _exit(3);
        pause_ms(200);
        _exit(0);   /* without unlocking */
    }
    char byte;
    if (read(held[0], &byte, 1) != 1) return 1;
    if (record_lock(fd, F_SETLK, F_WRLCK) != -1) { fprintf(stderr, "exit: not held by the child\n"); return 1; }
    if (record_lock(fd, F_SETLKW, F_WRLCK) != 0) { perror("F_SETLKW after exit"); return 1; }
    return child_status(child) == 0 ? 0 : 1;
}

static int deadlock_detected(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/lock-deadlock", dir);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    int ready[2];
    if (fd < 0 || pipe(ready) != 0) return 1;
    if (lock_range(fd, F_SETLK, F_WRLCK, 0, 10) != 0) { perror("lock 0-9"); return 1; }
    pid_t child = fork();
    if (child == 0) {
        if (lock_range(fd, F_SETLK, F_WRLCK, 10, 10) != 0) _exit(2);
        if (write(ready[1], "r", 1) != 1) _exit(3);
        /* Waits for the parent's range; granted once the parent gives up its own. */
        if (lock_range(fd, F_SETLKW, F_WRLCK, 0, 10) != 0) _exit(4);
        _exit(0);
    }
    char byte;
    if (read(ready[0], &byte, 1) != 1) return 1;
    pause_ms(200);   /* the child is waiting by now */
    if (lock_range(fd, F_SETLKW, F_WRLCK, 10, 10) != -1 || errno != EDEADLK) {
        fprintf(stderr, "deadlock: F_SETLKW did not answer EDEADLK (%s)\n", strerror(errno));
        return 1;
    }
    if (lock_range(fd, F_SETLK, F_UNLCK, 0, 10) != 0) return 1;
    int status = child_status(child);
    if (status != 0) { fprintf(stderr, "deadlock child: %d\n", status); return 1; }
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    if (flock_waits(dir)) return 1;
    if (setlkw_and_signals(dir)) return 1;
    if (released_at_exit(dir)) return 1;
    if (deadlock_detected(dir)) return 1;
    printf("locks ok\n");
    return 0;
}
