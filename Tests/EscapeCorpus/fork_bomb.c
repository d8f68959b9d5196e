/* Fork until something gives. The sandbox's process limit must stop it well
 * before the host feels it; the children are cleaned up with the guest. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    static long pids[10000];
    int children = 0;
    long last = 0;
    for (int i = 0; i < 10000; i++) {
        long pid = raw0(SYS_fork);
        if (pid == 0) {
            /* Children just sleep until the sandbox ends them. */
            struct timespec t = {60, 0};
            raw2(SYS_nanosleep, &t, 0);
            raw1(SYS_exit_group, 0);
        }
        if (pid < 0) { last = pid; break; }
        pids[children++] = pid;
    }
    printf("forked %d children before the limit\n", children);
    if (last < 0 && children < 1000) printf("BLOCKED fork bomb: %s after %d children\n", strerror((int)-last), children);
    else { printf("ESCAPED fork bomb: %d children\n", children); escapes++; }
    for (int i = 0; i < children; i++) raw2(SYS_kill, pids[i], SIGKILL);
    for (int i = 0; i < children; i++) raw4(SYS_wait4, pids[i], 0, 0, 0);
    return verdict();
}
