/*
 * napper: an M4 test firmware for the SDK's tickless idle, for
 * tests/c/test_sim.c. It makes timed waits of NAP_TIMEOUTS_MS (nobody rings),
 * then waits forever, woken by the host's doorbells. After each wait it
 * publishes one record at the top of SRAM: the wait's result, how long it
 * took and when it ended by the SDK's clock (us), and the SysTick
 * interrupts taken so far. The host compares them with its own clock.
 */
#include "amp_fw.h"
#include "amp_fw_stm32h747.h"

#define PROBE ((volatile uint32_t *)0x10047F00u)
#define PROBE_MAGIC 0x4A9933u
#define RECORDS 14

static const int32_t timeouts_ms[] = { 30, 150, 700, 5, 400 };
#define NTIMEOUTS (sizeof timeouts_ms / sizeof timeouts_ms[0])

int main(void)
{
    for (unsigned i = 1; i < 4 + 4 * RECORDS; i++)
        PROBE[i] = 0;
    /* The host rang once at start, before we enabled the interrupt. */
    amp_fw_doorbell_take();
    PROBE[0] = PROBE_MAGIC;
    for (uint32_t seq = 0;; seq++) {
        int32_t timeout = seq < NTIMEOUTS ? timeouts_ms[seq] : AMP_WAIT_FOREVER;
        uint64_t t0 = amp_fw_time_ns();
        int rc = amp_fw_doorbell_wait(timeout);
        uint64_t t1 = amp_fw_time_ns();
        volatile uint32_t *r = &PROBE[4 + 4 * (seq % RECORDS)];
        r[0] = (uint32_t)rc;
        r[1] = (uint32_t)((t1 - t0) / 1000u);
        r[2] = (uint32_t)(t1 / 1000u);
        r[3] = amp_fw_tick_count();
        PROBE[1] = seq + 1;
    }
}
