/* Join the host's namespaces through /proc/1/ns (or any fd). */
#include "escape.h"
#include <sched.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long fd = expect_failure("openat(/proc/1/ns/mnt)", raw4(SYS_openat, AT_FDCWD, "/proc/1/ns/mnt", O_RDONLY, 0));
    expect_failure("setns(fd, 0)", raw2(SYS_setns, fd >= 0 ? fd : 0, 0));
    return verdict();
}
