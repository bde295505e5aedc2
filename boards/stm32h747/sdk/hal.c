/*
 * Firmware HAL for sim-h747, the part common to both core types: the trace
 * buffer, the remote role's platform ops and rpmsg bring-up. The doorbells
 * and the clock are per core type: hal_linux.c (native x86-64 core),
 * cm4/hal_stm32h747.c (Cortex-M4, the real chip and its emulation).
 * Static state is fine here: there is one firmware per core.
 */
#include "amp_fw.h"

/* ---- Trace buffer ---- */

static struct {
    char *buf;
    uint32_t len;
    uint32_t pos;
} trace;

void amp_fw_trace_set_buffer(char *buf, uint32_t len)
{
    trace.buf = len ? buf : 0;
    trace.len = len;
    trace.pos = 0;
    if (trace.buf)
        trace.buf[0] = '\0';
}

/* Locate the trace buffer before first use (see amp_fw_rpmsg_start). */
static void trace_find(void);

void amp_fw_trace(const char *text)
{
    if (!trace.buf)
        trace_find();
    if (!trace.buf)
        return;
    /* Keep the last byte for the terminator; drop what does not fit. */
    while (*text && trace.pos + 1 < trace.len)
        trace.buf[trace.pos++] = *text++;
    trace.buf[trace.pos] = '\0';
}

void amp_fw_trace_u32(uint32_t value)
{
    char digits[11];
    int i = (int)sizeof digits - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + value % 10);
        value /= 10;
    } while (value && i > 0);
    amp_fw_trace(&digits[i]);
}

void amp_fw_trace_error(const char *what, int err)
{
    amp_fw_trace(what);
    amp_fw_trace(": ");
    amp_fw_trace(amp_strerror(err));
    amp_fw_trace("\n");
}

/* ---- Platform ops (remote role) ---- */

/* Adaptive mode: spin this long on the doorbell before sleeping. */
#define ADAPTIVE_SPIN_NS 20000u

static enum amp_fw_wait_mode fw_wait_mode;

static void fw_notify(void *ctx, uint32_t queue_id)
{
    (void)ctx;
    (void)queue_id;
    amp_fw_doorbell_raise();
}

static int fw_wait(void *ctx, int32_t timeout_ms)
{
    (void)ctx;
    switch (fw_wait_mode) {
    case AMP_FW_WAIT_POLLED:
        /* The caller spins on the rings; the host never dies under us
         * (PR_SET_PDEATHSIG), so there is nothing else to check. */
        return 0;
    case AMP_FW_WAIT_ADAPTIVE: {
        uint64_t start = amp_fw_time_ns();
        do {
            if (amp_fw_doorbell_take())
                return 0;
            amp_fw_cpu_relax();
        } while (amp_fw_time_ns() - start < ADAPTIVE_SPIN_NS);
        return amp_fw_doorbell_wait(timeout_ms);
    }
    case AMP_FW_WAIT_BLOCKING:
    default:
        return amp_fw_doorbell_wait(timeout_ms);
    }
}

static uint32_t fw_time_ms(void *ctx)
{
    (void)ctx;
    return amp_fw_time_ms();
}

static void *fw_da_to_va(void *ctx, uint64_t da, size_t len)
{
    (void)ctx;
    /* Device addresses are our addresses; only check they are board memory. */
    static const uint32_t base[3] = { AMP_FW_FLASH_DA, AMP_FW_SRAM_DA, AMP_FW_SHARED_DA };
    static const uint32_t size[3] = { AMP_FW_FLASH_SIZE, AMP_FW_SRAM_SIZE, AMP_FW_SHARED_SIZE };
    for (int i = 0; i < 3; i++)
        if (da >= base[i] && len <= size[i] && da - base[i] <= size[i] - len)
            return (void *)(uintptr_t)da;
    return 0;
}

static const struct amp_platform_ops fw_ops = {
    .notify = fw_notify,
    .wait = fw_wait,
    .time_ms = fw_time_ms,
    .da_to_va = fw_da_to_va,
};

static const struct amp_platform fw_platform = { &fw_ops, 0 };

const struct amp_platform *amp_fw_platform(enum amp_fw_wait_mode mode)
{
    fw_wait_mode = mode;
    return &fw_platform;
}

/* ---- Resource table and rpmsg bring-up ---- */

/* Bounds of our own .resource_table section (sim-h747.ld). */
extern char __rsc_table_start[], __rsc_table_end[];

struct fw_table {
    struct amp_rsc_table tbl;
    bool embedded;
};

