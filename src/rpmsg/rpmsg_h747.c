/*
 * MicroPython's SRAM4 layout on the STM32H747 (reference.md section 3): the
 * layout existing remote firmware expects, written once for every host that
 * lays it out - the simulated board, MicroPython's module on the chip and on
 * the PC. Kept apart from the data path: firmware with its own layout does
 * not link it.
 */
#include "rpmsg_internal.h"

#define H747_RSC_SIZE     0x380u        /* the table, up to the trace buffer */
#define H747_VRING0_DA    0x38001400u   /* remote -> host */
#define H747_VRING1_DA    0x38000400u   /* host -> remote */
#define H747_SHM_DA       0x38000400u   /* descriptors hold offsets from here */
#define H747_SHM_SIZE     0xFC00u
#define H747_POOL_DA      0x38002400u
/* Upstream packs 110 buffers up to the end of SRAM4. With a 64-byte gap
 * after every eight, 108 fit: SRAM4 is non-cacheable on the chip, but on a
 * PC (the simulated board, the unix port) packed headers crowd 8 of 64 L1
 * sets, and 256 endpoints streamed at 1.11-1.38x the time of one (issue 12). */
#define H747_BUF_COUNT    108u
#define H747_BUF_GAP      64u
#define H747_RX_BUF_COUNT 64u
#define H747_VRING_NUM    64u
#define H747_VRING_ALIGN  32u

static uint8_t *h747_at(void *sram4, uint32_t da)
{
    return (uint8_t *)sram4 + (da - AMP_H747_SRAM4_DA);
}

int amp_rpmsg_h747_build_table(void *sram4)
{
    if (!sram4)
        return -AMP_EINVAL;
    const struct amp_rsc_layout layout = {
        .features = 1u << AMP_VIRTIO_RPMSG_F_NS,
        .vring_da = { H747_VRING0_DA, H747_VRING1_DA },
        .vring_notifyid = { 0, 1 },
        .vring_num = H747_VRING_NUM,
        .vring_align = H747_VRING_ALIGN,
        .trace_da = AMP_H747_TRACE_DA,
        .trace_len = AMP_H747_TRACE_LEN,
    };
    /* Nothing stale for a new core: the rings and buffers start zeroed too. */
    __builtin_memset(sram4, 0, AMP_H747_SRAM4_SIZE);
    return amp_rsc_build(sram4, H747_RSC_SIZE, &layout);
}

int amp_rpmsg_h747_config(void *sram4, const struct amp_rpmsg_role_ops *role,
                          const struct amp_platform *platform, struct amp_rpmsg_config *cfg)
{
    if (!sram4 || !cfg)
        return -AMP_EINVAL;
    struct amp_rsc_table tbl;
    int rc = amp_rsc_parse(&tbl, sram4, H747_RSC_SIZE);
    if (rc < 0)
        return rc;
    struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(&tbl);
    if (!vdev)
        return -AMP_ENOENT;
    __builtin_memset(cfg, 0, sizeof(*cfg));
    cfg->role = role;
    cfg->addr_mode = AMP_ADDR_OFFSET;
    cfg->shm = h747_at(sram4, H747_SHM_DA);
    cfg->shm_pa = H747_SHM_DA;
    cfg->shm_size = H747_SHM_SIZE;
    cfg->vring[0] = h747_at(sram4, H747_VRING0_DA);
    cfg->vring[1] = h747_at(sram4, H747_VRING1_DA);
    cfg->vring_notifyid[0] = 0;
    cfg->vring_notifyid[1] = 1;
    cfg->vring_num = H747_VRING_NUM;
    cfg->vring_align = H747_VRING_ALIGN;
    cfg->buf_pool = h747_at(sram4, H747_POOL_DA);
    cfg->buf_count = H747_BUF_COUNT;
    cfg->rx_buf_count = H747_RX_BUF_COUNT;
    cfg->buf_size = AMP_RPMSG_DEFAULT_BUF_SIZE;
    cfg->buf_gap = H747_BUF_GAP;
    cfg->vdev = vdev;
    cfg->features = 1u << AMP_VIRTIO_RPMSG_F_NS;
    cfg->platform = platform;
    return 0;
}
