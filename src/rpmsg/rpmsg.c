/*
 * RPMsg core, common to both roles: device set-up, endpoints, the name
 * service, and the data path. Buffer handling that differs between host
 * and remote is behind dev->role (rpmsg_host.c, rpmsg_remote.c).
 *
 * Send:    amp_rpmsg_send -> rpmsg_get_tx (waits via the platform) ->
 *          fill header + payload -> role->send_tx (vring + doorbell).
 * Receive: amp_rpmsg_poll -> role->get_rx (vring, validated) ->
 *          rpmsg_dispatch -> endpoint callback -> role->release_rx.
 */
#include "rpmsg_internal.h"

/* ---- Small helpers (no libc in the core). ---- */

/* Copy a name into a 32-byte wire field; -AMP_EINVAL if it does not fit with its NUL. */
static int copy_name(char *dst, const char *src)
{
    for (size_t i = 0; i < AMP_RPMSG_NAME_LEN; i++)
        if ((dst[i] = src[i]) == 0)
            return 0;
    return -AMP_EINVAL;
}

static bool name_terminated(const char *name)
{
    for (size_t i = 0; i < AMP_RPMSG_NAME_LEN; i++)
        if (!name[i])
            return true;
    return false;
}

static bool name_equal(const char *a, const char *b)
{
    for (size_t i = 0; i < AMP_RPMSG_NAME_LEN; i++) {
        if (a[i] != b[i])
            return false;
        if (!a[i])
            return true;
    }
    return true;
}

void *rpmsg_addr_to_va(const struct amp_rpmsg_device *dev, uint64_t addr, uint32_t len)
{
    uint64_t off = dev->cfg.addr_mode == AMP_ADDR_PHYS ? addr - dev->cfg.shm_pa : addr;
    /* A PHYS address below shm_pa wraps to a huge offset and fails here too. */
    if (off > dev->cfg.shm_size || len > dev->cfg.shm_size - off)
        return NULL;
    return (uint8_t *)dev->cfg.shm + off;
}

/* ---- Endpoints. ---- */

/* Moves the endpoint found to the front: the busy ones are then found first. */
static struct amp_rpmsg_endpoint *find_by_addr(struct amp_rpmsg_device *dev, uint32_t addr)
{
    for (struct amp_rpmsg_endpoint **link = &dev->endpoints; *link; link = &(*link)->next) {
        struct amp_rpmsg_endpoint *ept = *link;
        if (ept->addr == addr) {
            *link = ept->next;
            ept->next = dev->endpoints;
            dev->endpoints = ept;
            return ept;
        }
    }
    return NULL;
}

static struct amp_rpmsg_endpoint *find_by_name(struct amp_rpmsg_device *dev, const char *name)
{
    for (struct amp_rpmsg_endpoint *ept = dev->endpoints; ept; ept = ept->next)
        if (ept->name[0] && name_equal(ept->name, name))
            return ept;
    return NULL;
}

static int alloc_addr(struct amp_rpmsg_device *dev, uint32_t *addr)
{
    /* Walk the dynamic range once, starting after the last address handed out. */
    for (uint32_t tries = 0; tries < AMP_RPMSG_ADDR_ANY - AMP_RPMSG_RESERVED_ADDRS; tries++) {
        uint32_t candidate = dev->next_addr++;
        if (candidate < AMP_RPMSG_RESERVED_ADDRS || candidate == AMP_RPMSG_ADDR_ANY)
            candidate = dev->next_addr = AMP_RPMSG_RESERVED_ADDRS;
        if (!find_by_addr(dev, candidate)) {
            *addr = candidate;
            return 0;
        }
    }
    return -AMP_EADDRNOTAVAIL;
}

static int ns_announce(struct amp_rpmsg_endpoint *ept, uint32_t flags)
{
    struct amp_rpmsg_ns_msg msg = {0};
    __builtin_memcpy(msg.name, ept->name, sizeof(msg.name));
    msg.addr = amp_cpu_to_le32(ept->addr);
    msg.flags = amp_cpu_to_le32(flags);
    int rc = amp_rpmsg_send_offchannel(ept, ept->addr, AMP_RPMSG_NS_ADDR, &msg, sizeof(msg),
                                       AMP_NO_WAIT);
    return rc < 0 ? rc : 0;
}

/* Announce a named endpoint that has no fixed destination (NS create). */
static int announce_create(struct amp_rpmsg_endpoint *ept)
{
    if (!ept->name[0] || !ept->dev->ns_enabled ||
        (ept->dest_addr != AMP_RPMSG_ADDR_ANY && !ept->dest_dynamic))
        return 0;
    int rc = ns_announce(ept, AMP_RPMSG_NS_CREATE);
    ept->announced = rc == 0;
    return rc;
}

