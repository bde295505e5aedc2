/*
 * ns_probe: firmware for the Python tests. Like virtual_uart it announces
 * "vuart-channel" and echoes every message; it also serves "ns-probe" and
 * reports there every name-service message it receives for a name it has
 * no endpoint of its own for:
 *
 *   "create <name> <addr>" / "destroy <name> <addr>"
 *
 * so a test can see that the host's announcements (Endpoint() and deinit())
 * reach the remote. "ns-probe" learns the host's address from the first
 * message the host sends on it (send anything first).
 */
#include "amp_fw.h"
#include "fw_text.h"

#define BOOT_TIMEOUT_MS 10000
#define SEND_TIMEOUT_MS 1000
#define REPORT_MAX 96

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint uart, probe;

static int echo(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    int rc = amp_rpmsg_send_offchannel(e, e->addr, src, data, len, SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("ns_probe: echo", rc);
    return AMP_RPMSG_RELEASE;
}

static size_t put_str(char *buf, size_t at, const char *s)
{
    while (*s && at < REPORT_MAX)
        buf[at++] = *s++;
    return at;
}

static void on_service(struct amp_rpmsg_device *d, const char *name, uint32_t addr,
                       uint32_t flags, void *priv)
{
    (void)d;
    (void)priv;
    char msg[REPORT_MAX];
    size_t n = put_str(msg, 0, flags == AMP_RPMSG_NS_DESTROY ? "destroy " : "create ");
    n = put_str(msg, n, name);
    n = put_str(msg, n, " ");
    n = fw_put_u32(msg, n, REPORT_MAX, addr);
    if (probe.dest_addr == AMP_RPMSG_ADDR_ANY) {
        amp_fw_trace("ns_probe: not yet bound, unreported: ");
        amp_fw_trace(name);
        amp_fw_trace("\n");
        return;
    }
    int rc = amp_rpmsg_send(&probe, msg, n, SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("ns_probe: report", rc);
}

int main(void)
{
    amp_fw_trace("ns_probe: up\n");
    amp_fw_platform(AMP_FW_WAIT_BLOCKING);
    int rc = amp_fw_rpmsg_start(&dev, BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("ns_probe: rpmsg start", rc);
        return 2;
    }
    amp_rpmsg_set_ns_callback(&dev, on_service, NULL);
    rc = amp_rpmsg_create_ept(&uart, &dev, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                              AMP_RPMSG_ADDR_ANY, echo, NULL, NULL);
    if (rc == 0)
        rc = amp_rpmsg_create_ept(&probe, &dev, "ns-probe", AMP_RPMSG_ADDR_ANY,
                                  AMP_RPMSG_ADDR_ANY, echo, NULL, NULL);
    if (rc) {
        amp_fw_trace_error("ns_probe: endpoint", rc);
        return 3;
    }
    return amp_fw_rpmsg_run(&dev) ? 4 : 0;
}
