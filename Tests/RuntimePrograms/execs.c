/* Execs itself N times, calling getppid once in each image: every image's
 * runtime must find a free slot although none of them released theirs (exec
 * runs no thread-exit destructors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int left = argc > 1 ? atoi(argv[1]) : 0;
    getppid();
    if (left > 0) {
        char next[16];
        snprintf(next, sizeof next, "%d", left - 1);
        execl("/proc/self/exe", argv[0], next, (char *)0);
        execv(argv[0], (char *[]){ argv[0], next, 0 });
        return 1;
    }
    write(1, "last image\n", 11);
    return 0;
}
