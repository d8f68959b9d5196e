/* Run a forbidden program with execveat: by dirfd and by fd (AT_EMPTY_PATH). */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    char *args[] = {"sh", "-c", "echo ESCAPED ran /bin/sh; exit 1", 0};
    long dir = raw4(SYS_openat, AT_FDCWD, "/usr/bin", O_RDONLY | O_DIRECTORY, 0);
    expect_failure("execveat(/usr/bin dirfd, dash)", raw5(SYS_execveat, dir >= 0 ? dir : AT_FDCWD, "dash", args, 0, 0));
    long fd = raw4(SYS_openat, AT_FDCWD, "/usr/bin/dash", O_RDONLY, 0);
    expect_failure("execveat(dash fd, \"\", AT_EMPTY_PATH)", raw5(SYS_execveat, fd >= 0 ? fd : 0, "", args, 0, AT_EMPTY_PATH));
    return verdict();
}
