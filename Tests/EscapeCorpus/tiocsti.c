/* Type commands into the host's terminal with TIOCSTI, or take it over. */
#include "escape.h"
#include <sys/ioctl.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    char c = 'x';
    expect_failure("ioctl(0, TIOCSTI)", raw3(SYS_ioctl, 0, TIOCSTI, &c));
    expect_failure("ioctl(1, TIOCSCTTY)", raw3(SYS_ioctl, 1, TIOCSCTTY, 1));
    expect_failure("setsid", raw0(SYS_setsid));
    return verdict();
}
