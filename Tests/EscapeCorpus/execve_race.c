/* TOCTOU on execve: a second thread flips the path buffer between the allowed
 * program (this one) and /bin/sh while the main thread execs it. The guard must
 * run exactly what it checked. When this program re-runs itself it says so and
 * ends; /bin/sh would print ESCAPED. */
#include "escape.h"
#include <pthread.h>
static char path[4096];
static char allowed[4096], forbidden[4096];
static volatile int stop;
static void *flipper(void *unused) {
    (void)unused;
    while (!stop) {
        memcpy(path, forbidden, sizeof path);
        memcpy(path, allowed, sizeof path);
    }
    return 0;
}
int main(int argc, char **argv) {
    if (argc > 6 && strcmp(argv[6], "again") == 0) {
        printf("BLOCKED execve race: the checked program ran (after %s tries)\n", argv[7]);
        return 0;
    }
    setup(argc, argv);
    /* Same length, so the flip never leaves a torn mix of the two. */
    long n = raw3(SYS_readlink, "/proc/self/exe", allowed, sizeof allowed - 1);
    if (n <= 0) snprintf(allowed, sizeof allowed, "%s", argv[0]);
    size_t length = strlen(allowed);
    if (length < 8) { printf("BLOCKED path too short to race\n"); return 0; }
    memset(forbidden, '/', length - 7);
    memcpy(forbidden + length - 7, "bin/sh", 7);
    memcpy(path, forbidden, sizeof path);
    pthread_t thread;
    pthread_create(&thread, 0, flipper, 0);
    char tries[32];
    char *args[] = {argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], "again", tries, 0};
    char *shell[] = {"sh", "-c", "echo ESCAPED execve race ran /bin/sh; exit 1", 0};
    for (int i = 0; i < 3000; i++) {
        snprintf(tries, sizeof tries, "%d", i);
        /* argv is a union of both programs' expectations: sh reads -c from shell[]. */
        long r = raw3(SYS_execve, path, path[length - 2] == 's' ? shell : args, 0);
        (void)r;
    }
    stop = 1;
    pthread_join(thread, 0);
    printf("BLOCKED execve race: 3000 attempts, none ran an unchecked program\n");
    return 0;
}
