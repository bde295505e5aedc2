/*
 * crasher: announces "vuart-channel", traces a line, then writes outside
 * board memory (SIGSEGV) once the host has served it for ~200 ms: what
 * `amp run` must report as a crash with its reason (tests/cli/run.sh).
 */
#include "amp_fw.h"

static volatile uintptr_t unmapped = 0x40000000u;

int main(void)
{
    static struct amp_rpmsg_device dev;
    static struct amp_rpmsg_endpoint ept;
    amp_fw_trace("crasher: up\n");
    if (amp_fw_rpmsg_start(&dev, AMP_FW_BOOT_TIMEOUT_MS) ||
        amp_rpmsg_create_ept(&ept, &dev, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                             AMP_RPMSG_ADDR_ANY, amp_fw_echo, NULL, NULL))
        return 2;
    uint32_t until = amp_fw_time_ms() + 200;
    while ((int32_t)(until - amp_fw_time_ms()) > 0) {
        amp_rpmsg_poll(&dev);
        amp_fw_doorbell_wait(10);
    }
    amp_fw_trace("crasher: writing to 0x40000000\n");
    *(volatile uint32_t *)unmapped = 0xdead;
    return 0;
}
