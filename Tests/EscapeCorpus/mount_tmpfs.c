/* Mount a tmpfs over an allowed directory (and bind the secret into it). */
#include "escape.h"
#include <sys/mount.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("mount(tmpfs)", raw5(SYS_mount, "none", allowed_dir, "tmpfs", 0, 0));
    expect_failure("mount(bind secret)", raw5(SYS_mount, secret_file, allowed_dir, 0, MS_BIND, 0));
    expect_failure("umount2(/)", raw2(SYS_umount2, "/", MNT_DETACH));
    expect_failure("fsopen(tmpfs)", raw2(SYS_fsopen, "tmpfs", 0));
    return verdict();
}
