/*
 * soak: the remote side of the soak test (tests/soak/soak.c). Announces
 * "soak"; after the host's START it streams sequence-numbered, checksummed
 * data messages to the host while it checks the host's stream, both at
 * once, until it has sent the count asked for and the host says STOP; then
 * it reports what it sent and received. Protocol: tests/soak/soak_proto.h.
 *
 * Never blocks in a send (both sides send at once: a side waiting for a
 * buffer while the other waits too would stall until a timeout). The loop
 * polls, sends what the free buffers allow, and sleeps a millisecond at
 * most once it has been idle for a while, so a quiet host costs little.
 */
#include "amp_fw.h"
#include "../tests/soak/soak_proto.h"

#define IDLE_SPINS 200u
#define BURST 64u

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint ept;
static struct soak_rx rx;
static uint64_t to_send, sent;
static bool streaming, stopped, unlimited;
static int32_t last_error;

static void report(void)
{
    struct soak_hdr h = { SOAK_REPORT, sizeof(struct soak_report), 0, 0 };
    struct soak_report r = { .sent = sent, .rx = rx.c, .error = last_error };
    uint8_t msg[sizeof h + sizeof r];
    __builtin_memcpy(msg, &h, sizeof h);
    __builtin_memcpy(msg + sizeof h, &r, sizeof r);
    int rc = amp_rpmsg_send(&ept, msg, sizeof msg, AMP_FW_SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("soak: report", rc);
}

static int on_message(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src,
                      void *priv)
{
    (void)e;
    (void)src;
    (void)priv;
    struct soak_hdr h;
    if (len < sizeof h) {
        rx.c.received++;
        rx.c.corrupted++;
        return AMP_RPMSG_RELEASE;
    }
    __builtin_memcpy(&h, data, sizeof h);
    switch (h.type) {
    case SOAK_START:
        __builtin_memset(&rx, 0, sizeof rx);
        sent = 0;
        to_send = h.seq;
        unlimited = h.seq == 0;
        streaming = true;
        stopped = false;
        last_error = 0;
        break;
    case SOAK_STOP:
        /* Everything the host sent before STOP has been taken: the count is final. */
        streaming = false;
        stopped = true;
        break;
    default:
        soak_account(&rx, data, (uint32_t)len);
        break;
    }
    return AMP_RPMSG_RELEASE;
}

/* Send as many data messages as there are free buffers (up to BURST). */
static unsigned send_burst(void)
{
    unsigned n = 0;
    while (streaming && (unlimited || sent < to_send) && n < BURST &&
           amp_rpmsg_ept_is_ready(&ept)) {
        uint32_t size;
        int err;
        void *buf = amp_rpmsg_get_tx_buffer(&dev, &size, AMP_NO_WAIT, &err);
        if (!buf) {
            if (err != -AMP_ENOBUFS)
                last_error = err;
            break;
        }
        if (size < sizeof(struct soak_hdr) + SOAK_MAX_PAYLOAD) {
            amp_rpmsg_release_tx_buffer(&dev, buf);
            last_error = -AMP_EMSGSIZE;
            streaming = false;
            break;
        }
        uint32_t len = soak_build(buf, sent);
        int rc = amp_rpmsg_send_nocopy(&ept, ept.addr, ept.dest_addr, buf, len);
        if (rc < 0) {
            amp_rpmsg_release_tx_buffer(&dev, buf);
            last_error = rc;
            break;
        }
        sent++;
        n++;
    }
    return n;
}

int main(void)
{
    amp_fw_platform(AMP_FW_WAIT_BLOCKING);
    amp_fw_trace("soak: up\n");
    int rc = amp_fw_rpmsg_start(&dev, AMP_FW_BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("soak: rpmsg start", rc);
        return 2;
    }
    rc = amp_rpmsg_create_ept(&ept, &dev, SOAK_SERVICE, AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY,
                              on_message, NULL, NULL);
    if (rc) {
        amp_fw_trace_error("soak: endpoint", rc);
        return 3;
    }
    amp_rpmsg_disarm(&dev);
    unsigned idle = 0;
    for (;;) {
        int n = amp_rpmsg_poll(&dev);
        if (n < 0) {
            amp_fw_trace_error("soak: poll", n);
            return 4;
        }
        if (stopped) {
            stopped = false;
            report();
        }
        unsigned s = send_burst();
        if (n > 0 || s > 0) {
            idle = 0;
            continue;
        }
        if (++idle < IDLE_SPINS) {
            amp_fw_cpu_relax();
            continue;
        }
        /* Idle: ask for the host's doorbell and sleep, a millisecond at most (a
         * freed transmit buffer rings no bell). */
        rc = amp_rpmsg_wait(&dev, 1);
        if (rc < 0 && rc != -AMP_ETIMEDOUT) {
            amp_fw_trace_error("soak: wait", rc);
            return 5;
        }
        amp_rpmsg_disarm(&dev);
        idle = IDLE_SPINS / 2;
    }
}
