/*
 * Private interface between the role-neutral rpmsg core (rpmsg.c) and the
 * two roles (rpmsg_host.c, rpmsg_remote.c). A role owns buffer handling:
 * where transmit buffers come from and how receive buffers go back.
 */
#ifndef AMP_RPMSG_INTERNAL_H
#define AMP_RPMSG_INTERNAL_H

#include "amp/rpmsg.h"

/* A buffer as a role hands it out: where it is and how many bytes count. */
struct rpmsg_buf {
    struct amp_rpmsg_hdr *hdr;
    uint32_t len;
};

/* A device's two queues, as a role's put() names them. */
enum rpmsg_queue { RPMSG_RX, RPMSG_TX };

struct amp_rpmsg_role_ops {
    /* Finish role-specific init on a filled-in dev; -AMP_EAGAIN if the peer is not ready. */
    int (*init)(struct amp_rpmsg_device *dev);
    /*
     * A free transmit buffer of at least buf->len bytes (header included):
     * its descriptor id, with buf set to it and what it holds; or
     * -AMP_ENOBUFS (none free), -AMP_EMSGSIZE (the next one is too small; it
     * stays first in line), or another error. -AMP_ENOBUFS leaves buf as it
     * was, for the next try.
     */
    int (*get_tx)(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf);
    /* Descriptor id of a transmit / receive buffer we hold (zero-copy), or a negative error. */
    int (*tx_id)(struct amp_rpmsg_device *dev, const struct amp_rpmsg_hdr *hdr);
    int (*rx_id)(struct amp_rpmsg_device *dev, const struct amp_rpmsg_hdr *hdr);
    /* Hand every received message to its endpoint (rpmsg_poll_loop): how
     * many were taken, or -AMP_EBADMSG (ring corrupt: noted in ring_error). */
    int (*poll)(struct amp_rpmsg_device *dev);
    /*
     * Hand buffer `id` to the peer: RPMSG_TX, a filled transmit buffer
     * (header + payload = len bytes); RPMSG_RX, a receive buffer we are done
     * with (len unused). One op for both, so the remote, which returns
     * either the same way, has no wrapper per queue.
     */
    int (*put)(struct amp_rpmsg_device *dev, enum rpmsg_queue q, uint16_t id, uint32_t len);
    /* Ask for (true) or stop asking for a doorbell when the peer adds to vr
     * (rx_vring: a message; tx_vring: a free buffer). Enabling returns true
     * if there is already something to take. */
    bool (*want_notify)(struct amp_vring *vr, bool enable);
};

/*
 * An endpoint index a caller registered (amp_rpmsg_set_ept_table): reached
 * only through dev->ept_index, so a device without one does not link it.
 */
struct rpmsg_ept_index {
    struct amp_rpmsg_endpoint *(*find)(struct amp_rpmsg_device *dev, uint32_t addr);
    int (*add)(struct amp_rpmsg_device *dev, struct amp_rpmsg_endpoint *ept);
    void (*remove)(struct amp_rpmsg_device *dev, struct amp_rpmsg_endpoint *ept);
};

/*
 * The spare transmit buffers, as the remote role reaches them: through
 * dev->tx_spares, set by the first zero-copy release, so a firmware that
 * never releases one links none of it (the host uses the inlines below).
 */
struct rpmsg_spare_ops {
    int (*take)(struct amp_rpmsg_device *dev);
    void (*put)(struct amp_rpmsg_device *dev, uint16_t id);
};

/*
 * Hand the message in buffer hdr (len bytes written by the peer) to its
 * endpoint: AMP_RPMSG_RELEASE, AMP_RPMSG_HOLD, or why it was dropped
 * (rpmsg.c).
 */
int rpmsg_dispatch(struct amp_rpmsg_device *dev, struct amp_rpmsg_hdr *hdr, uint32_t len);

/*
 * The receive loop, one copy per role with its own buffer handling
 * called directly (no call through the ops per message):
 *
 * get_rx: the next received buffer and the length the peer says it wrote:
 *   its id (>= 0, for put), or -AMP_EAGAIN (none), -AMP_EBADMSG (ring
 *   corrupt), or another error for one bad buffer that the role has
 *   already handed back. The length is as the peer gave it: dispatch
 *   checks it against buf_size.
 * put: the role's put (above), for RPMSG_RX; it may leave the buffer
 *   unseen by the peer until flush.
 * flush: hand the peer what put left, ring if it asked. Called at least
 *   every RPMSG_RX_BATCH buffers and before the loop returns.
 */
