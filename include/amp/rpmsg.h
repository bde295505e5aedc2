/*
 * amp/rpmsg.h - RPMsg over two vrings, with endpoints and the name service,
 * in either role: host (virtio driver, owns the buffers) or remote (virtio
 * device). Wire-compatible with Linux virtio_rpmsg_bus, OpenAMP and
 * MicroPython's openamp module.
 *
 * The caller owns every struct (device, endpoints); the core allocates
 * nothing, so any number of devices may coexist. Nothing here blocks except
 * through the platform's wait op, and every wait has a timeout.
 *
 * A device is not thread-safe: use it from one thread at a time (or
 * serialise the calls). Callbacks run inside amp_rpmsg_poll(); they may
 * send, hold their buffer, create or destroy endpoints, but not poll the
 * same device again.
 *
 * Data path: amp_rpmsg_send() -> (role) get a tx buffer -> vring -> notify;
 * amp_rpmsg_poll() -> vring -> dispatch to the endpoint's rx callback.
 */
#ifndef AMP_RPMSG_H
#define AMP_RPMSG_H

#include "amp/platform.h"
#include "amp/vring.h"
#include "amp/rsc.h"

#define AMP_RPMSG_ADDR_ANY      0xFFFFFFFFu
#define AMP_RPMSG_NS_ADDR       53u
#define AMP_RPMSG_RESERVED_ADDRS 1024u   /* dynamic addresses start here */
#define AMP_RPMSG_NAME_LEN      32       /* including the NUL */
#define AMP_RPMSG_DEFAULT_BUF_SIZE 512u
#define AMP_RPMSG_MAX_VRING_NUM 256u    /* entries per vring, as Linux */

/* ---- Wire structs. ---- */
struct amp_rpmsg_hdr {
    uint32_t src;
    uint32_t dst;
    uint32_t reserved;
    uint16_t len;
    uint16_t flags;
};
_Static_assert(sizeof(struct amp_rpmsg_hdr) == 16, "rpmsg header is 16 bytes");
_Static_assert(offsetof(struct amp_rpmsg_hdr, len) == 12, "rpmsg hdr.len at 12");

#define AMP_RPMSG_NS_CREATE  0u
#define AMP_RPMSG_NS_DESTROY 1u
struct amp_rpmsg_ns_msg {
    char name[AMP_RPMSG_NAME_LEN];
    uint32_t addr;
    uint32_t flags;
};
_Static_assert(sizeof(struct amp_rpmsg_ns_msg) == 40, "ns message is 40 bytes");
_Static_assert(offsetof(struct amp_rpmsg_ns_msg, addr) == 32, "ns addr at 32");

/* ---- Configuration: a plain description of the shared region. ---- */
/*
 * The role is chosen at run time by pointing cfg.role at one of these. Only
 * the roles a program names get linked, so remote firmware carries no host
 * code.
 */
struct amp_rpmsg_role_ops;
/* Virtio driver (Linux, MicroPython's main core) and virtio device (firmware). */
extern const struct amp_rpmsg_role_ops amp_rpmsg_host_ops;
extern const struct amp_rpmsg_role_ops amp_rpmsg_remote_ops;
#define AMP_RPMSG_HOST   (&amp_rpmsg_host_ops)
#define AMP_RPMSG_REMOTE (&amp_rpmsg_remote_ops)

enum amp_rpmsg_addr_mode {
    AMP_ADDR_PHYS = 0,      /* descriptors hold shm_pa + offset (Linux, OpenAMP) */
    AMP_ADDR_OFFSET = 1,    /* descriptors hold the offset from shm (MicroPython) */
};

