/*
 * amp_stm32h747_m7.h - the host side of AMP on the real STM32H747: the
 * Cortex-M7 runs the rpmsg host (and the remoteproc life cycle) against
 * firmware on the Cortex-M4, as MicroPython's stm32 port does. Written from
 * RM0399 rev 4 and the ARMv7-M manual; see docs/stm32h747-m7.md for what
 * running it on a board takes. Freestanding: no vendor HAL, no OS.
 *
 *   Doorbells: HSEM 0 (M7 -> M4: we take and free it; the M4 gets its HSEM2
 *     interrupt), HSEM 1 (M4 -> M7: its free raises our HSEM1 interrupt,
 *     whose handler must call amp_m7_hsem_irq()).
 *   Shared memory: SRAM4 (0x38000000, 64 KiB, D3 domain) made non-cacheable
 *     and shareable with one MPU region, so the M7's D-cache never holds
 *     ring data. Firmware images the M7 writes into D2 SRAM (0x30000000, the
 *     M4's 0x10000000) are cleaned from the D-cache before the M4 boots.
 *   Booting the M4: BOOT_CM4_ADD0 (option bytes) selects where it boots;
 *     RCC_GCR.BOOT_C2 releases it when the BCM4 option bit kept it gated.
 *     RM0399 gives the M7 no way to reset or halt the M4 alone: stop and
 *     restart are refused (-AMP_ENOTSUP), see the doc.
 */
#ifndef AMP_STM32H747_M7_H
#define AMP_STM32H747_M7_H

#include <stdbool.h>
#include <stdint.h>

#include "amp/platform.h"
#include "amp/remoteproc.h"

/* The M4's view of memory and where the M7 sees it (RM0399 2.3). */
#define AMP_M7_M4_FLASH_DA    0x08100000u  /* bank 2: same address for both cores */
#define AMP_M7_M4_FLASH_SIZE  0x00100000u
#define AMP_M7_M4_SRAM_DA     0x10000000u  /* the M4's alias of D2 SRAM1..3 */
#define AMP_M7_M4_SRAM_M7     0x30000000u  /* the same SRAM from the M7 */
#define AMP_M7_M4_SRAM_SIZE   0x00048000u
#define AMP_M7_SRAM4_DA       0x38000000u  /* shared, same address for both */
#define AMP_M7_SRAM4_SIZE     0x00010000u

struct amp_m7_config {
    /* Millisecond clock of the application (e.g. its SysTick count). */
    uint32_t (*time_ms)(void);
    /* MPU region number used for SRAM4 (0..15 on the M7; must not be in use). */
    unsigned mpu_region;
    /* Leave the MPU and caches alone: the application maps SRAM4 itself. */
    bool keep_mpu;
};

struct amp_m7 {
    struct amp_platform platform;
    struct amp_mem_region regions[3];
    struct amp_mem_map map;
    uint32_t (*time_ms)(void);
    volatile uint32_t doorbells;  /* HSEM1 frees seen by the interrupt handler */
    uint32_t doorbells_taken;
    bool started;
};

/*
 * Set up: the HSEM clock, HSEM1 interrupt enable (C1IER bit 1 and the NVIC
 * line HSEM1_IRQn at `irq_prio`), the SRAM4 MPU region. Call once, with
 * interrupts enabled afterwards by the application.
 */
int amp_m7_init(struct amp_m7 *m7, const struct amp_m7_config *cfg, uint8_t irq_prio);
/* Call from HSEM1_IRQHandler: acknowledges the M4's doorbell. */
void amp_m7_hsem_irq(struct amp_m7 *m7);
/* Platform ops for the host rpmsg device: notify = free HSEM 0, wait = WFI
 * until a doorbell or the timeout, cache ops by address on the D-cache. */
const struct amp_platform *amp_m7_platform(struct amp_m7 *m7);
/* The M4's memory map as the loader and life cycle see it. */
const struct amp_mem_map *amp_m7_mem_map(struct amp_m7 *m7);

/*
 * Boot the M4 from `boot_addr` (its vector table: 64 KiB aligned, in flash
 * bank 2 or D2 SRAM): program BOOT_CM4_ADD0 if it differs (option bytes;
 * lasts across resets), then set RCC_GCR.BOOT_C2. Returns 0,
 * -AMP_EINVAL (address not 64 KiB aligned / not M4 memory), -AMP_EBUSY
 * (the M4 already runs: RM0399 cannot restart it), -AMP_EIO (option byte
 * programming failed or timed out).
 */
int amp_m7_boot_m4(struct amp_m7 *m7, uint32_t boot_addr);

/* Board ops for amp_rproc_init(): start = amp_m7_boot_m4(entry & ~0xFFFF),
 * stop = -AMP_ENOTSUP, state = RUNNING once started. */
extern const struct amp_rproc_board_ops amp_m7_rproc_ops;

#endif /* AMP_STM32H747_M7_H */
