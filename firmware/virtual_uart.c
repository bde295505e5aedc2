/*
 * virtual_uart: announces "vuart-channel" and echoes every message back,
 * unchanged, to whoever sent it. Uses the board's host-built table
 * (MicroPython's model).
 */
#include "amp_fw.h"

#define BOOT_TIMEOUT_MS 10000
#define SEND_TIMEOUT_MS 1000

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint ept;

static int echo(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    int rc = amp_rpmsg_send_offchannel(e, e->addr, src, data, len, SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("virtual_uart: echo", rc);
    return AMP_RPMSG_RELEASE;
}

int main(void)
{
    amp_fw_trace("virtual_uart: up\n");
    amp_fw_platform(AMP_FW_WAIT_BLOCKING);
    int rc = amp_fw_rpmsg_start(&dev, BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("virtual_uart: rpmsg start", rc);
        return 2;
    }
    rc = amp_rpmsg_create_ept(&ept, &dev, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                              AMP_RPMSG_ADDR_ANY, echo, NULL, NULL);
    if (rc) {
        amp_fw_trace_error("virtual_uart: endpoint", rc);
        return 3;
    }
    return amp_fw_rpmsg_run(&dev) ? 4 : 0;
}
