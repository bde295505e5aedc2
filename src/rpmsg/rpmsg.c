/*
 * RPMsg core, common to both roles: device set-up, endpoints, the name
 * service, and the data path. Buffer handling that differs between host
 * and remote is behind dev->role (rpmsg_host.c, rpmsg_remote.c).
 *
 * Send:    amp_rpmsg_send -> rpmsg_send_copy -> rpmsg_get_tx (role->get_tx;
 *          waits via the platform) -> fill header + payload ->
 *          role->put(RPMSG_TX) (vring + doorbell).
 * Receive: amp_rpmsg_poll -> role->poll (rpmsg_poll_loop in
 *          rpmsg_internal.h, inlined in each role) -> the role's get_rx
 *          (vring, validated) -> rpmsg_dispatch (header checked) ->
 *          endpoint callback -> the role's put, published in batches.
 *
 * Pay for what you use: the name service, the endpoint table, the spare
 * buffers of zero-copy and the clock arithmetic of timeouts are reached
 * only through pointers that the calls using them set (dev->ns_up,
 * dev->ept_index, dev->tx_spares) or through separate entry points picked
 * by the inlines in rpmsg.h, so --gc-sections drops them from a firmware
 * that never calls them (make footprint measures it). Helpers that several
 * entry points share are always_inline: an image links one entry point
 * and pays for no call layers under it.
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

/* ---- Endpoints. ---- */

/*
 * Through the caller's table when one is registered (amp_rpmsg_set_ept_table),
 * else along the list: as fast for the handful of endpoints a firmware has.
 */
static struct amp_rpmsg_endpoint *find_by_addr(struct amp_rpmsg_device *dev, uint32_t addr)
{
    if (dev->ept_index)
        return dev->ept_index->find(dev, addr);
    struct amp_rpmsg_endpoint *ept = dev->endpoints;
    while (ept && ept->addr != addr)
        ept = ept->next;
    return ept;
}

int amp_rpmsg_create_ept_fixed(struct amp_rpmsg_endpoint *ept, struct amp_rpmsg_device *dev,
                               uint32_t src, uint32_t dest, amp_rpmsg_rx_cb rx_cb,
                               amp_rpmsg_unbind_cb unbind_cb, void *priv)
{
    if (!ept || !dev || src == AMP_RPMSG_ADDR_ANY)
        return -AMP_EINVAL;
    if (find_by_addr(dev, src))
        return -AMP_EADDRINUSE;
    __builtin_memset(ept, 0, sizeof(*ept));
    ept->addr = src;
    ept->dest_addr = dest;
    ept->rx_cb = rx_cb;
    ept->unbind_cb = unbind_cb;
    ept->priv = priv;
    if (dev->ept_index) {
        int rc = dev->ept_index->add(dev, ept);
        if (rc)
            return rc;
    }
    ept->dev = dev;
    ept->next = dev->endpoints;
    dev->endpoints = ept;
    return 0;
}

