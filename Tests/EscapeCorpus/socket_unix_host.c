/* Connect to a host daemon's unix socket (think docker.sock). */
#include "escape.h"
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long s = expect_failure("socket(AF_UNIX, SOCK_STREAM)", raw3(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
    if (s >= 0) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strncpy(a.sun_path, unix_socket, sizeof a.sun_path - 1);
        expect_failure("connect(host unix socket)", raw3(SYS_connect, s, &a, sizeof a));
    }
    return verdict();
}
