/* CLiteDPDK — LiteNet's window onto DPDK. Part of the C shim layer (DESIGN.md).
 *
 * This header has no DPDK includes on purpose: Swift sees only opaque pointers
 * and plain integers, SwiftPM never has to find DPDK's headers for dependents,
 * and DPDK's inline functions and macros (rte_pktmbuf_mtod, rx/tx bursts, …)
 * are compiled once, here, with the code generation they need.
 *
 * Functions returning int give 0 (or a count) on success and a negative DPDK
 * errno value on failure unless said otherwise. */
#ifndef CLITEDPDK_H
#define CLITEDPDK_H

#include <stdint.h>

/* Why C: rte_eal_init reports failure through rte_errno, a per-lcore macro.
 * Returns the number of arguments parsed, or -rte_errno. */
int lsd_eal_init(int argc, char **argv);
/* Why C: pairs with lsd_eal_init; releases hugepage/memory state. */
int lsd_eal_cleanup(void);
/* Why C: rte_strerror covers DPDK's own error numbers beyond errno's. */
const char *lsd_strerror(int error);

/* Why C: rte_eth_dev_get_port_by_name; the vdev name ("net_tap0") or PCI address. */
int lsd_port_by_name(const char *name, uint16_t *port);
/* Why C: rte_vdev_init lives in a driver-bus header. Creates a virtual device
 * after EAL start ("net_tap1", "iface=tap1"), so one process can add ports. */
int lsd_vdev_create(const char *name, const char *args);
/* Why C: rte_eth_dev_count_avail. */
uint16_t lsd_port_count(void);

/* Why C: rte_pktmbuf_pool_create with the socket the port lives on. Returns an
 * opaque pool, or NULL (error in *error). */
void *lsd_pool_create(const char *name, unsigned count, unsigned cache, uint16_t data_room, int *error);
/* Why C: rte_mempool_free. */
void lsd_pool_free(void *pool);

/* Why C: rte_eth_dev_configure + rx/tx queue setup + start take DPDK structs
 * (rte_eth_conf, rte_eth_dev_info) that are easier to fill in C. */
int lsd_port_start(uint16_t port, void *pool, uint16_t rx_queues, uint16_t tx_queues,
                   uint16_t rx_descriptors, uint16_t tx_descriptors);
/* Why C: Rx interrupts are set in rte_eth_conf.intr_conf before the port
 * starts, so lsd_port_start asks for them and falls back without them when the
 * driver refuses. This returns a descriptor that turns readable when queue
 * `queue` has packets (for net_tap, the TAP queue itself), or -1 when the port
 * has none; the caller may then sleep in poll(2) instead of spinning. */
int lsd_port_rx_interrupt_fd(uint16_t port, uint16_t queue);
/* Why C: rte_eth_dev_rx_intr_enable/disable; arm before sleeping, disarm after. */
int lsd_port_rx_interrupt_arm(uint16_t port, uint16_t queue, int armed);
/* Why C: rte_eth_dev_stop + rte_eth_dev_close. */
int lsd_port_stop(uint16_t port);
/* Why C: rte_eth_macaddr_get fills a struct rte_ether_addr. */
int lsd_port_mac(uint16_t port, uint8_t mac[6]);
/* Why C: rte_eth_dev_get_mtu. */
int lsd_port_mtu(uint16_t port, uint16_t *mtu);
/* Why C: rte_eth_link_get_nowait fills a bitfield struct Swift cannot read. */
int lsd_port_link(uint16_t port, int *up, uint32_t *speed_mbps);

/* Why C: rte_eth_rx_burst is an inline function over the PMD's fast-path table.
 * Receives up to n mbufs and, for each, its data pointer and length, so Swift
 * needs no call per packet to find the bytes. A multi-segment mbuf gets length
 * 0 (the stack skips it; with a 1500-byte MTU and 2 KiB buffers none occur). */
uint16_t lsd_rx_burst(uint16_t port, uint16_t queue, void **mbufs, const uint8_t **data,
                      uint16_t *lengths, uint16_t n);
/* Why C: rte_pktmbuf_alloc + rte_pktmbuf_append are inline. Returns where to
 * write `length` bytes of a new frame, with the mbuf in *mbuf; NULL when the
 * pool is empty or length exceeds the buffer. */
uint8_t *lsd_tx_prepare(void *pool, uint16_t length, void **mbuf);
/* Why C: rte_eth_tx_burst is inline. Frees what the device did not take and
 * returns how many it took. */
uint16_t lsd_tx_burst(uint16_t port, uint16_t queue, void **mbufs, uint16_t n);
/* Why C: rte_pktmbuf_free_bulk is inline. */
void lsd_free_bulk(void **mbufs, unsigned n);

#endif
