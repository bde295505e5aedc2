/*
 * ompy_h747_layout.c - MicroPython's SRAM4 layout on the STM32H747
 * (reference.md section 3), as upstream's module lays it out: the resource
 * table at 0x38000000, vring 1 at 0x38000400, vring 0 at 0x38001400, 110
 * buffers of 512 bytes from 0x38002400, descriptors holding offsets from
 * 0x38000400. Plain core calls on a pointer to SRAM4 (or a copy of it), so
 * make test checks it on the PC against the simulated board's.
 */
#include "ompy_mcu.h"

#include <string.h>

#define H747_RSC_SIZE     0x380u        /* the table, up to the trace buffer */
#define H747_TRACE_DA     0x38000380u
#define H747_TRACE_LEN    128u
#define H747_VRING0_DA    0x38001400u   /* remote -> host */
#define H747_VRING1_DA    0x38000400u   /* host -> remote */
#define H747_SHM_DA       0x38000400u
#define H747_SHM_SIZE     0xFC00u
#define H747_POOL_DA      0x38002400u
#define H747_BUF_COUNT    110u
#define H747_RX_BUF_COUNT 64u
#define H747_VRING_NUM    64u
#define H747_VRING_ALIGN  32u

int ompy_h747_build_table(uint8_t *sram4)
{
    const struct amp_rsc_layout layout = {
        .features = 1u << AMP_VIRTIO_RPMSG_F_NS,
        .vring_da = { H747_VRING0_DA, H747_VRING1_DA },
        .vring_notifyid = { 0, 1 },
        .vring_num = H747_VRING_NUM,
        .vring_align = H747_VRING_ALIGN,
        .trace_da = H747_TRACE_DA,
        .trace_len = H747_TRACE_LEN,
    };
    memset(sram4, 0, OMPY_H747_SRAM4_SIZE);   /* nothing stale for a new core */
    return amp_rsc_build(sram4, H747_RSC_SIZE, &layout);
}

int ompy_h747_config(uint8_t *sram4, const struct amp_rpmsg_role_ops *role,
                     const struct amp_platform *platform, struct amp_rpmsg_config *cfg)
{
    struct amp_rsc_table tbl;
    int rc = amp_rsc_parse(&tbl, sram4, H747_RSC_SIZE);
    if (rc < 0)
        return rc;
    struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(&tbl);
    if (!vdev)
        return -AMP_ENOENT;
    memset(cfg, 0, sizeof *cfg);
    cfg->role = role;
    cfg->addr_mode = AMP_ADDR_OFFSET;
    cfg->shm = sram4 + (H747_SHM_DA - OMPY_H747_SRAM4_DA);
    cfg->shm_pa = H747_SHM_DA;
    cfg->shm_size = H747_SHM_SIZE;
    cfg->vring[0] = sram4 + (H747_VRING0_DA - OMPY_H747_SRAM4_DA);
    cfg->vring[1] = sram4 + (H747_VRING1_DA - OMPY_H747_SRAM4_DA);
    cfg->vring_notifyid[0] = 0;
    cfg->vring_notifyid[1] = 1;
    cfg->vring_num = H747_VRING_NUM;
    cfg->vring_align = H747_VRING_ALIGN;
    cfg->buf_pool = sram4 + (H747_POOL_DA - OMPY_H747_SRAM4_DA);
    cfg->buf_count = H747_BUF_COUNT;
    cfg->rx_buf_count = H747_RX_BUF_COUNT;
    cfg->buf_size = AMP_RPMSG_DEFAULT_BUF_SIZE;
    cfg->vdev = vdev;
    cfg->features = 1u << AMP_VIRTIO_RPMSG_F_NS;
    cfg->platform = platform;
    return 0;
}
