/*
 * RPMsg core: a host and a remote device in one process over one shared
 * buffer (see loopback.h). Wire compatibility, name service, data path,
 * zero-copy, timeouts, and a peer that writes garbage into shared memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "loopback.h"

#define NS_FEATURE (1u << AMP_VIRTIO_RPMSG_F_NS)

/* ---- Recording callbacks. ---- */
struct rx_log {
    unsigned count;
    uint32_t last_src;
    size_t last_len;
    uint8_t last[1024];
    void *held;          /* set by hold_cb */
    unsigned unbinds;
    uint32_t next_seq;   /* for ordered streams */
    bool order_ok;
};

static int log_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    struct rx_log *log = priv;
    log->count++;
    log->last_src = src;
    log->last_len = len;
    memcpy(log->last, data, len < sizeof(log->last) ? len : sizeof(log->last));
    return AMP_RPMSG_RELEASE;
}

static int hold_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct rx_log *log = priv;
    log_cb(ept, data, len, src, priv);
    log->held = data;
    return AMP_RPMSG_HOLD;
}

static void unbind_cb(struct amp_rpmsg_endpoint *ept, void *priv)
{
    (void)ept;
    ((struct rx_log *)priv)->unbinds++;
}

/* Echo back to the sender (the remote firmware's job in the real board). */
static int echo_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    int rc = amp_rpmsg_send_offchannel(ept, ept->addr, src, data, len, AMP_NO_WAIT);
    assert_int_equal(rc, (int)len);
    return AMP_RPMSG_RELEASE;
}

struct ns_log {
    unsigned creates, destroys;
    uint32_t addr;
    char name[AMP_RPMSG_NAME_LEN];
};

static void ns_cb(struct amp_rpmsg_device *dev, const char *name, uint32_t addr, uint32_t flags,
                  void *priv)
{
    (void)dev;
    struct ns_log *log = priv;
    if (flags == AMP_RPMSG_NS_CREATE)
        log->creates++;
    else
        log->destroys++;
    log->addr = addr;
    snprintf(log->name, sizeof(log->name), "%s", name);
}

static struct lb_pair *new_pair(enum amp_rpmsg_addr_mode mode, uint32_t buf_size)
{
    struct lb_pair *lb = malloc(sizeof(*lb));
    assert_non_null(lb);
    lb_setup(lb, mode, buf_size, NS_FEATURE);
    return lb;
}

static void up_both(struct lb_pair *lb)
{
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), 0);
}

/* ---- Start-up. ---- */

static void test_remote_waits_for_driver_ok(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    /* Before the host runs, the remote must not attach, and must not spin forever. */
    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), -AMP_EAGAIN);
    uint32_t before = lb->clock;
    assert_int_equal(amp_rpmsg_wait_ready(&lb->remote, &lb->remote_cfg, 50), -AMP_ETIMEDOUT);
    assert_true(lb->clock - before >= 50);
    assert_false(lb->remote.ready);

    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    struct amp_rsc_vdev *vdev = lb->host_cfg.vdev;
    assert_int_equal(vdev->status, 0x0F);               /* ACK|DRIVER|FEATURES_OK|DRIVER_OK */
    assert_int_equal(vdev->gfeatures, NS_FEATURE);
    assert_true(lb->host_side.notifies >= 1);           /* the host rang after DRIVER_OK */
    assert_int_equal(amp_rpmsg_wait_ready(&lb->remote, &lb->remote_cfg, 50), 0);
    assert_true(lb->remote.ready);
    assert_true(lb->remote.ns_enabled);
    free(lb);
}

static void test_host_layout_micropython(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    /* vring 0 (0x38001400) holds 64 posted receive buffers, addresses as offsets
     * from 0x38000400: the first buffer at 0x38002400 is offset 0x2000. */
    const struct amp_vring_desc *desc = (const void *)(lb->mem + LB_VRING0_OFF);
    for (unsigned i = 0; i < 64; i++) {
        assert_int_equal(desc[i].addr, 0x2000u + 512u * i);
        assert_int_equal(desc[i].len, 512);
        assert_int_equal(desc[i].flags, AMP_VRING_DESC_F_WRITE);
    }
    const struct amp_vring_avail *avail = (const void *)(lb->mem + LB_VRING0_OFF + 16 * 64);
    assert_int_equal(avail->idx, 64);
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(avail->ring[i], i);
    /* 110 buffers in all: 64 receive, 46 transmit. */
    assert_int_equal(lb->host.rx_count, 64);
    assert_int_equal(lb->host.tx_count, 46);
    free(lb);
}

static void test_host_layout_physical(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_PHYS, 0);
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    const struct amp_vring_desc *desc = (const void *)(lb->mem + LB_VRING0_OFF);
    assert_int_equal(desc[0].addr, 0x38002400u);
    assert_int_equal(desc[63].addr, 0x38002400u + 63u * 512u);
    free(lb);
}

/*
 * A 64-byte gap after every 4 KiB of 512-byte buffers (as the H747 layout
 * has, for cached memory): where the buffers lie, that the pool with its
 * gaps must fit, and that a pointer into a gap is no buffer.
 */
