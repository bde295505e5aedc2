/*
 * ns_drop: firmware for the MicroPython tests. Echoes on "vuart-channel"
 * like virtual_uart and takes commands on "ns-ctl":
 *   "drop" - destroy "vuart-channel" (the host gets an NS destroy)
 *   "back" - create it again (a new NS create, at a new address)
 * so a test can see what the user is shown when the remote withdraws a
 * service (upstream's module never tells).
 */
#include "amp_fw.h"

#define BOOT_TIMEOUT_MS 10000
#define SEND_TIMEOUT_MS 1000

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint uart, ctl;
static bool uart_up;

static bool is_cmd(const void *data, size_t len, const char *cmd)
{
    size_t n = 0;
    while (cmd[n])
        n++;
    return len == n && __builtin_memcmp(data, cmd, n) == 0;
}

static int command(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    int rc = 0;
    if (is_cmd(data, len, "drop") && uart_up) {
        rc = amp_rpmsg_destroy_ept(&uart);
        uart_up = false;
    } else if (is_cmd(data, len, "back") && !uart_up) {
        rc = amp_rpmsg_create_ept(&uart, &dev, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                                  AMP_RPMSG_ADDR_ANY, amp_fw_echo, NULL, NULL);
        uart_up = rc == 0;
    }
    if (rc < 0)
        amp_fw_trace_error("ns_drop: command", rc);
    /* Acknowledge, so the host knows the command was carried out. */
    rc = amp_rpmsg_send_offchannel(e, e->addr, src, data, len, SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("ns_drop: ack", rc);
    return AMP_RPMSG_RELEASE;
}

int main(void)
{
    amp_fw_platform(AMP_FW_WAIT_BLOCKING);
    int rc = amp_fw_rpmsg_start(&dev, BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("ns_drop: rpmsg start", rc);
        return 2;
    }
    rc = amp_rpmsg_create_ept(&uart, &dev, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                              AMP_RPMSG_ADDR_ANY, amp_fw_echo, NULL, NULL);
    uart_up = rc == 0;
    if (rc == 0)
        rc = amp_rpmsg_create_ept(&ctl, &dev, "ns-ctl", AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY,
                                  command, NULL, NULL);
    if (rc) {
        amp_fw_trace_error("ns_drop: endpoint", rc);
        return 3;
    }
    return amp_fw_rpmsg_run(&dev) ? 4 : 0;
}
