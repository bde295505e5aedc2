/*
 * A bare-metal Cortex-M4 environment for the footprint images: the least a
 * remote needs to run our stack on an STM32H747's M4 (vector table, reset,
 * HSEM doorbells, a millisecond tick). Its size is reported apart from the
 * stack's.
 */
#include "amp/platform.h"
#include "stm32h747_regs.h"   /* the M4 SDK's register facts (RM0399) */

static volatile uint32_t ticks;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    ticks++;
}

/* Remote -> host is HSEM 1 (MicroPython's convention): take and release it. */
static void fp_notify(void *ctx, uint32_t queue_id)
{
    (void)ctx;
    (void)queue_id;
    /* Free with our COREID, or the free is ignored (RM0399, HSEM). */
    (void)HSEM_RLR(HSEM_ID_TO_HOST);
    HSEM_R(HSEM_ID_TO_HOST) = HSEM_COREID_CM4 << HSEM_COREID_SHIFT;
}

static int fp_wait(void *ctx, int32_t timeout_ms)
{
    (void)ctx;
    uint32_t start = ticks;
    while (!(HSEM_C2MISR & 1u)) {
        if (timeout_ms >= 0 && ticks - start >= (uint32_t)timeout_ms)
            return -AMP_ETIMEDOUT;
        __asm__ volatile("wfi");
    }
    HSEM_C2ICR = 1u;
    return 0;
}

static uint32_t fp_time(void *ctx)
{
    (void)ctx;
    return ticks;
}

static const struct amp_platform_ops fp_ops = { .notify = fp_notify, .wait = fp_wait,
                                                .time_ms = fp_time };
const struct amp_platform fp_platform = { .ops = &fp_ops };

int main(void);
void Reset_Handler(void);
extern uint32_t __stack_top, __data_start, __data_end, __data_load, __bss_start, __bss_end;

void Reset_Handler(void)
{
    uint32_t *src = &__data_load;
    for (uint32_t *dst = &__data_start; dst < &__data_end;)
        *dst++ = *src++;
    for (uint32_t *dst = &__bss_start; dst < &__bss_end;)
        *dst++ = 0;
    /* HSEM 0 interrupt on, NVIC line off (no handler here): a doorbell is
     * seen in C2MISR at the next SysTick wake-up at the latest. */
    HSEM_C2IER = 1u << HSEM_ID_TO_REMOTE;
    SYST_RVR = 240000u - 1u;  /* 1 ms at 240 MHz */
    SYST_CSR = 7u;
    main();
    for (;;)
        __asm__ volatile("wfi");
}

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top, Reset_Handler, [15] = SysTick_Handler,
};
