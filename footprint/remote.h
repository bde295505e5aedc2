/*
 * What every footprint image shares: MicroPython's fixed layout on the
 * STM32H747 (no resource table parsing; reference.md section 3), the
 * bare-metal environment of env.c, and the receive loop.
 */
#ifndef FOOTPRINT_REMOTE_H
#define FOOTPRINT_REMOTE_H

#include "amp/rpmsg.h"

#define FP_SHM_DA  0x38000400u
#define FP_VDEV_DA 0x38000014u   /* the vdev entry of the host-built table */

extern const struct amp_platform fp_platform;

static const struct amp_rpmsg_config fp_config = {
    .role = AMP_RPMSG_REMOTE,
    .addr_mode = AMP_ADDR_OFFSET,
    .shm = (void *)FP_SHM_DA, .shm_pa = FP_SHM_DA, .shm_size = 0xFC00,
    .vring = { (void *)0x38001400u, (void *)0x38000400u },
    .vring_notifyid = { 0, 1 },
    .vring_num = 64, .vring_align = 32,
    .vdev = (struct amp_rsc_vdev *)FP_VDEV_DA,
    .platform = &fp_platform,
};

static inline void fp_start(struct amp_rpmsg_device *dev)
{
    while (amp_rpmsg_wait_ready(dev, &fp_config, AMP_WAIT_FOREVER) != 0)
        ;
}

/* Answer every message to its sender (copy send; the images' common job). */
static inline int fp_echo(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src,
                          void *priv)
{
    (void)priv;
    amp_rpmsg_send_offchannel(e, e->addr, src, data, len, AMP_WAIT_FOREVER);
    return AMP_RPMSG_RELEASE;
}

__attribute__((noreturn)) static inline void fp_run(struct amp_rpmsg_device *dev)
{
    for (;;) {
        amp_rpmsg_poll(dev);
        amp_rpmsg_wait(dev, AMP_WAIT_FOREVER);
    }
}

#endif
