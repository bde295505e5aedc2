/*
 * sleeper: an M4 test firmware that only sleeps in WFI and counts why it
 * woke, for tests/c/test_sim.c. The SDK's start-up enables the SysTick
 * (AMP_FW_TICK_HZ) and the HSEM doorbell interrupt; each interrupt ends one WFI.
 * Counters at the top of SRAM (unused by the image): magic, wake-ups, the
 * tick count, doorbells seen.
 */
#include "amp_fw.h"
#include "amp_fw_stm32h747.h"

#define PROBE ((volatile uint32_t *)0x10047F00u)
#define PROBE_MAGIC 0x51EE9u

int main(void)
{
    uint32_t wakes = 0, bells = 0;
    PROBE[1] = PROBE[2] = PROBE[3] = 0;
    PROBE[0] = PROBE_MAGIC;
    for (;;) {
        __asm__ volatile("wfi" ::: "memory");
        wakes++;
        if (amp_fw_doorbell_take())
            bells++;
        PROBE[1] = wakes;
        PROBE[2] = amp_fw_tick_count();
        PROBE[3] = bells;
    }
}
