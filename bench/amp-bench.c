/*
 * amp-bench: latency and throughput of the full stack between this process
 * (rpmsg host role) and a simulated core running build/firmware/bench.elf
 * (rpmsg remote role), against raw baselines measured in the same run,
 * between the same two processes, on the same two CPUs.
 *
 *   amp-bench [--firmware ELF] [--out DIR] [--smoke] [--rounds N]
 *             [--host-cpu N] [--core-cpu N] [--no-pin]
 *   amp-bench --profile polled-rtt|adaptive-rtt|stream|stream-zc|loopback|idle [SECONDS]
 *
 * --smoke runs every measurement with tiny counts (make test); --profile runs
 * one workload for perf/callgrind and writes nothing ("loopback" needs no
 * board, so it also runs under valgrind).
 *
 * Writes DIR/results.json (every figure), DIR/latency.dat and
 * DIR/baselines.gp (for bench/latency.gp) and prints a table. See
 * docs/performance.md for the method; bench/bench_proto.h for the protocol.
 *
 * Wait modes (both sides run the same loop, only the spin budget differs):
 *   polled    spin on the ring, the peer's doorbell disarmed: no system calls;
 *   blocking  arm the doorbell and sleep as soon as the ring is empty;
 *   adaptive  spin (disarmed) for a budget after the last message, then arm
 *             and sleep. The budget is the one-way wake cost measured at the
 *             start of the run (half the raw doorbell round trip).
 * The board is opened in BLOCKING mode; the spinning is done here, so one
 * board and one core process serve all three modes.
 *
 * Every wait is bounded: a dead or stuck core ends the run with an error,
 * never a hang.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "amp/sim.h"
#include "bench_proto.h"

#define BOOT_TIMEOUT_MS   10000
#define OP_TIMEOUT_MS     2000     /* one round trip, one control call, one tx buffer */
#define STREAM_TIMEOUT_MS 60000    /* a whole streaming run */
#define LIVENESS_MS       10       /* spinning: look for a dead core this often */
#define MAX_PAYLOAD       496u

static const uint32_t rtt_sizes[] = { 16, 64, 496 };
#define N_SIZES (sizeof rtt_sizes / sizeof rtt_sizes[0])
/*
 * Endpoint counts, each side finding its endpoints through a table
 * (amp_rpmsg_set_ept_table); the last case walks the plain list, as a
 * device without a table does, for comparison in the same run.
 */
static const struct {
    uint32_t n;
    bool table;
    const char *name;
} ept_cases[] = { { 1, true, "ept1" }, { 16, true, "ept16" }, { 256, true, "ept256" },
                  { 256, false, "ept256_list" } };
#define N_EPT_COUNTS (sizeof ept_cases / sizeof ept_cases[0])
static const char *const mode_names[] = { "polled", "blocking", "adaptive" };

/* Ctrl-C, SIGTERM: stop measuring, then close the board as usual (no file left behind). */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;   /* no SA_RESTART: a sleeping wait returns */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGHUP, &sa, NULL) != 0)
        return -1;
    /* A closed output pipe must not kill us before the board is closed. */
    return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0;
}

/* ---- Time: the TSC, calibrated against CLOCK_MONOTONIC. ---- */

static double tsc_hz;
static uint64_t liveness_ticks;   /* LIVENESS_MS in ticks, set once calibrated */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
static inline uint64_t ticks(void)
{
    return __builtin_ia32_rdtsc();
}
static inline void cpu_relax(void)
{
    __builtin_ia32_pause();
}
static void calibrate(void)
{
    uint64_t n0 = mono_ns(), t0 = ticks();
    struct timespec nap = { 0, 50 * 1000 * 1000 };
    while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
        ;
    uint64_t n1 = mono_ns(), t1 = ticks();
    tsc_hz = (double)(t1 - t0) * 1e9 / (double)(n1 - n0);
}
#else
static inline uint64_t ticks(void)
{
    return mono_ns();
}
static inline void cpu_relax(void)
{
}
static void calibrate(void)
{
    tsc_hz = 1e9;
}
#endif

static uint64_t ms_to_ticks(double ms)
{
    return (uint64_t)(ms * tsc_hz / 1e3);
}

static double ticks_to_us(double t)
{
    return t * 1e6 / tsc_hz;
}

/* ---- Results: a flat list of named numbers (results.json). ---- */

#define MAX_RESULTS 256
static struct result {
    char key[64];
    double value;
} results[MAX_RESULTS];
static unsigned n_results;

