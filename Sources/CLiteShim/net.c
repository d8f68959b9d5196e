/* Network helpers for LiteNet's TAP device; see ls_net.h for why each is in C. */
#define _GNU_SOURCE
#include "ls_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int ls_tap_open(const char *name, char *name_out) {
    if (strlen(name) >= IFNAMSIZ) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
    name_out[IFNAMSIZ - 1] = 0;
    return fd;
}

static int with_ifreq(const char *name, struct ifreq *ifr, int *sock) {
    if (strlen(name) >= IFNAMSIZ) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(ifr, 0, sizeof *ifr);
    strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
    *sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return *sock < 0 ? -1 : 0;
}

int ls_interface_set_up(const char *name) {
    struct ifreq ifr;
    int sock, rc = -1;
    if (with_ifreq(name, &ifr, &sock) < 0) return -1;
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(sock);
    errno = saved;
    return rc;
}

int ls_interface_mtu(const char *name) {
    struct ifreq ifr;
    int sock, rc = -1;
    if (with_ifreq(name, &ifr, &sock) < 0) return -1;
    if (ioctl(sock, SIOCGIFMTU, &ifr) == 0) rc = ifr.ifr_mtu;
    int saved = errno;
    close(sock);
    errno = saved;
    return rc;
}
