/*
 * The smallest useful remote: one endpoint at a fixed address that echoes
 * every message to its sender (copy send). What `make footprint` calls
 * "echo", the reference the other images are compared with.
 */
#include "remote.h"

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint ept;

int main(void)
{
    fp_start(&dev);
    amp_rpmsg_create_ept(&ept, &dev, NULL, 30, AMP_RPMSG_ADDR_ANY, fp_echo, NULL, NULL);
    fp_run(&dev);
}