static void put(double value, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(double value, const char *fmt, ...)
{
    char key[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    for (unsigned i = 0; i < n_results; i++) {
        if (strcmp(results[i].key, key) == 0) {
            results[i].value = value;
            return;
        }
    }
    if (n_results == MAX_RESULTS) {
        fprintf(stderr, "amp-bench: too many results (%s dropped)\n", key);
        return;
    }
    snprintf(results[n_results].key, sizeof results[n_results].key, "%s", key);
    results[n_results++].value = value;
}

static double get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double get(const char *fmt, ...)
{
    char key[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    for (unsigned i = 0; i < n_results; i++)
        if (strcmp(results[i].key, key) == 0)
            return results[i].value;
    return NAN;
}

/* ---- Latency samples. ---- */

struct samples {
    uint64_t *t;
    size_t n, cap;
};

static int samples_reserve(struct samples *s, size_t more)
{
    if (s->n + more <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < s->n + more)
        cap *= 2;
    uint64_t *t = realloc(s->t, cap * sizeof *t);
    if (!t)
        return -AMP_ENOSPC;
    s->t = t;
    s->cap = cap;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct stats {
    double p50, p99, min, mean;
    size_t n;
};

static struct stats summarize(struct samples *s)
{
    struct stats st = { NAN, NAN, NAN, NAN, s->n };
    if (!s->n)
        return st;
    qsort(s->t, s->n, sizeof *s->t, cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += (double)s->t[i];
    st.p50 = ticks_to_us((double)s->t[s->n / 2]);
    st.p99 = ticks_to_us((double)s->t[(s->n * 99) / 100]);
    st.min = ticks_to_us((double)s->t[0]);
    st.mean = ticks_to_us(sum / (double)s->n);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorts v); n odd keeps it one of the values. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n ? v[n / 2] : NAN;
}

static void put_stats(const struct stats *st, const char *name)
{
    put(st->p50, "%s_us_p50", name);
    put(st->p99, "%s_us_p99", name);
    put(st->min, "%s_us_min", name);
    put(st->mean, "%s_us_mean", name);
    put((double)st->n, "%s_samples", name);
}

/* ---- The benchmark state. ---- */

struct bench {
    struct amp_sim_board *board;
    const struct amp_platform *p;
    struct amp_rpmsg_device *dev;
    struct amp_rpmsg_endpoint ctl;
    struct amp_rpmsg_endpoint epts[BENCH_MAX_EPTS];
    struct amp_rpmsg_endpoint *ept_slots[BENCH_EPT_SLOTS];
    uint32_t n_epts;
    enum bench_wait mode;
    uint64_t spin;              /* adaptive spin budget, ticks */
    int core_pid;

    /* Control replies. */
    uint64_t ctl_count;
    struct bench_msg ctl_reply;
    /* Data replies. */
    uint64_t rx_count;
    uint32_t rx_expect_len, rx_expect_seq;
    uint64_t rx_errors;
    uint64_t last_liveness;
};

static int on_ctl(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct bench *b = priv;
    (void)ept;
    (void)src;
    if (len != sizeof b->ctl_reply)
        return -AMP_EBADMSG;
    memcpy(&b->ctl_reply, data, sizeof b->ctl_reply);
    b->ctl_count++;
    return AMP_RPMSG_RELEASE;
}

static int on_data(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct bench *b = priv;
    uint32_t seq = 0;
    if (len >= sizeof seq)
        memcpy(&seq, data, sizeof seq);
    if (len != b->rx_expect_len || seq != b->rx_expect_seq || src != ept->dest_addr)
        b->rx_errors++;
    b->rx_count++;
    return AMP_RPMSG_RELEASE;
}

/* While spinning: 0, or -AMP_ENODEV once the core is gone (checked every 10 ms). */
static int check_alive(struct bench *b, uint64_t now)
{
    if (stop_requested)
        return -AMP_ENODEV;
    if (now - b->last_liveness < liveness_ticks)
        return 0;
    b->last_liveness = now;
    /* The board is in BLOCKING mode: a zero timeout only looks. */
    int rc = b->p->ops->wait(b->p->ctx, 0);
    return rc == -AMP_ENODEV ? rc : 0;
}

/*
 * Serve the device until *counter reaches target, waiting the current mode's
 * way: 0, -AMP_ETIMEDOUT, or an error from the stack.
 */
static int bench_wait(struct bench *b, const uint64_t *counter, uint64_t target, int32_t timeout_ms)
{
    uint64_t start = ticks(), deadline = start + ms_to_ticks(timeout_ms);
    uint64_t last_busy = start;
    for (;;) {
        int n = amp_rpmsg_poll(b->dev);
        if (n < 0)
            return n;
        if (*counter >= target)
            return 0;
        uint64_t now = ticks();
        if (n > 0)
            last_busy = now;
        if (now >= deadline)
            return -AMP_ETIMEDOUT;
        if (b->mode == BENCH_WAIT_POLLED ||
            (b->mode == BENCH_WAIT_ADAPTIVE && now - last_busy < b->spin)) {
            int rc = check_alive(b, now);
            if (rc)
                return rc;
            cpu_relax();
            continue;
        }
        if (stop_requested)
            return -AMP_ENODEV;
        /* Arm, re-check, sleep; disarmed again while we drain. */
        if (!amp_rpmsg_arm(b->dev)) {
            int32_t left = (int32_t)((double)(deadline - now) * 1e3 / tsc_hz) + 1;
            int rc = b->p->ops->wait(b->p->ctx, left);
            if (rc < 0 && rc != -AMP_ETIMEDOUT)
                return rc;
        }
        amp_rpmsg_disarm(b->dev);
        last_busy = ticks();
    }
}

/* No transmit buffer free: spin (polled; adaptive within its budget) or sleep for one. */
static bool tx_keep_spinning(struct bench *b, uint64_t start, int *rc)
{
    uint64_t now = ticks();
    if (b->mode == BENCH_WAIT_BLOCKING ||
        (b->mode == BENCH_WAIT_ADAPTIVE && now - start >= b->spin))
        return false;
    if (now - start > ms_to_ticks(OP_TIMEOUT_MS)) {
        *rc = -AMP_ETIMEDOUT;
        return false;
    }
    *rc = check_alive(b, now);
    if (*rc)
        return false;
    cpu_relax();
    return true;
}

static int send_copy(struct bench *b, struct amp_rpmsg_endpoint *ept, const void *buf, size_t len)
{
    int rc = amp_rpmsg_send(ept, buf, len, AMP_NO_WAIT);
    if (rc != -AMP_ENOBUFS)
        return rc;
    uint64_t start = ticks();
    while (tx_keep_spinning(b, start, &rc)) {
        rc = amp_rpmsg_send(ept, buf, len, AMP_NO_WAIT);
        if (rc != -AMP_ENOBUFS)
            return rc;
    }
    return rc == -AMP_ENOBUFS || rc == 0 ? amp_rpmsg_send(ept, buf, len, OP_TIMEOUT_MS) : rc;
}

/* Zero-copy: the sequence number is written in place, nothing else is copied. */
static int send_zerocopy(struct bench *b, struct amp_rpmsg_endpoint *ept, uint32_t seq, size_t len)
{
    uint32_t size;
    int rc;
    void *buf = amp_rpmsg_get_tx_buffer(b->dev, &size, AMP_NO_WAIT, &rc);
    if (!buf && rc == -AMP_ENOBUFS) {
        uint64_t start = ticks();
        while (!buf && tx_keep_spinning(b, start, &rc))
            buf = amp_rpmsg_get_tx_buffer(b->dev, &size, AMP_NO_WAIT, &rc);
        if (!buf && (rc == -AMP_ENOBUFS || rc == 0))
            buf = amp_rpmsg_get_tx_buffer(b->dev, &size, OP_TIMEOUT_MS, &rc);
    }
    if (!buf)
        return rc;
    if (size < len) {
        amp_rpmsg_release_tx_buffer(b->dev, buf);
        return -AMP_EMSGSIZE;
    }
    memcpy(buf, &seq, sizeof seq);
    return amp_rpmsg_send_nocopy(ept, ept->addr, ept->dest_addr, buf, len);
}

/* One control request and its reply (same op). */
static int ctl_call(struct bench *b, uint32_t op, uint32_t arg0, uint64_t val0,
                    struct bench_msg *reply)
{
    struct bench_msg m = { .op = op, .arg = { arg0, 0 }, .val = { val0, 0 } };
    uint64_t target = b->ctl_count + 1;
    int rc = send_copy(b, &b->ctl, &m, sizeof m);
    if (rc < 0)
        return rc;
    rc = bench_wait(b, &b->ctl_count, target, OP_TIMEOUT_MS);
    if (rc)
        return rc;
    if (b->ctl_reply.op != op)
        return -AMP_EBADMSG;
    if (reply)
        *reply = b->ctl_reply;
    return b->ctl_reply.status < 0 ? b->ctl_reply.status : 0;
}

static int set_mode(struct bench *b, enum bench_wait mode)
{
    int rc = ctl_call(b, BENCH_OP_MODE, (uint32_t)mode, b->spin, NULL);
    if (rc)
        return rc;
    b->mode = mode;
    amp_rpmsg_disarm(b->dev);
    return 0;
}

static int set_endpoints(struct bench *b, uint32_t n, bool table)
{
    struct bench_msg r;
    int rc = ctl_call(b, BENCH_OP_EPTS, n, table, &r);
    if (rc == 0)
        rc = table ? amp_rpmsg_set_ept_table(b->dev, b->ept_slots, BENCH_EPT_SLOTS)
                   : amp_rpmsg_set_ept_table(b->dev, NULL, 0);
    if (rc)
        return rc;
    while (b->n_epts > n)
        amp_rpmsg_destroy_ept(&b->epts[--b->n_epts]);
    while (b->n_epts < n) {
        uint32_t i = b->n_epts;
        rc = amp_rpmsg_create_ept(&b->epts[i], b->dev, NULL, BENCH_HOST_EPT_BASE + i,
                                  BENCH_FW_EPT_BASE + i, on_data, NULL, b);
        if (rc)
            return rc;
        b->n_epts++;
    }
    return 0;
}

/* ---- Measurements. ---- */

/* Round trips of `size` bytes, round-robin over the data endpoints. */
static int run_rtt(struct bench *b, uint32_t size, uint32_t warmup, uint32_t iters,
                   struct samples *out)
{
    uint8_t payload[MAX_PAYLOAD];
    for (uint32_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7u + 1u);
    int rc = samples_reserve(out, iters);
    if (rc)
        return rc;
    b->rx_expect_len = size;
    for (uint32_t i = 0; i < warmup + iters; i++) {
        struct amp_rpmsg_endpoint *ept = &b->epts[i % b->n_epts];
        memcpy(payload, &i, sizeof i);
        b->rx_expect_seq = i;
        uint64_t target = b->rx_count + 1;
        uint64_t t0 = ticks();
        rc = send_copy(b, ept, payload, size);
        if (rc >= 0)
            rc = bench_wait(b, &b->rx_count, target, OP_TIMEOUT_MS);
        uint64_t t1 = ticks();
        if (rc < 0)
            return rc;
        if (i >= warmup)
            out->t[out->n++] = t1 - t0;
    }
    return b->rx_errors ? -AMP_EBADMSG : 0;
}

/* One-way stream of `count` messages; msgs/s and payload bytes/s. */
static int run_stream(struct bench *b, uint32_t size, bool zerocopy, uint32_t count,
                      double *msgs_per_s, double *bytes_per_s)
{
    uint8_t payload[MAX_PAYLOAD];
    memset(payload, 0x5a, sizeof payload);
    int rc = ctl_call(b, BENCH_OP_SINK, 0, 0, NULL);
    if (rc)
        return rc;
    /* A stream decides about doorbells once per batch, not per message. */
    rc = amp_rpmsg_cork(b->dev, true);
    if (rc)
        return rc;
    uint64_t t0 = ticks();
    for (uint32_t i = 0; i < count; i++) {
        struct amp_rpmsg_endpoint *ept = &b->epts[i % b->n_epts];
        if (zerocopy) {
            rc = send_zerocopy(b, ept, i, size);
        } else {
            memcpy(payload, &i, sizeof i);
            rc = send_copy(b, ept, payload, size);
        }
        if (rc < 0)
            break;
        if ((i & 0xffffu) == 0 &&
            (stop_requested || ticks() - t0 > ms_to_ticks(STREAM_TIMEOUT_MS))) {
            rc = stop_requested ? -AMP_ENODEV : -AMP_ETIMEDOUT;
            break;
        }
    }
    amp_rpmsg_cork(b->dev, false);
    if (rc < 0)
        return rc;
    struct bench_msg r;
    rc = ctl_call(b, BENCH_OP_COUNT, 0, 0, &r);
    uint64_t t1 = ticks();
    if (rc)
        return rc;
    if (r.status != 0 || r.val[0] != count || r.val[1] != (uint64_t)count * size) {
        fprintf(stderr, "amp-bench: stream: the core got %" PRIu64 " messages, %" PRIu64
                " bytes, %d out of order (sent %u)\n", r.val[0], r.val[1], r.status, count);
        return -AMP_EBADMSG;
    }
    double s = (double)(t1 - t0) / tsc_hz;
    *msgs_per_s = count / s;
    *bytes_per_s = (double)count * size / s;
    return 0;
}

/* Raw cache-line ping-pong on one word of SRAM4: no rpmsg, no system call. */
static int run_raw_shm(struct bench *b, uint32_t rounds, struct samples *out)
{
    uint32_t *word = amp_mem_da_to_va(amp_sim_mem_map(b->board), BENCH_RAW_SHM_DA, 64);
    if (!word)
        return -AMP_ERANGE;
    int rc = samples_reserve(out, rounds);
    if (rc)
        return rc;
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
    uint64_t done_target = b->ctl_count + 2;   /* the ack, then RAW_DONE */
    rc = ctl_call(b, BENCH_OP_RAW_SHM, rounds, ms_to_ticks(OP_TIMEOUT_MS), NULL);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < rounds; i++) {
        uint32_t want = 2 * i + 2;
        uint64_t t0 = ticks();
        __atomic_store_n(word, 2 * i + 1, __ATOMIC_RELEASE);
        unsigned spins = 0;
        while (__atomic_load_n(word, __ATOMIC_ACQUIRE) != want) {
            cpu_relax();
            if ((++spins & 0xfffu) == 0 &&
                (stop_requested || ticks() - t0 > ms_to_ticks(OP_TIMEOUT_MS)))
                return stop_requested ? -AMP_ENODEV : -AMP_ETIMEDOUT;
        }
        out->t[out->n++] = ticks() - t0;
    }
    rc = bench_wait(b, &b->ctl_count, done_target, OP_TIMEOUT_MS);
    if (rc)
        return rc;
    return b->ctl_reply.op == BENCH_OP_RAW_DONE ? b->ctl_reply.status : -AMP_EBADMSG;
}

/* Raw doorbell ping-pong: eventfd write, then sleep in poll and read. */
static int run_raw_wake(struct bench *b, uint32_t rounds, struct samples *out)
{
    int rc = samples_reserve(out, rounds);
    if (rc)
        return rc;
    uint64_t done_target = b->ctl_count + 2;
    rc = ctl_call(b, BENCH_OP_RAW_WAKE, rounds, 0, NULL);
    if (rc)
        return rc;
    /* Drop a doorbell left over from the control exchange. */
    while ((rc = b->p->ops->wait(b->p->ctx, 0)) == 0)
        ;
    if (rc != -AMP_ETIMEDOUT)
        return rc;
    for (uint32_t i = 0; i < rounds; i++) {
        uint64_t t0 = ticks();
        b->p->ops->notify(b->p->ctx, b->dev->tx_notifyid);
        rc = b->p->ops->wait(b->p->ctx, OP_TIMEOUT_MS);
        if (rc == 0 && stop_requested)
            rc = -AMP_ENODEV;
        if (rc)
            return rc;
        out->t[out->n++] = ticks() - t0;
    }
    rc = bench_wait(b, &b->ctl_count, done_target, OP_TIMEOUT_MS);
    if (rc)
        return rc;
    return b->ctl_reply.op == BENCH_OP_RAW_DONE ? b->ctl_reply.status : -AMP_EBADMSG;
}

/* CPU time of this process and of the core, in ns. */
static int cpu_ns(pid_t pid, uint64_t *ns)
{
    clockid_t clk;
    struct timespec ts;
    if (pid == 0)
        clk = CLOCK_PROCESS_CPUTIME_ID;
    else if (clock_getcpuclockid(pid, &clk) != 0)
        return -AMP_EIO;
    if (clock_gettime(clk, &ts) != 0)
        return -AMP_EIO;
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
}

/*
 * Busy time of the whole machine (all CPUs, from /proc/stat, in ns): with our
 * own CPU time subtracted, what other processes took while we measured.
 */
static int machine_busy_ns(uint64_t *busy, uint64_t *steal)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -AMP_EIO;
    unsigned long long v[8] = { 0 };
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8)
        return -AMP_EIO;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        return -AMP_EIO;
    /* user nice system [idle iowait] irq softirq steal */
    *busy = (v[0] + v[1] + v[2] + v[5] + v[6]) * (1000000000ull / (unsigned long long)hz);
    *steal = v[7] * (1000000000ull / (unsigned long long)hz);
    return 0;
}

/* CPU use (percent of one CPU) of both sides over `ms` of an idle link. */
static int run_idle(struct bench *b, uint32_t ms, double *host_pct, double *core_pct)
{
    static const uint64_t never = 0;
    uint64_t h0, h1, c0, c1;
    /* Let the switch to this mode settle (the previous mode's tail is not idle). */
    int rc = bench_wait(b, &never, 1, 20);
    if (rc != -AMP_ETIMEDOUT)
        return rc ? rc : -AMP_EBADMSG;
    rc = cpu_ns(0, &h0);
    if (rc == 0)
        rc = cpu_ns(b->core_pid, &c0);
    if (rc)
        return rc;
    uint64_t w0 = mono_ns();
    rc = bench_wait(b, &never, 1, (int32_t)ms);
    uint64_t w1 = mono_ns();
    if (rc != -AMP_ETIMEDOUT)
        return rc ? rc : -AMP_EBADMSG;
    rc = cpu_ns(0, &h1);
    if (rc == 0)
        rc = cpu_ns(b->core_pid, &c1);
    if (rc)
        return rc;
    *host_pct = 100.0 * (double)(h1 - h0) / (double)(w1 - w0);
    *core_pct = 100.0 * (double)(c1 - c0) / (double)(w1 - w0);
    return 0;
}

/*
 * ---- In-process loopback: the stack's own CPU cost. ----
 * A host and a remote device in this process over one buffer laid out like
 * the board's SRAM4, driven alternately by one thread: every line stays in
 * this CPU's cache, so the time is instructions only. The difference to the
 * cross-core figures is the cost of moving cache lines between the cores.
 */
#define LB_MEM_SIZE  0x10000u
#define LB_SHM_OFF   0x400u
#define LB_POOL_OFF  0x2400u

static void lb_notify(void *ctx, uint32_t queue_id)
{
    (void)queue_id;
    (*(uint64_t *)ctx)++;
}

static int lb_wait(void *ctx, int32_t timeout_ms)
{
    (void)ctx;
    (void)timeout_ms;
    return -AMP_ETIMEDOUT;
}

static uint32_t lb_time(void *ctx)
{
    (void)ctx;
    return (uint32_t)(mono_ns() / 1000000u);
}

static const struct amp_platform_ops lb_ops = { .notify = lb_notify, .wait = lb_wait,
                                                .time_ms = lb_time };

struct loopback {
    _Alignas(64) uint8_t mem[LB_MEM_SIZE];
    uint64_t notifies;
    struct amp_platform platform;
    struct amp_rsc_table table;
    struct amp_rpmsg_device host, remote;
    /* Endpoint pairs, used round-robin: host 0x2000 + i <-> remote 0x3000 + i. */
    struct amp_rpmsg_endpoint hepts[BENCH_MAX_EPTS], repts[BENCH_MAX_EPTS];
    struct amp_rpmsg_endpoint *host_slots[BENCH_EPT_SLOTS], *remote_slots[BENCH_EPT_SLOTS];
    uint32_t n_epts;
    uint64_t host_rx, remote_rx;
    bool sink;
};

static int lb_host_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                      void *priv)
{
    (void)ept;
    (void)data;
    (void)len;
    (void)src;
    ((struct loopback *)priv)->host_rx++;
    return AMP_RPMSG_RELEASE;
}

