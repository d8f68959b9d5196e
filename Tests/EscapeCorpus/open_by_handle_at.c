/* Try to open an inode by handle, bypassing paths (shocker). */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    unsigned char h[64] = {8, 0, 0, 0, 1, 0, 0, 0, 2}; void *handle = h;
    expect_failure("open_by_handle_at", raw3(SYS_open_by_handle_at, 3, handle, 0));
    return verdict();
}
