/*
 * systick_check: an M4 test firmware that checks SysTick and ICSR against
 * the ARMv7-M ARM (B3.3, B3.2.4) from inside, for tests/c/test_sim.c, and
 * would give the same answers on the chip. Interrupts stay masked: the
 * SDK's tick must not run between the steps. Results at the top of SRAM:
 * magic, then one word per check (1 pass, 2 fail), then the values seen.
 */
#include "amp_fw.h"
#include "amp_fw_stm32h747.h"
#include "stm32h747_regs.h"

#define PROBE ((volatile uint32_t *)0x10047F00u)
#define PROBE_MAGIC 0x5157C4Bu
#define CHECKS 6
#define ICSR_PENDSTSET (1u << 26)
#define ICSR_PENDSTCLR (1u << 25)
#define CSR_COUNTFLAG  (1u << 16)
#define CSR_ON         (SYST_CSR_CLKSOURCE | SYST_CSR_ENABLE)
#define CSR_OFF        SYST_CSR_CLKSOURCE

static void result(unsigned i, bool ok, uint32_t seen)
{
    PROBE[1 + i] = ok ? 1u : 2u;
    PROBE[1 + CHECKS + i] = seen;
}

/* Spin until CVR has counted below `below` (bounded: a stuck counter fails). */
static bool count_below(uint32_t below)
{
    for (uint32_t n = 0; n < 50000000u; n++)
        if (SYST_CVR < below)
            return true;
    return false;
}

int main(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
    SYST_CSR = 0;
    SCB_ICSR = ICSR_PENDSTCLR;

    /* 0: a write to RVR does not restart the count: the new value is
     * loaded at the next wrap (B3.3.1). A 262 ms period, then RVR = 0xFF. */
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = CSR_ON;
    bool counting = count_below(0x00FFFF00u);
    SYST_RVR = 0xFFu;
    uint32_t cvr = SYST_CVR;
    result(0, counting && cvr > 0xFFu, cvr);

    /* 1: a disabled counter holds its value; 2: enabled again, it counts
     * on from there, not from RVR. */
    SYST_CSR = CSR_OFF;
    uint32_t held = SYST_CVR;
    for (volatile int i = 0; i < 20000; i++)
        ;
    uint32_t still = SYST_CVR;
    result(1, held > 0xFFu && still == held, still);
    SYST_CSR = CSR_ON;
    cvr = SYST_CVR;
    result(2, cvr <= held && cvr > 0xFFu, cvr);

    /* 3: the wrap pends SysTick and ICSR shows it at once: whenever CVR
     * shows the counter has wrapped, PENDSTSET is already set. 1 ms period. */
    SYST_CSR = CSR_OFF;
    SYST_RVR = 0xFFFFu;
    SYST_CVR = 0;
    SCB_ICSR = ICSR_PENDSTCLR;
    SYST_CSR = CSR_ON | SYST_CSR_TICKINT;
    uint32_t wraps = 0, misses = 0, last = SYST_CVR;
    while (wraps < 20) {
        uint32_t now = SYST_CVR;
        uint32_t icsr = SCB_ICSR;
        if (now > last) {  /* wrapped since the previous read */
            wraps++;
            if (!(icsr & ICSR_PENDSTSET))
                misses++;
            SCB_ICSR = ICSR_PENDSTCLR;
            now = SYST_CVR;
        }
        last = now;
    }
    result(3, misses == 0, misses);

    /* 4: a write to CVR clears COUNTFLAG but leaves the exception pending;
     * 5: PENDSTCLR clears it. */
    SCB_ICSR = ICSR_PENDSTCLR;
    (void)SYST_CSR;
    uint32_t icsr = 0;
    for (uint32_t n = 0; n < 50000000u && !(icsr & ICSR_PENDSTSET); n++)
        icsr = SCB_ICSR;
    SYST_CVR = 0;
    uint32_t csr = SYST_CSR;
    uint32_t after = SCB_ICSR;
    result(4, (icsr & ICSR_PENDSTSET) && (after & ICSR_PENDSTSET) && !(csr & CSR_COUNTFLAG),
           after);
    SYST_CSR = CSR_OFF;
    SCB_ICSR = ICSR_PENDSTCLR;
    result(5, !(SCB_ICSR & ICSR_PENDSTSET), SCB_ICSR);

    PROBE[0] = PROBE_MAGIC;
    for (;;)
        __asm__ volatile("wfi" ::: "memory");
}