static void unlink_ept(struct amp_rpmsg_endpoint *ept)
{
    struct amp_rpmsg_device *dev = ept->dev;
    if (dev->ept_index)
        dev->ept_index->remove(dev, ept);
    for (struct amp_rpmsg_endpoint **link = &dev->endpoints; *link; link = &(*link)->next) {
        if (*link == ept) {
            *link = ept->next;
            break;
        }
    }
    ept->dev = NULL;
    ept->next = NULL;
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

static int announce_create(struct amp_rpmsg_endpoint *ept);

int amp_rpmsg_create_ept_full(struct amp_rpmsg_endpoint *ept, struct amp_rpmsg_device *dev,
                              const char *name, uint32_t src, uint32_t dest,
                              amp_rpmsg_rx_cb rx_cb, amp_rpmsg_unbind_cb unbind_cb, void *priv)
{
    char wire_name[AMP_RPMSG_NAME_LEN] = {0};
    if (!ept || !dev || (name && copy_name(wire_name, name)))
        return -AMP_EINVAL;
    int rc = src == AMP_RPMSG_ADDR_ANY ? alloc_addr(dev, &src) : 0;
    if (rc == 0)
        rc = amp_rpmsg_create_ept_fixed(ept, dev, src, dest, rx_cb, unbind_cb, priv);
    if (rc || !wire_name[0])
        return rc;
    __builtin_memcpy(ept->name, wire_name, sizeof(ept->name));
    /* A named endpoint binds to the peer's announcements, and announces itself. */
    rc = amp_rpmsg_enable_ns(dev);
    if (rc == 0 && dev->ready)
        rc = announce_create(ept);
    if (rc)
        unlink_ept(ept);
    return rc;
}

static int ns_announce(struct amp_rpmsg_endpoint *ept, uint32_t flags);

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

/* ---- Endpoint table: open addressing, linear probing, in the caller's slots. ---- */

static uint32_t slot_of(const struct amp_rpmsg_device *dev, uint32_t addr)
{
    /* Fibonacci hashing: consecutive addresses land far apart. */
    return (addr * 0x9E3779B1u) >> dev->ept_slot_shift;
}

static struct amp_rpmsg_endpoint *table_find(struct amp_rpmsg_device *dev, uint32_t addr)
{
    for (uint32_t i = slot_of(dev, addr);; i = (i + 1) & dev->ept_slot_mask) {
        struct amp_rpmsg_endpoint *ept = dev->ept_slots[i];
        if (!ept || ept->addr == addr)
            return ept;      /* an empty slot ends the probe: one is always left */
    }
}

static int table_add(struct amp_rpmsg_device *dev, struct amp_rpmsg_endpoint *ept)
{
    if (dev->ept_slot_used >= dev->ept_slot_mask)
        return -AMP_ENOSPC;
    uint32_t i = slot_of(dev, ept->addr);
    while (dev->ept_slots[i])
        i = (i + 1) & dev->ept_slot_mask;
    dev->ept_slots[i] = ept;
    dev->ept_slot_used++;
    return 0;
}

static void table_remove(struct amp_rpmsg_device *dev, struct amp_rpmsg_endpoint *ept)
{
    uint32_t mask = dev->ept_slot_mask, hole = slot_of(dev, ept->addr);
    while (dev->ept_slots[hole] != ept) {
        if (!dev->ept_slots[hole])
            return;
        hole = (hole + 1) & mask;
    }
    dev->ept_slots[hole] = NULL;
    dev->ept_slot_used--;
    /* Pull back the entries after the hole that probing would no longer reach. */
    for (uint32_t i = (hole + 1) & mask; dev->ept_slots[i]; i = (i + 1) & mask) {
        uint32_t home = slot_of(dev, dev->ept_slots[i]->addr);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            dev->ept_slots[hole] = dev->ept_slots[i];
            dev->ept_slots[i] = NULL;
            hole = i;
        }
    }
}

static const struct rpmsg_ept_index table_index = {
    .find = table_find,
    .add = table_add,
    .remove = table_remove,
};

int amp_rpmsg_set_ept_table(struct amp_rpmsg_device *dev, struct amp_rpmsg_endpoint **slots,
                            uint32_t count)
{
    if (!dev)
        return -AMP_EINVAL;
    if (!slots && !count) {
        dev->ept_index = NULL;    /* back to the list */
        dev->ept_slots = NULL;
        return 0;
    }
    if (!slots || count < 2 || (count & (count - 1)))
        return -AMP_EINVAL;
    dev->ept_index = NULL;        /* while the slots are filled */
    uint32_t held = 0;
    for (struct amp_rpmsg_endpoint *ept = dev->endpoints; ept; ept = ept->next)
        held++;
    if (held >= count)
        return -AMP_ENOSPC;
    __builtin_memset(slots, 0, count * sizeof(*slots));
    dev->ept_slots = slots;
    dev->ept_slot_mask = count - 1;
    dev->ept_slot_shift = (uint8_t)(32 - __builtin_ctz(count));
    dev->ept_slot_used = 0;
    for (struct amp_rpmsg_endpoint *ept = dev->endpoints; ept; ept = ept->next)
        table_add(dev, ept);
    dev->ept_index = &table_index;
    return 0;
}

/* ---- Name service: the endpoint at address 53, and announcements. ---- */

