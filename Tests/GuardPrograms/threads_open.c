/* Many threads stopping in the guard at once, each with a path to pin: more
 * threads than one guard region has slots (16), so the guard must map more
 * regions while other threads are mid-call. Every open must succeed and read
 * the right file. Prints "ok OPENS" or "bad …".
 *   threads_open FILE THREADS ROUNDS */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *path;
static int rounds;
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start;

static void *worker(void *unused) {
    (void)unused;
    /* Everyone alive before anyone opens, and everyone has opened once (and so
     * holds a guard slot, kept until the thread ends) before anyone goes on:
     * all threads hold a slot at the same time. */
    pthread_barrier_wait(&start);
    for (int i = 0; i < rounds; i++) {
        if (i == 1) pthread_barrier_wait(&start);
        int fd = open(path, O_RDONLY);
        char buffer[16] = {0};
        if (fd < 0 || read(fd, buffer, sizeof buffer - 1) <= 0 || strncmp(buffer, "allowed", 7) != 0) {
            pthread_mutex_lock(&lock);
            failures++;
            pthread_mutex_unlock(&lock);
        }
        if (fd >= 0) close(fd);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    path = argv[1];
    int count = atoi(argv[2]);
    rounds = atoi(argv[3]);
    pthread_t threads[256];
    if (count > 256) count = 256;
    pthread_barrier_init(&start, 0, (unsigned)count);
    for (int i = 0; i < count; i++) pthread_create(&threads[i], 0, worker, 0);
    for (int i = 0; i < count; i++) pthread_join(threads[i], 0);
    if (failures) { printf("bad %d failed opens\n", failures); return 1; }
    printf("ok %d\n", count * rounds);
    return 0;
}
