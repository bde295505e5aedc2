/*
 * Our remote under hosts that behave like other stacks' hosts
 * (foreign_host.h; reference.md section 7): each test pins one wire
 * behaviour that a real peer depends on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "foreign_host.h"
#include "amp/rpmsg.h"
#include "amp/rsc.h"

#define NS_FEATURE (1u << AMP_VIRTIO_RPMSG_F_NS)
#define SHM_PA     0x38000000u
#define SHM_SIZE   0x20000u
#define NUM        64u
#define BUF_SIZE   512u
#define HOST_ADDR  0x400u
#define SERVICE    "rpmsg-openamp-demo-channel"

/* The remote's platform: doorbells counted per queue; nothing ever waits here. */
struct bell {
    struct amp_platform platform;
    unsigned rings[3];              /* by notifyid (0..2) */
    uint32_t clock;
};

static void bell_notify(void *ctx, uint32_t queue_id)
{
    ((struct bell *)ctx)->rings[queue_id < 3 ? queue_id : 2]++;
}

static int bell_wait(void *ctx, int32_t timeout_ms)
{
    struct bell *b = ctx;
    b->clock += timeout_ms < 0 ? 1000u : (uint32_t)timeout_ms;
    return -AMP_ETIMEDOUT;
}

static uint32_t bell_time(void *ctx)
{
    return ((struct bell *)ctx)->clock;
}

static const struct amp_platform_ops bell_ops = {
    .notify = bell_notify,
    .wait = bell_wait,
    .time_ms = bell_time,
};

struct rig {
    _Alignas(4096) uint8_t mem[SHM_SIZE];
    struct bell bell;
    struct amp_rpmsg_device remote;
    struct amp_rpmsg_config cfg;
    struct amp_rpmsg_endpoint ept;
    struct amp_rsc_table table;
    struct amp_rsc_vdev *vdev;
    struct fh host;
    /* What the foreign host saw. */
    uint32_t remote_addr;
    unsigned ns_creates;
    uint8_t expect[BUF_SIZE];
    uint32_t expect_len;
    unsigned echoed, mismatched;
    unsigned echo_errors;          /* our remote could not echo */
};

/* The remote's service: send every message back to its sender. */
static int echo_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct rig *r = priv;
    if (amp_rpmsg_send_offchannel(ept, ept->addr, src, data, len, AMP_NO_WAIT) != (int)len)
        r->echo_errors++;
    return AMP_RPMSG_RELEASE;
}

static void host_rx(struct fh *h, uint32_t src, uint32_t dst, const uint8_t *data, uint32_t len,
                    void *priv)
{
    (void)h;
    struct rig *r = priv;
    if (dst == AMP_RPMSG_NS_ADDR) {
        if (len == 40 && strcmp((const char *)data, SERVICE) == 0 && fh_rd32(data + 36) == 0) {
            r->ns_creates++;
            r->remote_addr = fh_rd32(data + 32);
        }
        return;
    }
    if (src == r->remote_addr && dst == HOST_ADDR && len == r->expect_len &&
        memcmp(data, r->expect, len) == 0)
        r->echoed++;
    else
        r->mismatched++;
}

static void rig_platform(struct rig *r)
{
    r->bell.platform = (struct amp_platform){ &bell_ops, &r->bell };
    r->cfg.role = AMP_RPMSG_REMOTE;
    r->cfg.addr_mode = AMP_ADDR_PHYS;
    r->cfg.shm = r->mem;
    r->cfg.shm_pa = SHM_PA;
    r->cfg.shm_size = SHM_SIZE;
    r->cfg.vring_num = NUM;
    r->cfg.platform = &r->bell.platform;
}

/* OpenAMP's shape: a table at the start, vrings in shared memory, then buffers. */
static int openamp_setup(void **state)
{
    struct rig *r = aligned_alloc(4096, sizeof(*r));
    assert_non_null(r);
    memset(r, 0, sizeof(*r));
    rig_platform(r);
    const struct amp_rsc_layout layout = {
        .features = NS_FEATURE,
        .vring_da = { SHM_PA + 0x400, SHM_PA + 0x1400 },
        .vring_notifyid = { 1, 2 },
        .vring_num = NUM,
        .vring_align = 32,
    };
    assert_int_equal(amp_rsc_build(r->mem, 0x400, &layout), 0);
    assert_int_equal(amp_rsc_parse(&r->table, r->mem, 0x400), 0);
    r->vdev = amp_rsc_find_rpmsg_vdev(&r->table);
    assert_non_null(r->vdev);
    assert_int_equal(amp_rpmsg_config_from_rsc(&r->cfg, &r->table), 0);
    fh_init(&r->host, FH_OPENAMP, r->mem + 0x400, r->mem + 0x1400, NUM, 32, r->mem, SHM_PA,
            SHM_SIZE, r->mem + 0x2400, BUF_SIZE, NUM);
    /* OpenAMP's host: gfeatures = what it supports of dfeatures, then DRIVER_OK alone. */
    r->vdev->gfeatures = r->vdev->dfeatures & NS_FEATURE;
    r->vdev->status = AMP_VIRTIO_STATUS_DRIVER_OK;
    *state = r;
    return 0;
}

