/* Climb out of an allowed directory with "..". */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    char path[8192];
    snprintf(path, sizeof path, "%s/../../../../../../..%s", allowed_dir, secret_file);
    expect_failure("openat(allowed/../../secret)", raw4(SYS_openat, AT_FDCWD, path, O_RDONLY, 0));
    long dir = raw4(SYS_openat, AT_FDCWD, allowed_dir, O_RDONLY | O_DIRECTORY, 0);
    if (dir >= 0) {
        snprintf(path, sizeof path, "../../../../../..%s", secret_file);
        expect_failure("openat(allowed dirfd, ../secret)", raw4(SYS_openat, dir, path, O_RDONLY, 0));
    }
    return verdict();
}