struct amp_rpmsg_config {
    const struct amp_rpmsg_role_ops *role;   /* AMP_RPMSG_HOST or AMP_RPMSG_REMOTE */
    const struct amp_platform *platform;     /* first: the data path reads it most */
    enum amp_rpmsg_addr_mode addr_mode;
    /* The region every buffer lives in, as this side sees it and as the
     * address written into descriptors (PHYS mode) names its start. */
    void *shm;
    uint64_t shm_pa;
    size_t shm_size;
    /* vring 0 carries remote->host, vring 1 host->remote (both local pointers). */
    void *vring[2];
    uint32_t vring_notifyid[2];
    uint16_t vring_num;           /* entries per vring, power of two */
    uint32_t vring_align;
    /* Host only: the buffer pool, inside shm. 0 counts mean "split evenly". */
    void *buf_pool;
    uint32_t buf_count;
    uint32_t rx_buf_count;        /* posted for receive (<= vring_num) */
    uint32_t buf_size;            /* bytes per buffer incl. header; 0 = 512 */
    /*
     * Bytes left unused after every 4 KiB of buffers (a multiple of 4, at
     * most shm_size; 0: packed). For cached shared memory: packed 512-byte
     * buffers put every header in 8 of the 64 sets of a 32 KiB 8-way L1,
     * where they evict the endpoints and rings; a 64-byte gap spreads them
     * over all 64. No peer can tell: remotes go by the descriptors' addresses.
     */
    uint32_t buf_gap;
    /* The vdev entry in the resource table (status, features), or NULL. */
    struct amp_rsc_vdev *vdev;
    /*
     * Host with a vdev: the features to accept when the device offers them;
     * 0 means all this implementation supports (name service, event index),
     * as Linux and OpenAMP accept whatever they support, and
     * AMP_RPMSG_FEATURES_NONE accepts none. Either role without a vdev (a
     * table-less layout): the features in force, which both sides must agree on.
     * OpenAMP (open-amp v2026.04, run by hand) does not do event index on
     * either side even when a table offers it: its host never writes
     * used_event, its device never re-arms avail_event. Against an OpenAMP
     * peer whose table offers bit 29, accept name service only (or set
     * always_notify), or doorbells go missing.
     */
    uint32_t features;
    /*
     * Ring the doorbell for every buffer handed to the peer, whatever its
     * NO_INTERRUPT flag or event index says. Needed under rpmsg-lite's
     * master, which sets NO_INTERRUPT on its receive ring at init and never
     * clears it (its own remote ignores the flag). Costs one doorbell - an
     * interrupt on the peer - per message and per returned buffer.
     */
    bool always_notify;
};

#define AMP_RPMSG_FEATURES_SUPPORTED ((1u << AMP_VIRTIO_RPMSG_F_NS) | (1u << AMP_VIRTIO_F_EVENT_IDX))
/* No rpmsg feature uses bit 31 (the table's feature words are 32 bits). */
#define AMP_RPMSG_FEATURES_NONE (1u << 31)

/*
 * Fill cfg's vring fields from a vdev entry, translating da linearly into
 * shm. vdev_size: the bytes from vdev to the end of its table.
 */
int amp_rpmsg_config_from_vdev(struct amp_rpmsg_config *cfg, struct amp_rsc_vdev *vdev,
                               size_t vdev_size);
/* The same for the first rpmsg vdev of a parsed table (-AMP_ENOENT if none). */
int amp_rpmsg_config_from_rsc(struct amp_rpmsg_config *cfg, const struct amp_rsc_table *tbl);

/*
 * MicroPython's layout of the STM32H747's SRAM4 (reference.md section 3),
 * the one existing remote firmware expects: the host-built table at
 * 0x38000000, vring 1 at 0x38000400, vring 0 at 0x38001400, 512-byte
 * buffers from 0x38002400, descriptors holding offsets from 0x38000400.
 * Upstream packs 110 buffers; we leave a 64-byte gap after every eight
 * (buf_gap) and so fit 108, which no remote can tell apart.
 * `sram4` is this side's view of the 64 KiB region.
 */
