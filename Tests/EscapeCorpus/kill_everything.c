/* Signal every process the guest user may reach: kill(-1). */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("kill(-1, SIGTERM)", raw2(SYS_kill, -1, SIGTERM));
    expect_failure("kill(1, SIGTERM)", raw2(SYS_kill, 1, SIGTERM));
    return verdict();
}