int amp_rpmsg_create_ept(struct amp_rpmsg_endpoint *ept, struct amp_rpmsg_device *dev,
                         const char *name, uint32_t src, uint32_t dest,
                         amp_rpmsg_rx_cb rx_cb, amp_rpmsg_unbind_cb unbind_cb, void *priv)
{
    if (!ept || !dev)
        return -AMP_EINVAL;
    __builtin_memset(ept, 0, sizeof(*ept));
    if (name && copy_name(ept->name, name))
        return -AMP_EINVAL;
    int rc = 0;
    if (src == AMP_RPMSG_ADDR_ANY)
        rc = alloc_addr(dev, &src);
    else if (find_by_addr(dev, src))
        rc = -AMP_EADDRINUSE;
    if (rc)
        return rc;
    ept->addr = src;
    ept->dest_addr = dest;
    ept->rx_cb = rx_cb;
    ept->unbind_cb = unbind_cb;
    ept->priv = priv;
    ept->dev = dev;
    if (dev->ready && (rc = announce_create(ept)) != 0) {
        ept->dev = NULL;
        return rc;
    }
    ept->next = dev->endpoints;
    dev->endpoints = ept;
    return 0;
}

static void unlink_ept(struct amp_rpmsg_endpoint *ept)
{
    struct amp_rpmsg_device *dev = ept->dev;
    for (struct amp_rpmsg_endpoint **link = &dev->endpoints; *link; link = &(*link)->next) {
        if (*link == ept) {
            *link = ept->next;
            break;
        }
    }
    ept->dev = NULL;
    ept->next = NULL;
}

int amp_rpmsg_destroy_ept(struct amp_rpmsg_endpoint *ept)
{
    if (!ept || !ept->dev)
        return -AMP_EINVAL;
    int rc = 0;
    if (ept->announced && ept->dev->ready)
        rc = ns_announce(ept, AMP_RPMSG_NS_DESTROY);
    unlink_ept(ept);
    ept->announced = false;
    ept->dest_addr = AMP_RPMSG_ADDR_ANY;
    return rc;
}

/* ---- Name service: the endpoint at address 53. ---- */

static int ns_rx(struct amp_rpmsg_endpoint *ns, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    (void)priv;
    struct amp_rpmsg_device *dev = ns->dev;
    struct amp_rpmsg_ns_msg msg;
    /* Copy first: the peer could change the buffer between our check and our use. */
    if (len < sizeof(msg))
        goto bad;
    __builtin_memcpy(&msg, data, sizeof(msg));
    if (!name_terminated(msg.name))
        goto bad;
    uint32_t addr = amp_le32(msg.addr);
    uint32_t flags = amp_le32(msg.flags);
    if (flags > AMP_RPMSG_NS_DESTROY)
        goto bad;
    struct amp_rpmsg_endpoint *ept = find_by_name(dev, msg.name);
    if (!ept) {
        if (dev->ns_cb)
            dev->ns_cb(dev, msg.name, addr, flags, dev->ns_priv);
    } else if (flags == AMP_RPMSG_NS_CREATE) {
        if (ept->dest_addr == AMP_RPMSG_ADDR_ANY || ept->dest_dynamic) {
            ept->dest_addr = addr;
            ept->dest_dynamic = true;
        }
    } else if (ept->dest_addr == addr) {
        ept->dest_addr = AMP_RPMSG_ADDR_ANY;
        ept->dest_dynamic = false;
        if (ept->unbind_cb)
            ept->unbind_cb(ept, ept->priv);
    }
    return AMP_RPMSG_RELEASE;
bad:
    return -AMP_EBADMSG;
}

/* ---- Device life cycle. ---- */

