/*
 * Host role (virtio driver). The host owns every buffer: the first
 * rx_count of the pool are posted on vring 0 for the remote to fill, the
 * next tx_count carry our messages on vring 1 and come back on its used ring.
 * Descriptor ids equal buffer indices within each half, so a buffer's id is
 * plain arithmetic on its address.
 */
#include "rpmsg_internal.h"

#define FEATURE_NS        (1u << AMP_VIRTIO_RPMSG_F_NS)
#define FEATURE_EVENT_IDX (1u << AMP_VIRTIO_F_EVENT_IDX)

/* The address a descriptor carries for a local pointer into shm. */
static uint64_t host_va_to_addr(const struct amp_rpmsg_device *dev, const void *va)
{
    uint64_t off = (uint64_t)((const uint8_t *)va - (const uint8_t *)dev->cfg.shm);
    return dev->cfg.addr_mode == AMP_ADDR_PHYS ? dev->cfg.shm_pa + off : off;
}

/*
 * The pool is groups of 2^pool_group_shift buffers, each group followed by
 * cfg.buf_gap unused bytes (none when packed). A group spans at most 4 KiB,
 * one way of the L1 data cache of x86 (32 KiB, 8-way) and of the H747's
 * Cortex-M7 (16 KiB, 4-way) alike, so that each gap moves the next group's
 * headers to other cache sets.
 */
#define POOL_GROUP_BYTES 4096u

static struct amp_rpmsg_hdr *pool_buffer(const struct amp_rpmsg_device *dev, uint32_t index)
{
    uint8_t *buf = (uint8_t *)dev->cfg.buf_pool + (size_t)index * dev->buf_size +
                   (size_t)(index >> dev->pool_group_shift) * dev->cfg.buf_gap;
    return (struct amp_rpmsg_hdr *)(void *)buf;
}

/* Pool index of hdr, or -1 if it is not the start of a pool buffer. */
static int32_t pool_index(const struct amp_rpmsg_device *dev, const struct amp_rpmsg_hdr *hdr)
{
    uintptr_t base = (uintptr_t)dev->cfg.buf_pool, at = (uintptr_t)hdr;
    if (at < base)
        return -1;
    uintptr_t group_len = ((uintptr_t)dev->buf_size << dev->pool_group_shift);
    uintptr_t group = (at - base) / (group_len + dev->cfg.buf_gap);
    uintptr_t within = (at - base) % (group_len + dev->cfg.buf_gap);
    /* Not a buffer's first byte, or inside a gap. */
    if (within % dev->buf_size || within >= group_len)
        return -1;
    uintptr_t index = (group << dev->pool_group_shift) + within / dev->buf_size;
    return index < dev->rx_count + dev->tx_count ? (int32_t)index : -1;
}

static int host_post_rx(struct amp_rpmsg_device *dev, uint16_t index)
{
    struct amp_rpmsg_hdr *hdr = pool_buffer(dev, index);
    return amp_vring_add_avail(&dev->rx_vring, index, host_va_to_addr(dev, hdr), dev->buf_size,
                               AMP_VRING_DESC_F_WRITE);
}

