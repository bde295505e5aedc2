/*
 * The STM32H747 Cortex-M7 host platform (see amp_stm32h747_m7.h).
 * Register facts: RM0399 rev 4 sections 4 (FLASH option bytes), 8 (RCC),
 * 11 (HSEM); MPU and cache maintenance: ARMv7-M B3.5 and the Cortex-M7 TRM.
 */
#include "amp_stm32h747_m7.h"

#include "stm32h747_regs.h"

#define OPT_TIMEOUT_SPINS 10000000u
#define DCACHE_LINE 32u

static inline void dsb(void)
{
    __asm__ volatile("dsb 0xF" ::: "memory");
}

static inline void isb(void)
{
    __asm__ volatile("isb 0xF" ::: "memory");
}

/* ---- MPU: SRAM4 normal, non-cacheable, shareable (TEX=001 C=0 B=0 S=1) ---- */

#define MPU_RASR_ENABLE    (1u << 0)
#define MPU_RASR_SIZE(log2) ((uint32_t)((log2) - 1u) << 1)
#define MPU_RASR_S         (1u << 18)
#define MPU_RASR_TEX1      (1u << 19)
#define MPU_RASR_AP_FULL   (3u << 24)
#define MPU_RASR_XN        (1u << 28)
#define MPU_CTRL_ENABLE    (1u << 0)
#define MPU_CTRL_PRIVDEFENA (1u << 2)

static int mpu_sram4(unsigned region)
{
    if (region > 15 || ((MPU_TYPE >> 8) & 0xFFu) <= region)
        return -AMP_EINVAL;
    dsb();
    MPU_RNR = region;
    MPU_RBAR = AMP_M7_SRAM4_DA;
    MPU_RASR = MPU_RASR_XN | MPU_RASR_AP_FULL | MPU_RASR_TEX1 | MPU_RASR_S |
               MPU_RASR_SIZE(16) | MPU_RASR_ENABLE;  /* 2^16 = 64 KiB */
    MPU_CTRL = MPU_CTRL_ENABLE | MPU_CTRL_PRIVDEFENA;
    dsb();
    isb();
    return 0;
}

/* ---- D-cache maintenance by address (no-ops if the cache is off) ---- */

static void dcache_by_line(volatile uint32_t *op, const void *addr, size_t len)
{
    if (!(SCB_CCR & SCB_CCR_DC) || len == 0)
        return;
    uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(DCACHE_LINE - 1u);
    uintptr_t end = (uintptr_t)addr + len;
    dsb();
    for (; a < end; a += DCACHE_LINE)
        *op = (uint32_t)a;
    dsb();
    isb();
}

static void m7_cache_flush(void *ctx, const void *addr, size_t len)
{
    (void)ctx;
    dcache_by_line(&SCB_DCCMVAC, addr, len);
}

static void m7_cache_invalidate(void *ctx, void *addr, size_t len)
{
    (void)ctx;
    dcache_by_line(&SCB_DCIMVAC, addr, len);
}

/* ---- Doorbells ---- */

static void m7_notify(void *ctx, uint32_t queue_id)
{
    (void)ctx;
    (void)queue_id;
    /* 1-step lock by read, then free with our COREID: the M4's HSEM2 line. */
    uint32_t want = HSEM_LOCK | (HSEM_COREID_CM7 << HSEM_COREID_SHIFT);
    while ((HSEM_RLR(HSEM_ID_TO_REMOTE) & (HSEM_LOCK | (0xFu << HSEM_COREID_SHIFT))) != want)
        ;
    HSEM_R(HSEM_ID_TO_REMOTE) = HSEM_COREID_CM7 << HSEM_COREID_SHIFT;
}

void amp_m7_hsem_irq(struct amp_m7 *m7)
{
    uint32_t freed = HSEM_C1MISR;
    HSEM_C1ICR = freed;
    if (freed & (1u << HSEM_ID_TO_HOST))
        m7->doorbells++;
}

static int m7_wait(void *ctx, int32_t timeout_ms)
{
    struct amp_m7 *m7 = ctx;
    uint32_t start = m7->time_ms();
    for (;;) {
        __asm__ volatile("cpsid i" ::: "memory");
        if (m7->doorbells != m7->doorbells_taken) {
            m7->doorbells_taken = m7->doorbells;
            __asm__ volatile("cpsie i" ::: "memory");
            return 0;
        }
        if (timeout_ms >= 0 && m7->time_ms() - start >= (uint32_t)timeout_ms) {
            __asm__ volatile("cpsie i" ::: "memory");
            return -AMP_ETIMEDOUT;
        }
        /* A pending interrupt wakes WFI with PRIMASK set; it runs at cpsie. */
        __asm__ volatile("wfi" ::: "memory");
        __asm__ volatile("cpsie i" ::: "memory");
    }
}

static uint32_t m7_time_ms(void *ctx)
{
    struct amp_m7 *m7 = ctx;
    return m7->time_ms();
}

static void *m7_da_to_va(void *ctx, uint64_t da, size_t len)
{
    struct amp_m7 *m7 = ctx;
    return amp_mem_da_to_va(&m7->map, da, len);
}

static const struct amp_platform_ops m7_ops = {
    .notify = m7_notify,
    .wait = m7_wait,
    .time_ms = m7_time_ms,
    .cache_flush = m7_cache_flush,
    .cache_invalidate = m7_cache_invalidate,
    .da_to_va = m7_da_to_va,
};