int amp_rpmsg_init(struct amp_rpmsg_device *dev, const struct amp_rpmsg_config *cfg)
{
    /* The vring layer checks the rings themselves. */
    if (!dev || !cfg || !cfg->platform || !cfg->platform->ops || !cfg->shm ||
        cfg->vring_num > AMP_RPMSG_MAX_VRING_NUM)
        return -AMP_EINVAL;
    /* Checked by shape, not by name: naming both roles would link both. */
    const struct amp_rpmsg_role_ops *role = cfg->role;
    if (!role || !role->init)
        return -AMP_EINVAL;
    amp_rpmsg_reset(dev);     /* a no-op on a fresh device */
    dev->cfg = *cfg;
    dev->role = role;
    dev->buf_size = cfg->buf_size ? cfg->buf_size : AMP_RPMSG_DEFAULT_BUF_SIZE;
    if (dev->buf_size <= sizeof(struct amp_rpmsg_hdr) || dev->buf_size > 0xFFFFu + 16u)
        return -AMP_EINVAL;
    dev->ring_error = 0;
    dev->tx_spare_count = 0;
    __builtin_memset(dev->tx_spare, 0, sizeof(dev->tx_spare));
    if (!dev->ns_ept.dev) {
        /* The name service is an ordinary endpoint at a fixed address. */
        int rc = amp_rpmsg_create_ept(&dev->ns_ept, dev, NULL, AMP_RPMSG_NS_ADDR,
                                      AMP_RPMSG_NS_ADDR, ns_rx, NULL, NULL);
        if (rc)
            return rc;
    }
    int rc = role->init(dev);
    if (rc)
        return rc;
    dev->ready = true;
    /* Endpoints made before the peer was up (or before a restart) announce now. */
    for (struct amp_rpmsg_endpoint *ept = dev->endpoints; ept && rc == 0; ept = ept->next)
        rc = announce_create(ept);
    return rc;
}

/*
 * Call attempt() until it stops answering -AMP_EAGAIN or the timeout runs
 * out, sleeping on the platform in between; slice_ms > 0 bounds each sleep
 * for conditions the peer does not ring for. A dead peer ends the wait.
 */
static int rpmsg_retry(struct amp_rpmsg_device *dev, const struct amp_platform *p,
                       int (*attempt)(struct amp_rpmsg_device *, void *), void *arg,
                       int32_t timeout_ms, int32_t slice_ms)
{
    struct amp_deadline deadline;
    amp_deadline_start(&deadline, p, timeout_ms);
    for (;;) {
        int rc = attempt(dev, arg);
        if (rc != -AMP_EAGAIN)
            return rc;
        int32_t left = amp_deadline_left(&deadline, p);
        if (left == 0)
            return -AMP_ETIMEDOUT;
        if (slice_ms > 0 && (left < 0 || left > slice_ms))
            left = slice_ms;
        rc = p->ops->wait(p->ctx, left);
        if (rc < 0 && rc != -AMP_ETIMEDOUT)
            return rc;
    }
}

static int try_init(struct amp_rpmsg_device *dev, void *cfg)
{
    return amp_rpmsg_init(dev, cfg);
}

int amp_rpmsg_wait_ready(struct amp_rpmsg_device *dev, const struct amp_rpmsg_config *cfg,
                         int32_t timeout_ms)
{
    if (!cfg || !cfg->platform)
        return -AMP_EINVAL;
    /* The host need not ring when it sets DRIVER_OK: look again every 10 ms. */
    return rpmsg_retry(dev, cfg->platform, try_init, (void *)cfg, timeout_ms, 10);
}

void amp_rpmsg_reset(struct amp_rpmsg_device *dev)
{
    dev->ready = false;
    for (struct amp_rpmsg_endpoint *ept = dev->endpoints; ept; ept = ept->next) {
        ept->announced = false;
        if (ept->dest_dynamic) {
            ept->dest_addr = AMP_RPMSG_ADDR_ANY;
            ept->dest_dynamic = false;
            if (ept->unbind_cb)
                ept->unbind_cb(ept, ept->priv);
        }
    }
}

void amp_rpmsg_deinit(struct amp_rpmsg_device *dev)
{
    while (dev->endpoints)
        amp_rpmsg_destroy_ept(dev->endpoints);
    dev->ready = false;
}

/* ---- Send. ---- */

/*
 * A corrupt ring stays refused: some checks (an id in range but never
 * handed out) can only be made after the index has moved past the entry.
 */
static int rpmsg_ring_check(struct amp_rpmsg_device *dev, int rc)
{
    if (rc == -AMP_EBADMSG)
        dev->ring_error = rc;
    return rc;
}

struct tx_request {
    struct amp_rpmsg_hdr *hdr;
    uint32_t capacity;
};

static int try_get_tx(struct amp_rpmsg_device *dev, void *arg)
{
    struct tx_request *req = arg;
    int err;
    req->hdr = dev->role->get_tx(dev, &req->capacity, &err);
    return req->hdr ? 0 : err == -AMP_ENOBUFS ? -AMP_EAGAIN : rpmsg_ring_check(dev, err);
}

