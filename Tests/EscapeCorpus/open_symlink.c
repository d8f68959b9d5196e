/* Follow a symlink planted inside an allowed directory (by the host test) that
 * points at the secret. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    char path[4096];
    snprintf(path, sizeof path, "%s/link-to-secret", allowed_dir);
    expect_failure("openat(allowed/link-to-secret)", raw4(SYS_openat, AT_FDCWD, path, O_RDONLY, 0));
    return verdict();
}
