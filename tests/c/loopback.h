/*
 * A host and a remote rpmsg device in one process over one shared buffer.
 *
 * Each side has its own loopback platform. notify counts doorbells; wait
 * advances a fake clock and, when pumping is on, lets the other side run
 * (so a send that waits for a buffer sees the peer consume one). Time only
 * moves when someone waits, so timeouts are exact and tests never sleep.
 */
#ifndef TEST_LOOPBACK_H
#define TEST_LOOPBACK_H

#include <string.h>

#include "amp/rpmsg.h"
#include "amp/rsc.h"

/* MicroPython's STM32H747 layout (reference.md section 3), at a fake base. */
#define LB_SHARED_DA   0x38000000u
#define LB_SHARED_SIZE 0x10000u
#define LB_SHM_OFFSET  0x400u      /* vrings and buffers start after the 1 KiB table */
#define LB_VRING0_OFF  0x1400u     /* remote -> host */
#define LB_VRING1_OFF  0x0400u     /* host -> remote */
#define LB_POOL_OFF    0x2400u
#define LB_TRACE_OFF   0x380u

struct lb_side {
    struct amp_platform platform;
    struct amp_rpmsg_device *peer;  /* pumped while we wait, if pump */
    uint32_t *clock;                /* shared fake clock, ms */
    unsigned notifies;
    unsigned waits;
    bool pump;
    bool silent;                    /* pumped peer rings nothing: each wait lasts its timeout */
    int wait_result;                /* what wait returns when not pumping (e.g. -AMP_ENODEV) */
};

struct lb_pair {
    _Alignas(64) uint8_t mem[LB_SHARED_SIZE];
    uint32_t clock;
    struct lb_side host_side, remote_side;
    struct amp_rpmsg_device host, remote;
    struct amp_rpmsg_config host_cfg, remote_cfg;
    struct amp_rsc_table table;
};

static void lb_notify(void *ctx, uint32_t queue_id)
{
    (void)queue_id;
    ((struct lb_side *)ctx)->notifies++;
}

static int lb_wait(void *ctx, int32_t timeout_ms)
{
    struct lb_side *side = ctx;
    side->waits++;
    if (side->pump && side->peer && side->peer->ready) {
        amp_rpmsg_poll(side->peer);
        if (side->silent) {
            *side->clock += timeout_ms < 0 ? 1000 : (uint32_t)timeout_ms;
            return -AMP_ETIMEDOUT;
        }
        *side->clock += 1;
        return 0;
    }
    if (side->wait_result)
        return side->wait_result;
    *side->clock += timeout_ms < 0 ? 1000 : (uint32_t)timeout_ms;
    return -AMP_ETIMEDOUT;
}

static uint32_t lb_time(void *ctx)
{
    return *((struct lb_side *)ctx)->clock;
}

static const struct amp_platform_ops lb_ops = {
    .notify = lb_notify,
    .wait = lb_wait,
    .time_ms = lb_time,
};

static inline void lb_side_init(struct lb_side *side, uint32_t *clock)
{
    memset(side, 0, sizeof(*side));
    side->platform.ops = &lb_ops;
    side->platform.ctx = side;
    side->clock = clock;
}

/* Build MicroPython's table and both configs; nothing is initialised yet. */
static inline void lb_setup(struct lb_pair *lb, enum amp_rpmsg_addr_mode mode, uint32_t buf_size,
                            uint32_t features)
{
    memset(lb, 0, sizeof(*lb));
    lb_side_init(&lb->host_side, &lb->clock);
    lb_side_init(&lb->remote_side, &lb->clock);
    lb->host_side.peer = &lb->remote;
    lb->remote_side.peer = &lb->host;
    struct amp_rsc_layout layout = {
        .features = features,
        .vring_da = {LB_SHARED_DA + LB_VRING0_OFF, LB_SHARED_DA + LB_VRING1_OFF},
        .vring_notifyid = {0, 1},
        .vring_num = 64,
        .vring_align = 32,
        .trace_da = LB_SHARED_DA + LB_TRACE_OFF,
        .trace_len = 128,
    };
    if (amp_rsc_build(lb->mem, LB_SHM_OFFSET, &layout) != 0 ||
        amp_rsc_parse(&lb->table, lb->mem, LB_SHM_OFFSET) != 0)
        abort();
    struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(&lb->table);

    struct amp_rpmsg_config *h = &lb->host_cfg;
    h->role = AMP_RPMSG_HOST;
    h->addr_mode = mode;
    /* MicroPython's descriptors are offsets from 0x38000400; Linux's are physical. */
    h->shm = lb->mem + LB_SHM_OFFSET;
    h->shm_pa = LB_SHARED_DA + LB_SHM_OFFSET;
    h->shm_size = LB_SHARED_SIZE - LB_SHM_OFFSET;
    h->buf_pool = lb->mem + LB_POOL_OFF;
    h->buf_size = buf_size;
    h->buf_count = (LB_SHARED_SIZE - LB_POOL_OFF) / (buf_size ? buf_size : 512);
    h->rx_buf_count = 64;
    h->features = features;
    h->platform = &lb->host_side.platform;
    if (amp_rpmsg_config_from_vdev(h, vdev, lb->table.size - ((uint8_t *)vdev - lb->mem)) != 0)
        abort();

    lb->remote_cfg = *h;
    lb->remote_cfg.role = AMP_RPMSG_REMOTE;
    lb->remote_cfg.buf_pool = NULL;
    lb->remote_cfg.platform = &lb->remote_side.platform;
}

/* Poll both sides until neither has anything left (bounded). */
static inline void lb_settle(struct lb_pair *lb)
{
    for (int i = 0; i < 1000; i++) {
        int a = lb->host.ready ? amp_rpmsg_poll(&lb->host) : 0;
        int b = lb->remote.ready ? amp_rpmsg_poll(&lb->remote) : 0;
        if (a <= 0 && b <= 0)
            return;
    }
}

#endif
