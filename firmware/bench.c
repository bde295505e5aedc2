/*
 * bench: the remote side of the benchmark (bench/amp-bench.c). Announces
 * "bench-ctl" (control) and "bench-echo" (echo), and serves N data endpoint
 * pairs at fixed addresses that echo, or count in sink mode. The control
 * endpoint switches the wait mode and runs the raw baselines (a cache-line
 * ping-pong in SRAM4 and a doorbell ping-pong) in this same process.
 * Protocol: bench/bench_proto.h. Uses the board's host-built table.
 *
 * The serve loop is the same for the three wait modes; only the spin budget
 * differs: polled spins forever with the host's doorbell disarmed, blocking
 * arms and sleeps as soon as the ring is empty, adaptive spins (disarmed)
 * for a budget after the last message, then arms and sleeps. After a wake
 * the doorbell is disarmed again while the ring is drained.
 */
#include "amp_fw.h"
#include "../bench/bench_proto.h"

#define BOOT_TIMEOUT_MS 10000
#define SEND_TIMEOUT_MS 1000
/* Bound every sleep: a host that went quiet only costs a wake a second. */
#define SLEEP_SLICE_MS  1000
#define RAW_WAKE_TIMEOUT_MS 2000

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint ctl, echo_ept;
static struct amp_rpmsg_endpoint data[BENCH_MAX_EPTS];
static struct amp_rpmsg_endpoint *ept_slots[BENCH_EPT_SLOTS];
static uint32_t n_data;

static enum bench_wait wait_mode = BENCH_WAIT_BLOCKING;
static uint64_t spin_ticks;

static bool sink_mode;
static uint64_t sink_count, sink_bytes;
static uint32_t sink_next_seq, sink_seq_errors;

/* A raw test asked for by the control endpoint, run from the main loop. */
static struct bench_msg pending;
static bool has_pending;

/* Spin budgets are in ticks: the TSC natively, nanoseconds on the M4. */
static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#else
    return amp_fw_time_ns();
#endif
}

static inline void cpu_relax(void)
{
    amp_fw_cpu_relax();
}

static int reply(uint32_t op, int32_t status, uint64_t v0, uint64_t v1)
{
    struct bench_msg m = { .op = op, .status = status, .val = { v0, v1 } };
    int rc = amp_rpmsg_send(&ctl, &m, sizeof m, SEND_TIMEOUT_MS);
    if (rc < 0) {
        amp_fw_trace_error("bench: reply", rc);
        return rc;
    }
    return 0;
}

/* Out of line: inlined into on_data, its registers would be saved for every sunk message. */
static __attribute__((noinline)) int echo(struct amp_rpmsg_endpoint *e, void *buf, size_t len,
                                          uint32_t src, void *priv)
{
    (void)priv;
    int rc = amp_rpmsg_send_offchannel(e, e->addr, src, buf, len, SEND_TIMEOUT_MS);
    if (rc < 0)
        amp_fw_trace_error("bench: echo", rc);
    return AMP_RPMSG_RELEASE;
}

static int on_data(struct amp_rpmsg_endpoint *e, void *buf, size_t len, uint32_t src, void *priv)
{
    if (!sink_mode)
        return echo(e, buf, len, src, priv);
    /* Count, and check the sequence number the host puts first. */
    sink_count++;
    sink_bytes += len;
    if (len >= sizeof(uint32_t)) {
        uint32_t seq;
        __builtin_memcpy(&seq, buf, sizeof seq);
        sink_seq_errors += seq != sink_next_seq;   /* no branch: one block less on the M4 */
        sink_next_seq = seq + 1;
    }
    return AMP_RPMSG_RELEASE;
}

static void drop_data_endpoints(void)
{
    for (uint32_t i = 0; i < n_data; i++)
        amp_rpmsg_destroy_ept(&data[i]);   /* unnamed: no announcement, cannot fail */
    n_data = 0;
}

static int make_data_endpoints(uint32_t n, bool table)
{
    drop_data_endpoints();
    if (n == 0 || n > BENCH_MAX_EPTS)
        return -AMP_EINVAL;
    int rc = table ? amp_rpmsg_set_ept_table(&dev, ept_slots, BENCH_EPT_SLOTS)
                   : amp_rpmsg_set_ept_table(&dev, NULL, 0);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        rc = amp_rpmsg_create_ept(&data[i], &dev, NULL, BENCH_FW_EPT_BASE + i,
                                      BENCH_HOST_EPT_BASE + i, on_data, NULL, NULL);
        if (rc) {
            drop_data_endpoints();
            return rc;
        }
        n_data = i + 1;
    }
    return 0;
}