static void test_host_pool_gaps(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    lb->host_cfg.buf_gap = 64;
    lb->host_cfg.buf_count = 110;   /* packed they fit exactly; with gaps, not */
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), -AMP_ERANGE);
    lb->host_cfg.buf_gap = 2;       /* would misalign the headers */
    lb->host_cfg.buf_count = 108;
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), -AMP_EINVAL);
    /* Larger than shm, refused even when the pool is one group and has no gap. */
    lb->host_cfg.buf_gap = 0x20000;
    lb->host_cfg.buf_count = 8;
    lb->host_cfg.rx_buf_count = 4;
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), -AMP_EINVAL);
    lb->host_cfg.rx_buf_count = 64;
    lb->host_cfg.buf_count = 108;
    lb->host_cfg.buf_gap = 64;
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    assert_int_equal(lb->host.rx_count, 64);
    assert_int_equal(lb->host.tx_count, 44);
    const struct amp_vring_desc *desc = (const void *)(lb->mem + LB_VRING0_OFF);
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(desc[i].addr, 0x2000u + 512u * i + 64u * (i / 8));

    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hold = {0};
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, "g", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, hold_cb, NULL, &hold), 0);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, "g", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    lb_settle(lb);
    /* The name service took receive buffer 0; eight more reach buffer 8,
     * the first after a gap. Each is held, then given back by its address. */
    uint8_t *pool = lb->mem + LB_POOL_OFF;
    for (unsigned i = 1; i <= 8; i++) {
        assert_int_equal(amp_rpmsg_send(&rept, "x", 1, AMP_NO_WAIT), 1);
        amp_rpmsg_poll(&lb->host);
        assert_ptr_equal(hold.held, pool + 512u * i + 64u * (i / 8) + 16u);
        assert_int_equal(amp_rpmsg_release_rx_buffer(&lb->host, hold.held), 0);
        assert_int_equal(desc[i].addr, 0x2000u + 512u * i + 64u * (i / 8));
    }
    /* Where a ninth buffer would be if there were no gap: inside it. */
    assert_int_equal(amp_rpmsg_release_rx_buffer(&lb->host, pool + 8u * 512u + 16u), -AMP_EINVAL);

    /* Transmit buffers follow the 64 receive ones, in group 8 and on. */
    int err = 0;
    uint32_t size = 0;
    uint8_t *tx = amp_rpmsg_get_tx_buffer(&lb->host, &size, AMP_NO_WAIT, &err);
    assert_ptr_equal(tx, pool + 8u * (4096u + 64u) + 16u);
    assert_int_equal(amp_rpmsg_release_tx_buffer(&lb->host, tx), 0);
    assert_int_equal(amp_rpmsg_release_tx_buffer(&lb->host, pool + 8u * 4160u + 4096u + 16u),
                     -AMP_EINVAL);
    /* The last transmit buffer, index 107, ends inside the region. */
    const uint8_t *last = pool + 107u * 512u + 13u * 64u;
    assert_true(last + 512u <= lb->mem + LB_SHARED_SIZE);
    for (unsigned i = 0; i < 44; i++) {
        tx = amp_rpmsg_get_tx_buffer(&lb->host, &size, AMP_NO_WAIT, &err);
        assert_non_null(tx);
    }
    assert_ptr_equal(tx, last + 16u);
    assert_null(amp_rpmsg_get_tx_buffer(&lb->host, &size, AMP_NO_WAIT, &err));
    free(lb);
}

/* ---- Name service. ---- */

static void test_ns_host_endpoint_first(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct rx_log hlog = {0}, rlog = {0};
    struct amp_rpmsg_endpoint hept, rept;
    /* Host endpoint exists before the host device is even up (MicroPython's order). */
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, unbind_cb, &hlog), 0);
    assert_int_equal(hept.addr, 1024);
    assert_false(amp_rpmsg_ept_is_ready(&hept));
    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), 0);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, unbind_cb, &rlog), 0);
    lb_settle(lb);
    assert_true(amp_rpmsg_ept_is_ready(&hept));
    assert_true(amp_rpmsg_ept_is_ready(&rept));
    assert_int_equal(hept.dest_addr, rept.addr);
    assert_int_equal(rept.dest_addr, hept.addr);
    assert_int_equal(amp_rpmsg_send(&hept, "hi", 2, AMP_NO_WAIT), 2);
    lb_settle(lb);
    assert_int_equal(rlog.count, 1);
    assert_memory_equal(rlog.last, "hi", 2);
    assert_int_equal(rlog.last_src, hept.addr);
    free(lb);
}

