/* Reopen a read-only fd for writing through /proc/self/fd. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    long fd = raw4(SYS_openat, AT_FDCWD, host_file, O_RDONLY, 0);
    if (fd < 0) { printf("BLOCKED could not even read the host file (%ld)\n", fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
    long w = expect_failure("openat(/proc/self/fd/N, O_WRONLY)", raw4(SYS_openat, AT_FDCWD, path, O_WRONLY, 0));
    if (w >= 0) raw3(SYS_write, w, "pwned\n", 6);
    expect_failure("write(read-only fd)", raw3(SYS_write, fd, "pwned\n", 6));
    return verdict();
}
