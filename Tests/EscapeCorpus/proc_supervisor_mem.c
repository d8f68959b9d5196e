/* Read the supervisor's memory through /proc/PPID/mem. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/mem", raw0(SYS_getppid));
    expect_failure("openat(/proc/PPID/mem)", raw4(SYS_openat, AT_FDCWD, path, O_RDONLY, 0));
    snprintf(path, sizeof path, "/proc/%ld/environ", raw0(SYS_getppid));
    expect_failure("openat(/proc/PPID/environ)", raw4(SYS_openat, AT_FDCWD, path, O_RDONLY, 0));
    return verdict();
}