static void test_ns_remote_announces_first(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct ns_log nslog = {0};
    struct rx_log hlog = {0}, rlog = {0};
    struct amp_rpmsg_endpoint hept, rept;
    up_both(lb);
    amp_rpmsg_set_ns_callback(&lb->host, ns_cb, &nslog);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, "sensor", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, NULL, &rlog), 0);
    lb_settle(lb);
    /* The host has no "sensor" endpoint: the new-service callback hears of it. */
    assert_int_equal(nslog.creates, 1);
    assert_string_equal(nslog.name, "sensor");
    assert_int_equal(nslog.addr, rept.addr);
    /* The user answers by creating an endpoint with dest = addr, as the seed says. */
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, "sensor", AMP_RPMSG_ADDR_ANY,
                                          nslog.addr, log_cb, NULL, &hlog), 0);
    assert_true(amp_rpmsg_ept_is_ready(&hept));
    assert_int_equal(amp_rpmsg_send(&hept, "ping", 4, AMP_NO_WAIT), 4);
    lb_settle(lb);
    assert_int_equal(rlog.count, 1);
    /* The remote endpoint learns the host's address from the first message. */
    assert_int_equal(rept.dest_addr, hept.addr);
    assert_int_equal(amp_rpmsg_send(&rept, "pong", 4, AMP_NO_WAIT), 4);
    lb_settle(lb);
    assert_int_equal(hlog.count, 1);
    assert_memory_equal(hlog.last, "pong", 4);
    free(lb);
}

static void test_ns_remote_first_then_host_endpoint_binds(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_PHYS, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    up_both(lb);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, "chan", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, NULL, &rlog), 0);
    /* The host creates its endpoint before processing the announcement. */
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, "chan", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, NULL, &hlog), 0);
    lb_settle(lb);
    assert_int_equal(hept.dest_addr, rept.addr);
    assert_int_equal(rept.dest_addr, hept.addr);
    free(lb);
}

