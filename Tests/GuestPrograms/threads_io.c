/* A multi-threaded guest: 8 threads each write their own file on the sandbox's
 * image and 8 more append records to one shared file at once, then every file is
 * read back and checked. Prints "threads ok" or what was wrong. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { THREADS = 8, RECORDS = 200, RECORD = 64 };
static const char *dir;

static void fill(char *record, int thread, int i) {
    memset(record, 'a' + thread, RECORD);
    snprintf(record, RECORD, "%d:%d:", thread, i);
    record[RECORD - 1] = '\n';
}

static void *own_file(void *arg) {
    int thread = (int)(long)arg;
    char path[256], record[RECORD];
    snprintf(path, sizeof path, "%s/own-%d", dir, thread);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) { perror(path); return (void *)1; }
    for (int i = 0; i < RECORDS; i++) {
        fill(record, thread, i);
        if (write(fd, record, RECORD) != RECORD) { perror("write"); return (void *)1; }
    }
    close(fd);
    return 0;
}

static void *shared_file(void *arg) {
    int thread = (int)(long)arg;
    char path[256], record[RECORD];
    snprintf(path, sizeof path, "%s/shared", dir);
    int fd = open(path, O_CREAT | O_APPEND | O_WRONLY, 0644);
    if (fd < 0) { perror(path); return (void *)1; }
    for (int i = 0; i < RECORDS; i++) {
        fill(record, thread, i);
        if (write(fd, record, RECORD) != RECORD) { perror("append"); return (void *)1; }
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    dir = argc > 1 ? argv[1] : "/tmp";
    pthread_t threads[2 * THREADS];
    for (long t = 0; t < THREADS; t++) {
        pthread_create(&threads[t], 0, own_file, (void *)t);
        pthread_create(&threads[THREADS + t], 0, shared_file, (void *)t);
    }
    int failed = 0;
    for (int t = 0; t < 2 * THREADS; t++) {
        void *result;
        pthread_join(threads[t], &result);
        failed |= result != 0;
    }
    char path[256], record[RECORD], expected[RECORD];
    for (int t = 0; t < THREADS; t++) {
        snprintf(path, sizeof path, "%s/own-%d", dir, t);
        FILE *f = fopen(path, "r");
        if (!f) { perror(path); return 1; }
        for (int i = 0; i < RECORDS; i++) {
            fill(expected, t, i);
            if (fread(record, 1, RECORD, f) != RECORD || memcmp(record, expected, RECORD)) {
                printf("own-%d: record %d differs\n", t, i);
                return 1;
            }
        }
        fclose(f);
    }
    /* The shared file: every record whole (O_APPEND writes never interleave), and
     * each thread's records in its own order. */
    snprintf(path, sizeof path, "%s/shared", dir);
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return 1; }
    int next[THREADS] = { 0 }, count = 0;
    while (fread(record, 1, RECORD, f) == RECORD) {
        int t = record[0] - '0';
        if (t < 0 || t >= THREADS) { printf("shared: torn record %d\n", count); return 1; }
        fill(expected, t, next[t]);
        if (memcmp(record, expected, RECORD)) { printf("shared: record %d of thread %d differs\n", next[t], t); return 1; }
        next[t]++;
        count++;
    }
    fclose(f);
    if (count != THREADS * RECORDS) { printf("shared: %d records, expected %d\n", count, THREADS * RECORDS); return 1; }
    if (failed) { printf("a thread failed\n"); return 1; }
    printf("threads ok: %d files, %d shared records\n", THREADS, count);
    return 0;
}