#define AMP_H747_SRAM4_DA   0x38000000u
#define AMP_H747_SRAM4_SIZE 0x00010000u
#define AMP_H747_TRACE_DA   0x38000380u
#define AMP_H747_TRACE_LEN  128u
/* Zero SRAM4 and write the table (the host does this before the remote boots). */
int amp_rpmsg_h747_build_table(void *sram4);
/* Fill cfg for that layout from the table in sram4 (either role). */
int amp_rpmsg_h747_config(void *sram4, const struct amp_rpmsg_role_ops *role,
                          const struct amp_platform *platform, struct amp_rpmsg_config *cfg);

struct amp_rpmsg_device;
struct amp_rpmsg_endpoint;
struct rpmsg_ept_index;
struct rpmsg_spare_ops;

/* rx callback return values: release the buffer now, or keep it (see hold). */
#define AMP_RPMSG_RELEASE 0
#define AMP_RPMSG_HOLD    1

/*
 * Called from amp_rpmsg_poll() for each message to this endpoint. `data` is
 * valid until the callback returns, or - if it returns AMP_RPMSG_HOLD - until
 * amp_rpmsg_release_rx_buffer(dev, data). A negative return says the
 * message was malformed: it is counted in rx_dropped / last_rx_error.
 */
typedef int (*amp_rpmsg_rx_cb)(struct amp_rpmsg_endpoint *ept, void *data, size_t len,
                               uint32_t src, void *priv);
/* The peer destroyed the service this endpoint was bound to. */
typedef void (*amp_rpmsg_unbind_cb)(struct amp_rpmsg_endpoint *ept, void *priv);
/* The peer announced (or destroyed) a service no local endpoint has. */
typedef void (*amp_rpmsg_ns_cb)(struct amp_rpmsg_device *dev, const char *name,
                                uint32_t addr, uint32_t flags, void *priv);

struct amp_rpmsg_endpoint {
    char name[AMP_RPMSG_NAME_LEN];
    uint32_t addr;
    uint32_t dest_addr;
    amp_rpmsg_rx_cb rx_cb;
    amp_rpmsg_unbind_cb unbind_cb;
    void *priv;
    struct amp_rpmsg_device *dev;
    struct amp_rpmsg_endpoint *next;
    bool dest_dynamic;             /* dest learnt from the peer (NS or first message) */
    bool announced;                /* an NS create went out for it */
};

struct amp_rpmsg_device {
    /*
     * What the data path touches comes first: on Thumb-2 a field within
     * the first 32 (bytes) or 124 (words) bytes is reached with a 16-bit
     * instruction, farther ones with a 32-bit one (issue 12 measured it).
     */
    const struct amp_rpmsg_role_ops *role;
    bool ready;                    /* vrings live: host set up / remote saw DRIVER_OK */
    bool ns_enabled;
    bool corked;                   /* host: sends skip the doorbell (amp_rpmsg_cork) */
    bool kick_due;                 /* host: something was sent while corked */
    int ring_error;                /* the peer corrupted a ring: every use fails so, until init */
    uint32_t buf_size;
    struct amp_rpmsg_endpoint *endpoints;
    /* Endpoint lookup table, if the caller gave one (amp_rpmsg_set_ept_table). */
    const struct rpmsg_ept_index *ept_index;
    /* Remote: how get_tx reaches the spares, once there have been some. */
    const struct rpmsg_spare_ops *tx_spares;
    uint32_t rx_notifyid, tx_notifyid;
    uint32_t rx_dropped;           /* messages dropped: no endpoint, or malformed */
    int last_rx_error;             /* why the last one was dropped */
    struct amp_rpmsg_config cfg;
    struct amp_vring rx_vring;     /* host: vring 0; remote: vring 1 */
    struct amp_vring tx_vring;     /* host: vring 1; remote: vring 0 */
    uint32_t rx_count;             /* host: receive buffers, pool indices [0, rx_count) */
    uint32_t tx_count;             /* host: transmit buffers, the next tx_count */
    uint32_t tx_fresh;             /* host: transmit buffers handed out at least once */
    uint8_t pool_group_shift;      /* host: log2 of the buffers between two buf_gaps */
    struct amp_rpmsg_endpoint **ept_slots;
    uint32_t ept_slot_mask, ept_slot_used;
    uint8_t ept_slot_shift;
    struct amp_rpmsg_endpoint ns_ept;
    /* The name service, once in use (amp_rpmsg_enable_ns): init calls it. */
    int (*ns_up)(struct amp_rpmsg_device *dev);
    amp_rpmsg_ns_cb ns_cb;
    void *ns_priv;
    uint32_t next_addr;            /* next dynamic address to try */
    /* Remote: transmit buffers taken from the ring but given back unused. */
    uint32_t tx_spare[AMP_RPMSG_MAX_VRING_NUM / 32];
    uint32_t tx_spare_count;
};