static void test_endpoint_destroy_unbinds_peer(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    struct ns_log nslog = {0};
    up_both(lb);
    amp_rpmsg_set_ns_callback(&lb->host, ns_cb, &nslog);
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, "chan", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, unbind_cb, &hlog), 0);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, "chan", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, unbind_cb, &rlog), 0);
    lb_settle(lb);
    assert_true(amp_rpmsg_ept_is_ready(&hept));
    assert_int_equal(amp_rpmsg_destroy_ept(&rept), 0);
    lb_settle(lb);
    assert_int_equal(hlog.unbinds, 1);
    assert_false(amp_rpmsg_ept_is_ready(&hept));
    assert_int_equal(amp_rpmsg_send(&hept, "x", 1, AMP_NO_WAIT), -AMP_ENOTCONN);
    /* A destroy for a name we have no endpoint for reaches the ns callback. */
    struct amp_rpmsg_endpoint other;
    assert_int_equal(amp_rpmsg_create_ept(&other, &lb->remote, "other", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    lb_settle(lb);
    assert_int_equal(amp_rpmsg_destroy_ept(&other), 0);
    lb_settle(lb);
    assert_int_equal(nslog.creates, 1);
    assert_int_equal(nslog.destroys, 1);
    assert_string_equal(nslog.name, "other");
    /* Destroying twice is a caller error, not a crash. */
    assert_int_equal(amp_rpmsg_destroy_ept(&rept), -AMP_EINVAL);
    free(lb);
}

static void test_address_allocation(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint a, b, c, d;
    up_both(lb);
    assert_int_equal(amp_rpmsg_create_ept(&a, &lb->host, NULL, AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    assert_int_equal(a.addr, 1024);
    assert_int_equal(amp_rpmsg_create_ept(&b, &lb->host, NULL, 1025, AMP_RPMSG_ADDR_ANY, NULL,
                                          NULL, NULL), 0);
    /* ANY skips the taken 1025. */
    assert_int_equal(amp_rpmsg_create_ept(&c, &lb->host, NULL, AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    assert_int_equal(c.addr, 1026);
    assert_int_equal(amp_rpmsg_create_ept(&d, &lb->host, NULL, 1025, AMP_RPMSG_ADDR_ANY, NULL,
                                          NULL, NULL), -AMP_EADDRINUSE);
    assert_int_equal(amp_rpmsg_create_ept(&d, &lb->host, NULL, AMP_RPMSG_NS_ADDR,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), -AMP_EADDRINUSE);
    /* A freed address can be taken again explicitly. */
    amp_rpmsg_destroy_ept(&b);
    assert_int_equal(amp_rpmsg_create_ept(&d, &lb->host, NULL, 1025, AMP_RPMSG_ADDR_ANY, NULL,
                                          NULL, NULL), 0);
    /* Names of 32 bytes or more do not fit the wire's 32 with NUL. */
    char long_name[40];
    memset(long_name, 'n', sizeof(long_name));
    long_name[32] = 0;
    assert_int_equal(amp_rpmsg_create_ept(&b, &lb->host, long_name, AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), -AMP_EINVAL);
    long_name[31] = 0;
    assert_int_equal(amp_rpmsg_create_ept(&b, &lb->host, long_name, AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    free(lb);
}

/* ---- Data path. ---- */

struct stream {
    struct rx_log log;
    uint32_t expect;
    size_t bytes;
};

static int stream_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    (void)src;
    struct stream *s = priv;
    uint32_t seq;
    assert_true(len >= sizeof(seq));
    memcpy(&seq, data, sizeof(seq));
    if (seq != s->expect)
        fail_msg("out of order: got %u, expected %u", seq, s->expect);
    /* The rest of the payload is a pattern derived from seq. */
    const uint8_t *p = data;
    for (size_t i = sizeof(seq); i < len; i++)
        if (p[i] != (uint8_t)(seq + i))
            fail_msg("message %u corrupted at byte %zu", seq, i);
    if (len != 4 + seq % 200)
        fail_msg("message %u has length %zu", seq, len);
    s->expect++;
    s->bytes += len;
    return AMP_RPMSG_RELEASE;
}

static void fill_msg(uint8_t *buf, uint32_t seq, size_t *len)
{
    *len = 4 + seq % 200;
    memcpy(buf, &seq, 4);
    for (size_t i = 4; i < *len; i++)
        buf[i] = (uint8_t)(seq + i);
}

static void stream_both_ways(enum amp_rpmsg_addr_mode mode, uint32_t buf_gap)
{
    struct lb_pair *lb = new_pair(mode, 0);
    if (buf_gap) {
        lb->host_cfg.buf_gap = buf_gap;
        lb->host_cfg.buf_count = 108;   /* what fits with the gaps */
    }
    struct amp_rpmsg_endpoint hept, rept;
    struct stream hs = {0}, rs = {0};
    up_both(lb);
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, "s", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, stream_cb, NULL, &hs), 0);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, "s", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, stream_cb, NULL, &rs), 0);
    lb_settle(lb);
    /* While waiting for a buffer each side lets the other run, as two cores would. */
    lb->host_side.pump = lb->remote_side.pump = true;
    const uint32_t total = 100000;
    uint8_t buf[512];
    size_t len;
    for (uint32_t seq = 0; seq < total; seq++) {
        fill_msg(buf, seq, &len);
        assert_int_equal(amp_rpmsg_send(&hept, buf, len, 1000), (int)len);
        assert_int_equal(amp_rpmsg_send(&rept, buf, len, 1000), (int)len);
        if (seq % 7 == 0)
            amp_rpmsg_poll(&lb->host);   /* irregular draining exercises partial rings */
    }
    lb_settle(lb);
    assert_int_equal(hs.expect, total);
    assert_int_equal(rs.expect, total);
    /* 16-bit ring indices wrapped many times. */
    assert_true(lb->host.tx_vring.next_idx != (uint16_t)total || total > 65536);
    assert_int_equal(lb->host.rx_dropped, 0);
    assert_int_equal(lb->remote.rx_dropped, 0);
    free(lb);
}

static void test_stream_100k_offset_mode(void **state)
{
    (void)state;
    stream_both_ways(AMP_ADDR_OFFSET, 0);
}

static void test_stream_100k_physical_mode(void **state)
{
    (void)state;
    stream_both_ways(AMP_ADDR_PHYS, 0);
}

/* The same over a pool with a gap after every 4 KiB: every buffer's address
 * goes through the group arithmetic, receive and transmit halves alike. */
static void test_stream_100k_gapped_pool(void **state)
{
    (void)state;
    stream_both_ways(AMP_ADDR_OFFSET, 64);
}

static void bound_pair(struct lb_pair *lb, struct amp_rpmsg_endpoint *hept,
                       struct amp_rpmsg_endpoint *rept, amp_rpmsg_rx_cb hcb, void *hpriv,
                       amp_rpmsg_rx_cb rcb, void *rpriv)
{
    up_both(lb);
    assert_int_equal(amp_rpmsg_create_ept(hept, &lb->host, "c", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, hcb, NULL, hpriv), 0);
    assert_int_equal(amp_rpmsg_create_ept(rept, &lb->remote, "c", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, rcb, NULL, rpriv), 0);
    lb_settle(lb);
    assert_true(amp_rpmsg_ept_is_ready(hept));
    assert_true(amp_rpmsg_ept_is_ready(rept));
}

/* Send one-byte messages without waiting until no buffer is free: how many went. */
static int send_until_full(struct amp_rpmsg_endpoint *ept, const char *msg)
{
    int sent = 0;
    while (amp_rpmsg_send(ept, msg, 1, AMP_NO_WAIT) == 1)
        sent++;
    return sent;
}

/*
 * A peer that gives buffers back without a doorbell (rpmsg-lite's default,
 * OpenAMP): a send that waits for one finds it within a poll interval, not
 * at the end of its timeout. The fake clock adds up what the waits slept.
 */
static void test_send_finds_silently_returned_buffers(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, log_cb, &rlog);
    lb->host_side.pump = lb->remote_side.pump = true;
    lb->host_side.silent = lb->remote_side.silent = true;
    struct amp_rpmsg_endpoint *from[2] = { &hept, &rept };
    for (int side = 0; side < 2; side++) {
        int sent = send_until_full(from[side], "a");
        assert_true(sent > 0);
        uint32_t t0 = lb->clock;
        assert_int_equal(amp_rpmsg_send(from[side], "b", 1, 1000), 1);
        assert_in_range(lb->clock - t0, 1, 2);
        sent += 1 + send_until_full(from[side], "a");
        t0 = lb->clock;
        assert_int_equal(amp_rpmsg_send(from[side], "c", 1, AMP_WAIT_FOREVER), 1);
        assert_in_range(lb->clock - t0, 1, 2);
        sent++;
        lb_settle(lb);
        assert_int_equal(side ? hlog.count : rlog.count, (unsigned)sent);
    }
    free(lb);
}

static void test_buffer_exhaustion_and_timeouts(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, log_cb, &rlog);
    /* The remote is stuck: it consumes nothing. The host has 46 transmit buffers. */
    assert_int_equal(send_until_full(&hept, "x"), 46);
    uint32_t before = lb->clock;
    unsigned waits = lb->host_side.waits;
    assert_int_equal(amp_rpmsg_send(&hept, "x", 1, AMP_NO_WAIT), -AMP_ENOBUFS);
    assert_int_equal(lb->clock, before);                  /* timeout 0: no waiting at all */
    assert_int_equal(lb->host_side.waits, waits);
    assert_int_equal(amp_rpmsg_send(&hept, "x", 1, 25), -AMP_ETIMEDOUT);
    assert_true(lb->clock - before >= 25);                /* waited out its timeout */
    assert_true(lb->clock - before < 25 + 1000);
    /* A dead peer ends even an infinite wait. */
    lb->host_side.wait_result = -AMP_ENODEV;
    assert_int_equal(amp_rpmsg_send(&hept, "x", 1, AMP_WAIT_FOREVER), -AMP_ENODEV);
    lb->host_side.wait_result = 0;
    /* Once the remote catches up, buffers come back. */
    lb_settle(lb);
    assert_int_equal(rlog.count, 46);
    assert_int_equal(amp_rpmsg_send(&hept, "y", 1, AMP_NO_WAIT), 1);
    /* The same holds the other way: the host stops draining. */
    assert_int_equal(send_until_full(&rept, "z"), 64);        /* the 64 receive buffers the host posted */
    assert_int_equal(amp_rpmsg_send(&rept, "z", 1, 10), -AMP_ETIMEDOUT);
    free(lb);
}

