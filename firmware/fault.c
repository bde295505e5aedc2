/*
 * fault: echoes on "vuart-channel" like virtual_uart, but on command it
 * misbehaves, to test how the host copes with a core that dies or hangs:
 *   "crash" - write to an address outside board memory (SIGSEGV)
 *   "exit"  - end the firmware with status 3
 *   "hang"  - spin forever without serving the rings
 */
#include "amp_fw.h"

#define BOOT_TIMEOUT_MS 10000
#define SEND_TIMEOUT_MS 1000

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint ept;
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
    (void)priv;
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
    int rc = amp_rpmsg_send_offchannel(e, e->addr, src, data, len, SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("fault: echo", rc);
    return AMP_RPMSG_RELEASE;
}

int main(void)
{
    amp_fw_trace("fault: up\n");
    amp_fw_platform(AMP_FW_WAIT_BLOCKING);
    int rc = amp_fw_rpmsg_start(&dev, BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("fault: rpmsg start", rc);
        return 2;
    }
    rc = amp_rpmsg_create_ept(&ept, &dev, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                              AMP_RPMSG_ADDR_ANY, serve, NULL, NULL);
    if (rc) {
        amp_fw_trace_error("fault: endpoint", rc);
        return 3;
    }
    return amp_fw_rpmsg_run(&dev) ? 4 : 0;
}