/* A transmit buffer, waiting up to timeout_ms; 0 fails at once with -AMP_ENOBUFS. */
static struct amp_rpmsg_hdr *rpmsg_get_tx(struct amp_rpmsg_device *dev, uint32_t *capacity,
                                          int32_t timeout_ms, int *err)
{
    struct tx_request req;
    *err = try_get_tx(dev, &req);
    if (*err == -AMP_EAGAIN) {
        *err = -AMP_ENOBUFS;
        if (timeout_ms != AMP_NO_WAIT) {
            /* Ask to be woken when a buffer comes back before looking again,
             * or one returned in between would go unnoticed. */
            dev->role->want_notify(&dev->tx_vring, true);
            *err = rpmsg_retry(dev, dev->cfg.platform, try_get_tx, &req, timeout_ms, 0);
            dev->role->want_notify(&dev->tx_vring, false);
        }
    }
    if (*err)
        return NULL;
    *capacity = req.capacity;   /* set only by a successful get_tx */
    return req.hdr;
}

/*
 * 0 if the rings can be used. A ring the peer corrupted needs no flag: its
 * shadow index does not move past the bad entry, so every later look at it
 * fails the same way.
 */
static int device_usable(const struct amp_rpmsg_device *dev)
{
    return dev->ready ? dev->ring_error : -AMP_ENOTCONN;
}


static int check_send(struct amp_rpmsg_endpoint *ept, uint32_t dst, size_t len)
{
    if (!ept || !ept->dev)
        return -AMP_EINVAL;
    int rc = device_usable(ept->dev);
    if (rc)
        return rc;
    if (dst == AMP_RPMSG_ADDR_ANY)
        return -AMP_ENOTCONN;
    if (len > amp_rpmsg_max_payload(ept->dev))
        return -AMP_EMSGSIZE;
    return 0;
}

static int rpmsg_send_hdr(struct amp_rpmsg_device *dev, struct amp_rpmsg_hdr *hdr,
                          uint32_t src, uint32_t dst, size_t len)
{
    /* Ask for the id first: a role may keep it in the header we overwrite next. */
    int id = dev->role->tx_id(dev, hdr);
    if (id < 0)
        return id;
    hdr->src = amp_cpu_to_le32(src);
    hdr->dst = amp_cpu_to_le32(dst);
    hdr->reserved = 0;
    hdr->len = amp_cpu_to_le16((uint16_t)len);
    hdr->flags = 0;
    amp_cache_flush(dev->cfg.platform, hdr, sizeof(*hdr) + len);
    int rc = dev->role->send_tx(dev, (uint16_t)id, hdr, (uint32_t)(sizeof(*hdr) + len));
    return rc < 0 ? rc : (int)len;
}

/* ---- Zero-copy; the copy send below is built on it. ---- */

void *amp_rpmsg_get_tx_buffer(struct amp_rpmsg_device *dev, uint32_t *size, int32_t timeout_ms,
                              int *err)
{
    if (!err)
        return NULL;
    *err = dev && size ? device_usable(dev) : -AMP_EINVAL;
    if (*err)
        return NULL;
    struct amp_rpmsg_hdr *hdr = rpmsg_get_tx(dev, size, timeout_ms, err);
    if (!hdr)
        return NULL;
    *size -= (uint32_t)sizeof(*hdr);
    return hdr + 1;
}

int amp_rpmsg_send_nocopy(struct amp_rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                          void *payload, size_t len)
{
    int rc = check_send(ept, dst, len);
    if (rc)
        return rc;
    if (!payload)
        return -AMP_EINVAL;
    return rpmsg_send_hdr(ept->dev, (struct amp_rpmsg_hdr *)payload - 1, src, dst, len);
}

int amp_rpmsg_release_tx_buffer(struct amp_rpmsg_device *dev, void *payload)
{
    if (!dev || !payload || !dev->role)
        return -AMP_EINVAL;
    int id = dev->role->tx_id(dev, (struct amp_rpmsg_hdr *)payload - 1);
    if (id < 0)
        return id;
    rpmsg_spare_put(dev, (uint16_t)id);
    return 0;
}

int amp_rpmsg_send_offchannel(struct amp_rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                              const void *data, size_t len, int32_t timeout_ms)
{
    int rc = check_send(ept, dst, len);
    if (rc)
        return rc;
    if (len && !data)
        return -AMP_EINVAL;
    uint32_t size;
    void *payload = amp_rpmsg_get_tx_buffer(ept->dev, &size, timeout_ms, &rc);
    if (!payload)
        return rc;
    if (len > size) {
        /* The peer's buffers are smaller than ours: give this one back. */
        amp_rpmsg_release_tx_buffer(ept->dev, payload);
        return -AMP_EMSGSIZE;
    }
    if (len)
        __builtin_memcpy(payload, data, len);
    return rpmsg_send_hdr(ept->dev, (struct amp_rpmsg_hdr *)payload - 1, src, dst, len);
}

