/* Kill the supervisor, so the guard goes away. */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    long parent = raw0(SYS_getppid);
    expect_failure("kill(supervisor, SIGKILL)", raw2(SYS_kill, parent, SIGKILL));
    expect_failure("kill(supervisor, 0)", raw2(SYS_kill, parent, 0));
    expect_failure("kill(-supervisor group, SIGKILL)", raw2(SYS_kill, -parent, SIGKILL));
    return verdict();
}
