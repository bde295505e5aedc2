/*
 * The sim-h747 HAL on the STM32H747's Cortex-M4, written from RM0399 and the
 * ARMv7-M manual; the same image runs on the chip and on the emulated core.
 *   Doorbells: the M7 frees HSEM 0 to notify us (HSEM2 interrupt, C2IER
 *     bit 0); we notify it by taking and freeing HSEM 1 (its HSEM1 line).
 *   Time: SysTick from the processor clock (SystemCoreClock) at
 *     AMP_FW_TICK_HZ, with the counter interpolated between ticks, so
 *     amp_fw_time_ns() has the clock's resolution and an idle core wakes
 *     only AMP_FW_TICK_HZ times a second.
 *   Sleep: WFI with interrupts masked around the check, so a doorbell that
 *     arrives between the check and the WFI still wakes it.
 */
#include "amp_fw.h"
#include "amp_fw_stm32h747.h"
#include "stm32h747_regs.h"

/* The M4's clock: HSI 64 MHz at reset (RM0399 8.5.2). A host that sets up
 * the PLLs before releasing the M4 tells the firmware by changing this
 * before amp_fw_board_init (e.g. 240000000 on a 480 MHz M7). */
uint32_t SystemCoreClock = 64000000u;

/* Interrupt priorities (4 bits): the doorbell above the tick. */
#define PRIO_HSEM    0x40u
#define PRIO_SYSTICK 0x80u

static volatile uint32_t ticks;
static volatile bool doorbell_rung;

static inline void irq_disable(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static inline void irq_enable(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

void amp_fw_board_init(void)
{
    /* The HSEM's clock, as seen by this CPU. */
    RCC_C2_AHB4ENR |= RCC_AHB4ENR_HSEMEN;
    (void)RCC_C2_AHB4ENR;  /* read back: the clock is on before the first access */

    SYST_RVR = SystemCoreClock / AMP_FW_TICK_HZ - 1u;
    SYST_CVR = 0;
    SCB_SHPR3 = (SCB_SHPR3 & 0x00FFFFFFu) | (PRIO_SYSTICK << 24);
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;

    /* A doorbell the host rang before we got here stays pending (C2ISR): the
     * interrupt comes as soon as it is enabled. */
    HSEM_C2IER |= 1u << HSEM_ID_TO_REMOTE;
    NVIC_IPR8(HSEM2_IRQn) = PRIO_HSEM;
    NVIC_ICPR(HSEM2_IRQn / 32) = 1u << (HSEM2_IRQn % 32);
    NVIC_ISER(HSEM2_IRQn / 32) = 1u << (HSEM2_IRQn % 32);
    irq_enable();
}

void SysTick_Handler(void)
{
    ticks++;
}

uint32_t amp_fw_tick_count(void)
{
    return ticks;
}

void HSEM2_IRQHandler(void)
{
    uint32_t freed = HSEM_C2MISR;
    HSEM_C2ICR = freed;
    if (freed & (1u << HSEM_ID_TO_REMOTE))
        doorbell_rung = true;
}

_Noreturn void amp_fw_exit(int code)
{
    register int r0 __asm__("r0") = code;
    for (;;)
        __asm__ volatile("bkpt #0x01" : : "r"(r0));
}

void amp_fw_cpu_relax(void)
{
    __asm__ volatile("nop");
}

/* ---- Doorbells ---- */

void amp_fw_doorbell_raise(void)
{
    /* 1-step lock (read RLR), then free with our COREID and PROCID 0:
     * the free raises the M7's HSEM1 interrupt. */
    while (!((HSEM_RLR(HSEM_ID_TO_HOST) & (HSEM_LOCK | (0xFu << HSEM_COREID_SHIFT))) ==
             (HSEM_LOCK | (HSEM_COREID_CM4 << HSEM_COREID_SHIFT))))
        ;
    HSEM_R(HSEM_ID_TO_HOST) = HSEM_COREID_CM4 << HSEM_COREID_SHIFT;
}

bool amp_fw_doorbell_take(void)
{
    if (!doorbell_rung)
        return false;
    doorbell_rung = false;
    return true;
}

int amp_fw_doorbell_wait(int32_t timeout_ms)
{
    uint32_t start = amp_fw_time_ms();
    for (;;) {
        irq_disable();
        if (doorbell_rung) {
            doorbell_rung = false;
            irq_enable();
            return 0;
        }
        if (timeout_ms >= 0 && amp_fw_time_ms() - start >= (uint32_t)timeout_ms) {
            irq_enable();
            return -AMP_ETIMEDOUT;
        }
        /* Wakes for a pending interrupt even with PRIMASK set; it is taken
         * at the cpsie. */
        __asm__ volatile("wfi" ::: "memory");
        irq_enable();
    }
}

/* ---- Time ---- */

#define SCB_ICSR_PENDSTSET (1u << 26)

uint64_t amp_fw_time_ns(void)
{
    uint32_t t, cvr, pending;
    do {
        t = ticks;
        cvr = SYST_CVR;
        pending = SCB_ICSR & SCB_ICSR_PENDSTSET;
    } while (t != ticks);
    uint32_t reload = SYST_RVR + 1u;
    /* Interrupts masked across a wrap: the tick is pending, the counter restarted. */
    if (pending && cvr >= reload / 2u)
        t++;
    const uint64_t tick_ns = 1000000000u / AMP_FW_TICK_HZ;
    return (uint64_t)t * tick_ns + (uint64_t)(reload - 1u - cvr) * tick_ns / reload;
}

uint32_t amp_fw_time_ms(void)
{
    return (uint32_t)(amp_fw_time_ns() / 1000000u);
}