#define RPMSG_RX_BATCH 16u

__attribute__((always_inline))
static inline int rpmsg_poll_loop(struct amp_rpmsg_device *dev,
                                  int (*get_rx)(struct amp_rpmsg_device *, struct rpmsg_buf *),
                                  int (*put)(struct amp_rpmsg_device *, enum rpmsg_queue,
                                             uint16_t, uint32_t),
                                  void (*flush)(struct amp_rpmsg_device *))
{
    int handled = 0;
    for (;;) {
        struct rpmsg_buf rx;
        int rc = get_rx(dev, &rx);
        if (rc == -AMP_EAGAIN)
            break;
        if (rc == -AMP_EBADMSG) {
            handled = dev->ring_error = rc;   /* the ring is corrupt: refused until the next init */
            break;
        }
        handled++;
        if (rc >= 0) {
            uint16_t id = (uint16_t)rc;
            rc = rpmsg_dispatch(dev, rx.hdr, rx.len);
            if (rc != AMP_RPMSG_HOLD)
                put(dev, RPMSG_RX, id, 0);
        }
        if (rc < 0) {
            dev->rx_dropped++;
            dev->last_rx_error = rc;
        }
        /* A callback may have reset or torn down the device. */
        if (!dev->ready)
            break;
        if (!(handled % RPMSG_RX_BATCH))
            flush(dev);
    }
    flush(dev);
    return handled;
}

/*
 * The local address of a buffer a descriptor gives (addr, len): true with
 * *va set if all of it is inside shm and it is 4-byte aligned (the header
 * holds u32 fields: an unaligned one would fault on Cortex-M).
 *
 * The checks are one branch, not four: each branch ends a translated block
 * on the emulated M4 (at -Os the branches would be 16 B smaller).
 */
static inline bool rpmsg_addr_to_va(const struct amp_rpmsg_device *dev, uint64_t addr,
                                    uint32_t len, void **va)
{
    /* A PHYS address below shm_pa wraps to a huge offset and fails too. */
    uint64_t off = addr - (dev->cfg.addr_mode == AMP_ADDR_PHYS ? dev->cfg.shm_pa : 0);
    uint64_t end = off + len;     /* wraps only for an off far past shm */
    uintptr_t at = (uintptr_t)dev->cfg.shm + (size_t)off;
    *va = (void *)at;
    return !((end < off) | (end > dev->cfg.shm_size) | (at & 3u));
}

/*
 * Ring the doorbell if the peer asked to hear about what we just handed it
 * (the vring layer's decision), or always when configured so
 * (cfg.always_notify: rpmsg-lite's master).
 */
static inline void rpmsg_kick(struct amp_rpmsg_device *dev, bool asked, uint32_t notifyid)
{
    if (asked || dev->cfg.always_notify)
        dev->cfg.platform->ops->notify(dev->cfg.platform->ctx, notifyid);
}

static inline bool rpmsg_spare_has(const struct amp_rpmsg_device *dev, uint16_t id)
{
    return dev->tx_spare[id >> 5] & (1u << (id & 31u));
}

/*
 * Transmit buffers taken but not sent (zero-copy release; the host's
 * returned ones) wait in a small bitmap for the next get_tx: a vring cannot
 * take one back out of order.
 */
static inline void rpmsg_spare_put(struct amp_rpmsg_device *dev, uint16_t id)
{
    if (!rpmsg_spare_has(dev, id)) {
        dev->tx_spare[id >> 5] |= 1u << (id & 31u);
        dev->tx_spare_count++;
    }
}

static inline int rpmsg_spare_take(struct amp_rpmsg_device *dev)
{
    if (!dev->tx_spare_count)
        return -1;
    for (uint16_t word = 0; word < AMP_RPMSG_MAX_VRING_NUM / 32; word++) {
        if (dev->tx_spare[word]) {
            uint16_t id = (uint16_t)(word * 32u + (uint32_t)__builtin_ctz(dev->tx_spare[word]));
            dev->tx_spare[word] &= dev->tx_spare[word] - 1;
            dev->tx_spare_count--;
            return id;
        }
    }
    return -1;
}

#endif