static int lb_remote_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                        void *priv)
{
    struct loopback *lb = priv;
    lb->remote_rx++;
    if (lb->sink)
        return AMP_RPMSG_RELEASE;
    int rc = amp_rpmsg_send_offchannel(ept, ept->addr, src, data, len, AMP_NO_WAIT);
    return rc < 0 ? rc : AMP_RPMSG_RELEASE;
}

/* n endpoint pairs, found through tables on both sides or along the lists. */
static int lb_set_epts(struct loopback *lb, uint32_t n, bool table)
{
    while (lb->n_epts > 0) {
        lb->n_epts--;
        amp_rpmsg_destroy_ept(&lb->hepts[lb->n_epts]);
        amp_rpmsg_destroy_ept(&lb->repts[lb->n_epts]);
    }
    int rc = amp_rpmsg_set_ept_table(&lb->host, table ? lb->host_slots : NULL,
                                     table ? BENCH_EPT_SLOTS : 0);
    if (rc == 0)
        rc = amp_rpmsg_set_ept_table(&lb->remote, table ? lb->remote_slots : NULL,
                                     table ? BENCH_EPT_SLOTS : 0);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rc = amp_rpmsg_create_ept(&lb->hepts[i], &lb->host, NULL, BENCH_HOST_EPT_BASE + i,
                                  BENCH_FW_EPT_BASE + i, lb_host_rx, NULL, lb);
        if (rc == 0)
            rc = amp_rpmsg_create_ept(&lb->repts[i], &lb->remote, NULL, BENCH_FW_EPT_BASE + i,
                                      BENCH_HOST_EPT_BASE + i, lb_remote_rx, NULL, lb);
        if (rc == 0)
            lb->n_epts = i + 1;
        else
            amp_rpmsg_destroy_ept(&lb->hepts[i]);
    }
    return rc;
}

