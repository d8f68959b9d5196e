/* Connect to a TCP listener the host test opened on 127.0.0.1. */
#include "escape.h"
#include <netinet/in.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long s = expect_failure("socket(AF_INET, SOCK_STREAM)", raw3(SYS_socket, AF_INET, SOCK_STREAM, 0));
    if (s >= 0) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tcp_port), .sin_addr = {htonl(0x7f000001)}};
        expect_failure("connect(127.0.0.1)", raw3(SYS_connect, s, &a, sizeof a));
    }
    expect_failure("socket(AF_INET6, SOCK_DGRAM)", raw3(SYS_socket, AF_INET6, SOCK_DGRAM, 0));
    return verdict();
}
