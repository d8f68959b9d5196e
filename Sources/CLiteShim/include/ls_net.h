/* ls_net.h — what LiteNet's TAP device needs that Swift cannot do directly. */
#ifndef LS_NET_H
#define LS_NET_H

#include <stdint.h>

/* Each returns >= 0 on success, or -1 with errno set. */

/* Why C: ioctl is variadic and struct ifreq is a union Swift imports awkwardly.
 * Opens /dev/net/tun as a TAP device (IFF_TAP | IFF_NO_PI, non-blocking,
 * close-on-exec) named `name` ("" lets the kernel pick); the actual name is
 * written to name_out (at least 16 bytes). Returns the descriptor. */
int ls_tap_open(const char *name, char *name_out);
/* Why C: SIOCGIFFLAGS/SIOCSIFFLAGS go through the variadic ioctl on a socket.
 * Sets the interface up (IFF_UP) in the caller's network namespace. */
int ls_interface_set_up(const char *name);
/* Why C: SIOCGIFMTU through the variadic ioctl. Returns the MTU. */
int ls_interface_mtu(const char *name);

#endif
