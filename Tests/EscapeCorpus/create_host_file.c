/* Create a new file next to the allowed files. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    char path[4096];
    snprintf(path, sizeof path, "%s/created-by-guest", allowed_dir);
    expect_failure("openat(O_CREAT)", raw4(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT, 0666));
    expect_failure("creat", raw2(SYS_creat, path, 0666));
    expect_failure("mkdir", raw2(SYS_mkdir, path, 0777));
    return verdict();
}
