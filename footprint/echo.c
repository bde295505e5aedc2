/*
 * The smallest useful remote: one endpoint at a fixed address that echoes
 * every message to its sender (copy send). What `make footprint` calls
 * "echo", the reference the other images are compared with.
 */
#include "remote.h"

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint ept;

static int echo(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    amp_rpmsg_send_offchannel(e, e->addr, src, data, len, AMP_WAIT_FOREVER);
    return AMP_RPMSG_RELEASE;
}

int main(void)
{
    fp_start(&dev);
    amp_rpmsg_create_ept(&ept, &dev, NULL, 30, AMP_RPMSG_ADDR_ANY, echo, NULL, NULL);
    fp_run(&dev);
}
