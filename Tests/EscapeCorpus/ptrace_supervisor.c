/* Attach to the supervisor (the guest's parent) with ptrace. */
#include "escape.h"
#include <sys/ptrace.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long parent = raw0(SYS_getppid);
    expect_failure("ptrace(PTRACE_ATTACH, supervisor)", raw4(SYS_ptrace, PTRACE_ATTACH, parent, 0, 0));
    expect_failure("ptrace(PTRACE_SEIZE, supervisor)", raw4(SYS_ptrace, PTRACE_SEIZE, parent, 0, 0));
    return verdict();
}