static int lb_open(struct loopback *lb)
{
    memset(lb, 0, sizeof *lb);
    lb->platform.ops = &lb_ops;
    lb->platform.ctx = &lb->notifies;
    const struct amp_rsc_layout layout = {
        .features = 1u << AMP_VIRTIO_RPMSG_F_NS,
        .vring_da = { AMP_SIM_SHARED_DA + 0x1400u, AMP_SIM_SHARED_DA + 0x400u },
        .vring_notifyid = { 0, 1 },
        .vring_num = 64,
        .vring_align = 32,
    };
    int rc = amp_rsc_build(lb->mem, LB_SHM_OFF, &layout);
    if (rc == 0)
        rc = amp_rsc_parse(&lb->table, lb->mem, LB_SHM_OFF);
    struct amp_rsc_vdev *vdev = rc == 0 ? amp_rsc_find_rpmsg_vdev(&lb->table) : NULL;
    if (!vdev)
        return rc ? rc : -AMP_ENOENT;
    struct amp_rpmsg_config h = {
        .role = AMP_RPMSG_HOST,
        .addr_mode = AMP_ADDR_OFFSET,
        .shm = lb->mem + LB_SHM_OFF,
        .shm_pa = AMP_SIM_SHARED_DA + LB_SHM_OFF,
        .shm_size = LB_MEM_SIZE - LB_SHM_OFF,
        .buf_pool = lb->mem + LB_POOL_OFF,
        .buf_count = (LB_MEM_SIZE - LB_POOL_OFF) / 512u,
        .rx_buf_count = 64,
        .buf_size = 512,
        .features = 1u << AMP_VIRTIO_RPMSG_F_NS,
        .platform = &lb->platform,
    };
    rc = amp_rpmsg_config_from_vdev(&h, vdev,
                                    lb->table.size - (size_t)((uint8_t *)vdev - lb->mem));
    if (rc)
        return rc;
    struct amp_rpmsg_config r = h;
    r.role = AMP_RPMSG_REMOTE;
    r.buf_pool = NULL;
    rc = amp_rpmsg_init(&lb->host, &h);
    if (rc == 0)
        rc = amp_rpmsg_init(&lb->remote, &r);
    if (rc == 0)
        rc = lb_set_epts(lb, 1, false);
    /* Polled, as in the cross-core polled figures: nobody wants doorbells. */
    amp_rpmsg_disarm(&lb->host);
    amp_rpmsg_disarm(&lb->remote);
    return rc;
}

/* ns per round trip, and ns per streamed message (batches of 32). */
static int lb_run(struct loopback *lb, uint32_t size, uint32_t iters, double *rtt_ns,
                  double *msg_ns)
{
    uint8_t payload[MAX_PAYLOAD];
    memset(payload, 0x5a, sizeof payload);
    lb->sink = false;
    uint64_t t0 = ticks();
    lb->host_rx = 0;
    uint32_t k = 0;   /* round-robin without a division per message */
    for (uint32_t i = 0; i < iters; i++, k = k + 1 == lb->n_epts ? 0 : k + 1) {
        int rc = amp_rpmsg_send(&lb->hepts[k], payload, size, AMP_NO_WAIT);
        if (rc >= 0)
            rc = amp_rpmsg_poll(&lb->remote);
        if (rc >= 0)
            rc = amp_rpmsg_poll(&lb->host);
        if (rc < 0)
            return rc;
    }
    uint64_t t1 = ticks();
    if (lb->host_rx < iters)
        return -AMP_EBADMSG;
    lb->sink = true;
    for (uint32_t i = 0; i < iters; i += 32) {
        for (uint32_t j = 0; j < 32; j++, k = k + 1 == lb->n_epts ? 0 : k + 1) {
            int rc = amp_rpmsg_send(&lb->hepts[k], payload, size, AMP_NO_WAIT);
            if (rc < 0)
                return rc;
        }
        int rc = amp_rpmsg_poll(&lb->remote);
        if (rc < 0)
            return rc;
    }
    uint64_t t2 = ticks();
    *rtt_ns = ticks_to_us((double)(t1 - t0)) * 1e3 / iters;
    *msg_ns = ticks_to_us((double)(t2 - t1)) * 1e3 / (double)((iters + 31) / 32 * 32);
    return 0;
}

/*
 * ns per step of an idle receive loop on the remote: poll alone (disarmed,
 * as a polling loop runs), and poll + amp_rpmsg_wait(0), which re-arms the
 * doorbell (a store and a full barrier) before its platform wait returns.
 */
static void lb_idle(struct loopback *lb, uint32_t iters, double *poll_ns, double *wait_ns)
{
    uint64_t t0 = ticks();
    for (uint32_t i = 0; i < iters; i++)
        amp_rpmsg_poll(&lb->remote);
    uint64_t t1 = ticks();
    for (uint32_t i = 0; i < iters; i++) {
        amp_rpmsg_poll(&lb->remote);
        amp_rpmsg_wait(&lb->remote, AMP_NO_WAIT);
    }
    uint64_t t2 = ticks();
    amp_rpmsg_disarm(&lb->remote);
    *poll_ns = ticks_to_us((double)(t1 - t0)) * 1e3 / iters;
    *wait_ns = ticks_to_us((double)(t2 - t1)) * 1e3 / iters;
}

