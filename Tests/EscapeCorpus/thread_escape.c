/* A thread (traced through TRACECLONE) tries the same escapes. */
#include "escape.h"
#include <pthread.h>
#include <sys/ptrace.h>
static void *attempt(void *unused) {
    (void)unused;
    long supervisor = raw0(SYS_getppid);
    expect_failure("thread: openat(host file, O_WRONLY)", raw4(SYS_openat, AT_FDCWD, host_file, O_WRONLY, 0));
    expect_failure("thread: ptrace(ATTACH, supervisor)", raw4(SYS_ptrace, PTRACE_ATTACH, supervisor, 0, 0));
    expect_failure("thread: tgkill(supervisor)", raw3(SYS_tgkill, supervisor, supervisor, SIGKILL));
    expect_failure("thread: unshare(CLONE_NEWUSER)", raw1(SYS_unshare, 0x10000000));
    char *args[] = {"sh", "-c", "echo ESCAPED thread ran sh", 0};
    expect_failure("thread: execve(/bin/sh)", raw3(SYS_execve, "/bin/sh", args, 0));
    return 0;
}
int main(int argc, char **argv) {
    setup(argc, argv);
    pthread_t thread;
    if (pthread_create(&thread, 0, attempt, 0) != 0) { printf("BLOCKED could not start a thread\n"); return 0; }
    pthread_join(thread, 0);
    return verdict();
}