static struct amp_rpmsg_endpoint *find_by_name(struct amp_rpmsg_device *dev, const char *name)
{
    for (struct amp_rpmsg_endpoint *ept = dev->endpoints; ept; ept = ept->next)
        if (ept->name[0] && name_equal(ept->name, name))
            return ept;
    return NULL;
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

/* The name service is an ordinary endpoint at a fixed address. */
static int ns_register(struct amp_rpmsg_device *dev)
{
    return dev->ns_ept.dev ? 0 : amp_rpmsg_create_ept_fixed(&dev->ns_ept, dev, AMP_RPMSG_NS_ADDR,
                                                            AMP_RPMSG_NS_ADDR, ns_rx, NULL, NULL);
}

/* Called by init once the rings are up: endpoints made before announce now. */
static int ns_up(struct amp_rpmsg_device *dev)
{
    int rc = ns_register(dev);    /* again, after a deinit */
    for (struct amp_rpmsg_endpoint *ept = dev->endpoints; ept && rc == 0; ept = ept->next)
        rc = announce_create(ept);
    return rc;
}

int amp_rpmsg_enable_ns(struct amp_rpmsg_device *dev)
{
    if (!dev)
        return -AMP_EINVAL;
    dev->ns_up = ns_up;
    return ns_register(dev);
}

void amp_rpmsg_set_ns_callback(struct amp_rpmsg_device *dev, amp_rpmsg_ns_cb cb, void *priv)
{
    dev->ns_cb = cb;
    dev->ns_priv = priv;
    amp_rpmsg_enable_ns(dev);
}

/* ---- Device life cycle. ---- */

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

int amp_rpmsg_init(struct amp_rpmsg_device *dev, const struct amp_rpmsg_config *cfg)
{
    /* The vring layer checks the rings themselves. */
    if (!dev || !cfg || !cfg->platform || !cfg->platform->ops || !cfg->shm ||
        cfg->vring_num > AMP_RPMSG_MAX_VRING_NUM)
        return -AMP_EINVAL;
    /* Only the core's two roles exist (their struct is private); naming
     * neither here keeps a firmware from linking both. */
    const struct amp_rpmsg_role_ops *role = cfg->role;
    if (!role)
        return -AMP_EINVAL;
    /*
     * Init again on a live device (recovery from a corrupt ring) keeps the
     * endpoints' bindings: a peer that restarted is amp_rpmsg_reset()'s
     * business, so a firmware that never calls it links no unbinding.
     */
    dev->ready = false;
    dev->cfg = *cfg;
    dev->role = role;
    dev->buf_size = cfg->buf_size ? cfg->buf_size : AMP_RPMSG_DEFAULT_BUF_SIZE;
    if (dev->buf_size <= sizeof(struct amp_rpmsg_hdr) || dev->buf_size > 0xFFFFu + 16u)
        return -AMP_EINVAL;
    dev->ring_error = 0;
    dev->tx_spares = NULL;        /* the spare set starts empty at its first use */
    int rc = role->init(dev);
    if (rc)
        return rc;
    dev->ready = true;
    /* The name service, if in use, announces what was made before the peer was up. */
    return dev->ns_up ? dev->ns_up(dev) : 0;
}

/*
 * Sleep on the platform until a doorbell or ms pass: 0, or why the wait
 * failed (a dead peer ends every wait).
 */
static int rpmsg_sleep(const struct amp_platform *p, int32_t ms)
{
    int rc = p->ops->wait(p->ctx, ms);
    return rc < 0 && rc != -AMP_ETIMEDOUT ? rc : 0;
}

/*
 * Call attempt() until it stops answering -AMP_EAGAIN or the timeout runs
 * out, sleeping on the platform in between; slice_ms > 0 bounds each sleep
 * for conditions the peer does not ring for. Only the timed calls use it:
 * a firmware that passes no timeout but 0 and AMP_WAIT_FOREVER links none
 * of the clock arithmetic (the _untimed calls, picked by rpmsg.h).
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
        rc = rpmsg_sleep(p, left);
        if (rc)
            return rc;
    }
}

static int try_init(struct amp_rpmsg_device *dev, void *cfg)
{
    return amp_rpmsg_init(dev, cfg);
}

/* The host need not ring when it sets DRIVER_OK: look again every 10 ms. */
#define READY_POLL_MS 10

int amp_rpmsg_wait_ready_timed(struct amp_rpmsg_device *dev, const struct amp_rpmsg_config *cfg,
                               int32_t timeout_ms)
{
    if (!cfg || !cfg->platform)
        return -AMP_EINVAL;
    return rpmsg_retry(dev, cfg->platform, try_init, (void *)cfg, timeout_ms, READY_POLL_MS);
}

int amp_rpmsg_wait_ready_untimed(struct amp_rpmsg_device *dev,
                                 const struct amp_rpmsg_config *cfg, int32_t timeout_ms)
{
    if (timeout_ms > 0)
        return -AMP_EINVAL;
    int rc;
    /* A bad cfg fails in init, before anything here uses it. */
    while ((rc = amp_rpmsg_init(dev, cfg)) == -AMP_EAGAIN) {
        if (timeout_ms == 0)
            return -AMP_ETIMEDOUT;
        if ((rc = rpmsg_sleep(cfg->platform, READY_POLL_MS)) != 0)
            return rc;
    }
    return rc;
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

/* One look for a transmit buffer: its id, -AMP_ENOBUFS, or another error. */
static int take_tx(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf)
{
    return rpmsg_ring_check(dev, dev->role->get_tx(dev, buf));
}

/*
 * How a send waits for a buffer once none is free (the timeout is not 0).
 * buf: in, the bytes needed; out, the buffer and what it holds.
 */
typedef int (*tx_wait_fn)(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf,
                          int32_t timeout_ms);

struct tx_request {
    struct rpmsg_buf *buf;
    int id;
};

static int try_get_tx(struct amp_rpmsg_device *dev, void *arg)
{
    struct tx_request *req = arg;
    req->id = take_tx(dev, req->buf);
    return req->id == -AMP_ENOBUFS ? -AMP_EAGAIN : req->id < 0 ? req->id : 0;
}

/*
 * Waiting for a buffer, look again every millisecond even with no doorbell:
 * some peers give buffers back silently. rpmsg-lite (its default
 * RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION 0) never rings for them, nor
 * does OpenAMP (its host and remote turn those doorbells off). Both poll
 * their own rings every 1 ms (RL_MS_PER_INTERVAL, RPMSG_TICKS_PER_INTERVAL).
 * Run by hand against rpmsg-lite a300ec8: without this, 19 of 40 sends
 * waited their whole 1 s timeout.
 */
#define TX_POLL_MS 1

static int tx_wait_timed(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf, int32_t timeout_ms)
{
    struct tx_request req = { .buf = buf };
    int rc = rpmsg_retry(dev, dev->cfg.platform, try_get_tx, &req, timeout_ms, TX_POLL_MS);
    return rc ? rc : req.id;
}

/* No clock: only AMP_WAIT_FOREVER gets here. */
static int tx_wait_forever(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf,
                           int32_t timeout_ms)
{
    (void)timeout_ms;
    int id;
    while ((id = take_tx(dev, buf)) == -AMP_ENOBUFS) {
        int rc = rpmsg_sleep(dev->cfg.platform, TX_POLL_MS);
        if (rc)
            return rc;
    }
    return id;
}

/*
 * A transmit buffer, waiting up to timeout_ms (0 fails at once with
 * -AMP_ENOBUFS): its descriptor id, or a negative error. Inlined with the
 * send around it, like rpmsg_send_copy.
 */
__attribute__((always_inline))
static inline int rpmsg_get_tx(struct amp_rpmsg_device *dev, struct rpmsg_buf *buf,
                               int32_t timeout_ms, tx_wait_fn wait)
{
    int id = take_tx(dev, buf);
    if (id != -AMP_ENOBUFS || timeout_ms == AMP_NO_WAIT)
        return id;
    /* Ask to be woken when a buffer comes back before looking again,
     * or one returned in between would go unnoticed. */
    dev->role->want_notify(&dev->tx_vring, true);
    id = wait(dev, buf, timeout_ms);
    dev->role->want_notify(&dev->tx_vring, false);
    return id;
}

/*
 * 0 if the rings can be used. A ring the peer corrupted stays refused
 * (dev->ring_error) until the next init.
 */
static int device_usable(const struct amp_rpmsg_device *dev)
{
    return dev->ready ? dev->ring_error : -AMP_ENOTCONN;
}

__attribute__((always_inline))
static inline int check_send(struct amp_rpmsg_endpoint *ept, uint32_t dst, size_t len)
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

/* Fill in the header of transmit buffer `id` and hand it to the peer. */
__attribute__((always_inline))
static inline int rpmsg_send_hdr(struct amp_rpmsg_device *dev, int id,
                                 struct amp_rpmsg_hdr *hdr, uint32_t src, uint32_t dst,
                                 size_t len)
{
    hdr->src = amp_cpu_to_le32(src);
    hdr->dst = amp_cpu_to_le32(dst);
    hdr->reserved = 0;
    hdr->len = amp_cpu_to_le16((uint16_t)len);
    hdr->flags = 0;
    amp_cache_flush(dev->cfg.platform, hdr, sizeof(*hdr) + len);
    int rc = dev->role->put(dev, RPMSG_TX, (uint16_t)id, (uint32_t)(sizeof(*hdr) + len));
    return rc < 0 ? rc : (int)len;
}

/* Inlined into each form, so a firmware links one copy with its own wait. */
__attribute__((always_inline))
static inline int rpmsg_send_copy(struct amp_rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                                  const void *data, size_t len, int32_t timeout_ms,
                                  tx_wait_fn wait)
{
    int rc = check_send(ept, dst, len);
    if (rc)
        return rc;
    if (len && !data)
        return -AMP_EINVAL;
    struct amp_rpmsg_device *dev = ept->dev;
    /* -AMP_EMSGSIZE if the peer's buffers are smaller than ours. */
    struct rpmsg_buf tx = { .len = (uint32_t)(sizeof(struct amp_rpmsg_hdr) + len) };
    int id = rpmsg_get_tx(dev, &tx, timeout_ms, wait);
    if (id < 0)
        return id;
    if (len)
        __builtin_memcpy(tx.hdr + 1, data, len);
    return rpmsg_send_hdr(dev, id, tx.hdr, src, dst, len);
}

int amp_rpmsg_send_offchannel_timed(struct amp_rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                                    const void *data, size_t len, int32_t timeout_ms)
{
    return rpmsg_send_copy(ept, src, dst, data, len, timeout_ms, tx_wait_timed);
}

int amp_rpmsg_send_offchannel_untimed(struct amp_rpmsg_endpoint *ept, uint32_t src,
                                      uint32_t dst, const void *data, size_t len,
                                      int32_t timeout_ms)
{
    return timeout_ms > 0 ? -AMP_EINVAL
                          : rpmsg_send_copy(ept, src, dst, data, len, timeout_ms, tx_wait_forever);
}

/* ---- Zero-copy: buffers held across calls, found again by their address. ---- */

__attribute__((always_inline))
static inline void *rpmsg_get_tx_buffer(struct amp_rpmsg_device *dev, uint32_t *size,
                                        int32_t timeout_ms, int *err, tx_wait_fn wait)
{
    if (!err)
        return NULL;
    *err = dev && size ? device_usable(dev) : -AMP_EINVAL;
    if (*err)
        return NULL;
    struct rpmsg_buf tx = { .len = sizeof(struct amp_rpmsg_hdr) };
    int id = rpmsg_get_tx(dev, &tx, timeout_ms, wait);
    if (id < 0) {
        *err = id;
        return NULL;
    }
    *size = tx.len - (uint32_t)sizeof(struct amp_rpmsg_hdr);
    return tx.hdr + 1;
}

void *amp_rpmsg_get_tx_buffer_timed(struct amp_rpmsg_device *dev, uint32_t *size,
                                    int32_t timeout_ms, int *err)
{
    return rpmsg_get_tx_buffer(dev, size, timeout_ms, err, tx_wait_timed);
}

void *amp_rpmsg_get_tx_buffer_untimed(struct amp_rpmsg_device *dev, uint32_t *size,
                                      int32_t timeout_ms, int *err)
{
    if (timeout_ms > 0) {
        if (err)
            *err = -AMP_EINVAL;
        return NULL;
    }
    return rpmsg_get_tx_buffer(dev, size, timeout_ms, err, tx_wait_forever);
}

int amp_rpmsg_send_nocopy(struct amp_rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                          void *payload, size_t len)
{
    int rc = check_send(ept, dst, len);
    if (rc)
        return rc;
    if (!payload)
        return -AMP_EINVAL;
    struct amp_rpmsg_hdr *hdr = (struct amp_rpmsg_hdr *)payload - 1;
    int id = ept->dev->role->tx_id(ept->dev, hdr);
    return id < 0 ? id : rpmsg_send_hdr(ept->dev, id, hdr, src, dst, len);
}

static int spare_take(struct amp_rpmsg_device *dev)
{
    return rpmsg_spare_take(dev);
}

static void spare_put(struct amp_rpmsg_device *dev, uint16_t id)
{
    rpmsg_spare_put(dev, id);
}

static const struct rpmsg_spare_ops bitmap_spares = { .take = spare_take, .put = spare_put };

int amp_rpmsg_release_tx_buffer(struct amp_rpmsg_device *dev, void *payload)
{
    if (!dev || !payload || !dev->role)
        return -AMP_EINVAL;
    int id = dev->role->tx_id(dev, (struct amp_rpmsg_hdr *)payload - 1);
    if (id < 0)
        return id;
    if (!dev->tx_spares) {        /* first since init: start from an empty set */
        __builtin_memset(dev->tx_spare, 0, sizeof(dev->tx_spare));
        dev->tx_spare_count = 0;
        dev->tx_spares = &bitmap_spares;
    }
    rpmsg_spare_put(dev, (uint16_t)id);
    return 0;
}

int amp_rpmsg_release_rx_buffer(struct amp_rpmsg_device *dev, void *payload)
{
    if (!dev || !payload || !dev->role)
        return -AMP_EINVAL;
    int id = dev->role->rx_id(dev, (struct amp_rpmsg_hdr *)payload - 1);
    return id < 0 ? id : dev->role->put(dev, RPMSG_RX, (uint16_t)id, 0);
}

/* ---- Receive. ---- */

/*
 * Hand the message in buffer hdr (len bytes written by the peer) to its
 * endpoint: AMP_RPMSG_RELEASE, AMP_RPMSG_HOLD, or why it was dropped.
 * Called by the roles' receive loops (rpmsg_poll_loop).
 *
 * The one place the receive path reads a header the peer wrote: each field
 * is copied exactly once, converted to CPU order, and from here on only the
 * copy is checked and used. The peer may keep rewriting the buffer (buggy,
 * malicious, or just still writing); nothing below reads the header again.
 *
 * Out of line only for size: inlined, -Os copies the release after each
 * early return. At -O2/-O3 inlining saves a call and a return per message
 * (8-10 % of the emulated M4's streaming time).
 */
#if defined(__OPTIMIZE_SIZE__)
__attribute__((noinline))
#endif
int rpmsg_dispatch(struct amp_rpmsg_device *dev, struct amp_rpmsg_hdr *hdr, uint32_t len)
{
    /*
     * No callback may get more than amp_rpmsg_max_payload(): a buffer longer
     * than ours is a corrupt length (host: used.len) or buffers that do not
     * match buf_size (remote: the host's descriptor).
     */
    if (len - sizeof(*hdr) > dev->buf_size - sizeof(*hdr))   /* below 16 wraps */
        return -AMP_EMSGSIZE;
    amp_cache_invalidate(dev->cfg.platform, hdr, len);
    uint32_t src = amp_le32(AMP_READ_ONCE(hdr->src));
    uint32_t dst = amp_le32(AMP_READ_ONCE(hdr->dst));
    uint32_t payload_len = amp_le16(AMP_READ_ONCE(hdr->len));
    if (payload_len > len - sizeof(*hdr))
        return -AMP_EMSGSIZE;     /* a payload longer than what was written */
    struct amp_rpmsg_endpoint *ept = find_by_addr(dev, dst);
    if (!ept)
        return -AMP_ENOENT;
    /* An endpoint with no destination yet answers whoever spoke first. */
    if (ept->dest_addr == AMP_RPMSG_ADDR_ANY) {
        ept->dest_addr = src;
        ept->dest_dynamic = true;
    }
    return ept->rx_cb ? ept->rx_cb(ept, hdr + 1, payload_len, src, ept->priv)
                      : AMP_RPMSG_RELEASE;
}

int amp_rpmsg_poll(struct amp_rpmsg_device *dev)
{
    if (!dev)
        return -AMP_EINVAL;
    int rc = device_usable(dev);
    return rc ? rc : dev->role->poll(dev);
}

__attribute__((always_inline))
static inline bool rpmsg_arm(struct amp_rpmsg_device *dev)
{
    return dev->ready && dev->role->want_notify(&dev->rx_vring, true);
}

bool amp_rpmsg_arm(struct amp_rpmsg_device *dev)
{
    return rpmsg_arm(dev);
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
    return rpmsg_arm(dev) ? 0 : p->ops->wait(p->ctx, timeout_ms);
}
