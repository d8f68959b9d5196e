/* Try to load programs into the kernel. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    unsigned a[32] = {2, 4, 4, 1}; void *attr = a;
    expect_failure("bpf(BPF_MAP_CREATE)", raw3(SYS_bpf, 0, attr, sizeof a));
    return verdict();
}