static int on_ctl(struct amp_rpmsg_endpoint *e, void *buf, size_t len, uint32_t src, void *priv)
{
    (void)e;
    (void)src;
    (void)priv;
    struct bench_msg m;
    if (len != sizeof m)
        return -AMP_EBADMSG;
    __builtin_memcpy(&m, buf, sizeof m);
    switch (m.op) {
    case BENCH_OP_HELLO:
        reply(m.op, 0, n_data, 0);
        break;
    case BENCH_OP_MODE:
        if (m.arg[0] > BENCH_WAIT_ADAPTIVE) {
            reply(m.op, -AMP_EINVAL, 0, 0);
            break;
        }
        reply(m.op, 0, 0, 0);
        wait_mode = (enum bench_wait)m.arg[0];
        spin_ticks = m.val[0];
        /* Every mode starts disarmed; the loop arms right before it sleeps. */
        amp_rpmsg_disarm(&dev);
        break;
    case BENCH_OP_EPTS:
        reply(m.op, make_data_endpoints(m.arg[0], m.val[0] != 0), n_data, 0);
        break;
    case BENCH_OP_SINK:
        sink_mode = true;
        sink_count = sink_bytes = 0;
        sink_next_seq = 0;
        sink_seq_errors = 0;
        reply(m.op, 0, 0, 0);
        break;
    case BENCH_OP_COUNT:
        sink_mode = false;
        reply(m.op, (int32_t)sink_seq_errors, sink_count, sink_bytes);
        break;
    case BENCH_OP_RAW_SHM:
    case BENCH_OP_RAW_WAKE:
        pending = m;
        has_pending = true;
        break;
    default:
        reply(m.op, -AMP_ENOTSUP, 0, 0);
        break;
    }
    return AMP_RPMSG_RELEASE;
}

/*
 * Raw cache-line ping-pong: the host writes odd values, we answer each with
 * the next even one. No rpmsg, no system calls: the floor for polled mode.
 */
static void raw_shm(uint32_t rounds, uint64_t give_up_ticks)
{
    uint32_t *word = (uint32_t *)(uintptr_t)BENCH_RAW_SHM_DA;
    if (reply(BENCH_OP_RAW_SHM, 0, 0, 0))
        return;
    uint32_t want = 1, done = 0;
    uint64_t last = ticks();
    unsigned spins = 0;
    while (done < rounds) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == want) {
            __atomic_store_n(word, want + 1, __ATOMIC_RELEASE);
            want += 2;
            done++;
            spins = 0;
            continue;
        }
        cpu_relax();
        if ((++spins & 1023u) == 0) {
            uint64_t now = ticks();
            if (spins == 1024u)
                last = now;
            else if (now - last > give_up_ticks)
                break;
        }
    }
    reply(BENCH_OP_RAW_DONE, done == rounds ? 0 : -AMP_ETIMEDOUT, done, 0);
}

/*
 * Raw doorbell ping-pong: sleep until the host rings, ring back. The same
 * HAL calls (ppoll + read on the eventfd, write to the other) as the
 * blocking rpmsg path, without the rings: the floor for blocking mode.
 */
static void raw_wake(uint32_t rounds)
{
    amp_rpmsg_disarm(&dev);
    amp_fw_doorbell_take();     /* a doorbell left over from the request itself */
    if (reply(BENCH_OP_RAW_WAKE, 0, 0, 0))
        return;
    uint32_t done = 0;
    int rc = 0;
    while (done < rounds) {
        rc = amp_fw_doorbell_wait(RAW_WAKE_TIMEOUT_MS);
        if (rc)
            break;
        amp_fw_doorbell_raise();
        done++;
    }
    reply(BENCH_OP_RAW_DONE, rc, done, 0);
}

static int serve(void)
{
    uint64_t last_busy = ticks();
    for (;;) {
        int n = amp_rpmsg_poll(&dev);
        if (n < 0) {
            amp_fw_trace_error("bench: poll", n);
            return n;
        }
        if (has_pending) {
            has_pending = false;
            if (pending.op == BENCH_OP_RAW_SHM)
                raw_shm(pending.arg[0], pending.val[0]);
            else
                raw_wake(pending.arg[0]);
            last_busy = ticks();
            continue;
        }
        if (n > 0) {
            /* Only the adaptive mode needs the clock: on the M4 a reading
             * is two register reads and a 64-bit division. */
            if (wait_mode == BENCH_WAIT_ADAPTIVE)
                last_busy = ticks();
            continue;
        }
        if (wait_mode == BENCH_WAIT_POLLED ||
            (wait_mode == BENCH_WAIT_ADAPTIVE && ticks() - last_busy < spin_ticks)) {
            cpu_relax();
            continue;
        }
        /* Arm, and sleep only if nothing slipped in meanwhile. */
        if (!amp_rpmsg_arm(&dev)) {
            int rc = amp_fw_doorbell_wait(SLEEP_SLICE_MS);
            if (rc < 0 && rc != -AMP_ETIMEDOUT) {
                amp_fw_trace_error("bench: wait", rc);
                return rc;
            }
        }
        amp_rpmsg_disarm(&dev);
        last_busy = ticks();
    }
}

int main(void)
{
    amp_fw_platform(AMP_FW_WAIT_BLOCKING);
    int rc = amp_fw_rpmsg_start(&dev, BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("bench: rpmsg start", rc);
        return 2;
    }
    rc = amp_rpmsg_create_ept(&ctl, &dev, BENCH_CTL_NAME, AMP_RPMSG_ADDR_ANY,
                              AMP_RPMSG_ADDR_ANY, on_ctl, NULL, NULL);
    if (rc == 0)
        rc = amp_rpmsg_create_ept(&echo_ept, &dev, BENCH_ECHO_NAME, AMP_RPMSG_ADDR_ANY,
                                  AMP_RPMSG_ADDR_ANY, echo, NULL, NULL);
    if (rc == 0)
        rc = make_data_endpoints(1, false);    /* the list, as the host starts */
    if (rc) {
        amp_fw_trace_error("bench: endpoints", rc);
        return 3;
    }
    amp_fw_trace("bench: up\n");
    return serve() ? 4 : 0;
}
