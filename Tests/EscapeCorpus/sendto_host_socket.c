/* Send a datagram from a socketpair socket to a host socket by address, with
 * sendto and with sendmsg (msg_name), the way a guest could reach /dev/log. The
 * test listens on UNIX_SOCKET.dgram, a world-writable datagram socket. */
#include "escape.h"
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    int fds[2];
    long r = raw4(SYS_socketpair, AF_UNIX, SOCK_DGRAM, 0, fds);
    if (r < 0) { printf("BLOCKED socketpair refused: %s\n", strerror((int)-r)); return 0; }
    /* Disconnect one end by closing the other, so an address would be used. */
    raw1(SYS_close, fds[1]);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s.dgram", unix_socket);
    expect_failure("sendto(host datagram socket)", raw6(SYS_sendto, fds[0], (long)"x", 1, 0, (long)&a, sizeof a));
    char byte = 'x';
    struct iovec v = {&byte, 1};
    struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &v, .msg_iovlen = 1};
    long sent = raw3(SYS_sendmsg, fds[0], &m, 0);
    /* Without the address the kernel has nowhere to send: it must fail, and it
     * must not have reached the host socket. */
    expect_failure("sendmsg(msg_name = host datagram socket)", sent);
    return verdict();
}