/*
 * Bring a device up. Host: lays out and zeroes the vrings, posts the receive
 * buffers, accepts features and sets DRIVER_OK in cfg->vdev. Remote:
 * -AMP_EAGAIN until the host has set DRIVER_OK (see amp_rpmsg_wait_ready);
 * 0 once attached. Endpoints already on `dev` are kept and re-announced.
 * Called again on a live device (to recover from a corrupt ring), it keeps
 * their bindings to the peer; when the peer itself restarted, call
 * amp_rpmsg_reset() first so that they are unbound.
 */
int amp_rpmsg_init(struct amp_rpmsg_device *dev, const struct amp_rpmsg_config *cfg);
/*
 * Timeouts cost only the firmware that uses them. Each call that may wait
 * comes in two forms: _timed takes any timeout and reads the platform's
 * clock; _untimed takes only 0 (try once) or a negative one (forever) and
 * links no clock arithmetic (a positive timeout is -AMP_EINVAL). The plain
 * names below are inlines that pick _untimed when the compiler sees a
 * constant 0 or AMP_WAIT_FOREVER, else _timed: callers need not care.
 */
#define AMP_RPMSG_UNTIMED(timeout_ms) (__builtin_constant_p(timeout_ms) && (timeout_ms) <= 0)

int amp_rpmsg_wait_ready_timed(struct amp_rpmsg_device *dev, const struct amp_rpmsg_config *cfg,
                               int32_t timeout_ms);
int amp_rpmsg_wait_ready_untimed(struct amp_rpmsg_device *dev,
                                 const struct amp_rpmsg_config *cfg, int32_t timeout_ms);
/* Remote: retry init until DRIVER_OK or timeout (-AMP_ETIMEDOUT). */
static inline int amp_rpmsg_wait_ready(struct amp_rpmsg_device *dev,
                                       const struct amp_rpmsg_config *cfg, int32_t timeout_ms)
{
    return AMP_RPMSG_UNTIMED(timeout_ms) ? amp_rpmsg_wait_ready_untimed(dev, cfg, timeout_ms)
                                         : amp_rpmsg_wait_ready_timed(dev, cfg, timeout_ms);
}
/*
 * Forget the rings (the peer restarted or is gone): unbind every endpoint
 * whose destination came from the name service (calling its unbind
 * callback), and mark the device not ready. Endpoints stay registered; the
 * next amp_rpmsg_init() re-announces them.
 */
void amp_rpmsg_reset(struct amp_rpmsg_device *dev);
/* Destroy all endpoints (announcing it when ready) and detach. */
void amp_rpmsg_deinit(struct amp_rpmsg_device *dev);

/*
 * The name service's receive side: bind named endpoints to what the peer
 * announces (NS create/destroy) and pass other announcements to the ns
 * callback. A firmware that never names an endpoint nor sets a callback
 * does not link it; the host role and named endpoints enable it themselves,
 * this is for a remote that wants it otherwise. Without it, messages to
 * address 53 are dropped like any to no endpoint.
 */
int amp_rpmsg_enable_ns(struct amp_rpmsg_device *dev);
/* Call cb for announcements no local endpoint matches (enables the name service). */
void amp_rpmsg_set_ns_callback(struct amp_rpmsg_device *dev, amp_rpmsg_ns_cb cb, void *priv);

