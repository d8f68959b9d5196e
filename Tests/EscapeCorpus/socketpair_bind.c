/* Use the one kind of socket a guest may hold (a socketpair) to create a socket
 * file in a host directory (bind) or to reach a host daemon's socket (connect). */
#include "escape.h"
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long pair[2];
    int fds[2];
    long r = raw4(SYS_socketpair, AF_UNIX, SOCK_DGRAM, 0, fds);
    if (r < 0) { printf("BLOCKED socketpair refused: %s\n", strerror((int)-r)); return 0; }
    pair[0] = fds[0]; pair[1] = fds[1];
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/created-by-guest", allowed_dir);
    expect_failure("bind(socketpair, host path)", raw3(SYS_bind, pair[0], &a, sizeof a));
    strncpy(a.sun_path, unix_socket, sizeof a.sun_path - 1);
    expect_failure("connect(socketpair, host socket)", raw3(SYS_connect, pair[1], &a, sizeof a));
    return verdict();
}