/*
 * What the host sees of the remote's receive ring (its used index) from
 * inside the remote's callbacks: buffers go back in batches of 16 and at
 * the end of a poll, and all of them before the remote waits for a buffer
 * of its own (or a host that waits for them to send would never free one).
 */
struct batch_log {
    struct amp_rpmsg_device *remote;
    struct amp_rpmsg_endpoint *ept;
    uint16_t start;               /* the used index before the poll */
    unsigned count;
    uint16_t seen[64];            /* used index - start, per message */
    int send_rc[64];
    bool try_send;
};

static uint16_t remote_rx_used(struct amp_rpmsg_device *remote)
{
    return amp_le16(AMP_READ_ONCE(remote->rx_vring.used->idx));
}

static int batch_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                    void *priv)
{
    (void)data;
    (void)len;
    (void)src;
    struct batch_log *log = priv;
    if (log->try_send)
        log->send_rc[log->count] = amp_rpmsg_send(ept, "s", 1, AMP_NO_WAIT);
    log->seen[log->count++] = (uint16_t)(remote_rx_used(log->remote) - log->start);
    return AMP_RPMSG_RELEASE;
}

static void test_remote_returns_received_in_batches(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0};
    struct batch_log blog = { .remote = &lb->remote };
    bound_pair(lb, &hept, &rept, log_cb, &hlog, batch_cb, &blog);
    for (int i = 0; i < 40; i++)
        assert_int_equal(amp_rpmsg_send(&hept, "b", 1, AMP_NO_WAIT), 1);
    blog.start = remote_rx_used(&lb->remote);
    assert_int_equal(amp_rpmsg_poll(&lb->remote), 40);
    for (unsigned k = 0; k < 40; k++)
        assert_int_equal(blog.seen[k], k / 16 * 16);
    assert_int_equal(remote_rx_used(&lb->remote) - blog.start, 40);   /* all, at the end */
    /* The host has all 46 of its buffers back. */
    assert_int_equal(send_until_full(&hept, "x"), 46);
    free(lb);
}

static void test_remote_gives_back_received_before_waiting(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0};
    struct batch_log blog = { .remote = &lb->remote };
    bound_pair(lb, &hept, &rept, log_cb, &hlog, batch_cb, &blog);
    /* The host stops draining: the remote's 64 transmit buffers are used up. */
    assert_int_equal(send_until_full(&rept, "z"), 64);
    for (int i = 0; i < 5; i++)
        assert_int_equal(amp_rpmsg_send(&hept, "b", 1, AMP_NO_WAIT), 1);
    blog.start = remote_rx_used(&lb->remote);
    blog.try_send = true;
    assert_int_equal(amp_rpmsg_poll(&lb->remote), 5);
    for (unsigned k = 0; k < 5; k++) {
        assert_int_equal(blog.send_rc[k], -AMP_ENOBUFS);
        assert_int_equal(blog.seen[k], k);   /* the ones before it are the host's again */
    }
    free(lb);
}

/* With always_notify (rpmsg-lite's master), each buffer handed back rings
 * once, and a poll that found nothing rings not at all. */