/*
 * Register an endpoint. `src` ANY allocates from 1024 upwards; a fixed src
 * already in use is -AMP_EADDRINUSE. A named endpoint with dest ANY is
 * announced (NS create) once the device is ready. An unnamed endpoint at a
 * fixed address - the common firmware case - links none of that: the call
 * goes to amp_rpmsg_create_ept_fixed() when the compiler can see it is one.
 */
int amp_rpmsg_create_ept_full(struct amp_rpmsg_endpoint *ept, struct amp_rpmsg_device *dev,
                              const char *name, uint32_t src, uint32_t dest,
                              amp_rpmsg_rx_cb rx_cb, amp_rpmsg_unbind_cb unbind_cb, void *priv);
/* An unnamed endpoint at fixed address src (not ANY): nothing announced. */
int amp_rpmsg_create_ept_fixed(struct amp_rpmsg_endpoint *ept, struct amp_rpmsg_device *dev,
                               uint32_t src, uint32_t dest, amp_rpmsg_rx_cb rx_cb,
                               amp_rpmsg_unbind_cb unbind_cb, void *priv);

static inline int amp_rpmsg_create_ept(struct amp_rpmsg_endpoint *ept,
                                       struct amp_rpmsg_device *dev, const char *name,
                                       uint32_t src, uint32_t dest, amp_rpmsg_rx_cb rx_cb,
                                       amp_rpmsg_unbind_cb unbind_cb, void *priv)
{
    if (__builtin_constant_p(name == NULL) && name == NULL && __builtin_constant_p(src) &&
        src != AMP_RPMSG_ADDR_ANY)
        return amp_rpmsg_create_ept_fixed(ept, dev, src, dest, rx_cb, unbind_cb, priv);
    return amp_rpmsg_create_ept_full(ept, dev, name, src, dest, rx_cb, unbind_cb, priv);
}

/*
 * Find endpoints in constant time however many there are: `count` slots
 * (a power of two, more than the endpoints the device will hold; twice as
 * many keeps probes short) that the caller owns for the device's lifetime.
 * Endpoints already registered are indexed now. Without a table a message
 * finds its endpoint along a list, which is as fast for a handful. Creating
 * an endpoint that does not fit is -AMP_ENOSPC. (NULL, 0) drops the table.
 */
int amp_rpmsg_set_ept_table(struct amp_rpmsg_device *dev, struct amp_rpmsg_endpoint **slots,
                            uint32_t count);

/*
 * Unregister, announcing NS destroy if a create went out. The endpoint is
 * gone in any case; the return value says whether the announcement could
 * be sent (it never waits for a buffer).
 */
int amp_rpmsg_destroy_ept(struct amp_rpmsg_endpoint *ept);

static inline bool amp_rpmsg_ept_is_ready(const struct amp_rpmsg_endpoint *ept)
{
    return ept->dest_addr != AMP_RPMSG_ADDR_ANY && ept->dev && ept->dev->ready;
}

/* Largest payload one message can carry on this device. */
static inline uint32_t amp_rpmsg_max_payload(const struct amp_rpmsg_device *dev)
{
    return dev->buf_size - (uint32_t)sizeof(struct amp_rpmsg_hdr);
}

/*
 * Copy send. timeout_ms: 0 tries once (-AMP_ENOBUFS if no buffer), -1 waits
 * forever, N waits up to N ms (-AMP_ETIMEDOUT), looking again at every
 * doorbell and every millisecond (peers that return buffers silently).
 * Returns the payload length. An empty payload is one valid message; one
 * larger than the buffer is -AMP_EMSGSIZE.
 */
int amp_rpmsg_send_offchannel_timed(struct amp_rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                                    const void *data, size_t len, int32_t timeout_ms);
int amp_rpmsg_send_offchannel_untimed(struct amp_rpmsg_endpoint *ept, uint32_t src,
                                      uint32_t dst, const void *data, size_t len,
                                      int32_t timeout_ms);