static void remote_up(struct rig *r)
{
    assert_int_equal(amp_rpmsg_init(&r->remote, &r->cfg), 0);
    assert_int_equal(amp_rpmsg_create_ept(&r->ept, &r->remote, SERVICE, AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, echo_cb, NULL, r),
                     0);
    fh_poll(&r->host, host_rx, r);
    assert_int_equal(r->ns_creates, 1);
}

/* Lengths that make a buffer used by a short message carry a long one later. */
static uint32_t msg_len(unsigned i)
{
    static const uint32_t lens[] = { 1, 496, 17, 300, 496, 2, 40 };
    return lens[i % (sizeof(lens) / sizeof(lens[0]))];
}

/* The foreign host sends `count` messages, each echoed before the next. */
static void ping_pong(struct rig *r, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        r->expect_len = msg_len(i);
        for (uint32_t b = 0; b < r->expect_len; b++)
            r->expect[b] = (uint8_t)(i * 31 + b);
        assert_true(fh_send(&r->host, HOST_ADDR, r->remote_addr, r->expect, r->expect_len) >= 0);
        amp_rpmsg_poll(&r->remote);
        fh_poll(&r->host, host_rx, r);
    }
}

/*
 * An OpenAMP host takes used.len as a buffer's capacity and re-posts receive
 * buffers with it: unless the remote returns every buffer with its full
 * descriptor length, each buffer shrinks to the last message that used it
 * and long messages are cut, both ways.
 */
static void test_openamp_host_capacity_from_used_len(void **state)
{
    struct rig *r = *state;
    remote_up(r);
    ping_pong(r, 1000);
    printf("openamp-like host: sent 1000, echoed %u, mismatched %u, truncated %u, "
           "short used.len %u, errors %u/%u\n", r->echoed, r->mismatched, r->host.truncated,
           r->host.short_used_len, r->host.errors, r->echo_errors);
    assert_int_equal(r->host.short_used_len, 0);
    assert_int_equal(r->host.truncated, 0);
    assert_int_equal(r->echo_errors, 0);
    assert_int_equal(r->host.errors, 0);
    assert_int_equal(r->mismatched, 0);
    assert_int_equal(r->echoed, 1000);
    assert_int_equal(r->remote.rx_dropped, 0);
}

/* OpenAMP's host announces its endpoint's end (40 bytes) in whatever buffer
 * it gets next: it must arrive whole, even after a 1-byte message. */
static void test_openamp_host_ns_destroy_arrives_whole(void **state)
{
    struct rig *r = *state;
    remote_up(r);
    /* Bind the host's service name to the remote's endpoint, as rpmsg-echo-ping does. */
    uint8_t ns[40] = { 0 };
    memcpy(ns, SERVICE, sizeof(SERVICE));
    fh_wr32(ns + 32, HOST_ADDR);
    fh_wr32(ns + 36, AMP_RPMSG_NS_CREATE);
    assert_int_equal(fh_send(&r->host, HOST_ADDR, AMP_RPMSG_NS_ADDR, ns, sizeof(ns)), 40);
    amp_rpmsg_poll(&r->remote);
    assert_int_equal(r->ept.dest_addr, HOST_ADDR);
    /* Every transmit buffer once carries a 1-byte message. */
    for (unsigned i = 0; i < 2 * NUM; i++) {
        r->expect_len = 1;
        r->expect[0] = (uint8_t)i;
        assert_int_equal(fh_send(&r->host, HOST_ADDR, r->remote_addr, r->expect, 1), 1);
        amp_rpmsg_poll(&r->remote);
        fh_poll(&r->host, host_rx, r);
    }
    fh_wr32(ns + 36, AMP_RPMSG_NS_DESTROY);
    assert_int_equal(fh_send(&r->host, HOST_ADDR, AMP_RPMSG_NS_ADDR, ns, sizeof(ns)), 40);
    amp_rpmsg_poll(&r->remote);
    assert_int_equal(r->host.truncated, 0);
    assert_int_equal(r->remote.rx_dropped, 0);
    /* The destroy unbound the endpoint from the host's address. */
    assert_int_equal(r->ept.dest_addr, AMP_RPMSG_ADDR_ANY);
    assert_int_equal(r->mismatched, 0);
}

