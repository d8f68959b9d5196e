/* Sniff or inject raw frames with a packet socket. */
#include "escape.h"
#include <sys/socket.h>
#include <arpa/inet.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("socket(AF_PACKET, SOCK_RAW)", raw3(SYS_socket, AF_PACKET, SOCK_RAW, htons(3)));
    expect_failure("socket(AF_INET, SOCK_RAW)", raw3(SYS_socket, AF_INET, SOCK_RAW, 1));
    return verdict();
}
