/*
 * ompy_h747.c - the MicroPython module's board on the real STM32H747, both
 * roles, over the M7 platform (boards/stm32h747/m7) and the core:
 *
 *  - host (the M7, MicroPython's default): the resource table, vrings and
 *    buffers laid out in SRAM4 exactly as upstream's module does
 *    (reference.md section 3), rebuilt before every boot; HSEM doorbells;
 *    the M4 booted from flash or D2 SRAM.
 *  - remote (OMPY_REMOTE, MicroPython on the M4): the same table read from
 *    SRAM4, attached without ever busy-waiting for the host.
 */
#include "ompy_mcu.h"

#include <string.h>

#if !OMPY_REMOTE
#include "amp_stm32h747_m7.h"
#endif

#define H747_MPU_REGION   8u            /* MicroPython's MPU_REGION_OPENAMP */
#define H747_HSEM_PRIO    (6u << 4)

static struct amp_rpmsg_device dev;
static const struct amp_platform *rpmsg_platform;

static uint8_t *sram4(void)
{
    return (uint8_t *)(uintptr_t)OMPY_H747_SRAM4_DA;
}

static int config(struct amp_rpmsg_config *cfg, const struct amp_rpmsg_role_ops *role)
{
    return amp_rpmsg_h747_config(sram4(), role, rpmsg_platform, cfg);
}

#if !OMPY_REMOTE

static struct amp_m7 m7;
static struct amp_rproc rproc;
static struct amp_rproc_board_ops rproc_ops;

/* A fresh table in SRAM4 before every boot, as upstream writes it. */
static int host_table(void *ctx, struct amp_rpmsg_config *cfg)
{
    (void)ctx;
    int rc = amp_rpmsg_h747_build_table(sram4());
    if (rc == 0)
        rc = config(cfg, AMP_RPMSG_HOST);
    amp_cache_flush(&m7.platform, sram4(), OMPY_H747_SRAM4_SIZE);
    return rc;
}

void ompy_h747_irq(void)
{
    amp_m7_hsem_irq(&m7);
}

int ompy_mcu_board_open(struct ompy_mcu_board *b, struct ompy_mcu_platform *wrapped, char *why,
                        size_t len)
{
    const struct amp_m7_config mc = { .time_ms = ompy_mcu_ticks_ms, .mpu_region = H747_MPU_REGION };
    int rc = amp_m7_init(&m7, &mc, H747_HSEM_PRIO);
    if (rc < 0) {
        if (why && len)
            strncpy(why, "HSEM or MPU set-up failed", len - 1);
        return rc;
    }
    rpmsg_platform = ompy_mcu_wrap(wrapped, amp_m7_platform(&m7));
    rproc_ops = amp_m7_rproc_ops;   /* its start/stop/state, our table */
    rproc_ops.host_table = host_table;
    amp_rproc_init(&rproc, &rproc_ops, &m7, amp_m7_mem_map(&m7), rpmsg_platform, &dev);
    /* Upstream's order: shared memory is set up at first use, before the M4
     * boots; the device is ready (endpoints announced) at the first start. */
    struct amp_rpmsg_config cfg;
    rc = host_table(&m7, &cfg);
    if (rc == 0)
        rc = amp_rpmsg_init(&dev, &cfg);
    if (rc < 0) {
        if (why && len)
            strncpy(why, "SRAM4 layout failed", len - 1);
        return rc;
    }
    amp_rpmsg_reset(&dev);
    b->dev = &dev;
    b->rproc = &rproc;
    b->platform = amp_m7_platform(&m7);
    return 0;
}

int ompy_mcu_remote_attach(struct ompy_mcu_board *b)
{
    (void)b;
    return 0;
}

#else /* OMPY_REMOTE: MicroPython on the M4 */

#define HSEM_BASE_    0x58026400u
#define HSEM_R(n)     (*(volatile uint32_t *)(HSEM_BASE_ + 4u * (n)))
#define HSEM_RLR(n)   (*(volatile uint32_t *)(HSEM_BASE_ + 0x80u + 4u * (n)))
#define HSEM_C2IER    (*(volatile uint32_t *)(HSEM_BASE_ + 0x110u))
#define HSEM_C2ICR    (*(volatile uint32_t *)(HSEM_BASE_ + 0x114u))
#define HSEM_C2MISR   (*(volatile uint32_t *)(HSEM_BASE_ + 0x11Cu))
#define HSEM_TO_REMOTE 0u   /* the host frees it: our interrupt */
#define HSEM_TO_HOST   1u   /* we take and free it: the host's interrupt */
#define CORE_ID_M4     1u

static volatile uint32_t doorbells, taken;
static struct amp_rpmsg_config remote_cfg;

void ompy_h747_irq(void)
{
    if (HSEM_C2MISR & (1u << HSEM_TO_REMOTE)) {
        HSEM_C2ICR = 1u << HSEM_TO_REMOTE;
        doorbells++;
    }
}

static void r_notify(void *ctx, uint32_t id)
{
    (void)ctx;
    (void)id;
    (void)HSEM_RLR(HSEM_TO_HOST);                  /* take (1-step read lock) */
    HSEM_R(HSEM_TO_HOST) = CORE_ID_M4 << 8;        /* free: the host's interrupt */
}

static int r_wait(void *ctx, int32_t timeout_ms)
{
    (void)ctx;
    uint32_t start = ompy_mcu_ticks_ms();
    while (doorbells == taken) {
        if (timeout_ms >= 0 && ompy_mcu_ticks_ms() - start >= (uint32_t)timeout_ms)
            return -AMP_ETIMEDOUT;
        __asm__ volatile("wfi" ::: "memory");
    }
    taken = doorbells;
    return 0;
}

static uint32_t r_time_ms(void *ctx)
{
    (void)ctx;
    return ompy_mcu_ticks_ms();
}

static const struct amp_platform_ops r_ops = {
    .notify = r_notify, .wait = r_wait, .time_ms = r_time_ms,
};
static const struct amp_platform r_platform = { &r_ops, NULL };

int ompy_mcu_board_open(struct ompy_mcu_board *b, struct ompy_mcu_platform *wrapped, char *why,
                        size_t len)
{
    (void)why;
    (void)len;
    rpmsg_platform = ompy_mcu_wrap(wrapped, &r_platform);
    HSEM_C2ICR = 1u << HSEM_TO_REMOTE;
    HSEM_C2IER |= 1u << HSEM_TO_REMOTE;
    b->dev = &dev;
    b->rproc = NULL;
    b->platform = &r_platform;
    return 0;
}

/* One look at the host's table: attached, or -AMP_EAGAIN (never a busy-wait). */
int ompy_mcu_remote_attach(struct ompy_mcu_board *b)
{
    if (b->dev->ready)
        return 0;
    int rc = config(&remote_cfg, AMP_RPMSG_REMOTE);
    if (rc < 0)
        return -AMP_EAGAIN;   /* no table yet: the host has not started */
    return amp_rpmsg_init(b->dev, &remote_cfg);
}

#endif