static int host_init(struct amp_rpmsg_device *dev)
{
    const struct amp_rpmsg_config *cfg = &dev->cfg;
    uint32_t num = cfg->vring_num;
    /* A gap larger than shm is never right, and would overflow pool_index's sums. */
    if (!cfg->buf_pool || cfg->buf_count < 2 || (dev->buf_size & 3u) || (cfg->buf_gap & 3u) ||
        cfg->buf_gap > cfg->shm_size || ((uintptr_t)cfg->buf_pool & 3u))
        return -AMP_EINVAL;
    uint32_t rx = cfg->rx_buf_count ? cfg->rx_buf_count : cfg->buf_count / 2;
    if (rx > num)
        rx = num;
    uint32_t tx = cfg->buf_count - rx < num ? cfg->buf_count - rx : num;
    if (rx == 0 || tx == 0 || rx >= cfg->buf_count)
        return -AMP_EINVAL;
    uint8_t shift = 0;
    while ((dev->buf_size << (shift + 1)) <= POOL_GROUP_BYTES)
        shift++;
    /* The whole pool, gaps between groups included, must lie inside the shared region. */
    uintptr_t shm = (uintptr_t)cfg->shm, pool = (uintptr_t)cfg->buf_pool;
    uint64_t pool_bytes = (uint64_t)(rx + tx) * dev->buf_size +
                          (uint64_t)((rx + tx - 1) >> shift) * cfg->buf_gap;
    if (pool < shm || pool - shm > cfg->shm_size || pool_bytes > cfg->shm_size - (pool - shm))
        return -AMP_ERANGE;

    /* Accept what the device offers that we support (as Linux and OpenAMP
     * do), less what the caller refuses; with no table, cfg says what is on. */
    uint32_t accepted = cfg->features & AMP_RPMSG_FEATURES_SUPPORTED;
    if (cfg->vdev)
        accepted = amp_le32(AMP_READ_ONCE(cfg->vdev->dfeatures)) & AMP_RPMSG_FEATURES_SUPPORTED &
                   (cfg->features ? cfg->features : ~0u);
    dev->ns_enabled = accepted & FEATURE_NS;
    bool event_idx = accepted & FEATURE_EVENT_IDX;
    int rc = amp_vring_init_driver(&dev->rx_vring, cfg->vring[0], num, cfg->vring_align, event_idx);
    if (rc == 0)
        rc = amp_vring_init_driver(&dev->tx_vring, cfg->vring[1], num, cfg->vring_align, event_idx);
    if (rc)
        return rc;
    dev->rx_notifyid = cfg->vring_notifyid[0];
    dev->tx_notifyid = cfg->vring_notifyid[1];
    dev->pool_group_shift = shift;
    dev->rx_count = rx;
    dev->tx_count = tx;
    dev->tx_fresh = 0;
    dev->kick_due = false;
    /* The host keeps returned transmit buffers in the spare set from the start. */
    __builtin_memset(dev->tx_spare, 0, sizeof(dev->tx_spare));
    dev->tx_spare_count = 0;
    /* The host always serves the name service (Linux and OpenAMP remotes announce). */
    rc = amp_rpmsg_enable_ns(dev);
    if (rc)
        return rc;
    for (uint16_t i = 0; i < rx; i++)
        host_post_rx(dev, i);
    /* Sent buffers come back on their own; we look when we need one. */
    amp_vring_driver_want_notify(&dev->tx_vring, false);

    if (cfg->vdev) {
        AMP_WRITE_ONCE(cfg->vdev->gfeatures, amp_cpu_to_le32(accepted));
        /* Rings and features must be in place before the remote sees DRIVER_OK. */
        amp_wmb();
        AMP_WRITE_ONCE(cfg->vdev->status,
                       (uint8_t)(AMP_VIRTIO_STATUS_ACKNOWLEDGE | AMP_VIRTIO_STATUS_DRIVER |
                                 AMP_VIRTIO_STATUS_FEATURES_OK | AMP_VIRTIO_STATUS_DRIVER_OK));
        amp_cache_flush(cfg->platform, cfg->vdev, sizeof(*cfg->vdev));
    }
    /* Tell a remote that is already waiting that it may start. */
    cfg->platform->ops->notify(cfg->platform->ctx, dev->rx_notifyid);
    return 0;
}

static void host_kick_tx(struct amp_rpmsg_device *dev)
{
    dev->kick_due = false;
    rpmsg_kick(dev, amp_vring_driver_needs_notify(&dev->tx_vring), dev->tx_notifyid);
}

/*
 * Move transmit buffers the remote has finished with into the spare set.
 * Done when idle (nothing to receive) as well as when sending, so that a
 * send rarely has to wait for the line the remote last wrote.
 */
static int host_reclaim_tx(struct amp_rpmsg_device *dev)
{
    uint16_t id;
    uint32_t len;
    int rc;
    while ((rc = amp_vring_get_used(&dev->tx_vring, &id, &len)) == 0) {
        /* A buffer we never sent, or one it already gave back. */
        if (id >= dev->tx_fresh || rpmsg_spare_has(dev, id))
            return -AMP_EBADMSG;
        rpmsg_spare_put(dev, id);
    }
    return rc == -AMP_EAGAIN ? 0 : rc;
}

