/*
 * fds.c — which of this process's fd numbers are placeholders (liteshield_abi.h,
 * "Guest fds"): kernel dups of the channel memfd standing for objects of the
 * service. One bit per number, in ordinary memory: fork copies it with the
 * rest of the process, which is exactly right (the child's numbers are copies),
 * and after an exec the new image asks the service (LS_OP_ATTACH).
 *
 * Bits are changed with atomic operations, since threads open and close fds
 * concurrently; the bitmap never decides alone whether an fd exists — the kernel
 * does — it only says where a call on that number goes.
 */
#include "runtime.h"

#define WORD_BITS 64
static uint64_t placeholders[LS_FD_LIMIT / WORD_BITS];

int ls_fd_is_placeholder(long fd) {
    if (fd < 0 || fd >= LS_FD_LIMIT) return 0;
    return (__atomic_load_n(&placeholders[fd / WORD_BITS], __ATOMIC_RELAXED) >> (fd % WORD_BITS)) & 1;
}

void ls_fd_set(long fd, int placeholder) {
    if (fd < 0 || fd >= LS_FD_LIMIT) return;
    uint64_t bit = 1ull << (fd % WORD_BITS);
    if (placeholder) __atomic_fetch_or(&placeholders[fd / WORD_BITS], bit, __ATOMIC_RELAXED);
    else __atomic_fetch_and(&placeholders[fd / WORD_BITS], ~bit, __ATOMIC_RELAXED);
}

int ls_fd_clear_range(unsigned long first, unsigned long last) {
    if (last >= LS_FD_LIMIT) last = LS_FD_LIMIT - 1;
    int any = 0;
    for (unsigned long fd = first; fd <= last; ) {
        unsigned long word = fd / WORD_BITS;
        if (fd % WORD_BITS == 0 && last - fd >= WORD_BITS - 1) {
            /* A whole word at once. */
            any |= __atomic_exchange_n(&placeholders[word], 0, __ATOMIC_RELAXED) != 0;
            fd += WORD_BITS;
            continue;
        }
        uint64_t bit = 1ull << (fd % WORD_BITS);
        any |= (__atomic_fetch_and(&placeholders[word], ~bit, __ATOMIC_RELAXED) & bit) != 0;
        fd++;
    }
    return any;
}