/* Our own table if it is valid and has an rpmsg vdev, else the host's. */
static int table_find(struct fw_table *t)
{
    size_t own = (size_t)((uintptr_t)__rsc_table_end - (uintptr_t)__rsc_table_start);
    if (own && amp_rsc_parse(&t->tbl, __rsc_table_start, own) == 0 &&
        amp_rsc_find_rpmsg_vdev(&t->tbl)) {
        t->embedded = true;
        return 0;
    }
    t->embedded = false;
    void *host = (void *)(uintptr_t)AMP_FW_HOST_RSC_DA;
    return amp_rsc_parse(&t->tbl, host, AMP_FW_HOST_RSC_SIZE);
}

/* The table's TRACE entry, if it names board memory. */
static void trace_from_table(const struct amp_rsc_table *tbl)
{
    uint32_t index = 0;
    struct amp_rsc_trace *tr = amp_rsc_find(tbl, AMP_RSC_TRACE, &index);
    if (!tr)
        return;
    uint32_t da = AMP_READ_ONCE(tr->da), len = AMP_READ_ONCE(tr->len);
    char *buf = len ? fw_da_to_va(0, da, len) : 0;
    if (buf)
        amp_fw_trace_set_buffer(buf, len);
}

static void trace_find(void)
{
    struct fw_table t;
    if (table_find(&t) == 0)
        trace_from_table(&t.tbl);
    if (!trace.buf) /* no usable entry: the host-built layout's buffer */
        amp_fw_trace_set_buffer((char *)(uintptr_t)AMP_FW_HOST_TRACE_DA, AMP_FW_HOST_TRACE_LEN);
}

int amp_fw_rpmsg_start(struct amp_rpmsg_device *dev, int32_t timeout_ms)
{
    struct fw_table t;
    int rc = table_find(&t);
    if (rc)
        return rc;
    if (!trace.buf)
        trace_from_table(&t.tbl);

    struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(&t.tbl);
    if (!vdev)
        return -AMP_ENOENT;
    /* amp_rsc_parse checked the entry's extent; this is exactly that extent. */
    size_t vdev_size = sizeof *vdev + (size_t)vdev->num_of_vrings * sizeof vdev->vring[0] +
                       vdev->config_len;

    struct amp_rpmsg_config cfg = {
        .role = AMP_RPMSG_REMOTE,
        .platform = &fw_platform,
    };
    if (t.embedded) {
        /* Linux's model: descriptors hold physical addresses in SRAM4. */
        cfg.addr_mode = AMP_ADDR_PHYS;
        cfg.shm = (void *)(uintptr_t)AMP_FW_SHARED_DA;
        cfg.shm_pa = AMP_FW_SHARED_DA;
        cfg.shm_size = AMP_FW_SHARED_SIZE;
    } else {
        /* MicroPython's model: descriptors hold offsets from 0x38000400. */
        cfg.addr_mode = AMP_ADDR_OFFSET;
        cfg.shm = (void *)(uintptr_t)AMP_FW_HOST_SHM_DA;
        cfg.shm_pa = AMP_FW_HOST_SHM_DA;
        cfg.shm_size = AMP_FW_HOST_SHM_SIZE;
    }
    rc = amp_rpmsg_config_from_vdev(&cfg, vdev, vdev_size);
    if (rc == 0)
        rc = amp_rpmsg_enable_ns(dev);   /* SDK firmware serve the name service, named or not */
    if (rc)
        return rc;
    return amp_rpmsg_wait_ready(dev, &cfg, timeout_ms);
}

int amp_fw_rpmsg_run(struct amp_rpmsg_device *dev)
{
    for (;;) {
        int rc = amp_rpmsg_poll(dev);
        if (rc < 0) {
            amp_fw_trace_error("rpmsg poll", rc);
            return rc;
        }
        /* Sleeps only if nothing arrived since the poll (arm re-checks). */
        rc = amp_rpmsg_wait(dev, AMP_WAIT_FOREVER);
        if (rc < 0 && rc != -AMP_ETIMEDOUT) {
            amp_fw_trace_error("rpmsg wait", rc);
            return rc;
        }
    }
}

int amp_fw_echo(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    int rc = amp_rpmsg_send_offchannel(ept, ept->addr, src, data, len, AMP_FW_SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("echo", rc);
    return AMP_RPMSG_RELEASE;
}

int amp_fw_serve(const char *tag, const char *service, amp_rpmsg_rx_cb rx)
{
    static struct amp_rpmsg_device dev;
    static struct amp_rpmsg_endpoint ept;
    amp_fw_trace(tag);
    amp_fw_trace(": up\n");
    int rc = amp_fw_rpmsg_start(&dev, AMP_FW_BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("rpmsg start", rc);
        return 2;
    }
    rc = amp_rpmsg_create_ept(&ept, &dev, service, AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY, rx,
                              NULL, NULL);
    if (rc) {
        amp_fw_trace_error("endpoint", rc);
        return 3;
    }
    return amp_fw_rpmsg_run(&dev) ? 4 : 0;
}
