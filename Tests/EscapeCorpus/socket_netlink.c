/* Talk to the kernel's routing and audit interfaces over netlink. */
#include "escape.h"
#include <linux/netlink.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    expect_failure("socket(AF_NETLINK, NETLINK_ROUTE)", raw3(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
    expect_failure("socket(AF_NETLINK, NETLINK_AUDIT)", raw3(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_AUDIT));
    return verdict();
}
