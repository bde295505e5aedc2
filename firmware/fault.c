/*
 * fault: echoes on "vuart-channel" like virtual_uart, but on command it
 * misbehaves, to test how the host copes with a core that dies or hangs:
 *   "crash"    - write to an address outside board memory (M4: 0x40021000,
 *                nothing modelled there; x86-64: SIGSEGV)
 *   "undef"    - an undefined instruction (udf / ud2)
 *   "bkpt"     - a breakpoint instruction (bkpt / int3)
 *   "overflow" - recurse until the stack runs off the bottom of SRAM
 *   "exit"     - end the firmware with status 3
 *   "hang"     - spin forever without serving the rings
 */
#include "amp_fw.h"

/* Volatile so the compiler cannot prove the store below is undefined. */
static volatile uintptr_t unmapped = 0x40021000u;
static volatile uint32_t depth;

static bool is_cmd(const void *data, size_t len, const char *cmd)
{
    size_t n = 0;
    while (cmd[n])
        n++;
    return len == n && __builtin_memcmp(data, cmd, n) == 0;
}

/* Bounded only by the (huge) limit, so the stack runs out first. */
static __attribute__((noinline)) uint32_t recurse(volatile uint32_t *prev)
{
    volatile uint32_t frame[16];
    frame[0] = prev ? *prev + 1 : 0;
    depth = frame[0];
    if (depth > 0x7FFFFFFFu)
        return frame[0];
    return recurse(frame) + frame[1];
}

static int serve(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    if (is_cmd(data, len, "crash")) {
        amp_fw_trace("fault: crashing\n");
        *(volatile uint32_t *)unmapped = 0xdead;
    } else if (is_cmd(data, len, "undef")) {
        amp_fw_trace("fault: undefined instruction\n");
        __builtin_trap();
    } else if (is_cmd(data, len, "bkpt")) {
        amp_fw_trace("fault: breakpoint\n");
#if defined(__arm__)
        __asm__ volatile("bkpt #0x42");
#else
        __asm__ volatile("int3");
#endif
    } else if (is_cmd(data, len, "overflow")) {
        amp_fw_trace("fault: stack overflow\n");
        recurse(0);
    } else if (is_cmd(data, len, "exit")) {
        amp_fw_trace("fault: exiting\n");
        amp_fw_exit(3);
    } else if (is_cmd(data, len, "hang")) {
        amp_fw_trace("fault: hanging\n");
        for (;;)
            amp_fw_cpu_relax();
    }
    return amp_fw_echo(e, data, len, src, priv);
}

int main(void)
{
    return amp_fw_serve("fault", "vuart-channel", serve);
}
