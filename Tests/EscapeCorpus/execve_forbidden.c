/* Run a program the policy does not allow. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    char *args[] = {"sh", "-c", "echo ESCAPED ran /bin/sh; exit 1", 0};
    expect_failure("execve(/bin/sh)", raw3(SYS_execve, "/bin/sh", args, 0));
    expect_failure("execve(/usr/bin/../bin/sh)", raw3(SYS_execve, "/usr/bin/../bin/sh", args, 0));
    return verdict();
}