static void test_always_notify_rings_only_for_news(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    lb->remote_cfg.always_notify = true;
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, log_cb, &rlog);
    unsigned rings = lb->remote_side.notifies;
    for (int i = 0; i < 10; i++)
        assert_int_equal(amp_rpmsg_poll(&lb->remote), 0);
    assert_int_equal(lb->remote_side.notifies, rings);
    assert_int_equal(amp_rpmsg_send(&hept, "a", 1, AMP_NO_WAIT), 1);
    assert_int_equal(amp_rpmsg_poll(&lb->remote), 1);
    assert_int_equal(lb->remote_side.notifies, rings + 1);
    assert_int_equal(amp_rpmsg_poll(&lb->remote), 0);
    assert_int_equal(lb->remote_side.notifies, rings + 1);
    free(lb);
}

static void test_oversize_and_empty(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, log_cb, &rlog);
    static uint8_t big[600];
    memset(big, 0xA5, sizeof(big));
    assert_int_equal(amp_rpmsg_max_payload(&lb->host), 496);
    assert_int_equal(amp_rpmsg_send(&hept, big, 497, AMP_NO_WAIT), -AMP_EMSGSIZE);
    assert_int_equal(amp_rpmsg_send(&rept, big, 497, AMP_NO_WAIT), -AMP_EMSGSIZE);
    assert_int_equal(amp_rpmsg_send(&hept, big, 496, AMP_NO_WAIT), 496);
    lb_settle(lb);
    assert_int_equal(rlog.count, 1);
    assert_int_equal(rlog.last_len, 496);
    assert_memory_equal(rlog.last, big, 496);
    /* An empty payload is one message. */
    assert_int_equal(amp_rpmsg_send(&rept, "", 0, AMP_NO_WAIT), 0);
    assert_int_equal(amp_rpmsg_send(&hept, NULL, 0, AMP_NO_WAIT), 0);
    lb_settle(lb);
    assert_int_equal(hlog.count, 1);
    assert_int_equal(hlog.last_len, 0);
    assert_int_equal(rlog.count, 2);
    assert_int_equal(rlog.last_len, 0);
    free(lb);
}

static void test_configurable_buffer_size(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_PHYS, 2048);
    lb->host_cfg.rx_buf_count = 8;
    lb->remote_cfg.buf_size = 2048;
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, log_cb, &rlog);
    static uint8_t big[2032];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(amp_rpmsg_max_payload(&lb->host), 2032);
    assert_int_equal(amp_rpmsg_send(&rept, big, 1000, AMP_NO_WAIT), 1000);
    assert_int_equal(amp_rpmsg_send(&hept, big, 1024, AMP_NO_WAIT), 1024);
    lb_settle(lb);
    assert_int_equal(hlog.last_len, 1000);
    assert_memory_equal(hlog.last, big, 1000);
    assert_int_equal(rlog.last_len, 1024);
    assert_memory_equal(rlog.last, big, 1024);
    assert_int_equal(amp_rpmsg_send(&hept, big, 2033, AMP_NO_WAIT), -AMP_EMSGSIZE);
    free(lb);
}

static void test_zero_copy(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, hold_cb, &rlog);
    int err = 0;
    uint32_t size = 0;
    /* Host: fill a transmit buffer in place and send it. */
    char *buf = amp_rpmsg_get_tx_buffer(&lb->host, &size, AMP_NO_WAIT, &err);
    assert_non_null(buf);
    assert_int_equal(size, 496);
    memcpy(buf, "in place", 8);
    assert_int_equal(amp_rpmsg_send_nocopy(&hept, hept.addr, hept.dest_addr, buf, 8), 8);
    /* Give an unused one back: it is the next one handed out. */
    char *unused = amp_rpmsg_get_tx_buffer(&lb->host, &size, AMP_NO_WAIT, &err);
    assert_non_null(unused);
    assert_int_equal(amp_rpmsg_release_tx_buffer(&lb->host, unused), 0);
    char *again = amp_rpmsg_get_tx_buffer(&lb->host, &size, AMP_NO_WAIT, &err);
    assert_ptr_equal(again, unused);
    assert_int_equal(amp_rpmsg_release_tx_buffer(&lb->host, again), 0);
    /* Not a transmit buffer at all. */
    static char garbage[600];
    assert_int_equal(amp_rpmsg_release_tx_buffer(&lb->host, garbage + 16), -AMP_EINVAL);

    /* Remote: the callback holds the buffer; it is not returned until released. */
    amp_rpmsg_poll(&lb->remote);
    assert_int_equal(rlog.count, 1);
    assert_non_null(rlog.held);
    assert_memory_equal(rlog.held, "in place", 8);
    uint16_t used_before = lb->remote.rx_vring.next_idx;
    amp_rpmsg_poll(&lb->remote);
    assert_int_equal(lb->remote.rx_vring.next_idx, used_before);
    assert_int_equal(amp_rpmsg_release_rx_buffer(&lb->remote, rlog.held), 0);
    assert_int_equal(lb->remote.rx_vring.next_idx, (uint16_t)(used_before + 1));

    /* Remote zero-copy send, and a remote give-back. */
    char *rbuf = amp_rpmsg_get_tx_buffer(&lb->remote, &size, AMP_NO_WAIT, &err);
    assert_non_null(rbuf);
    assert_int_equal(size, 496);
    assert_int_equal(amp_rpmsg_release_tx_buffer(&lb->remote, rbuf), 0);
    rbuf = amp_rpmsg_get_tx_buffer(&lb->remote, &size, AMP_NO_WAIT, &err);
    assert_non_null(rbuf);
    memcpy(rbuf, "back", 4);
    assert_int_equal(amp_rpmsg_send_nocopy(&rept, rept.addr, rept.dest_addr, rbuf, 4), 4);
    amp_rpmsg_poll(&lb->host);
    assert_int_equal(hlog.count, 1);
    assert_memory_equal(hlog.last, "back", 4);

    /* Host side hold/release of a receive buffer. */
    struct rx_log hold = {0};
    hept.rx_cb = hold_cb;
    hept.priv = &hold;
    assert_int_equal(amp_rpmsg_send(&rept, "h", 1, AMP_NO_WAIT), 1);
    amp_rpmsg_poll(&lb->host);
    assert_non_null(hold.held);
    uint16_t avail_before = lb->host.rx_vring.next_idx;
    assert_int_equal(amp_rpmsg_release_rx_buffer(&lb->host, hold.held), 0);
    assert_int_equal(lb->host.rx_vring.next_idx, (uint16_t)(avail_before + 1));
    assert_int_equal(amp_rpmsg_release_rx_buffer(&lb->host, (char *)hold.held + 1), -AMP_EINVAL);
    free(lb);
}

