/*
 * lite_echo: our remote in rpmsg-lite's table-less layout, the one
 * amp_sim_layout_rpmsg_lite(&l, 0x38000000, 32, 16, 0x400, 512) describes:
 * vring 0 at 0x38000000, vring 1 at 0x38000400, 64 buffers of 512 bytes
 * from 0x38000800, physical addresses in the descriptors, name service on.
 * No resource table, so no status byte: like rpmsg-lite's remote, it waits
 * for the host's link-up doorbell (rpmsg-lite's master rings once at init,
 * so does the board's host set-up of such a layout). Announces
 * "lite-echo" and echoes every message, ringing for each (always_notify).
 * Trace: AMP_FW_TRACE_DA, 256 bytes.
 */
#include "amp_fw.h"

#define LITE_SHM_DA   AMP_FW_SHARED_DA
#define LITE_NUM      32u
#define LITE_ALIGN    16u
#define LITE_SPAN     0x400u

AMP_FW_TRACE_AREA(256);

int main(void)
{
    static struct amp_rpmsg_device dev;
    static struct amp_rpmsg_endpoint ept;
    amp_fw_trace_set_buffer(amp_fw_trace_area, sizeof amp_fw_trace_area);
    amp_fw_trace("lite_echo: up\n");

    if (amp_fw_doorbell_wait(AMP_FW_BOOT_TIMEOUT_MS) != 0) {
        amp_fw_trace_error("link up", -AMP_ETIMEDOUT);
        return 2;
    }
    struct amp_rpmsg_config cfg = {
        .role = AMP_RPMSG_REMOTE,
        .addr_mode = AMP_ADDR_PHYS,
        .shm = (void *)(uintptr_t)LITE_SHM_DA,
        .shm_pa = LITE_SHM_DA,
        .shm_size = AMP_FW_SHARED_SIZE,
        .vring = { (void *)(uintptr_t)LITE_SHM_DA, (void *)(uintptr_t)(LITE_SHM_DA + LITE_SPAN) },
        .vring_notifyid = { 0, 1 },
        .vring_num = LITE_NUM,
        .vring_align = LITE_ALIGN,
        .features = 1u << AMP_VIRTIO_RPMSG_F_NS,
        /* rpmsg-lite's master leaves NO_INTERRUPT set on its receive ring. */
        .always_notify = true,
        .platform = amp_fw_platform(AMP_FW_WAIT_BLOCKING),
    };
    int rc = amp_rpmsg_init(&dev, &cfg);
    if (rc) {
        amp_fw_trace_error("rpmsg init", rc);
        return 3;
    }
    rc = amp_rpmsg_create_ept(&ept, &dev, "lite-echo", AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY,
                              amp_fw_echo, NULL, NULL);
    if (rc) {
        amp_fw_trace_error("endpoint", rc);
        return 4;
    }
    return amp_fw_rpmsg_run(&dev) ? 5 : 0;
}
