/*
 * rsc_echo: carries its own resource table (Linux's model: vrings at
 * address ANY, allocated by the host and written back before boot; a trace
 * buffer in our SRAM), announces "rsc-echo" and echoes every message.
 */
#include "amp_fw.h"

#define BOOT_TIMEOUT_MS 10000
#define SEND_TIMEOUT_MS 1000
#define TRACE_LEN 256

AMP_FW_TRACE_AREA(TRACE_LEN);
AMP_FW_RSC_TABLE(resource_table, 64, 32, AMP_FW_TRACE_DA, TRACE_LEN);

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint ept;

static int echo(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    int rc = amp_rpmsg_send_offchannel(e, e->addr, src, data, len, SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("rsc_echo: echo", rc);
    return AMP_RPMSG_RELEASE;
}

int main(void)
{
    amp_fw_trace("rsc_echo: up\n");
    amp_fw_platform(AMP_FW_WAIT_BLOCKING);
    int rc = amp_fw_rpmsg_start(&dev, BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("rsc_echo: rpmsg start", rc);
        return 2;
    }
    rc = amp_rpmsg_create_ept(&ept, &dev, "rsc-echo", AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY,
                              echo, NULL, NULL);
    if (rc) {
        amp_fw_trace_error("rsc_echo: endpoint", rc);
        return 3;
    }
    return amp_fw_rpmsg_run(&dev) ? 4 : 0;
}
