/*
 * libFuzzer target: the rpmsg data path in both roles against a hostile
 * peer. A host and a remote device share one 64 KiB region (MicroPython's
 * layout, tests/c/loopback.h); the input (tests/fuzz/fuzz_ops.h) is a
 * sequence of polls, copy and zero-copy sends, buffer holds and releases,
 * notification changes and re-inits on either side, mixed with writes of
 * arbitrary bytes into rings, descriptors, headers and the resource table,
 * made at once or at the next point a real peer could run (a doorbell, a
 * wait, a cache operation, a callback).
 *
 * Checked: every message a callback gets lies inside one receive buffer of
 * the region and no longer than a payload can be; every error is one the
 * API documents; a ring found corrupt stays refused until re-init.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_ops.h"
#include "loopback.h"

#define NS_FEATURE (1u << AMP_VIRTIO_RPMSG_F_NS)
#define EVENT_IDX_FEATURE (1u << AMP_VIRTIO_F_EVENT_IDX)
#define NUM 64u
#define EPTS 2
#define MAX_HELD 64

struct side {
    struct amp_rpmsg_device *dev;
    struct amp_rpmsg_config *cfg;
    struct fz_platform plat;
    struct amp_rpmsg_endpoint ept[EPTS];
    struct amp_rpmsg_endpoint named;
    void *held[MAX_HELD];
    unsigned nheld;
    unsigned rx_seen;
    bool corrupt;           /* a poll said -AMP_EBADMSG: later polls must say so too */
};

static struct lb_pair lb;
static struct side host, remote;
static uint8_t cfg_bits;

/* A write armed by FZ_OP_RACE, made at the next chance the peer gets. */
static struct {
    bool armed;
    uint32_t off;
    uint8_t n;
    uint8_t bytes[8];
} race;

static uint32_t buf_size_of(uint8_t cfg)
{
    static const uint32_t sizes[4] = { 512, 256, 128, 64 };
    return sizes[(cfg >> FZ_CFG_BUF_SHIFT) & 3u];
}

/* Offset in lb.mem for (area, offset), always inside the region. */
static uint32_t area_offset(uint8_t area, uint16_t off, uint8_t n)
{
    uint32_t bs = buf_size_of(cfg_bits), pos;
    switch (area % FZ_AREA_COUNT) {
    case FZ_AREA_DESC_H2R: pos = LB_VRING1_OFF + off % 1024u; break;
    case FZ_AREA_AVAIL_H2R: pos = LB_VRING1_OFF + 1024u + off % 134u; break;
    case FZ_AREA_USED_H2R: pos = LB_VRING1_OFF + 1184u + off % 518u; break;
    case FZ_AREA_DESC_R2H: pos = LB_VRING0_OFF + off % 1024u; break;
    case FZ_AREA_AVAIL_R2H: pos = LB_VRING0_OFF + 1024u + off % 134u; break;
    case FZ_AREA_USED_R2H: pos = LB_VRING0_OFF + 1184u + off % 518u; break;
    case FZ_AREA_HDR_H2R:   /* transmit buffers follow the rx_buf_count (64) receive ones */
        pos = LB_POOL_OFF + (64u + (off >> 4) % 32u) * bs + (off & 15u);
        break;
    case FZ_AREA_HDR_R2H: pos = LB_POOL_OFF + ((off >> 4) % 64u) * bs + (off & 15u); break;
    case FZ_AREA_TABLE: pos = off % LB_SHM_OFFSET; break;
    default: pos = off; break;
    }
    if (pos > LB_SHARED_SIZE - n)
        pos = LB_SHARED_SIZE - n;
    return pos;
}

static void race_fire(void *arg)
{
    (void)arg;
    if (!race.armed)
        return;
    race.armed = false;
    memcpy(lb.mem + race.off, race.bytes, race.n);
}

static struct side *side_of(const struct amp_rpmsg_endpoint *ept)
{
    return ept->dev == host.dev ? &host : &remote;
}