static void test_echo_from_callback(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, echo_cb, NULL);
    for (int i = 0; i < 1000; i++) {
        char msg[16];
        int n = snprintf(msg, sizeof(msg), "m%d", i);
        assert_int_equal(amp_rpmsg_send(&hept, msg, (size_t)n, AMP_NO_WAIT), n);
        lb_settle(lb);
        assert_int_equal(hlog.count, (unsigned)i + 1);
        assert_int_equal(hlog.last_len, (size_t)n);
        assert_memory_equal(hlog.last, msg, (size_t)n);
    }
    free(lb);
}

static void test_reset_and_reinit_rebinds(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, "c", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, unbind_cb, &hlog), 0);
    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), 0);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, "c", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, NULL, &rlog), 0);
    lb_settle(lb);
    assert_true(amp_rpmsg_ept_is_ready(&hept));
    /* The remote core restarts: the host resets and re-inits its rings. */
    amp_rpmsg_reset(&lb->host);
    assert_int_equal(hlog.unbinds, 1);
    assert_false(amp_rpmsg_ept_is_ready(&hept));
    memset(&lb->remote, 0, sizeof(lb->remote));
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), 0);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, "c", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, NULL, &rlog), 0);
    lb_settle(lb);
    /* The host endpoint was re-announced and bound again. */
    assert_true(amp_rpmsg_ept_is_ready(&hept));
    assert_true(amp_rpmsg_ept_is_ready(&rept));
    assert_int_equal(amp_rpmsg_send(&hept, "again", 5, AMP_NO_WAIT), 5);
    lb_settle(lb);
    assert_memory_equal(rlog.last, "again", 5);
    free(lb);
}

/* Init again on a live link (recovery from a corrupt ring) keeps what endpoints learnt. */
static void test_reinit_live_device_keeps_bindings(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), 0);
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, "c", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_cb, unbind_cb, &hlog), 0);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, NULL, 40, AMP_RPMSG_ADDR_ANY,
                                          log_cb, unbind_cb, &rlog), 0);
    lb_settle(lb);
    assert_int_equal(amp_rpmsg_send_offchannel(&hept, hept.addr, 40, "hi", 2, AMP_NO_WAIT), 2);
    lb_settle(lb);
    assert_int_equal(rept.dest_addr, hept.addr);     /* learnt from the first message */
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), 0);
    lb_settle(lb);
    assert_int_equal(rlog.unbinds, 0);
    assert_int_equal(rept.dest_addr, hept.addr);
    assert_int_equal(amp_rpmsg_send(&rept, "back", 4, AMP_NO_WAIT), 4);
    lb_settle(lb);
    assert_memory_equal(hlog.last, "back", 4);
    /* A reset is what forgets the peer. */
    amp_rpmsg_reset(&lb->remote);
    assert_int_equal(rlog.unbinds, 1);
    assert_int_equal(rept.dest_addr, AMP_RPMSG_ADDR_ANY);
    free(lb);
}

