/* Try to open a kernel profiling event. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    unsigned char a[128] = {0}; a[4] = 128; void *attr = a;
    expect_failure("perf_event_open", raw5(SYS_perf_event_open, attr, 0, -1, -1, 0));
    return verdict();
}
