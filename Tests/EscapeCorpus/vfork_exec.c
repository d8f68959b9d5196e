/* vfork, then exec a forbidden program from the child sharing our memory. */
#include "escape.h"
#include <sys/wait.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    char *args[] = {"sh", "-c", "echo ESCAPED vfork child ran sh; exit 1", 0};
    long pid = raw0(SYS_vfork);
    if (pid == 0) {
        long r = raw3(SYS_execve, "/bin/sh", args, 0);
        raw1(SYS_exit, r < 0 ? 0 : 1);
    }
    int status = 0;
    raw4(SYS_wait4, pid, &status, 0, 0);
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) printf("BLOCKED vfork child could not exec /bin/sh\n");
    else { printf("ESCAPED vfork child: status %d\n", status); escapes++; }
    return verdict();
}