static int on_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                 void *priv)
{
    (void)priv;
    struct side *s = side_of(ept);
    race_fire(NULL);   /* the peer scribbles while we read */
    const struct amp_rpmsg_config *cfg = s->cfg;
    const uint8_t *p = data, *shm = cfg->shm;
    /* The whole message inside the region, behind a header, within one buffer. */
    FZ_CHECK(p >= shm + sizeof(struct amp_rpmsg_hdr) && p <= shm + cfg->shm_size);
    FZ_CHECK(len <= cfg->shm_size - (size_t)(p - shm));
    FZ_CHECK(len <= amp_rpmsg_max_payload(s->dev));
    if (s == &host) {
        /* The host's receive buffers are pool buffers 0 .. rx_count-1. */
        size_t at = (size_t)(p - sizeof(struct amp_rpmsg_hdr) - (const uint8_t *)cfg->buf_pool);
        FZ_CHECK(at % s->dev->buf_size == 0 && at / s->dev->buf_size < s->dev->rx_count);
    }
    /* Read all of it, as a user would (ASan and the checks above watch). */
    uint8_t copy[AMP_RPMSG_DEFAULT_BUF_SIZE];
    memcpy(copy, data, len < sizeof copy ? len : sizeof copy);
    s->rx_seen++;
    if (cfg_bits & FZ_CFG_ECHO) {
        int rc = amp_rpmsg_send_offchannel(ept, ept->addr, src, copy,
                                           len < sizeof copy ? len : sizeof copy, AMP_NO_WAIT);
        FZ_CHECK(rc >= 0 || rc == -AMP_ENOBUFS || rc == -AMP_EMSGSIZE || rc == -AMP_EBADMSG ||
                 rc == -AMP_ERANGE || rc == -AMP_ENOTCONN || rc == -AMP_EINVAL);
    }
    if ((cfg_bits & FZ_CFG_HOLD) && (s->rx_seen & 1u) && s->nheld < MAX_HELD) {
        s->held[s->nheld++] = data;
        return AMP_RPMSG_HOLD;
    }
    return AMP_RPMSG_RELEASE;
}

static void on_ns(struct amp_rpmsg_device *dev, const char *name, uint32_t addr, uint32_t flags,
                  void *priv)
{
    (void)dev;
    (void)addr;
    (void)priv;
    FZ_CHECK(memchr(name, 0, AMP_RPMSG_NAME_LEN) != NULL);
    FZ_CHECK(flags <= AMP_RPMSG_NS_DESTROY);
}

static bool send_error_ok(int rc)
{
    return rc == -AMP_ENOBUFS || rc == -AMP_ETIMEDOUT || rc == -AMP_EMSGSIZE ||
           rc == -AMP_ENOTCONN || rc == -AMP_EBADMSG || rc == -AMP_ERANGE || rc == -AMP_EINVAL;
}

static void make_endpoints(struct side *s, uint32_t base, uint32_t peer_base)
{
    for (unsigned i = 0; i < EPTS; i++)
        FZ_CHECK(amp_rpmsg_create_ept(&s->ept[i], s->dev, NULL, base + i, peer_base + i, on_rx,
                                      NULL, NULL) == 0);
    /* One named endpoint bound through the name service (when offered). */
    int rc = amp_rpmsg_create_ept(&s->named, s->dev, "fuzz", AMP_RPMSG_ADDR_ANY,
                                  AMP_RPMSG_ADDR_ANY, on_rx, NULL, NULL);
    FZ_CHECK(rc == 0 || rc == -AMP_ENOBUFS || send_error_ok(rc));
}

static int side_init(struct side *s)
{
    s->nheld = 0;
    s->corrupt = false;
    return amp_rpmsg_init(s->dev, s->cfg);
}

static void do_poll(struct side *s)
{
    int rc = amp_rpmsg_poll(s->dev);
    if (s->corrupt && s->dev->ready)
        FZ_CHECK(rc == -AMP_EBADMSG);
    if (rc == -AMP_EBADMSG)
        s->corrupt = true;
    FZ_CHECK(rc >= 0 || rc == -AMP_EBADMSG || rc == -AMP_ENOTCONN);
}

static struct amp_rpmsg_endpoint *pick_ept(struct side *s, uint8_t which)
{
    return (which & 3u) < EPTS ? &s->ept[which & 1u] : &s->named;
}

static void do_send(struct side *s, struct fz_input *in)
{
    uint8_t a = fz_u8(in), len = fz_u8(in);
    struct amp_rpmsg_endpoint *ept = pick_ept(s, a);
    uint8_t payload[256];
    for (unsigned i = 0; i < len; i++)
        payload[i] = (uint8_t)(i ^ a);
    int32_t timeout = (a >> 4) & 3u;   /* 0: once; else that many ms of (fake) time */
    int rc = amp_rpmsg_send(ept, payload, len, timeout);
    FZ_CHECK(rc == len || send_error_ok(rc));
}

static void do_zero_copy(struct side *s, struct fz_input *in)
{
    uint8_t a = fz_u8(in), len = fz_u8(in);
    uint32_t size = 0;
    int err = 0;
    void *buf = amp_rpmsg_get_tx_buffer(s->dev, &size, AMP_NO_WAIT, &err);
    if (!buf) {
        FZ_CHECK(err < 0 && send_error_ok(err));
        return;
    }
    /* The buffer handed out lies inside the region, with the capacity it claims. */
    const uint8_t *shm = s->cfg->shm;
    FZ_CHECK((uint8_t *)buf >= shm && (uint8_t *)buf <= shm + s->cfg->shm_size);
    FZ_CHECK(size <= s->cfg->shm_size - (size_t)((uint8_t *)buf - shm));
    if (len > size) {
        FZ_CHECK(amp_rpmsg_release_tx_buffer(s->dev, buf) == 0);
        return;
    }
    memset(buf, a, len);
    struct amp_rpmsg_endpoint *ept = pick_ept(s, a);
    int rc = amp_rpmsg_send_nocopy(ept, ept->addr, ept->dest_addr, buf, len);
    if (rc < 0) {
        FZ_CHECK(send_error_ok(rc));
        amp_rpmsg_release_tx_buffer(s->dev, buf);
    }
}

