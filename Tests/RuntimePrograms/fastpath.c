/* A guest for the fast path: stdout writes, files on LiteFS under /tmp,
 * getppid, errno preserved, two threads at once, and a host file that still
 * opens through the guard. Run by RuntimeTests under `liteshield run --runtime`. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static void say(const char *s) { write(1, s, strlen(s)); }
static void *worker(void *arg) {
    long id = (long)arg;
    char path[64], buf[64];
    snprintf(path, sizeof path, "/tmp/t%ld", id);
    for (int i = 0; i < 2000; i++) getppid();
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) { say("open failed\n"); return (void *)1; }
    for (int i = 0; i < 100; i++) if (write(fd, "0123456789", 10) != 10) return (void *)2;
    if (lseek(fd, 0, SEEK_SET) != 0) return (void *)3;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size != 1000) return (void *)4;
    ssize_t total = 0, n;
    while ((n = read(fd, buf, sizeof buf)) > 0) total += n;
    close(fd);
    return total == 1000 ? 0 : (void *)5;
}
int main(void) {
    pid_t p = getppid();
    errno = 1234;
    getppid();
    if (errno != 1234) say("errno clobbered\n");
    int fd = open("/tmp/missing", O_RDONLY);
    if (fd >= 0 || errno != ENOENT) say("missing file opened?\n");
    fd = open("/tmp/hello.txt", O_CREAT | O_WRONLY, 0644);
    write(fd, "hello from LiteFS\n", 18);
    close(fd);
    char buf[64] = {0};
    fd = open("/tmp/hello.txt", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    write(1, buf, n > 0 ? n : 0);
    struct stat st;
    if (stat("/tmp/hello.txt", &st) == 0) { char line[64]; snprintf(line, sizeof line, "size %ld\n", (long)st.st_size); say(line); }
    /* pread/pwrite, mkdir and unlink on LiteFS */
    if (mkdir("/tmp/dir", 0755) != 0) say("mkdir failed\n");
    fd = open("/tmp/dir/p", O_CREAT | O_RDWR, 0644);
    if (pwrite(fd, "abcdef", 6, 10) != 6) say("pwrite failed\n");
    char six[7] = {0};
    if (pread(fd, six, 6, 10) != 6 || memcmp(six, "abcdef", 6) != 0) say("pread failed\n");
    close(fd);
    if (unlink("/tmp/dir/p") != 0 || stat("/tmp/dir/p", &st) == 0 || errno != ENOENT) say("unlink failed\n");
    else say("pread/pwrite/mkdir/unlink ok\n");
    /* a host file still opens through the guard */
    fd = open("/etc/hostname", O_RDONLY);
    say(fd >= 0 ? "host open ok\n" : "host open failed\n");
    if (fd >= 0) close(fd);
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, worker, (void *)i);
    void *r0, *r1;
    pthread_join(t[0], &r0); pthread_join(t[1], &r1);
    char line[64]; snprintf(line, sizeof line, "threads %ld %ld ppid %d\n", (long)r0, (long)r1, p > 0);
    say(line);
    return 0;
}
