/*
 * fault: echoes on "vuart-channel" like virtual_uart, but on command it
 * misbehaves, to test how the host copes with a core that dies or hangs:
 *   "crash" - write to an address outside board memory (SIGSEGV)
 *   "exit"  - end the firmware with status 3
 *   "hang"  - spin forever without serving the rings
 */
#include "amp_fw.h"

/* Volatile so the compiler cannot prove the store below is undefined. */
static volatile uintptr_t unmapped = 0x40000000u;

static bool is_cmd(const void *data, size_t len, const char *cmd)
{
    size_t n = 0;
    while (cmd[n])
        n++;
    return len == n && __builtin_memcmp(data, cmd, n) == 0;
}

static int serve(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    if (is_cmd(data, len, "crash")) {
        amp_fw_trace("fault: crashing\n");
        *(volatile uint32_t *)unmapped = 0xdead;
    } else if (is_cmd(data, len, "exit")) {
        amp_fw_trace("fault: exiting\n");
        amp_fw_exit(3);
    } else if (is_cmd(data, len, "hang")) {
        amp_fw_trace("fault: hanging\n");
        for (;;)
            __asm__ volatile("pause");
    }
    return amp_fw_echo(e, data, len, src, priv);
}

int main(void)
{
    return amp_fw_serve("fault", "vuart-channel", serve);
}
