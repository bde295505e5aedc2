/*
 * Zero-copy echo: the answer is written straight into a transmit buffer
 * (amp_rpmsg_get_tx_buffer + amp_rpmsg_send_nocopy), as a firmware that
 * builds its messages in place would.
 */
#include "remote.h"

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint ept;

static int echo(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    uint32_t size;
    int err;
    uint8_t *buf = amp_rpmsg_get_tx_buffer(e->dev, &size, AMP_WAIT_FOREVER, &err);
    if (!buf)
        return err;
    if (len > size) {
        amp_rpmsg_release_tx_buffer(e->dev, buf);
        return -AMP_EMSGSIZE;
    }
    for (size_t i = 0; i < len; i++)
        buf[i] = ((const uint8_t *)data)[i];
    amp_rpmsg_send_nocopy(e, e->addr, src, buf, len);
    return AMP_RPMSG_RELEASE;
}

int main(void)
{
    fp_start(&dev);
    amp_rpmsg_create_ept(&ept, &dev, NULL, 30, AMP_RPMSG_ADDR_ANY, echo, NULL, NULL);
    fp_run(&dev);
}
