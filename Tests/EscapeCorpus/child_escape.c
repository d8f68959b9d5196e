/* A forked child (traced through TRACEFORK) tries the same escapes. */
#include "escape.h"
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long supervisor = raw0(SYS_getppid);
    long pid = raw0(SYS_fork);
    if (pid == 0) {
        expect_failure("child: openat(host file, O_WRONLY)", raw4(SYS_openat, AT_FDCWD, host_file, O_WRONLY, 0));
        expect_failure("child: ptrace(ATTACH, supervisor)", raw4(SYS_ptrace, PTRACE_ATTACH, supervisor, 0, 0));
        expect_failure("child: kill(supervisor)", raw2(SYS_kill, supervisor, SIGKILL));
        expect_failure("child: socket(AF_INET)", raw3(SYS_socket, AF_INET, SOCK_STREAM, 0));
        char *args[] = {"sh", "-c", "echo ESCAPED child ran sh", 0};
        expect_failure("child: execve(/bin/sh)", raw3(SYS_execve, "/bin/sh", args, 0));
        raw1(SYS_exit_group, verdict());
    }
    int status = 0;
    raw4(SYS_wait4, pid, &status, 0, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) escapes++;
    return verdict();
}
