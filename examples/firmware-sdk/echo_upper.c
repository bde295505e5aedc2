/*
 * A firmware with two services, built outside amp's tree against the
 * installed SDK only (Makefile here; the install test builds it):
 * "vuart-channel" echoes what it gets, like virtual_uart; "upper" answers
 * in capitals. Both reply to the address the message came from: that is
 * how a remote learns the host's address (docs/firmware.md).
 */
#include "amp_fw.h"

static int upper(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    char out[AMP_RPMSG_DEFAULT_BUF_SIZE];
    const char *in = data;
    (void)priv;
    if (len > sizeof out)
        len = sizeof out;
    for (size_t i = 0; i < len; i++)
        out[i] = (in[i] >= 'a' && in[i] <= 'z') ? (char)(in[i] - 'a' + 'A') : in[i];
    int rc = amp_rpmsg_send_offchannel(e, e->addr, src, out, len, AMP_FW_SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("upper", rc);
    return AMP_RPMSG_RELEASE;
}

int main(void)
{
    static struct amp_rpmsg_device dev;
    static struct amp_rpmsg_endpoint echo_ept, upper_ept;
    amp_fw_trace("echo_upper: up\n");
    int rc = amp_fw_rpmsg_start(&dev, AMP_FW_BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("rpmsg start", rc);
        return 2;
    }
    if ((rc = amp_rpmsg_create_ept(&echo_ept, &dev, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                                   AMP_RPMSG_ADDR_ANY, amp_fw_echo, NULL, NULL)) ||
        (rc = amp_rpmsg_create_ept(&upper_ept, &dev, "upper", AMP_RPMSG_ADDR_ANY,
                                   AMP_RPMSG_ADDR_ANY, upper, NULL, NULL))) {
        amp_fw_trace_error("endpoint", rc);
        return 3;
    }
    return amp_fw_rpmsg_run(&dev) ? 4 : 0;
}