static int host_get_tx(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf)
{
    int spare = rpmsg_spare_take(dev);
    if (spare < 0) {
        int rc = host_reclaim_tx(dev);
        if (rc)
            return rc;
        spare = rpmsg_spare_take(dev);
    }
    if (spare < 0 && dev->tx_fresh < dev->tx_count)
        spare = (int)dev->tx_fresh++;
    if (spare < 0) {
        /* The remote must hear of what we sent before we can wait for it. */
        if (dev->kick_due)
            host_kick_tx(dev);
        return -AMP_ENOBUFS;
    }
    /* Every buffer holds buf_size, all a message may take (check_send). */
    buf->hdr = pool_buffer(dev, dev->rx_count + (uint32_t)spare);
    buf->len = dev->buf_size;
    return spare;
}

static int host_tx_id(struct amp_rpmsg_device *dev, const struct amp_rpmsg_hdr *hdr)
{
    int32_t index = pool_index(dev, hdr);
    if (index < (int32_t)dev->rx_count)
        return -AMP_EINVAL;
    return index - (int32_t)dev->rx_count;
}

static int host_send_tx(struct amp_rpmsg_device *dev, uint16_t id, uint32_t len)
{
    struct amp_rpmsg_hdr *hdr = pool_buffer(dev, dev->rx_count + id);
    int rc = amp_vring_add_avail(&dev->tx_vring, id, host_va_to_addr(dev, hdr), len, 0);
    if (rc == 0 && dev->corked)
        dev->kick_due = true;
    else if (rc == 0)
        host_kick_tx(dev);
    return rc;
}

int amp_rpmsg_cork(struct amp_rpmsg_device *dev, bool cork)
{
    if (!dev || dev->role != AMP_RPMSG_HOST)
        return -AMP_ENOTSUP;     /* the remote role always rings at once */
    dev->corked = cork;
    if (!cork && dev->kick_due && dev->ready)
        host_kick_tx(dev);
    return 0;
}

static int host_get_rx(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf)
{
    uint16_t id;
    int rc = amp_vring_get_used(&dev->rx_vring, &id, &buf->len);
    if (rc == -AMP_EAGAIN && (rc = host_reclaim_tx(dev)) == 0)
        rc = -AMP_EAGAIN;        /* idle: tidy up the transmit side meanwhile */
    if (rc)
        return rc;
    if (id >= dev->rx_count)
        return -AMP_EBADMSG;     /* not one of our receive buffers */
    buf->hdr = pool_buffer(dev, id);
    return id;
}

static int host_rx_id(struct amp_rpmsg_device *dev, const struct amp_rpmsg_hdr *hdr)
{
    int32_t index = pool_index(dev, hdr);
    return index < 0 || index >= (int32_t)dev->rx_count ? -AMP_EINVAL : index;
}

static int host_release_rx(struct amp_rpmsg_device *dev, uint16_t id)
{
    int rc = host_post_rx(dev, id);
    if (rc == 0)
        rpmsg_kick(dev, amp_vring_driver_needs_notify(&dev->rx_vring), dev->rx_notifyid);
    return rc;
}

static int host_put(struct amp_rpmsg_device *dev, enum rpmsg_queue q, uint16_t id, uint32_t len)
{
    return q == RPMSG_TX ? host_send_tx(dev, id, len) : host_release_rx(dev, id);
}

/* Each receive buffer is posted again as it is released. */
static void host_flush_rx(struct amp_rpmsg_device *dev)
{
    (void)dev;
}

static int host_poll(struct amp_rpmsg_device *dev)
{
    return rpmsg_poll_loop(dev, host_get_rx, host_put, host_flush_rx);
}

const struct amp_rpmsg_role_ops amp_rpmsg_host_ops = {
    .init = host_init,
    .get_tx = host_get_tx,
    .tx_id = host_tx_id,
    .rx_id = host_rx_id,
    .put = host_put,
    .poll = host_poll,
    .want_notify = amp_vring_driver_want_notify,
};
