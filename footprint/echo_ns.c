/*
 * Echo + name service: the echo endpoint gets a dynamic address and a
 * name, announced to the host (NS create), and binds to what the host
 * announces (NS receive), as a service like rpmsg-tty does.
 */
#include "remote.h"

static struct amp_rpmsg_device service_dev;
static struct amp_rpmsg_endpoint service;

int main(void)
{
    fp_start(&service_dev);
    amp_rpmsg_create_ept(&service, &service_dev, "rpmsg-echo", AMP_RPMSG_ADDR_ANY,
                         AMP_RPMSG_ADDR_ANY, fp_echo, NULL, NULL);
    fp_run(&service_dev);
}
