/* Terminal queries on fds that are not terminals — a host file, a host
 * directory, a pipe, a file on the image — answer ENOTTY, as the kernel does;
 * posix_fadvise is taken on files and checked as the kernel checks it.
 * Prints "isatty ok" or what was wrong. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static int not_a_terminal(int fd, const char *what) {
    struct winsize size;
    errno = 0;
    if (isatty(fd) || errno != ENOTTY) { fprintf(stderr, "isatty(%s): %s\n", what, strerror(errno)); return 1; }
    errno = 0;
    if (ioctl(fd, TIOCGWINSZ, &size) != -1 || errno != ENOTTY) { fprintf(stderr, "TIOCGWINSZ(%s): %s\n", what, strerror(errno)); return 1; }
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[256];
    snprintf(path, sizeof path, "%s/isatty-file", dir);
    int pipe_fds[2];
    int host_file = open("/etc/passwd", O_RDONLY), host_dir = open("/usr", O_RDONLY | O_DIRECTORY);
    int own = open(path, O_CREAT | O_RDWR, 0644);
    if (host_file < 0 || host_dir < 0 || own < 0 || pipe(pipe_fds) != 0) { perror("setup"); return 1; }
    if (not_a_terminal(host_file, "/etc/passwd") || not_a_terminal(host_dir, "/usr") || not_a_terminal(pipe_fds[0], "a pipe")
        || not_a_terminal(own, path)) return 1;
    errno = 0;
    if (isatty(99) || errno != EBADF) { fprintf(stderr, "isatty(99): %s\n", strerror(errno)); return 1; }
    int rc;
    if ((rc = posix_fadvise(host_file, 0, 0, POSIX_FADV_SEQUENTIAL)) != 0) { fprintf(stderr, "fadvise host file: %s\n", strerror(rc)); return 1; }
    if ((rc = posix_fadvise(own, 0, 0, POSIX_FADV_SEQUENTIAL)) != 0) { fprintf(stderr, "fadvise image file: %s\n", strerror(rc)); return 1; }
    if ((rc = posix_fadvise(host_file, 0, -1, POSIX_FADV_NORMAL)) != EINVAL) { fprintf(stderr, "fadvise length -1: %s\n", strerror(rc)); return 1; }
    if ((rc = posix_fadvise(host_file, 0, 0, 77)) != EINVAL) { fprintf(stderr, "fadvise advice 77: %s\n", strerror(rc)); return 1; }
    if ((rc = posix_fadvise(pipe_fds[0], 0, 0, POSIX_FADV_NORMAL)) != ESPIPE) { fprintf(stderr, "fadvise pipe: %s\n", strerror(rc)); return 1; }
    printf("isatty ok\n");
    return 0;
}
