/*
 * Echo + name service: the echo endpoint gets a dynamic address and a
 * name, announced to the host (NS create), and binds to what the host
 * announces (NS receive), as a service like rpmsg-tty does.
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
    amp_rpmsg_create_ept(&ept, &dev, "rpmsg-echo", AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY, echo,
                         NULL, NULL);
    fp_run(&dev);
}
