/* A forking guest: parent and child share one fd (one open file description,
 * so one offset: their writes follow each other) and each also writes a file of
 * its own; the child's fd table is a copy (closing in the child leaves the
 * parent's open). Prints "fork ok" or what was wrong. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const char *text) {
    size_t n = strlen(text);
    return write(fd, text, n) == (ssize_t)n ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char shared[256], own[256], buffer[4096];
    snprintf(shared, sizeof shared, "%s/fork-shared", dir);
    int fd = open(shared, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) { perror(shared); return 1; }
    if (write_all(fd, "parent-before\n")) { perror("write"); return 1; }
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        snprintf(own, sizeof own, "%s/fork-child", dir);
        int mine = open(own, O_CREAT | O_TRUNC | O_WRONLY, 0600);
        if (mine < 0 || write_all(mine, "child's own\n") || close(mine)) _exit(2);
        if (write_all(fd, "child\n")) _exit(3);
        close(fd);  /* the parent's copy stays open */
        _exit(0);
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("child failed: status %d\n", status);
        return 1;
    }
    if (write_all(fd, "parent-after\n")) { perror("write after fork"); return 1; }
    snprintf(own, sizeof own, "%s/fork-parent", dir);
    int mine = open(own, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (mine < 0 || write_all(mine, "parent's own\n") || close(mine)) { perror(own); return 1; }
    if (lseek(fd, 0, SEEK_SET) != 0) { perror("lseek"); return 1; }
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    if (n < 0) { perror("read"); return 1; }
    buffer[n] = 0;
    if (strcmp(buffer, "parent-before\nchild\nparent-after\n")) { printf("shared file: %s", buffer); return 1; }
    snprintf(own, sizeof own, "%s/fork-child", dir);
    FILE *f = fopen(own, "r");
    if (!f || !fgets(buffer, sizeof buffer, f) || strcmp(buffer, "child's own\n")) { printf("child's file wrong\n"); return 1; }
    fclose(f);
    printf("fork ok\n");
    return 0;
}