static inline int amp_rpmsg_send_offchannel(struct amp_rpmsg_endpoint *ept, uint32_t src,
                                            uint32_t dst, const void *data, size_t len,
                                            int32_t timeout_ms)
{
    return AMP_RPMSG_UNTIMED(timeout_ms)
               ? amp_rpmsg_send_offchannel_untimed(ept, src, dst, data, len, timeout_ms)
               : amp_rpmsg_send_offchannel_timed(ept, src, dst, data, len, timeout_ms);
}

static inline int amp_rpmsg_send(struct amp_rpmsg_endpoint *ept, const void *data, size_t len,
                                 int32_t timeout_ms)
{
    return ept ? amp_rpmsg_send_offchannel(ept, ept->addr, ept->dest_addr, data, len, timeout_ms)
               : -AMP_EINVAL;
}

/*
 * Batching, host role: while corked, sends publish their messages at once
 * but skip deciding whether to ring the doorbell (a full memory barrier
 * each); uncorking decides once for everything sent meanwhile. A send that
 * finds no free buffer decides first, so a corked sender never waits on a
 * peer that was not told. A polling peer sees corked messages immediately.
 * -AMP_ENOTSUP for a device not initialised as host (the remote role
 * always rings at once).
 */
int amp_rpmsg_cork(struct amp_rpmsg_device *dev, bool cork);

/* ---- Zero-copy. ---- */
/*
 * Get a transmit buffer: returns its payload area (capacity in *size), or
 * NULL with *err set. Then either amp_rpmsg_send_nocopy() or
 * amp_rpmsg_release_tx_buffer() - exactly one of them.
 */
void *amp_rpmsg_get_tx_buffer_timed(struct amp_rpmsg_device *dev, uint32_t *size,
                                    int32_t timeout_ms, int *err);
void *amp_rpmsg_get_tx_buffer_untimed(struct amp_rpmsg_device *dev, uint32_t *size,
                                      int32_t timeout_ms, int *err);

static inline void *amp_rpmsg_get_tx_buffer(struct amp_rpmsg_device *dev, uint32_t *size,
                                            int32_t timeout_ms, int *err)
{
    return AMP_RPMSG_UNTIMED(timeout_ms)
               ? amp_rpmsg_get_tx_buffer_untimed(dev, size, timeout_ms, err)
               : amp_rpmsg_get_tx_buffer_timed(dev, size, timeout_ms, err);
}
int amp_rpmsg_send_nocopy(struct amp_rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                          void *payload, size_t len);
int amp_rpmsg_release_tx_buffer(struct amp_rpmsg_device *dev, void *payload);
/* Give back a receive buffer whose callback returned AMP_RPMSG_HOLD. */
int amp_rpmsg_release_rx_buffer(struct amp_rpmsg_device *dev, void *payload);

/*
 * Drain the receive ring, dispatching callbacks. Returns the number of
 * messages taken from the ring, or -AMP_EBADMSG if the peer corrupted a
 * ring (every later poll and send then fails the same way, until re-init).
 * Malformed messages and messages to no endpoint are dropped, counted in
 * rx_dropped, and their reason kept in last_rx_error.
 */
int amp_rpmsg_poll(struct amp_rpmsg_device *dev);

/*
 * Notification control for polled, blocking and adaptive receive loops.
 * amp_rpmsg_arm() asks the peer to ring the doorbell for new messages and
 * returns true if some are already waiting (do not sleep then);
 * amp_rpmsg_disarm() tells the peer not to bother (we are polling).
 */
bool amp_rpmsg_arm(struct amp_rpmsg_device *dev);
void amp_rpmsg_disarm(struct amp_rpmsg_device *dev);

/* Wait until a message may be pending or timeout (through the platform). */
int amp_rpmsg_wait(struct amp_rpmsg_device *dev, int32_t timeout_ms);

#endif /* AMP_RPMSG_H */
