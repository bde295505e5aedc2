/*
 * soak: sequence-numbered, checksummed messages both ways at once through
 * the simulated board, for a count or a time, reporting what was lost,
 * duplicated, reordered or corrupted in each direction (make soak).
 *
 *   soak --firmware build/firmware/soak.elf [--messages N] [--seconds S]
 *        [--name BOARD]
 *
 * --messages is the total, half each way (default 1000000); --seconds runs
 * for that long instead (both ways, as fast as they go). The core runs
 * firmware/soak.c; the protocol is tests/soak/soak_proto.h. Exits 0 only if
 * every message arrived once, in order and intact, in both directions.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "amp/sim.h"
#include "soak_proto.h"

#define IDLE_SPINS 200u
#define BURST 64u
#define BOOT_TIMEOUT_MS 10000
/* After STOP: how long the rest of the core's stream and its report may take. */
#define DRAIN_TIMEOUT_MS 10000
/* No message either way for this long while streaming: give up. */
#define STALL_TIMEOUT_MS 10000

struct soak {
    struct amp_sim_board *board;
    struct amp_rpmsg_device *dev;
    const struct amp_platform *p;
    struct amp_rpmsg_endpoint ept;
    struct soak_rx rx;
    uint64_t to_send, sent;
    bool have_report;
    struct soak_report report;
    int error;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int on_message(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                      void *priv)
{
    (void)ept;
    (void)src;
    struct soak *s = priv;
    struct soak_hdr h;
    if (len >= sizeof h)
        memcpy(&h, data, sizeof h);
    if (len >= sizeof h && h.type == SOAK_REPORT) {
        if (len != sizeof h + sizeof s->report) {
            fprintf(stderr, "soak: a report of %zu bytes\n", len);
            s->error = -AMP_EBADMSG;
        } else {
            memcpy(&s->report, (uint8_t *)data + sizeof h, sizeof s->report);
            s->have_report = true;
        }
        return AMP_RPMSG_RELEASE;
    }
    soak_account(&s->rx, data, (uint32_t)len);
    return AMP_RPMSG_RELEASE;
}

static int send_ctl(struct soak *s, uint32_t type, uint64_t arg)
{
    struct soak_hdr h = { type, 0, arg, 0 };
    int rc = amp_rpmsg_send(&s->ept, &h, sizeof h, 1000);
    if (rc < 0)
        fprintf(stderr, "soak: cannot send control message %u: %s\n", type - SOAK_DATA,
                amp_strerror(rc));
    return rc < 0 ? rc : 0;
}

/* As many data messages as there are free buffers (up to BURST); never waits. */
static unsigned send_burst(struct soak *s, bool forever)
{
    unsigned n = 0;
    while ((forever || s->sent < s->to_send) && n < BURST) {
        uint32_t size;
        int err;
        void *buf = amp_rpmsg_get_tx_buffer(s->dev, &size, AMP_NO_WAIT, &err);
        if (!buf) {
            if (err != -AMP_ENOBUFS)
                s->error = err;
            break;
        }
        uint32_t len = soak_build(buf, s->sent);
        int rc = amp_rpmsg_send_nocopy(&s->ept, s->ept.addr, s->ept.dest_addr, buf, len);
        if (rc < 0) {
            amp_rpmsg_release_tx_buffer(s->dev, buf);
            s->error = rc;
            break;
        }
        s->sent++;
        n++;
    }
    return n;
}

/* Poll; 1 if something happened, 0 if idle (after sleeping a little), < 0 on error. */
static int step(struct soak *s, unsigned sent, unsigned *idle)
{
    int n = amp_rpmsg_poll(s->dev);
    if (n < 0)
        return n;
    if (n > 0 || sent > 0) {
        *idle = 0;
        return 1;
    }
    /* Idle: let the core run (the machine may have fewer free CPUs than we need). */
    if (++*idle < IDLE_SPINS) {
        sched_yield();
        return 0;
    }
    /* A freed transmit buffer rings no bell: sleep a millisecond at most. */
    int rc = amp_rpmsg_wait(s->dev, 1);
    amp_rpmsg_disarm(s->dev);
    *idle = IDLE_SPINS / 2;
    return rc < 0 && rc != -AMP_ETIMEDOUT ? rc : 0;
}

static void print_direction(const char *what, uint64_t sent, const struct soak_counts *c,
                            uint64_t *bad)
{
    uint64_t lost = sent > c->unique ? sent - c->unique : 0;
    uint64_t extra = c->unique > sent ? c->unique - sent : 0;   /* more than was sent */
    printf("soak: %s: sent %llu, received %llu: %llu lost, %llu duplicated, %llu reordered, "
           "%llu corrupted%s\n", what, (unsigned long long)sent,
           (unsigned long long)c->received, (unsigned long long)lost,
           (unsigned long long)(c->duplicated + c->late), (unsigned long long)c->reordered,
           (unsigned long long)c->corrupted, extra ? " (MORE than sent)" : "");
    *bad += lost + extra + c->duplicated + c->late + c->reordered + c->corrupted;
}

static void usage(void)
{
    fprintf(stderr, "usage: soak --firmware FILE [--messages N] [--seconds S] [--name BOARD]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *firmware = NULL, *name = NULL;
    uint64_t messages = 1000000;
    double seconds = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--firmware") && i + 1 < argc)
            firmware = argv[++i];
        else if (!strcmp(argv[i], "--messages") && i + 1 < argc)
            messages = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else
            usage();
    }
    if (!firmware || (seconds <= 0 && messages < 2))
        usage();

    char board_name[AMP_SIM_NAME_MAX + 1], err[512];
    snprintf(board_name, sizeof board_name, "%s", name ? name : "");
    if (!name)
        snprintf(board_name, sizeof board_name, "soak-%ld", (long)getpid());
    struct amp_sim_options opt = {
        .name = board_name,
        .wait_mode = AMP_SIM_WAIT_BLOCKING,
        .remove_flash_on_close = true,
    };
    static struct soak s;
    int rc = amp_sim_open(&s.board, &opt, err, sizeof err);
    if (rc) {
        fprintf(stderr, "soak: %s\n", err);
        return 1;
    }
    s.p = amp_sim_platform(s.board);
    int status = 1;
    rc = amp_sim_rpmsg(s.board, &s.dev);
    if (rc == 0)
        rc = amp_rpmsg_create_ept(&s.ept, s.dev, SOAK_SERVICE, AMP_RPMSG_ADDR_ANY,
                                  AMP_RPMSG_ADDR_ANY, on_message, NULL, &s);
    if (rc) {
        fprintf(stderr, "soak: rpmsg: %s\n", amp_strerror(rc));
        goto out;
    }
    rc = amp_sim_load_file(s.board, firmware, err, sizeof err);
    if (rc) {
        fprintf(stderr, "soak: %s\n", err);
        goto out_ept;
    }
    rc = amp_rproc_start(amp_sim_rproc(s.board));
    if (rc) {
        fprintf(stderr, "soak: start: %s\n", amp_strerror(rc));
        goto out_ept;
    }
    uint64_t t0 = now_ms();
    while (!amp_rpmsg_ept_is_ready(&s.ept) && rc >= 0) {
        if (now_ms() - t0 > BOOT_TIMEOUT_MS) {
            rc = -AMP_ETIMEDOUT;
            break;
        }
        rc = amp_rpmsg_poll(s.dev);
        if (rc >= 0)
            rc = amp_rpmsg_wait(s.dev, 10) == -AMP_ENODEV ? -AMP_ENODEV : 0;
    }
    if (rc < 0) {
        fprintf(stderr, "soak: the soak firmware does not announce \"soak\": %s\n",
                amp_strerror(rc));
        goto out_stop;
    }

    bool timed = seconds > 0;
    uint64_t core_count = timed ? 0 : messages / 2;
    s.to_send = timed ? 0 : messages - messages / 2;
    if (send_ctl(&s, SOAK_START, core_count))
        goto out_stop;
    uint64_t start = now_ms(), last_progress = start, last_print = start;
    uint64_t end = timed ? start + (uint64_t)(seconds * 1000) : 0;
    unsigned idle = 0;
    printf("soak: %s both ways through board %s\n", timed ? "streaming for a time" : "streaming",
           board_name);
    fflush(stdout);
    for (;;) {
        uint64_t now = now_ms();
        bool sending = timed ? now < end : s.sent < s.to_send;
        bool receiving = timed ? sending : s.rx.c.received < core_count;
        if (!sending && !receiving)
            break;
        unsigned n = sending ? send_burst(&s, timed) : 0;
        if (s.error) {
            fprintf(stderr, "soak: send: %s\n", amp_strerror(s.error));
            goto out_stop;
        }
        uint64_t before = s.rx.c.received;
        rc = step(&s, n, &idle);
        if (rc < 0) {
            fprintf(stderr, "soak: poll: %s\n", amp_strerror(rc));
            goto out_stop;
        }
        if (n || s.rx.c.received != before)
            last_progress = now;
        else if (now - last_progress > STALL_TIMEOUT_MS) {
            fprintf(stderr, "soak: no progress for %d s (sent %llu, received %llu)\n",
                    STALL_TIMEOUT_MS / 1000, (unsigned long long)s.sent,
                    (unsigned long long)s.rx.c.received);
            break;
        }
        if (now - last_print >= 10000) {
            last_print = now;
            printf("soak: %.0f s: sent %llu, received %llu\n", (now - start) / 1000.0,
                   (unsigned long long)s.sent, (unsigned long long)s.rx.c.received);
            fflush(stdout);
        }
    }

    /* STOP follows our last message: the core's count of ours is final when it
     * reports, and the rest of its stream arrives before its report. */
    if (send_ctl(&s, SOAK_STOP, 0))
        goto out_stop;
    uint64_t drain_start = now_ms();
    while (!s.have_report && now_ms() - drain_start < DRAIN_TIMEOUT_MS) {
        rc = step(&s, 0, &idle);
        if (rc < 0) {
            fprintf(stderr, "soak: poll: %s\n", amp_strerror(rc));
            goto out_stop;
        }
    }
    if (!s.have_report) {
        fprintf(stderr, "soak: no report from the core within %d s\n", DRAIN_TIMEOUT_MS / 1000);
        goto out_stop;
    }
    /* Until the report: the core's last messages arrive during the drain. */
    uint64_t total = s.sent + s.report.sent;
    double secs = (now_ms() - start) / 1000.0;
    printf("soak: %llu messages (%llu host->core, %llu core->host) in %.1f s: %.2f M msg/s\n",
           (unsigned long long)total, (unsigned long long)s.sent,
           (unsigned long long)s.report.sent, secs, secs > 0 ? total / secs / 1e6 : 0.0);
    uint64_t bad = 0;
    print_direction("host->core", s.sent, &s.report.rx, &bad);
    print_direction("core->host", s.report.sent, &s.rx.c, &bad);
    if (s.report.error)
        fprintf(stderr, "soak: the core reports an error: %s\n", amp_strerror(s.report.error));
    if (!timed && (s.report.sent != core_count || s.sent != s.to_send)) {
        fprintf(stderr, "soak: fewer messages than asked for were sent\n");
        bad++;
    }
    status = bad || s.report.error ? 1 : 0;
    printf("soak: %s\n", status ? "FAILED" : "ok: every message arrived once, in order, intact");

out_stop:;
    char trace[512];
    if (amp_sim_read_trace(s.board, trace, sizeof trace) > 0 && strcmp(trace, "soak: up\n") != 0)
        fprintf(stderr, "soak: firmware trace: %s\n", trace);
    amp_rproc_shutdown(amp_sim_rproc(s.board));
out_ept:
    amp_rpmsg_destroy_ept(&s.ept);
out:
    amp_sim_close(s.board);
    return status;
}