static void read_write(struct fz_input *in, uint32_t *off, uint8_t *n, uint8_t *bytes)
{
    uint8_t area = fz_u8(in);
    uint16_t o = fz_u16(in);
    *n = (uint8_t)(fz_u8(in) % 8u + 1u);
    for (unsigned i = 0; i < *n; i++)
        bytes[i] = fz_u8(in);
    *off = area_offset(area, o, *n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_input in = { data, size };
    cfg_bits = fz_u8(&in);
    uint32_t features = ((cfg_bits & FZ_CFG_NS) ? NS_FEATURE : 0) |
                        ((cfg_bits & FZ_CFG_EVENT_IDX) ? EVENT_IDX_FEATURE : 0);
    lb_setup(&lb, (cfg_bits & FZ_CFG_PHYS) ? AMP_ADDR_PHYS : AMP_ADDR_OFFSET,
             buf_size_of(cfg_bits), features);
    race.armed = false;
    memset(&host, 0, sizeof host);
    memset(&remote, 0, sizeof remote);
    host.dev = &lb.host;
    host.cfg = &lb.host_cfg;
    remote.dev = &lb.remote;
    remote.cfg = &lb.remote_cfg;
    fz_platform_init(&host.plat, race_fire);
    fz_platform_init(&remote.plat, race_fire);
    lb.host_cfg.platform = &host.plat.platform;
    lb.remote_cfg.platform = &remote.plat.platform;

    FZ_CHECK(side_init(&host) == 0);
    FZ_CHECK(side_init(&remote) == 0);
    amp_rpmsg_set_ns_callback(host.dev, on_ns, NULL);
    amp_rpmsg_set_ns_callback(remote.dev, on_ns, NULL);
    make_endpoints(&host, 0x400, 0x800);
    make_endpoints(&remote, 0x800, 0x400);

    for (unsigned steps = 0; fz_more(&in) && steps < 512; steps++) {
        uint8_t op = fz_u8(&in) % FZ_OP_COUNT;
        switch (op) {
        case FZ_OP_POLL_H: do_poll(&host); break;
        case FZ_OP_POLL_R: do_poll(&remote); break;
        case FZ_OP_SEND_H: do_send(&host, &in); break;
        case FZ_OP_SEND_R: do_send(&remote, &in); break;
        case FZ_OP_ZC_H: do_zero_copy(&host, &in); break;
        case FZ_OP_ZC_R: do_zero_copy(&remote, &in); break;
        case FZ_OP_RELEASE_H:
        case FZ_OP_RELEASE_R: {
            struct side *s = op == FZ_OP_RELEASE_H ? &host : &remote;
            if (s->nheld) {
                int rc = amp_rpmsg_release_rx_buffer(s->dev, s->held[--s->nheld]);
                FZ_CHECK(rc == 0 || rc == -AMP_EBADMSG || rc == -AMP_EINVAL ||
                         rc == -AMP_ERANGE);
            }
            break;
        }
        case FZ_OP_WRITE: {
            uint32_t off;
            uint8_t n, bytes[8];
            read_write(&in, &off, &n, bytes);
            memcpy(lb.mem + off, bytes, n);
            break;
        }
        case FZ_OP_RACE:
            read_write(&in, &race.off, &race.n, race.bytes);
            race.armed = true;
            break;
        case FZ_OP_ARM: {
            uint8_t a = fz_u8(&in);
            struct side *s = (a & 1u) ? &remote : &host;
            if (a & 2u)
                (void)amp_rpmsg_arm(s->dev);
            else
                amp_rpmsg_disarm(s->dev);
            break;
        }
        case FZ_OP_CORK:
            FZ_CHECK(amp_rpmsg_cork(host.dev, fz_u8(&in) & 1u) == 0);
            FZ_CHECK(amp_rpmsg_cork(remote.dev, true) == -AMP_ENOTSUP);
            break;
        case FZ_OP_REINIT: {
            struct side *s = (fz_u8(&in) & 1u) ? &remote : &host;
            int rc = side_init(s);
            FZ_CHECK(rc == 0 || rc == -AMP_EAGAIN || send_error_ok(rc));
            break;
        }
        }
    }
    amp_rpmsg_deinit(&lb.host);
    amp_rpmsg_deinit(&lb.remote);
    return 0;
}
