/* Ask to be traced (and so detach from, or confuse, the guard). */
#include "escape.h"
#include <sys/ptrace.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("ptrace(PTRACE_TRACEME)", raw4(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
    return verdict();
}