int amp_rpmsg_release_rx_buffer(struct amp_rpmsg_device *dev, void *payload)
{
    if (!dev || !payload || !dev->role)
        return -AMP_EINVAL;
    return dev->role->release_rx(dev, (struct amp_rpmsg_hdr *)payload - 1);
}

/* ---- Receive. ---- */

/*
 * The one place the receive path reads a header the peer wrote: each field
 * is copied exactly once, converted to CPU order, and from here on only the
 * copy is checked and used. The peer may keep rewriting the buffer (buggy,
 * malicious, or just still writing); nothing below reads the header again.
 */
static void rpmsg_snapshot_hdr(struct amp_rpmsg_hdr *copy, const struct amp_rpmsg_hdr *hdr)
{
    copy->src = amp_le32(AMP_READ_ONCE(hdr->src));
    copy->dst = amp_le32(AMP_READ_ONCE(hdr->dst));
    copy->len = amp_le16(AMP_READ_ONCE(hdr->len));
}

/*
 * Hand a message to its endpoint: AMP_RPMSG_RELEASE, AMP_RPMSG_HOLD, or why
 * it was dropped. `msg` is the checked snapshot of the header at `hdr`.
 * Out of line, the poll loop stays small (on Cortex-M too).
 */
__attribute__((noinline))
static int rpmsg_dispatch(struct amp_rpmsg_device *dev, struct amp_rpmsg_hdr *hdr,
                          const struct amp_rpmsg_hdr *msg)
{
    struct amp_rpmsg_endpoint *ept = find_by_addr(dev, msg->dst);
    if (!ept)
        return -AMP_ENOENT;
    /* An endpoint with no destination yet answers whoever spoke first. */
    if (ept->dest_addr == AMP_RPMSG_ADDR_ANY) {
        ept->dest_addr = msg->src;
        ept->dest_dynamic = true;
    }
    return ept->rx_cb ? ept->rx_cb(ept, hdr + 1, msg->len, msg->src, ept->priv)
                      : AMP_RPMSG_RELEASE;
}

int amp_rpmsg_poll(struct amp_rpmsg_device *dev)
{
    if (!dev)
        return -AMP_EINVAL;
    int handled = device_usable(dev);
    if (handled)
        return handled;
    for (;;) {
        struct amp_rpmsg_hdr *hdr = NULL;
        uint32_t len;
        int rc = dev->role->get_rx(dev, &hdr, &len);
        if (rc == -AMP_EAGAIN || rc == -AMP_EBADMSG)   /* empty, or the ring is corrupt */
            return rc == -AMP_EAGAIN ? handled : rpmsg_ring_check(dev, rc);
        if (rc == 0 && (len < sizeof(*hdr) || len > dev->buf_size)) {
            rc = -AMP_EMSGSIZE;
        } else if (rc == 0) {
            struct amp_rpmsg_hdr msg;
            amp_cache_invalidate(dev->cfg.platform, hdr, len);
            rpmsg_snapshot_hdr(&msg, hdr);
            if (msg.len > len - sizeof(*hdr))
                rc = -AMP_EMSGSIZE;   /* a payload longer than what was written */
            else
                rc = rpmsg_dispatch(dev, hdr, &msg);
        }
        handled++;
        if (hdr && rc != AMP_RPMSG_HOLD)
            dev->role->release_rx(dev, hdr);
        if (rc < 0) {
            dev->rx_dropped++;
            dev->last_rx_error = rc;
        }
        /* A callback may have reset or torn down the device. */
        if (!dev->ready)
            return handled;
    }
}

bool amp_rpmsg_arm(struct amp_rpmsg_device *dev)
{
    return dev->ready && dev->role->want_notify(&dev->rx_vring, true);
}

void amp_rpmsg_disarm(struct amp_rpmsg_device *dev)
{
    if (dev->ready)
        dev->role->want_notify(&dev->rx_vring, false);
}

int amp_rpmsg_wait(struct amp_rpmsg_device *dev, int32_t timeout_ms)
{
    const struct amp_platform *p = dev->cfg.platform;
    if (!p)
        return -AMP_ENOTCONN;     /* never initialised: nothing to wait for */
    return amp_rpmsg_arm(dev) ? 0 : p->ops->wait(p->ctx, timeout_ms);
}