static void test_event_idx_suppresses_notifications(void **state)
{
    (void)state;
    struct lb_pair *lb = malloc(sizeof(*lb));
    lb_setup(lb, AMP_ADDR_OFFSET, 0, NS_FEATURE | (1u << AMP_VIRTIO_F_EVENT_IDX));
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, log_cb, &rlog);
    assert_true(lb->host.rx_vring.event_idx);
    assert_true(lb->remote.rx_vring.event_idx);
    /* The remote polls: it asks for no doorbells, and the host rings none. */
    amp_rpmsg_disarm(&lb->remote);
    unsigned rings = lb->host_side.notifies;
    for (int i = 0; i < 10; i++)
        assert_int_equal(amp_rpmsg_send(&hept, "p", 1, AMP_NO_WAIT), 1);
    assert_int_equal(lb->host_side.notifies, rings);
    /* Re-arming reports the pending messages, and the next one rings once. */
    assert_true(amp_rpmsg_arm(&lb->remote));
    assert_int_equal(amp_rpmsg_poll(&lb->remote), 10);
    assert_false(amp_rpmsg_arm(&lb->remote));
    assert_int_equal(amp_rpmsg_send(&hept, "p", 1, AMP_NO_WAIT), 1);
    assert_int_equal(lb->host_side.notifies, rings + 1);
    assert_int_equal(amp_rpmsg_send(&hept, "p", 1, AMP_NO_WAIT), 1);
    assert_int_equal(lb->host_side.notifies, rings + 1);   /* one ring per batch seen */
    lb_settle(lb);
    assert_int_equal(rlog.count, 12);
    free(lb);
}

static void test_flag_suppression_without_event_idx(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, log_cb, &rlog);
    amp_rpmsg_disarm(&lb->remote);
    unsigned rings = lb->host_side.notifies;
    assert_int_equal(amp_rpmsg_send(&hept, "p", 1, AMP_NO_WAIT), 1);
    assert_int_equal(lb->host_side.notifies, rings);
    assert_true(amp_rpmsg_arm(&lb->remote));
    assert_int_equal(amp_rpmsg_send(&hept, "p", 1, AMP_NO_WAIT), 1);
    assert_int_equal(lb->host_side.notifies, rings + 1);
    free(lb);
}

static void test_cork_batches_doorbells(void **state)
{
    (void)state;
    struct lb_pair *lb = new_pair(AMP_ADDR_OFFSET, 0);
    struct amp_rpmsg_endpoint hept, rept;
    struct rx_log hlog = {0}, rlog = {0};
    bound_pair(lb, &hept, &rept, log_cb, &hlog, log_cb, &rlog);
    assert_int_equal(amp_rpmsg_cork(&lb->remote, true), -AMP_ENOTSUP);
    unsigned rings = lb->host_side.notifies;
    assert_int_equal(amp_rpmsg_cork(&lb->host, true), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(amp_rpmsg_send(&hept, "c", 1, AMP_NO_WAIT), 1);
    assert_int_equal(lb->host_side.notifies, rings);        /* nothing rung yet */
    assert_int_equal(amp_rpmsg_poll(&lb->remote), 5);       /* but all published */
    assert_int_equal(amp_rpmsg_cork(&lb->host, false), 0);
    assert_int_equal(lb->host_side.notifies, rings + 1);    /* one ring for the batch */
    assert_int_equal(amp_rpmsg_cork(&lb->host, false), 0);
    assert_int_equal(lb->host_side.notifies, rings + 1);    /* nothing new: no ring */
    /* Corked until the buffers run out: the send that finds none rings first. */
    assert_int_equal(amp_rpmsg_cork(&lb->host, true), 0);
    assert_int_equal(send_until_full(&hept, "c"), 46);
    assert_int_equal(lb->host_side.notifies, rings + 2);
    lb_settle(lb);
    assert_int_equal(rlog.count, 5 + 46);
    free(lb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_waits_for_driver_ok),
        cmocka_unit_test(test_remote_returns_received_in_batches),
        cmocka_unit_test(test_remote_gives_back_received_before_waiting),
        cmocka_unit_test(test_always_notify_rings_only_for_news),
        cmocka_unit_test(test_host_layout_micropython),
        cmocka_unit_test(test_host_layout_physical),
        cmocka_unit_test(test_host_pool_gaps),
        cmocka_unit_test(test_ns_host_endpoint_first),
        cmocka_unit_test(test_ns_remote_announces_first),
        cmocka_unit_test(test_ns_remote_first_then_host_endpoint_binds),
        cmocka_unit_test(test_endpoint_destroy_unbinds_peer),
        cmocka_unit_test(test_address_allocation),
        cmocka_unit_test(test_stream_100k_offset_mode),
        cmocka_unit_test(test_stream_100k_physical_mode),
        cmocka_unit_test(test_stream_100k_gapped_pool),
        cmocka_unit_test(test_buffer_exhaustion_and_timeouts),
        cmocka_unit_test(test_send_finds_silently_returned_buffers),
        cmocka_unit_test(test_oversize_and_empty),
        cmocka_unit_test(test_configurable_buffer_size),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_echo_from_callback),
        cmocka_unit_test(test_reset_and_reinit_rebinds),
        cmocka_unit_test(test_reinit_live_device_keeps_bindings),
        cmocka_unit_test(test_event_idx_suppresses_notifications),
        cmocka_unit_test(test_flag_suppression_without_event_idx),
        cmocka_unit_test(test_cork_batches_doorbells),
    };
    return cmocka_run_group_tests_name("rpmsg", tests, NULL, NULL);
}
