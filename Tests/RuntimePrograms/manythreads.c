/* More live threads than channel slots (64), all making calls at once: threads
 * past a quarter of the free slots claim a slot per call instead of keeping
 * one, so none waits for ever. Run by PlaceholderTests. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static pthread_barrier_t barrier;
static void *worker(void *arg) {
    (void)arg;
    getppid();                       /* every thread makes a call ... */
    pthread_barrier_wait(&barrier);  /* ... and all stay alive together */
    for (int i = 0; i < 50; i++) getppid();
    return 0;
}
int main(void) {
    enum { N = 100 };
    pthread_t t[N];
    pthread_barrier_init(&barrier, 0, N);
    for (int i = 0; i < N; i++) pthread_create(&t[i], 0, worker, 0);
    for (int i = 0; i < N; i++) pthread_join(t[i], 0);
    printf("100 threads done\n");
    return 0;
}
