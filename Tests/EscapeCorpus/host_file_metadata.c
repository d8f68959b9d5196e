/* Change a host file without opening it: rename, unlink, chmod, truncate, link. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    char other[4096];
    snprintf(other, sizeof other, "%s.moved", host_file);
    expect_failure("rename", raw2(SYS_rename, host_file, other));
    expect_failure("unlink", raw1(SYS_unlink, host_file));
    expect_failure("chmod", raw2(SYS_chmod, host_file, 0777));
    expect_failure("truncate", raw2(SYS_truncate, host_file, 0));
    expect_failure("link", raw2(SYS_link, host_file, other));
    expect_failure("symlink", raw2(SYS_symlink, host_file, other));
    expect_failure("utimensat", raw4(SYS_utimensat, AT_FDCWD, host_file, 0, 0));
    return verdict();
}
