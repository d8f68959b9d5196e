/* Write the process's own memory through /proc/self/mem (the classic way around
 * page protections, e.g. onto the guard's read-only page). */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("openat(/proc/self/mem, O_RDWR)", raw4(SYS_openat, AT_FDCWD, "/proc/self/mem", O_RDWR, 0));
    return verdict();
}