/* Best of a few runs of each size: this CPU's cost, free of the other core. */
static int run_loopback(uint32_t iters, int runs)
{
    static struct loopback lb;
    int rc = lb_open(&lb);
    if (rc)
        return rc;
    double ignored;
    rc = lb_run(&lb, 16, iters, &ignored, &ignored);   /* warm-up: caches, clock ramp */
    if (rc)
        return rc;
    for (size_t s = 0; s < N_SIZES; s++) {
        double best_rtt = INFINITY, best_msg = INFINITY;
        for (int r = 0; r < runs; r++) {
            double rtt, msg;
            rc = lb_run(&lb, rtt_sizes[s], iters, &rtt, &msg);
            if (rc)
                return rc;
            best_rtt = rtt < best_rtt ? rtt : best_rtt;
            best_msg = msg < best_msg ? msg : best_msg;
        }
        put(best_rtt / 1e3, "loopback_rtt_%uB_us", rtt_sizes[s]);
        put(best_msg, "loopback_stream_%uB_ns_per_msg", rtt_sizes[s]);
    }
    put(lb.notifies, "loopback_doorbells");
    /* The same with N endpoint pairs used round-robin: what finding them costs. */
    for (size_t e = 0; e < N_EPT_COUNTS; e++) {
        double best_rtt = INFINITY, best_msg = INFINITY;
        rc = lb_set_epts(&lb, ept_cases[e].n, ept_cases[e].table);
        for (int r = 0; r < runs && rc == 0; r++) {
            double rtt, msg;
            rc = lb_run(&lb, 16, iters, &rtt, &msg);
            best_rtt = rtt < best_rtt ? rtt : best_rtt;
            best_msg = msg < best_msg ? msg : best_msg;
        }
        if (rc)
            return rc;
        put(best_rtt / 1e3, "loopback_%s_rtt_16B_us", ept_cases[e].name);
        put(best_msg, "loopback_%s_stream_16B_ns_per_msg", ept_cases[e].name);
    }
    rc = lb_set_epts(&lb, 1, false);
    if (rc)
        return rc;
    double best_poll = INFINITY, best_wait = INFINITY;
    for (int r = 0; r < runs; r++) {
        double poll_ns, wait_ns;
        lb_idle(&lb, iters, &poll_ns, &wait_ns);
        best_poll = poll_ns < best_poll ? poll_ns : best_poll;
        best_wait = wait_ns < best_wait ? wait_ns : best_wait;
    }
    put(best_poll, "loopback_idle_poll_ns");
    put(best_wait, "loopback_idle_poll_wait_ns");
    return 0;
}

/* ---- Set-up and tear-down. ---- */

struct options {
    const char *firmware;
    const char *out;
    bool smoke;
    int rounds;
    int host_cpu, core_cpu;
    bool pin;
    const char *profile;     /* run one workload for a few seconds (for perf) */
};

static int pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        fprintf(stderr, "amp-bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
        return -1;
    }
    return 0;
}

static int bench_open(struct bench *b, const struct options *o)
{
    char name[64], err[512];
    snprintf(name, sizeof name, "amp-bench-%ld", (long)getpid());
    struct amp_sim_options opt = {
        .name = name,
        .wait_mode = AMP_SIM_WAIT_BLOCKING,
        .remove_flash_on_close = true,
        .pin_cpu = o->pin,
        .cpu = o->core_cpu,
    };
    int rc = amp_sim_open(&b->board, &opt, err, sizeof err);
    if (rc) {
        fprintf(stderr, "amp-bench: %s\n", err);
        return rc;
    }
    b->p = amp_sim_platform(b->board);
    rc = amp_sim_rpmsg(b->board, &b->dev);
    if (rc == 0)
        rc = amp_rpmsg_create_ept(&b->ctl, b->dev, BENCH_CTL_NAME, AMP_RPMSG_ADDR_ANY,
                                  AMP_RPMSG_ADDR_ANY, on_ctl, NULL, b);
    if (rc == 0)
        rc = amp_rpmsg_create_ept(&b->epts[0], b->dev, NULL, BENCH_HOST_EPT_BASE,
                                  BENCH_FW_EPT_BASE, on_data, NULL, b);
    if (rc) {
        fprintf(stderr, "amp-bench: rpmsg: %s\n", amp_strerror(rc));
        return rc;
    }
    b->n_epts = 1;
    rc = amp_sim_load_file(b->board, o->firmware, err, sizeof err);
    if (rc) {
        fprintf(stderr, "amp-bench: %s\n", err);
        return rc;
    }
    rc = amp_rproc_start(amp_sim_rproc(b->board));
    if (rc) {
        fprintf(stderr, "amp-bench: start: %s\n", amp_strerror(rc));
        return rc;
    }
    b->core_pid = amp_sim_core_pid(b->board);
    /* The firmware boots in blocking mode; so do we until told otherwise. */
    b->mode = BENCH_WAIT_BLOCKING;
    static const uint64_t zero = 0;
    uint64_t start = mono_ns();
    while (!amp_rpmsg_ept_is_ready(&b->ctl)) {
        rc = bench_wait(b, &zero, 1, 100);
        if (rc != -AMP_ETIMEDOUT && rc != 0)
            break;
        rc = 0;
        if (mono_ns() - start > (uint64_t)BOOT_TIMEOUT_MS * 1000000u) {
            rc = -AMP_ETIMEDOUT;
            break;
        }
    }
    if (rc == 0)
        rc = ctl_call(b, BENCH_OP_HELLO, 0, 0, NULL);
    if (rc) {
        char trace[256];
        fprintf(stderr, "amp-bench: the bench firmware does not answer: %s\n", amp_strerror(rc));
        if (amp_sim_read_trace(b->board, trace, sizeof trace) > 0)
            fprintf(stderr, "amp-bench: firmware trace: %s\n", trace);
    }
    return rc;
}

static void bench_close(struct bench *b)
{
    if (!b->board)
        return;
    char trace[256];
    /* Anything beyond the greeting is an error the firmware traced. */
    if (amp_sim_read_trace(b->board, trace, sizeof trace) > 0 && strcmp(trace, "bench: up\n") != 0)
        fprintf(stderr, "amp-bench: firmware trace: %s\n", trace);
    int rc = amp_rproc_shutdown(amp_sim_rproc(b->board));
    if (rc)
        fprintf(stderr, "amp-bench: shutdown: %s\n", amp_strerror(rc));
    while (b->n_epts)
        amp_rpmsg_destroy_ept(&b->epts[--b->n_epts]);
    amp_rpmsg_destroy_ept(&b->ctl);
    amp_sim_close(b->board);
    b->board = NULL;
}

/* ---- Output. ---- */

static int write_json(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "amp-bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n");
    for (unsigned i = 0; i < n_results; i++) {
        double v = results[i].value;
        fprintf(f, "  \"%s\": ", results[i].key);
        if (isfinite(v))
            fprintf(f, "%.6g", v);
        else
            fprintf(f, "null");
        fprintf(f, "%s\n", i + 1 < n_results ? "," : "");
    }
    fprintf(f, "}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "amp-bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_plot_data(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/latency.dat", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "amp-bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "# payload_bytes");
    for (int m = 0; m < 3; m++)
        fprintf(f, " %s_p50_us %s_p99_us", mode_names[m], mode_names[m]);
    fprintf(f, "\n");
    for (size_t s = 0; s < N_SIZES; s++) {
        fprintf(f, "%u", rtt_sizes[s]);
        for (int m = 0; m < 3; m++)
            fprintf(f, " %.4f %.4f", get("rtt_%s_%uB_us_p50", mode_names[m], rtt_sizes[s]),
                    get("rtt_%s_%uB_us_p99", mode_names[m], rtt_sizes[s]));
        fprintf(f, "\n");
    }
    if (fclose(f) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/baselines.gp", dir);
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "amp-bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "raw_pingpong_us = %.4f\nraw_wake_us = %.4f\n", get("raw_pingpong_rtt_us"),
            get("raw_wake_rtt_us"));
    return fclose(f) == 0 ? 0 : -1;
}

