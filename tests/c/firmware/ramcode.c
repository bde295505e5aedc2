/*
 * ramcode: an M4 test firmware that runs code from SRAM and rewrites it
 * between calls, for tests/c/test_sim.c (the emulated core's fast stores
 * must not keep stale translated code). A function of two Thumb
 * instructions, `movs r0, #imm; bx lr`, is copied to SRAM and called;
 * then its immediate is patched (DSB, ISB, as the architecture asks) and
 * it is called again, ROUNDS times. Results at the top of SRAM: magic,
 * calls that returned what was written, calls that did not, the last value.
 */
#include "amp_fw.h"

#define PROBE ((volatile uint32_t *)0x10047F00u)
#define PROBE_MAGIC 0x7A3C0DEu
#define ROUNDS 200u

static uint16_t code[8] __attribute__((aligned(8)));

static void store_code(uint32_t imm)
{
    ((volatile uint16_t *)code)[0] = (uint16_t)(0x2000u | (imm & 0xFFu)); /* movs r0, #imm */
    ((volatile uint16_t *)code)[1] = 0x4770u;                             /* bx lr */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

static uint32_t call_code(void)
{
    uint32_t (*fn)(void) = (uint32_t (*)(void))((uintptr_t)code | 1u);
    return fn();
}

int main(void)
{
    uint32_t good = 0, bad = 0, last = 0;
    PROBE[1] = PROBE[2] = PROBE[3] = 0;
    for (uint32_t i = 0; i < ROUNDS; i++) {
        uint32_t want = (i * 37u + 17u) & 0xFFu;
        store_code(want);
        last = call_code();
        if (last == want)
            good++;
        else
            bad++;
    }
    PROBE[1] = good;
    PROBE[2] = bad;
    PROBE[3] = last;
    PROBE[0] = PROBE_MAGIC;
    for (;;)
        __asm__ volatile("wfi" ::: "memory");
}
