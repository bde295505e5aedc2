/*
 * dekker: an M4 test firmware for memory barriers against the host, for
 * tests/c/test_sim.c. Each round the host starts, both sides store their
 * flag (the round number), DMB / fence, and load the other's: with the
 * barriers, at least one side sees the other's store (store buffering is
 * forbidden). Shared words in SRAM4: go, the M4's flag, the host's flag,
 * the round done, what the M4 saw. DEKKER_IN_RAM (dekker_ram.c): the same
 * loop runs from SRAM (.ramfunc, copied there with .data at start-up).
 */
#include <stdint.h>

#include "amp_fw.h"

#define SH ((volatile uint32_t *)0x38008000u)

#ifdef DEKKER_IN_RAM
#define PLACE __attribute__((section(".ramfunc"), noinline, noreturn))
#else
#define PLACE __attribute__((noinline, noreturn))
#endif

PLACE static void rounds(void)
{
    for (uint32_t r = 1;; r++) {
        while (SH[0] != r)
            ;
        SH[1] = r;
        __asm__ volatile("dmb" ::: "memory");
        uint32_t y = SH[2];
        SH[4] = y;
        SH[3] = r;
    }
}

int main(void)
{
    rounds();
}
