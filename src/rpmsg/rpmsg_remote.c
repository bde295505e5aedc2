/*
 * Remote role (virtio device). Every buffer belongs to the host and arrives
 * as a descriptor: empty ones on vring 0 for us to fill, messages on
 * vring 1 for us to read. Each is checked against the shared region before
 * we touch it. While we hold a buffer its descriptor id is kept in the
 * header's reserved field (ours until we return it; cleared before sending).
 */
#include "rpmsg_internal.h"

#define FEATURE_NS        (1u << AMP_VIRTIO_RPMSG_F_NS)
#define FEATURE_EVENT_IDX (1u << AMP_VIRTIO_F_EVENT_IDX)

static int remote_init(struct amp_rpmsg_device *dev)
{
    const struct amp_rpmsg_config *cfg = &dev->cfg;
    uint32_t features = cfg->features;
    if (cfg->vdev) {
        amp_cache_invalidate(cfg->platform, cfg->vdev, sizeof(*cfg->vdev));
        /* The rings are the host's until it says DRIVER_OK. */
        if (!(AMP_READ_ONCE(cfg->vdev->status) & AMP_VIRTIO_STATUS_DRIVER_OK))
            return -AMP_EAGAIN;
        amp_rmb();
        features = amp_le32(AMP_READ_ONCE(cfg->vdev->gfeatures));
    }
    dev->ns_enabled = features & FEATURE_NS;
    bool event_idx = features & FEATURE_EVENT_IDX;
    int rc = amp_vring_init_device(&dev->rx_vring, cfg->vring[1], cfg->vring_num,
                                   cfg->vring_align, event_idx);
    if (rc == 0)
        rc = amp_vring_init_device(&dev->tx_vring, cfg->vring[0], cfg->vring_num,
                                   cfg->vring_align, event_idx);
    if (rc)
        return rc;
    dev->rx_notifyid = cfg->vring_notifyid[1];
    dev->tx_notifyid = cfg->vring_notifyid[0];
    /* Empty buffers the host posts need no doorbell unless we wait for one. */
    amp_vring_device_want_notify(&dev->tx_vring, false);
    return 0;
}

/*
 * Descriptor `id` (the result of a take: negative passes through) as a
 * buffer we may use: id, with buf set; or -AMP_EBADMSG if the descriptor is
 * malformed, -AMP_ERANGE if it is not inside shm or not aligned. Its id is
 * noted in the header. The length is the caller's to check against what it
 * needs (a header at least).
 */
static int remote_buffer(struct amp_rpmsg_device *dev, struct amp_vring *vr, int id,
                         struct rpmsg_buf *buf)
{
    if (id < 0)
        return id;
    uint64_t addr;
    int rc = amp_vring_read_desc(vr, (uint16_t)id, &addr, &buf->len);
    if (rc)
        return rc;
    void *va;
    if (!rpmsg_addr_to_va(dev, addr, buf->len, &va))
        return -AMP_ERANGE;
    struct amp_rpmsg_hdr *hdr = va;
    hdr->reserved = amp_cpu_to_le32((uint32_t)id);
    buf->hdr = hdr;
    return id;
}

/*
 * Every buffer goes back whole (see amp_vring_add_used for the hosts that
 * need it): the host learns a message's length from its header. Inside the
 * receive loop they go back in batches: the used index is published (two
 * barriers, a store to a line the host is reading, a look at a line it is
 * writing) once per RPMSG_RX_BATCH and when the loop ends, not per
 * message, as Linux's vhost does (vhost_add_used_n).
 */
static int remote_add(struct amp_rpmsg_device *dev, enum rpmsg_queue q, uint16_t id,
                      uint32_t len)
{
    (void)len;
    return amp_vring_add_used(q == RPMSG_TX ? &dev->tx_vring : &dev->rx_vring, id);
}

/*
 * Let the host see what was added to queue q; ring it if it asked (or
 * always, cfg.always_notify). Nothing new, no doorbell: an empty poll
 * must not ring rpmsg-lite's master, which needs always_notify.
 */
static void remote_publish(struct amp_rpmsg_device *dev, enum rpmsg_queue q)
{
    struct amp_vring *vr = &dev->rx_vring;
    uint32_t notifyid = dev->rx_notifyid;
    if (q == RPMSG_TX) {
        vr = &dev->tx_vring;
        notifyid = dev->tx_notifyid;
    }
    int rc = amp_vring_publish_used(vr);
    if (rc != -AMP_EAGAIN)
        rpmsg_kick(dev, rc > 0, notifyid);
}

static void remote_flush_rx(struct amp_rpmsg_device *dev)
{
    remote_publish(dev, RPMSG_RX);
}

static int remote_put(struct amp_rpmsg_device *dev, enum rpmsg_queue q, uint16_t id,
                      uint32_t len)
{
    int rc = remote_add(dev, q, id, len);
    if (rc == 0)
        remote_publish(dev, q);
    return rc;
}

static int remote_get_tx(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf)
{
    /*
     * A buffer given back unused (zero-copy) comes first; its descriptor is
     * read and checked again. The spares are looked at only once there have
     * been some, so a firmware that never releases one does not link them.
     */
    const struct rpmsg_spare_ops *spares = dev->tx_spares;
    int spare = spares ? spares->take(dev) : -1;
    int id = spare < 0 ? amp_vring_get_avail(&dev->tx_vring) : spare;
    if (id == -AMP_EAGAIN) {
        /* A callback waiting for a buffer: give the host the ones received so
         * far, or a host that waits for them to send never frees one for us. */
        remote_flush_rx(dev);
        return -AMP_ENOBUFS;
    }
    uint32_t need = buf->len;
    int rc = remote_buffer(dev, &dev->tx_vring, id, buf);
    if (rc >= 0 && buf->len < need) {
        /* Smaller than the message: leave it first in line for a smaller one. */
        if (spare < 0)
            amp_vring_unget_avail(&dev->tx_vring);
        else
            spares->put(dev, (uint16_t)id);
        rc = -AMP_EMSGSIZE;
    }
    return rc;
}

/* Descriptor id of a buffer we hold (noted by remote_buffer). */
static int remote_held_id(struct amp_rpmsg_device *dev, const struct amp_rpmsg_hdr *hdr)
{
    uint32_t id = amp_le32(AMP_READ_ONCE(hdr->reserved));
    return id < dev->cfg.vring_num ? (int)id : -AMP_EINVAL;
}

static int remote_get_rx(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf)
{
    int id = amp_vring_get_avail(&dev->rx_vring);
    int rc = remote_buffer(dev, &dev->rx_vring, id, buf);
    if (rc < 0 && id >= 0)       /* unusable: hand it straight back */
        remote_put(dev, RPMSG_RX, (uint16_t)id, 0);
    return rc;
}

static int remote_poll(struct amp_rpmsg_device *dev)
{
    return rpmsg_poll_loop(dev, remote_get_rx, remote_add, remote_flush_rx);
}

const struct amp_rpmsg_role_ops amp_rpmsg_remote_ops = {
    .init = remote_init,
    .get_tx = remote_get_tx,
    .tx_id = remote_held_id,
    .rx_id = remote_held_id,
    .put = remote_put,
    .poll = remote_poll,
    .want_notify = amp_vring_device_want_notify,
};
