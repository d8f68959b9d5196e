/* DPDK calls for LiteNetDPDK; see CLiteDPDK.h for why each is in C.
 *
 * SwiftPM cannot use Debian's libdpdk.pc, which would add `-include rte_config.h`
 * and `-march=corei7`: so rte_config.h comes first here, and the code DPDK's
 * inline functions expand to is compiled for SSE4.2 by the pragma below. */
#include <rte_config.h>

#pragma clang attribute push (__attribute__((target("sse4.2"))), apply_to = function)

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "CLiteDPDK.h"

int lsd_eal_init(int argc, char **argv) {
    int rc = rte_eal_init(argc, argv);
    return rc < 0 ? -rte_errno : rc;
}

int lsd_eal_cleanup(void) { return rte_eal_cleanup(); }

const char *lsd_strerror(int error) { return rte_strerror(error < 0 ? -error : error); }

int lsd_port_by_name(const char *name, uint16_t *port) { return rte_eth_dev_get_port_by_name(name, port); }

int lsd_vdev_create(const char *name, const char *args) { return rte_vdev_init(name, args); }

uint16_t lsd_port_count(void) { return rte_eth_dev_count_avail(); }

void *lsd_pool_create(const char *name, unsigned count, unsigned cache, uint16_t data_room, int *error) {
    struct rte_mempool *pool = rte_pktmbuf_pool_create(name, count, cache, 0, data_room, (int)rte_socket_id());
    if (pool == NULL && error != NULL) *error = -rte_errno;
    return pool;
}

void lsd_pool_free(void *pool) { rte_mempool_free((struct rte_mempool *)pool); }

int lsd_port_start(uint16_t port, void *pool, uint16_t rx_queues, uint16_t tx_queues,
                   uint16_t rx_descriptors, uint16_t tx_descriptors) {
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) return rc;
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof conf);
    conf.intr_conf.rxq = 1;
    rc = rte_eth_dev_configure(port, rx_queues, tx_queues, &conf);
    if (rc != 0) {
        conf.intr_conf.rxq = 0; /* the driver has no Rx interrupts: callers poll */
        rc = rte_eth_dev_configure(port, rx_queues, tx_queues, &conf);
    }
    if (rc != 0) return rc;
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_descriptors, &tx_descriptors);
    if (rc != 0) return rc;
    int socket = rte_eth_dev_socket_id(port);
    if (socket < 0) socket = (int)rte_socket_id();
    for (uint16_t q = 0; q < rx_queues; q++) {
        rc = rte_eth_rx_queue_setup(port, q, rx_descriptors, (unsigned)socket, NULL, (struct rte_mempool *)pool);
        if (rc != 0) return rc;
    }
    for (uint16_t q = 0; q < tx_queues; q++) {
        rc = rte_eth_tx_queue_setup(port, q, tx_descriptors, (unsigned)socket, NULL);
        if (rc != 0) return rc;
    }
    rc = rte_eth_dev_start(port);
    if (rc != 0) return rc;
    /* The stack answers only its own MAC and broadcast, but a vdev may filter
     * unicast to other MACs; promiscuous keeps the filtering in one place (ours). */
    (void)rte_eth_promiscuous_enable(port);
    return 0;
}

int lsd_port_rx_interrupt_fd(uint16_t port, uint16_t queue) {
    int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(port, queue);
    return fd >= 0 ? fd : -1;
}

int lsd_port_rx_interrupt_arm(uint16_t port, uint16_t queue, int armed) {
    return armed ? rte_eth_dev_rx_intr_enable(port, queue) : rte_eth_dev_rx_intr_disable(port, queue);
}

int lsd_port_stop(uint16_t port) {
    int rc = rte_eth_dev_stop(port);
    int rc2 = rte_eth_dev_close(port);
    return rc != 0 ? rc : rc2;
}

int lsd_port_mac(uint16_t port, uint8_t mac[6]) {
    struct rte_ether_addr address;
    int rc = rte_eth_macaddr_get(port, &address);
    if (rc == 0) memcpy(mac, address.addr_bytes, 6);
    return rc;
}

int lsd_port_mtu(uint16_t port, uint16_t *mtu) { return rte_eth_dev_get_mtu(port, mtu); }

int lsd_port_link(uint16_t port, int *up, uint32_t *speed_mbps) {
    struct rte_eth_link link;
    memset(&link, 0, sizeof link);
    int rc = rte_eth_link_get_nowait(port, &link);
    if (rc != 0) return rc;
    *up = link.link_status == RTE_ETH_LINK_UP;
    *speed_mbps = link.link_speed;
    return 0;
}

uint16_t lsd_rx_burst(uint16_t port, uint16_t queue, void **mbufs, const uint8_t **data,
                      uint16_t *lengths, uint16_t n) {
    uint16_t got = rte_eth_rx_burst(port, queue, (struct rte_mbuf **)mbufs, n);
    for (uint16_t i = 0; i < got; i++) {
        struct rte_mbuf *m = (struct rte_mbuf *)mbufs[i];
        data[i] = rte_pktmbuf_mtod(m, const uint8_t *);
        lengths[i] = m->nb_segs == 1 ? m->data_len : 0;
    }
    return got;
}

uint8_t *lsd_tx_prepare(void *pool, uint16_t length, void **mbuf) {
    struct rte_mbuf *m = rte_pktmbuf_alloc((struct rte_mempool *)pool);
    if (m == NULL) return NULL;
    char *data = rte_pktmbuf_append(m, length);
    if (data == NULL) {
        rte_pktmbuf_free(m);
        return NULL;
    }
    *mbuf = m;
    return (uint8_t *)data;
}

uint16_t lsd_tx_burst(uint16_t port, uint16_t queue, void **mbufs, uint16_t n) {
    uint16_t sent = rte_eth_tx_burst(port, queue, (struct rte_mbuf **)mbufs, n);
    if (sent < n) rte_pktmbuf_free_bulk((struct rte_mbuf **)mbufs + sent, n - sent);
    return sent;
}

void lsd_free_bulk(void **mbufs, unsigned n) { rte_pktmbuf_free_bulk((struct rte_mbuf **)mbufs, n); }

#pragma clang attribute pop