int amp_m7_init(struct amp_m7 *m7, const struct amp_m7_config *cfg, uint8_t irq_prio)
{
    if (!m7 || !cfg || !cfg->time_ms)
        return -AMP_EINVAL;
    m7->time_ms = cfg->time_ms;
    m7->doorbells = m7->doorbells_taken = 0;
    m7->started = false;
    m7->regions[0] = (struct amp_mem_region){ "flash", AMP_M7_M4_FLASH_DA, AMP_M7_M4_FLASH_SIZE,
                                              (void *)(uintptr_t)AMP_M7_M4_FLASH_DA,
                                              AMP_MEM_EXEC };
    m7->regions[1] = (struct amp_mem_region){ "sram", AMP_M7_M4_SRAM_DA, AMP_M7_M4_SRAM_SIZE,
                                              (void *)(uintptr_t)AMP_M7_M4_SRAM_M7,
                                              AMP_MEM_EXEC };
    m7->regions[2] = (struct amp_mem_region){ "shared", AMP_M7_SRAM4_DA, AMP_M7_SRAM4_SIZE,
                                              (void *)(uintptr_t)AMP_M7_SRAM4_DA,
                                              AMP_MEM_SHARED };
    m7->map = (struct amp_mem_map){ m7->regions, 3 };
    m7->platform = (struct amp_platform){ &m7_ops, m7 };

    if (!cfg->keep_mpu) {
        int rc = mpu_sram4(cfg->mpu_region);
        if (rc)
            return rc;
    }
    RCC_C1_AHB4ENR |= RCC_AHB4ENR_HSEMEN;
    (void)RCC_C1_AHB4ENR;
    HSEM_C1ICR = 1u << HSEM_ID_TO_HOST;
    HSEM_C1IER |= 1u << HSEM_ID_TO_HOST;
    NVIC_IPR8(HSEM1_IRQn) = irq_prio;
    NVIC_ICPR(HSEM1_IRQn / 32) = 1u << (HSEM1_IRQn % 32);
    NVIC_ISER(HSEM1_IRQn / 32) = 1u << (HSEM1_IRQn % 32);
    return 0;
}

const struct amp_platform *amp_m7_platform(struct amp_m7 *m7)
{
    return &m7->platform;
}

const struct amp_mem_map *amp_m7_mem_map(struct amp_m7 *m7)
{
    return &m7->map;
}

/* ---- Booting the M4 ---- */

static int option_bytes_boot_add0(uint32_t add0)
{
    if ((FLASH_BOOT4_CUR & 0xFFFFu) == add0)
        return 0;
    if (FLASH_OPTCR & FLASH_OPTCR_OPTLOCK) {
        FLASH_OPTKEYR = FLASH_OPTKEY1;
        FLASH_OPTKEYR = FLASH_OPTKEY2;
    }
    FLASH_BOOT4_PRG = (FLASH_BOOT4_CUR & 0xFFFF0000u) | add0;
    FLASH_OPTCR |= FLASH_OPTCR_OPTSTART;
    for (uint32_t i = 0; FLASH_OPTSR_CUR & FLASH_OPTSR_OPT_BUSY; i++)
        if (i == OPT_TIMEOUT_SPINS)
            return -AMP_EIO;
    FLASH_OPTCR |= FLASH_OPTCR_OPTLOCK;
    return (FLASH_BOOT4_CUR & 0xFFFFu) == add0 ? 0 : -AMP_EIO;
}

int amp_m7_boot_m4(struct amp_m7 *m7, uint32_t boot_addr)
{
    if (boot_addr & 0xFFFFu)
        return -AMP_EINVAL;
    bool in_flash = boot_addr >= AMP_M7_M4_FLASH_DA &&
                    boot_addr < AMP_M7_M4_FLASH_DA + AMP_M7_M4_FLASH_SIZE;
    bool in_sram = boot_addr >= AMP_M7_M4_SRAM_DA &&
                   boot_addr < AMP_M7_M4_SRAM_DA + AMP_M7_M4_SRAM_SIZE;
    if (!in_flash && !in_sram)
        return -AMP_EINVAL;
    /* Already running (BCM4 boots it at power-on, or we did): RM0399 has no
     * per-core reset for the M7 to use. */
    if (m7->started || (FLASH_OPTSR_CUR & FLASH_OPTSR_BCM4) || (RCC_GCR & RCC_GCR_BOOT_C2))
        return -AMP_EBUSY;
    /* The image may still sit in the M7's D-cache (D2 SRAM is cacheable). */
    m7_cache_flush(m7, (const void *)(uintptr_t)AMP_M7_M4_SRAM_M7, AMP_M7_M4_SRAM_SIZE);
    int rc = option_bytes_boot_add0(boot_addr >> 16);
    if (rc)
        return rc;
    dsb();
    RCC_GCR |= RCC_GCR_BOOT_C2;
    m7->started = true;
    return 0;
}

static int m7_rproc_start(void *ctx, uint64_t entry)
{
    return amp_m7_boot_m4(ctx, (uint32_t)entry & ~0xFFFFu);
}

static int m7_rproc_stop(void *ctx)
{
    struct amp_m7 *m7 = ctx;
    return m7->started ? -AMP_ENOTSUP : 0;
}

static enum amp_rproc_state m7_rproc_state(void *ctx)
{
    struct amp_m7 *m7 = ctx;
    return m7->started ? AMP_RPROC_RUNNING : AMP_RPROC_STOPPED;
}

const struct amp_rproc_board_ops amp_m7_rproc_ops = {
    .start = m7_rproc_start,
    .stop = m7_rproc_stop,
    .state = m7_rproc_state,
};