static void print_table(void)
{
    double pp = get("raw_pingpong_rtt_us"), wake = get("raw_wake_rtt_us");
    printf("\nMachine: %.0f %% of a CPU used by other processes during the run, %.1f %% steal "
           "(noise indicators; %.1f s run)\n", get("foreign_cpu_percent"), get("steal_cpu_percent"),
           get("run_seconds"));
    printf("In-process loopback (one thread, no cross-core traffic): RTT 16 B %.3f us, "
           "stream 16 B %.1f ns/msg\n", get("loopback_rtt_16B_us"),
           get("loopback_stream_16B_ns_per_msg"));
    printf("  idle receive loop step: poll %.1f ns, poll + wait(0) (re-arm) %.1f ns\n",
           get("loopback_idle_poll_ns"), get("loopback_idle_poll_wait_ns"));
    printf("  endpoints, round-robin, 16 B:");
    for (size_t e = 0; e < N_EPT_COUNTS; e++)
        printf("  %s RTT %.3f us stream %.1f ns/msg", ept_cases[e].name,
               get("loopback_%s_rtt_16B_us", ept_cases[e].name),
               get("loopback_%s_stream_16B_ns_per_msg", ept_cases[e].name));
    printf("\n");
    printf("\nBaselines (same two processes, same CPUs, this run):\n");
    printf("  %-34s p50 %9.3f us   p99 %9.3f us\n", "raw cache-line ping-pong RTT", pp,
           get("raw_pingpong_rtt_us_p99"));
    printf("  %-34s p50 %9.3f us   p99 %9.3f us\n", "raw eventfd (doorbell) ping-pong RTT",
           wake, get("raw_wake_rtt_us_p99"));
    printf("\nRound trip through the full stack (us):\n");
    printf("  %-10s %6s %9s %9s %9s   %-12s %-12s\n", "mode", "size", "p50", "p99", "min",
           "p50/raw-pp", "p50/raw-wake");
    for (int m = 0; m < 3; m++)
        for (size_t s = 0; s < N_SIZES; s++) {
            double p50 = get("rtt_%s_%uB_us_p50", mode_names[m], rtt_sizes[s]);
            printf("  %-10s %5uB %9.3f %9.3f %9.3f   %9.2fx   %9.3fx\n", mode_names[m],
                   rtt_sizes[s], p50, get("rtt_%s_%uB_us_p99", mode_names[m], rtt_sizes[s]),
                   get("rtt_%s_%uB_us_min", mode_names[m], rtt_sizes[s]), p50 / pp, p50 / wake);
        }
    printf("  adaptive vs polled (16 B p50): %.2fx; adaptive spin budget %.1f us\n",
           get("ratio_adaptive_vs_polled_16B"), get("adaptive_spin_us"));
    printf("\nEndpoints (polled, 16 B, round-robin over N endpoint pairs):\n");
    printf("  %-6s %9s %9s %12s %14s\n", "N", "RTT p50", "RTT p99", "p50/raw-pp", "stream msg/s");
    for (size_t e = 0; e < N_EPT_COUNTS; e++)
        printf("  %-6u %9.3f %9.3f %11.2fx %14.0f%s\n", ept_cases[e].n,
               get("%s_rtt_polled_16B_us_p50", ept_cases[e].name),
               get("%s_rtt_polled_16B_us_p99", ept_cases[e].name),
               get("%s_rtt_polled_16B_us_p50", ept_cases[e].name) / pp,
               get("%s_stream_16B_msgs_per_s", ept_cases[e].name),
               ept_cases[e].table ? "" : "  (no table: list walk)");
    printf("  256 vs 1 endpoint (table): RTT %.2fx, streaming %.2fx (median of %d rounds)\n",
           get("ept256_rtt_polled_16B_us_p50") / get("ept1_rtt_polled_16B_us_p50"),
           get("ept256_stream_16B_time_vs_ept1"), (int)get("ept_stream_rounds"));
    printf("\nOne-way streaming host -> core (polled unless named):\n");
    printf("  %-28s %14s %14s %16s\n", "variant", "msg/s", "MB/s", "ns/msg (vs raw-pp)");
    static const char *const variants[] = { "16B", "16B_zerocopy", "496B", "496B_zerocopy",
                                            "16B_adaptive", "16B_blocking" };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        double mps = get("stream_%s_msgs_per_s", variants[v]);
        printf("  %-28s %14.0f %14.1f %9.1f (%.2fx)\n", variants[v], mps,
               get("stream_%s_bytes_per_s", variants[v]) / 1e6, 1e9 / mps,
               (1e6 / mps) / pp);
    }
    printf("\nIdle link for %.2f s (CPU %% of one CPU):\n", get("idle_seconds"));
    for (int m = 0; m < 3; m++)
        printf("  %-10s host %7.3f %%   core %7.3f %%\n", mode_names[m],
               get("%s_idle_cpu_percent_host", mode_names[m]),
               get("%s_idle_cpu_percent_core", mode_names[m]));
}

/* ---- Main. ---- */

static uint32_t per_round(uint32_t total, int rounds)
{
    uint32_t n = total / (uint32_t)rounds;
    return n ? n : 1;
}

#define TRY(what, expr)                                                                  \
    do {                                                                                 \
        int rc_ = (expr);                                                                \
        if (rc_ < 0) {                                                                   \
            fprintf(stderr, "amp-bench: %s: %s\n", (what),                               \
                    stop_requested ? "interrupted" : amp_strerror(rc_));                 \
            goto out;                                                                    \
        }                                                                                \
    } while (0)

static void usage(FILE *f)
{
    fprintf(f, "usage: amp-bench [--firmware ELF] [--out DIR] [--smoke] [--rounds N]\n"
               "                 [--host-cpu N] [--core-cpu N] [--no-pin]\n"
               "                 [--profile polled-rtt|adaptive-rtt|stream|stream-zc|idle [SECONDS]]\n");
}

static int cpu_ns(pid_t pid, uint64_t *ns);

/*
 * Run one workload for a while and print its figure: a target for
 * `perf record -a` or `perf stat`, nothing is written. Also prints the
 * core's CPU time per operation: on a loaded machine it moves much less
 * than the rate does, so it is the figure to compare two builds of a core by.
 */
