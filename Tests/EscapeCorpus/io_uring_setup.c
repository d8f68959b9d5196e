/* Try to run system calls from a ring the filter never sees. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    struct { unsigned v[30]; } p = {0}; void *params = &p;
    expect_failure("io_uring_setup", raw2(SYS_io_uring_setup, 8, params));
    return verdict();
}
