/*
 * The sim-h747 HAL on the STM32H747's Cortex-M4, written from RM0399 and the
 * ARMv7-M manual; the same image runs on the chip and on the emulated core.
 *   Doorbells: the M7 frees HSEM 0 to notify us (HSEM2 interrupt, C2IER
 *     bit 0); we notify it by taking and freeing HSEM 1 (its HSEM1 line).
 *   Time: SysTick from the processor clock (SystemCoreClock). The clock is
 *     the periods the counter completed plus where it is in the current
 *     one, so it has the clock's resolution whatever the period.
 *   Sleep: WFI with interrupts masked around the check, so a doorbell that
 *     arrives between the check and the WFI still wakes it. Tickless, as
 *     FreeRTOS and Zephyr do it on Cortex-M: before a WFI the period is
 *     set so that the wrap comes when the wait's timeout is due (at most
 *     the 24-bit counter's 2^24 clocks), not AMP_FW_TICK_HZ times a second.
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

/* The clock, in SysTick clocks: the running period started at
 * period_start and is `period` long (RVR + 1); clock_gen changes with them. */
static volatile uint64_t period_start;
static volatile uint32_t period;
static volatile uint32_t clock_gen;
static uint32_t core_hz = 64000000u;  /* set by amp_fw_board_init */

#define SYSTICK_MAX_PERIOD 0x01000000u   /* RVR is 24 bits */
#define SCB_ICSR_PENDSTSET (1u << 26)
#define SCB_ICSR_PENDSTCLR (1u << 25)

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

    core_hz = SystemCoreClock;
    period = core_hz / AMP_FW_TICK_HZ;
    SYST_RVR = period - 1u;
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
    /* The counter reloaded RVR (the same period: RVR changes only with a
     * restart, below). */
    period_start += period;
    clock_gen++;
    ticks++;
}

/* SysTick clocks since amp_fw_board_init. */
static uint64_t clock_cycles(void)
{
    uint32_t gen, cvr, pending, len;
    uint64_t start;
    do {
        gen = clock_gen;
        start = period_start;
        len = period;
        cvr = SYST_CVR;
        pending = SCB_ICSR & SCB_ICSR_PENDSTSET;
    } while (gen != clock_gen);
    /* 0 without a pending wrap: just restarted, the reload is one clock away. */
    if (cvr == 0)
        return start + (pending ? len - 1u : 0u);
    uint64_t t = start + (len - 1u - cvr);
    /* Interrupts masked across a wrap: the tick is pending, the counter reloaded. */
    if (pending && cvr >= len / 2u)
        t += len;
    return t;
}

/*
 * Start a period of `len` clocks now (interrupts masked). A pending wrap is
 * counted in `now` and cleared: a CVR write leaves it pending (B3.3.1). The
 * clocks between the CVR read and the write are lost (a few instructions).
 */
static void systick_restart(uint32_t len)
{
    uint64_t now = clock_cycles();
    SYST_RVR = len - 1u;
    SYST_CVR = 0;
    SCB_ICSR = SCB_ICSR_PENDSTCLR;
    period_start = now;
    period = len;
    clock_gen++;
}

/* Before a WFI (interrupts masked): have the wrap come when `due` is (or at
 * the 24-bit limit), restarting the counter only when that moves it. */
static void plan_wake(uint64_t now, uint64_t due)
{
    if (SCB_ICSR & SCB_ICSR_PENDSTSET)
        return;                      /* the WFI returns at once anyway */
    uint64_t want = due - now, end = period_start + period;
    uint64_t left = end > now ? end - now : 0;
    uint32_t shortest = core_hz / 100000u;   /* 10 us: not worth less */
    if (want < shortest)
        want = shortest;
    if (want > SYSTICK_MAX_PERIOD)
        want = SYSTICK_MAX_PERIOD;
    /* The wrap would come too late, or the period is much shorter than the
     * sleep (e.g. the start-up tick): one period to the timeout instead. */
    if (left > want + shortest || (uint64_t)period * 2u <= want)
        systick_restart((uint32_t)want);
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
    uint64_t start = clock_cycles();
    uint64_t limit = timeout_ms >= 0 ? (uint64_t)timeout_ms * (core_hz / 1000u) : UINT64_MAX;
    for (;;) {
        irq_disable();
        if (doorbell_rung) {
            doorbell_rung = false;
            irq_enable();
            return 0;
        }
        uint64_t now = clock_cycles();
        if (now - start >= limit) {
            irq_enable();
            return -AMP_ETIMEDOUT;
        }
        plan_wake(now, limit == UINT64_MAX ? UINT64_MAX : start + limit);
        /* Wakes for a pending interrupt even with PRIMASK set; it is taken
         * at the cpsie. */
        __asm__ volatile("wfi" ::: "memory");
        irq_enable();
    }
}

/* ---- Time ---- */

uint64_t amp_fw_time_ns(void)
{
    uint64_t t = clock_cycles();
    return t / core_hz * 1000000000u + t % core_hz * 1000000000u / core_hz;
}

uint32_t amp_fw_time_ms(void)
{
    return (uint32_t)(amp_fw_time_ns() / 1000000u);
}