static int run_profile(struct bench *b, const char *what, double seconds)
{
    if (strcmp(what, "idle") == 0) {
        /* The idle link (blocking), one measurement of the whole time. */
        double host, core;
        int rc = set_mode(b, BENCH_WAIT_BLOCKING);
        if (rc == 0)
            rc = run_idle(b, (uint32_t)(seconds * 1e3), &host, &core);
        if (rc == 0)
            printf("idle: %.1f s, CPU host %.3f %%, core %.3f %%\n", seconds, host, core);
        return rc;
    }
    bool rtt = strstr(what, "rtt") != NULL;
    enum bench_wait mode = strncmp(what, "adaptive", 8) == 0 ? BENCH_WAIT_ADAPTIVE
                           : strncmp(what, "blocking", 8) == 0 ? BENCH_WAIT_BLOCKING
                                                                : BENCH_WAIT_POLLED;
    bool zc = strstr(what, "-zc") != NULL;
    int rc = set_mode(b, mode);
    if (rc)
        return rc;
    uint64_t end = ticks() + ms_to_ticks(seconds * 1e3);
    unsigned runs = 0;
    double sum = 0;
    uint64_t ops = 0, core0 = 0, core1 = 0;
    bool have_cpu = cpu_ns(b->core_pid, &core0) == 0;
    /* Short streams: an emulated core moves ~10^5 msg/s. */
    const uint32_t rtt_warmup = 100, rtt_iters = 20000, stream_msgs = 100000;
    while (ticks() < end) {
        if (rtt) {
            struct samples s = { 0 };
            rc = run_rtt(b, 16, rtt_warmup, rtt_iters, &s);
            struct stats st = summarize(&s);
            free(s.t);
            sum += st.p50;
            ops += rtt_warmup + rtt_iters;
        } else {
            double mps, bps;
            rc = run_stream(b, 16, zc, stream_msgs, &mps, &bps);
            sum += mps;
            ops += stream_msgs;
        }
        if (rc)
            return rc;
        runs++;
    }
    have_cpu = have_cpu && cpu_ns(b->core_pid, &core1) == 0;
    printf("%s: %u runs, mean %s %.3f", what, runs, rtt ? "RTT p50 us" : "msg/s",
           runs ? sum / runs : 0);
    if (have_cpu && ops)
        printf(", core CPU %.3f us per %s", (double)(core1 - core0) / 1e3 / (double)ops,
               rtt ? "round trip" : "message");
    printf("\n");
    return 0;
}

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {
        .firmware = "build/firmware/bench.elf",
        .out = "build/bench",
        .rounds = 10,
        .host_cpu = 0,
        .core_cpu = 1,
        .pin = true,
    };
    static const struct option longopts[] = {
        { "firmware", required_argument, NULL, 'f' }, { "out", required_argument, NULL, 'o' },
        { "smoke", no_argument, NULL, 's' },          { "rounds", required_argument, NULL, 'r' },
        { "host-cpu", required_argument, NULL, 'H' }, { "core-cpu", required_argument, NULL, 'C' },
        { "no-pin", no_argument, NULL, 'n' },         { "help", no_argument, NULL, 'h' },
        { "profile", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "f:o:sr:H:C:nhp:", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o.firmware = optarg; break;
        case 'o': o.out = optarg; break;
        case 's': o.smoke = true; break;
        case 'r':
            if (parse_int(optarg, &o.rounds) || o.rounds < 1) {
                usage(stderr);
                return 2;
            }
            break;
        case 'H':
            if (parse_int(optarg, &o.host_cpu)) {
                usage(stderr);
                return 2;
            }
            break;
        case 'C':
            if (parse_int(optarg, &o.core_cpu)) {
                usage(stderr);
                return 2;
            }
            break;
        case 'n': o.pin = false; break;
        case 'p': o.profile = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    double profile_s = 3;
    if (o.profile && optind < argc)
        profile_s = atof(argv[optind++]);
    if (optind != argc || profile_s <= 0) {
        usage(stderr);
        return 2;
    }
    if (o.smoke)
        o.rounds = 1;
    /* Totals over all rounds: round trips per (mode, size), raw round trips;
     * messages per stream and measured streams per variant (best kept). */
    const uint32_t warm = o.smoke ? 10 : 200;
    const uint32_t n_polled = o.smoke ? 50 : 20000;
    const uint32_t n_blocking = o.smoke ? 20 : 3000;
    const uint32_t n_raw_pp = o.smoke ? 100 : 50000;
    const uint32_t n_raw_wake = o.smoke ? 20 : 3000;
    const uint32_t n_stream = o.smoke ? 2000 : 500000;
    const int stream_runs = o.smoke ? 1 : 5;
    const uint32_t idle_ms = o.smoke ? 50 : 1000;

    if (mkdir(o.out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "amp-bench: %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (o.pin && (ncpu < 2 || o.host_cpu >= ncpu || o.core_cpu >= ncpu || o.host_cpu == o.core_cpu)) {
        fprintf(stderr, "amp-bench: %ld CPUs online: not pinning (host %d, core %d asked)\n", ncpu,
                o.host_cpu, o.core_cpu);
        o.pin = false;
    }
    if (o.pin && pin_self(o.host_cpu) != 0)
        o.pin = false;
    if (install_signals() != 0) {
        fprintf(stderr, "amp-bench: signals: %s\n", strerror(errno));
        return 1;
    }
    calibrate();
    liveness_ticks = ms_to_ticks(LIVENESS_MS);

    static struct bench b;
    int status = 1;
    struct samples s_pp = { 0 }, s_wake = { 0 };
    struct samples s_rtt[3][N_SIZES];
    struct samples s_ept[N_EPT_COUNTS];
    memset(s_rtt, 0, sizeof s_rtt);
    memset(s_ept, 0, sizeof s_ept);

    if (o.profile && strcmp(o.profile, "loopback") == 0) {
        /* No board: runs under valgrind --tool=callgrind too. */
        uint64_t end = ticks() + ms_to_ticks(profile_s * 1e3);
        int rc = 0;
        while (rc == 0 && ticks() < end)
            rc = run_loopback(100000, 1);
        if (rc)
            fprintf(stderr, "amp-bench: loopback: %s\n", amp_strerror(rc));
        else
            printf("loopback: RTT 16 B %.3f us, stream 16 B %.1f ns/msg\n",
                   get("loopback_rtt_16B_us"), get("loopback_stream_16B_ns_per_msg"));
        return rc ? 1 : 0;
    }
    TRY("loopback", run_loopback(o.smoke ? 1000 : 100000, o.smoke ? 1 : 5));
    if (bench_open(&b, &o) != 0)
        goto out;
    if (o.profile) {
        int rc = run_profile(&b, o.profile, profile_s);
        if (rc)
            fprintf(stderr, "amp-bench: profile: %s\n", amp_strerror(rc));
        bench_close(&b);
        return rc ? 1 : 0;
    }
    put(o.pin ? o.host_cpu : -1, "host_cpu");
    put(o.pin ? o.core_cpu : -1, "core_cpu");
    put(tsc_hz, "tsc_hz");
    put(o.rounds, "rounds");
    put(stream_runs, "stream_runs");
    put(n_stream, "stream_messages");
    put(o.smoke, "smoke");
    uint64_t m_busy0 = 0, m_steal0 = 0, m_wall0 = mono_ns(), own0 = 0, core0 = 0;
    bool have_load = machine_busy_ns(&m_busy0, &m_steal0) == 0 && cpu_ns(0, &own0) == 0 &&
                     cpu_ns(b.core_pid, &core0) == 0;
    fprintf(stderr, "amp-bench: host pid %ld on CPU %d, core pid %d on CPU %d, %d round(s)%s\n",
            (long)getpid(), o.pin ? o.host_cpu : -1, b.core_pid, o.pin ? o.core_cpu : -1,
            o.rounds, o.smoke ? " (smoke: tiny counts, figures meaningless)" : "");

    /*
     * Rounds interleave each baseline with the modes it is the floor of
     * (ping-pong next to polled, the doorbell next to blocking), so the
     * bursts of a shared machine hit both sides of every ratio; samples of
     * all rounds are merged.
     */
    fprintf(stderr, "amp-bench: round trips, round");
    for (int r = 0; r < o.rounds; r++) {
        fprintf(stderr, " %d", r + 1);
        TRY("mode", set_mode(&b, BENCH_WAIT_POLLED));
        TRY("raw ping-pong", run_raw_shm(&b, per_round(n_raw_pp, o.rounds), &s_pp));
        for (size_t s = 0; s < N_SIZES; s++)
            TRY("round trip", run_rtt(&b, rtt_sizes[s], warm, per_round(n_polled, o.rounds),
                                      &s_rtt[BENCH_WAIT_POLLED][s]));
        TRY("raw wake", run_raw_wake(&b, per_round(n_raw_wake, o.rounds), &s_wake));
        if (r == 0) {
            /* Spin for about what a sleep costs: half the measured doorbell round trip. */
            struct stats w = summarize(&s_wake);   /* sorts; order does not matter */
            double spin_us = w.p50 / 2;
            spin_us = spin_us < 2 ? 2 : spin_us > 100 ? 100 : spin_us;
            b.spin = (uint64_t)(spin_us * tsc_hz / 1e6);
            put(spin_us, "adaptive_spin_us");
        }
        for (int m = BENCH_WAIT_BLOCKING; m <= BENCH_WAIT_ADAPTIVE; m++) {
            TRY("mode", set_mode(&b, (enum bench_wait)m));
            for (size_t s = 0; s < N_SIZES; s++)
                TRY("round trip",
                    run_rtt(&b, rtt_sizes[s], warm,
                            per_round(m == BENCH_WAIT_BLOCKING ? n_blocking : n_polled, o.rounds),
                            &s_rtt[m][s]));
        }
        TRY("mode", set_mode(&b, BENCH_WAIT_POLLED));
        for (size_t e = 0; e < N_EPT_COUNTS; e++) {
            TRY("endpoints", set_endpoints(&b, ept_cases[e].n, ept_cases[e].table));
            TRY("round trip", run_rtt(&b, 16, warm, per_round(n_polled, o.rounds), &s_ept[e]));
        }
        /* Back to one endpoint on the list: what a firmware without a table runs. */
        TRY("endpoints", set_endpoints(&b, 1, false));
    }
    fprintf(stderr, "\n");

    fprintf(stderr, "amp-bench: streaming");
    TRY("mode", set_mode(&b, BENCH_WAIT_POLLED));
    {
        static const struct {
            uint32_t size;
            bool zc;
            enum bench_wait mode;
            const char *name;
        } st[] = {
            { 16, false, BENCH_WAIT_POLLED, "16B" },
            { 16, true, BENCH_WAIT_POLLED, "16B_zerocopy" },
            { 496, false, BENCH_WAIT_POLLED, "496B" },
            { 496, true, BENCH_WAIT_POLLED, "496B_zerocopy" },
            { 16, false, BENCH_WAIT_ADAPTIVE, "16B_adaptive" },
            { 16, false, BENCH_WAIT_BLOCKING, "16B_blocking" },
        };
        for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
            double mps = 0, bps = 0, best_m = 0, best_b = 0;
            fprintf(stderr, " %s", st[i].name);
            TRY("mode", set_mode(&b, st[i].mode));
            /* A warm-up stream, then the best of the measured streams. */
            TRY("stream", run_stream(&b, st[i].size, st[i].zc, n_stream / 10 + 1, &mps, &bps));
            for (int r = 0; r < stream_runs; r++) {
                TRY("stream", run_stream(&b, st[i].size, st[i].zc, n_stream, &mps, &bps));
                put(mps, "stream_%s_round%d_msgs_per_s", st[i].name, r + 1);
                if (mps > best_m) {
                    best_m = mps;
                    best_b = bps;
                }
            }
            put(best_m, "stream_%s_msgs_per_s", st[i].name);
            put(best_b, "stream_%s_bytes_per_s", st[i].name);
        }
        TRY("mode", set_mode(&b, BENCH_WAIT_POLLED));
        /*
         * The endpoint counts take turns, one stream each per round, as
         * the round trips do: a burst of the shared machine then lands on
         * every count alike, not on all the streams of one of them.
         */
        enum { EPT_ROUNDS = 11 };
        double ept_mps[N_EPT_COUNTS][EPT_ROUNDS] = { { 0 } };
        int ept_rounds = o.smoke ? 1 : EPT_ROUNDS;
        for (int r = 0; r < ept_rounds; r++) {
            for (size_t e = 0; e < N_EPT_COUNTS; e++) {
                double bps = 0;
                TRY("endpoints", set_endpoints(&b, ept_cases[e].n, ept_cases[e].table));
                TRY("stream", run_stream(&b, 16, false, n_stream, &ept_mps[e][r], &bps));
            }
        }
        put(ept_rounds, "ept_stream_rounds");
        for (size_t e = 0; e < N_EPT_COUNTS; e++) {
            double best = 0, ratio[EPT_ROUNDS];
            for (int r = 0; r < ept_rounds; r++) {
                best = ept_mps[e][r] > best ? ept_mps[e][r] : best;
                ratio[r] = ept_mps[0][r] / ept_mps[e][r];
            }
            put(best, "%s_stream_16B_msgs_per_s", ept_cases[e].name);
            /* Each round's ratio is of two streams a few ms apart: the
             * median of those is steadier than a ratio of two bests. */
            put(median(ratio, ept_rounds), "%s_stream_16B_time_vs_ept1", ept_cases[e].name);
        }
        /* Back to one endpoint on the list: what a firmware without a table runs. */
        TRY("endpoints", set_endpoints(&b, 1, false));
    }

    fprintf(stderr, "\namp-bench: idle CPU");
    put(idle_ms / 1e3, "idle_seconds");
    for (int m = 0; m < 3; m++) {
        double hp = 0, cp = 0;
        fprintf(stderr, " %s", mode_names[m]);
        TRY("mode", set_mode(&b, (enum bench_wait)m));
        TRY("idle", run_idle(&b, idle_ms, &hp, &cp));
        put(hp, "%s_idle_cpu_percent_host", mode_names[m]);
        put(cp, "%s_idle_cpu_percent_core", mode_names[m]);
    }
    fprintf(stderr, "\n");
    TRY("mode", set_mode(&b, BENCH_WAIT_BLOCKING));
    {
        /* Noise: what the rest of the machine ran meanwhile (100 % = one CPU). */
        uint64_t busy, steal, own, core, wall = mono_ns() - m_wall0;
        if (have_load && machine_busy_ns(&busy, &steal) == 0 && cpu_ns(0, &own) == 0 &&
            cpu_ns(b.core_pid, &core) == 0) {
            double ours = (double)(own - own0) + (double)(core - core0);
            double other = (double)(busy - m_busy0) - ours;
            put(other > 0 ? 100.0 * other / (double)wall : 0, "foreign_cpu_percent");
            put(100.0 * (double)(steal - m_steal0) / (double)wall, "steal_cpu_percent");
        }
        put((double)wall / 1e9, "run_seconds");
    }

    /* Summaries and ratios. */
    {
        struct stats pp = summarize(&s_pp), wake = summarize(&s_wake);
        put_stats(&pp, "raw_pingpong_rtt");
        put_stats(&wake, "raw_wake_rtt");
        put(pp.p50, "raw_pingpong_rtt_us");
        put(wake.p50, "raw_wake_rtt_us");
        for (int m = 0; m < 3; m++)
            for (size_t s = 0; s < N_SIZES; s++) {
                char name[64];
                snprintf(name, sizeof name, "rtt_%s_%uB", mode_names[m], rtt_sizes[s]);
                struct stats st = summarize(&s_rtt[m][s]);
                put_stats(&st, name);
                put(st.p50 / pp.p50, "ratio_%s_%uB_vs_raw_pingpong", mode_names[m], rtt_sizes[s]);
                put(st.p50 / wake.p50, "ratio_%s_%uB_vs_raw_wake", mode_names[m], rtt_sizes[s]);
            }
        for (size_t s = 0; s < N_SIZES; s++)
            put(get("rtt_adaptive_%uB_us_p50", rtt_sizes[s]) /
                    get("rtt_polled_%uB_us_p50", rtt_sizes[s]),
                "ratio_adaptive_vs_polled_%uB", rtt_sizes[s]);
        for (size_t e = 0; e < N_EPT_COUNTS; e++) {
            char name[64];
            snprintf(name, sizeof name, "%s_rtt_polled_16B", ept_cases[e].name);
            struct stats st = summarize(&s_ept[e]);
            put_stats(&st, name);
        }
        put(get("stream_16B_msgs_per_s") * get("raw_pingpong_rtt_us") / 1e6,
            "stream_16B_msgs_per_raw_pingpong_rtt");
    }
    status = 0;

out:
    bench_close(&b);
    if (status == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/results.json", o.out);
        if (write_json(path) != 0 || write_plot_data(o.out) != 0)
            status = 1;
        else {
            print_table();
            printf("\nwrote %s\n", path);
        }
    }
    free(s_pp.t);
    free(s_wake.t);
    for (int m = 0; m < 3; m++)
        for (size_t s = 0; s < N_SIZES; s++)
            free(s_rtt[m][s].t);
    for (size_t e = 0; e < N_EPT_COUNTS; e++)
        free(s_ept[e].t);
    return status;
}