/*
 * rpmsg-lite's master: no resource table (vring 0 at the start of shared
 * memory, vring 1 after it, then the buffers), NO_INTERRUPT left set on its
 * receive ring, and its transmit ring's used side pre-filled, so used.idx
 * starts at num. Our remote must carry on from there.
 */
static int rpmsg_lite_setup(void **state)
{
    struct rig *r = aligned_alloc(4096, sizeof(*r));
    assert_non_null(r);
    memset(r, 0, sizeof(*r));
    rig_platform(r);
    /* Like rpmsg-lite's platforms: vring 1 a fixed VRING_SIZE after vring 0. */
    size_t vsize = 0x2000;
    assert_true(fh_ring_size(NUM, 0x1000) <= vsize);
    assert_true(amp_vring_size(NUM, 0x1000) <= vsize);
    r->cfg.vring[0] = r->mem;
    r->cfg.vring[1] = r->mem + vsize;
    r->cfg.vring_notifyid[0] = 0;
    r->cfg.vring_notifyid[1] = 1;
    r->cfg.vring_align = 0x1000;
    r->cfg.vdev = NULL;
    r->cfg.features = NS_FEATURE;
    fh_init(&r->host, FH_RPMSG_LITE, r->mem, r->mem + vsize, NUM, 0x1000, r->mem, SHM_PA,
            SHM_SIZE, r->mem + 2 * vsize, BUF_SIZE, NUM);
    *state = r;
    return 0;
}

static int rig_teardown(void **state)
{
    free(*state);
    return 0;
}

static void test_rpmsg_lite_master_used_idx_starts_at_num(void **state)
{
    struct rig *r = *state;
    remote_up(r);
    /* Several laps of the ring: every slot is reused with the indices past num. */
    ping_pong(r, 5 * NUM);
    printf("rpmsg-lite-like master: sent %u, echoed %u, mismatched %u, errors %u/%u\n",
           5 * NUM, r->echoed, r->mismatched, r->host.errors, r->echo_errors);
    assert_int_equal(r->host.errors, 0);
    assert_int_equal(r->host.truncated, 0);
    assert_int_equal(r->echo_errors, 0);
    assert_int_equal(r->mismatched, 0);
    assert_int_equal(r->echoed, 5 * NUM);
    assert_int_equal(r->remote.rx_dropped, 0);
}

/* The master's own remote side of the story: by the spec, our remote does not
 * ring a peer that set NO_INTERRUPT, unless told to (see rpmsg.h). */
static void test_rpmsg_lite_master_no_interrupt_honoured_by_default(void **state)
{
    struct rig *r = *state;
    remote_up(r);
    ping_pong(r, 10);
    assert_int_equal(r->echoed, 10);
    /* Messages on vring 0 (NO_INTERRUPT): no doorbell; buffers back on vring 1: one each. */
    assert_int_equal(r->bell.rings[0], 0);
    assert_int_equal(r->bell.rings[1], 10);
}

/* With always_notify, every message rings though the master asked for no interrupts. */
static void test_rpmsg_lite_master_always_notify(void **state)
{
    struct rig *r = *state;
    r->cfg.always_notify = true;
    remote_up(r);
    unsigned before = r->bell.rings[0];   /* the NS announcement rang too */
    assert_int_equal(before, 1);
    ping_pong(r, 10);
    assert_int_equal(r->echoed, 10);
    assert_int_equal(r->bell.rings[0], before + 10);
    assert_int_equal(r->bell.rings[1], 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_openamp_host_capacity_from_used_len,
                                        openamp_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_openamp_host_ns_destroy_arrives_whole,
                                        openamp_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_rpmsg_lite_master_used_idx_starts_at_num,
                                        rpmsg_lite_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_rpmsg_lite_master_no_interrupt_honoured_by_default,
                                        rpmsg_lite_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_rpmsg_lite_master_always_notify,
                                        rpmsg_lite_setup, rig_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
