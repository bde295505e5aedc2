/*
 * amp run FW.elf and amp ping NAME: a board opened through the library,
 * a firmware booted on it, the trace buffer followed, crashes reported.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define BOOT_TIMEOUT_MS 10000
/* How often run looks at the trace buffer when nothing else happens. */
#define TRACE_POLL_MS 50

const char help_run[] =
    "usage: amp run [-b BOARD] [-t SECONDS] FW.elf\n"
    "\n"
    "Load FW.elf onto the simulated board and boot it. Show the firmware's trace\n"
    "buffer as it writes it and the services it announces, until Ctrl-C (the core\n"
    "is stopped cleanly), the -t limit, or the core's death (reported with its\n"
    "reason: the signal or exit status, and the fault address). The firmware stays\n"
    "in the board's flash afterwards: `amp ping` boots it again.\n"
    "\n"
    "  -b, --board NAME     board instance (default sim-h747; one process at a time)\n"
    "  -t, --time SECONDS   stop after this long (default: run until Ctrl-C)\n"
    "\n"
    "exit codes: 0 stopped by Ctrl-C or -t, 1 cannot load or boot, 2 bad command\n"
    "line, 3 the core crashed or stopped on its own.\n";

const char help_ping[] =
    "usage: amp ping [-b BOARD] [-f FW.elf] [-c COUNT] [-s SIZE] [-w MS] NAME\n"
    "\n"
    "Round trips to the echo service NAME (e.g. vuart-channel of virtual_uart.elf):\n"
    "boot the firmware, wait for it to announce NAME, send COUNT messages of SIZE\n"
    "bytes one at a time, check each echo is what was sent, and print min, median,\n"
    "p99 and max of the round-trip times. Runs longer than a second print their\n"
    "progress every second (on stderr). Ctrl-C stops early and prints what was\n"
    "measured so far.\n"
    "\n"
    "  -b, --board NAME     board instance (default sim-h747)\n"
    "  -f, --firmware FILE  firmware to boot (default: boot what is in flash, e.g.\n"
    "                       what the last `amp run` loaded)\n"
    "  -c, --count N        round trips (default 1000)\n"
    "  -s, --size BYTES     payload size, 1 to 496 (default 16)\n"
    "  -w, --wait MS        how long to wait for each echo (default 1000)\n"
    "\n"
    "exit codes: 0 every echo came back intact (or Ctrl-C), 1 cannot boot or an echo\n"
    "differed, 2 bad command line, 3 the core crashed, 4 NAME never announced or an\n"
    "echo did not come back in time.\n";

/* ---- Shared: boot, trace, death. ---- */

int cli_boot(struct cli_board *cb, const char *cmd, const char *name, const char *firmware,
             amp_rpmsg_ns_cb ns_cb, void *ns_priv)
{
    char err[512];
    memset(cb, 0, sizeof *cb);
    struct amp_sim_options opt = { .name = name, .wait_mode = AMP_SIM_WAIT_BLOCKING };
    int rc = amp_sim_open(&cb->board, &opt, err, sizeof err);
    if (rc)
        return cli_fail(EXIT_FAIL, cmd, "%s", err);
    cb->rp = amp_sim_rproc(cb->board);
    cb->p = amp_sim_platform(cb->board);
    rc = amp_sim_rpmsg(cb->board, &cb->dev);
    if (rc)
        return cli_fail(EXIT_FAIL, cmd, "rpmsg: %s", amp_strerror(rc));
    amp_rpmsg_set_ns_callback(cb->dev, ns_cb, ns_priv);
    if (firmware) {
        rc = amp_sim_load_file(cb->board, firmware, err, sizeof err);
        if (rc)
            return cli_fail(EXIT_FAIL, cmd, "%s", err);
    } else {
        rc = amp_rproc_set_entry(cb->rp, AMP_SIM_FLASH_DA);
        if (rc)
            return cli_fail(EXIT_FAIL, cmd, "boot from flash: %s", amp_strerror(rc));
    }
    rc = amp_rproc_start(cb->rp);
    if (rc)
        return cli_fail(EXIT_FAIL, cmd, "start: %s", amp_strerror(rc));
    return EXIT_OK;
}

void cli_show_trace(struct cli_board *cb, const char *prefix)
{
    char now[sizeof cb->trace];
    int n = amp_sim_read_trace(cb->board, now, sizeof now);
    if (n < 0)
        return;
    /* A restarted firmware writes from the start again. */
    if ((size_t)n < cb->trace_shown || memcmp(now, cb->trace, cb->trace_shown) != 0)
        cb->trace_shown = 0;
    /* Whole lines only: the firmware may be in the middle of one. */
    const char *start = now + cb->trace_shown;
    const char *end = strrchr(start, '\n');
    if (!end)
        return;
    for (const char *p = start; p <= end;) {
        const char *nl = strchr(p, '\n');
        printf("%s%.*s\n", prefix, (int)(nl - p), p);
        p = nl + 1;
    }
    fflush(stdout);
    cb->trace_shown = (size_t)(end + 1 - now);
    memcpy(cb->trace, now, cb->trace_shown);
}

int cli_check_core(struct cli_board *cb, const char *cmd)
{
    enum amp_rproc_state st = amp_rproc_state(cb->rp);
    if (st == AMP_RPROC_RUNNING)
        return EXIT_OK;
    char why[160];
    amp_sim_crash_reason(cb->board, why, sizeof why);
    return cli_fail(EXIT_CRASHED, cmd, "the remote core %s%s%s",
                    st == AMP_RPROC_CRASHED ? "crashed" : amp_rproc_state_str(st),
                    why[0] ? ": " : "", why);
}

void cli_close(struct cli_board *cb)
{
    if (cb->board) {
        amp_rproc_stop(cb->rp);
        amp_sim_close(cb->board);
    }
    cb->board = NULL;
}

static void on_service(struct amp_rpmsg_device *dev, const char *name, uint32_t addr,
                       uint32_t flags, void *priv)
{
    (void)dev;
    const char *cmd = priv;
    printf("amp %s: service \"%s\" at address 0x%x %s\n", cmd, name, addr,
           flags == AMP_RPMSG_NS_DESTROY ? "destroyed" : "announced");
    fflush(stdout);
}

/* ---- amp run ---- */

int cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "board", required_argument, NULL, 'b' },
        { "time", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    const char *board = NULL;
    unsigned long seconds = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+b:t:", longopts, NULL)) != -1) {
        if (c == 'b')
            board = optarg;
        else if (c == 't' && cli_parse_uint(optarg, 1, 86400 * 365, &seconds))
            continue;
        else
            return cli_fail(EXIT_USAGE, "run", "usage: amp run [-b BOARD] [-t SECONDS] FW.elf");
    }
    if (optind != argc - 1)
        return cli_fail(EXIT_USAGE, "run", "usage: amp run [-b BOARD] [-t SECONDS] FW.elf");
    const char *fw = argv[optind];

    cli_catch_stop();
    struct cli_board cb;
    int rc = cli_boot(&cb, "run", board, fw, on_service, "run");
    if (rc) {
        cli_close(&cb);
        return rc;
    }
    printf("amp run: %s running on board %s (core pid %d); Ctrl-C stops it\n", fw,
           board ? board : "sim-h747", amp_sim_core_pid(cb.board));
    fflush(stdout);
    struct amp_deadline dl;
    amp_deadline_start(&dl, cb.p, seconds ? (int32_t)(seconds * 1000) : AMP_WAIT_FOREVER);
    while (!cli_stop) {
        int prc = amp_rpmsg_poll(cb.dev);
        /* The trace first: its last lines often say why the core died. */
        cli_show_trace(&cb, "");
        if (amp_rproc_state(cb.rp) != AMP_RPROC_RUNNING) {
            rc = cli_check_core(&cb, "run");
            break;
        }
        if (prc < 0 && prc != -AMP_EAGAIN)
            printf("amp run: rpmsg: %s\n", amp_strerror(prc));
        if (seconds && amp_deadline_left(&dl, cb.p) == 0)
            break;
        amp_rpmsg_wait(cb.dev, TRACE_POLL_MS);
    }
    cli_show_trace(&cb, "");
    /* A last partial line, if any. */
    char rest[sizeof cb.trace];
    if (amp_sim_read_trace(cb.board, rest, sizeof rest) > (int)cb.trace_shown &&
        cb.trace_shown <= strlen(rest))
        printf("%s\n", rest + cb.trace_shown);
    if (rc == EXIT_OK)
        printf("amp run: stopped%s\n", cli_stop ? " (interrupted)" : " (time limit)");
    cli_close(&cb);
    return rc;
}

/* ---- amp ping ---- */

struct pinger {
    struct amp_rpmsg_endpoint ept;
    uint8_t reply[AMP_RPMSG_DEFAULT_BUF_SIZE];
    size_t reply_len;
    bool got;
};

static int on_echo(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                   void *priv)
{
    struct pinger *pg = priv;
    (void)ept;
    (void)src;
    pg->reply_len = len < sizeof pg->reply ? len : sizeof pg->reply;
    memcpy(pg->reply, data, pg->reply_len);
    pg->got = true;
    return AMP_RPMSG_RELEASE;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Serve until *flag or ms pass: EXIT_OK, EXIT_TIMEOUT or EXIT_CRASHED. */
static int serve_until(struct cli_board *cb, const bool *flag, int32_t ms)
{
    struct amp_deadline dl;
    amp_deadline_start(&dl, cb->p, ms);
    for (;;) {
        amp_rpmsg_poll(cb->dev);
        if (*flag)
            return EXIT_OK;
        int rc = cli_check_core(cb, "ping");
        if (rc)
            return rc;
        if (cli_stop)
            return EXIT_OK;
        int32_t left = amp_deadline_left(&dl, cb->p);
        if (left == 0)
            return EXIT_TIMEOUT;
        amp_rpmsg_wait(cb->dev, left);
    }
}

static void print_stats(const char *name, double *rtt, unsigned long n, size_t size, double secs)
{
    if (n == 0) {
        printf("ping %s: no round trips\n", name);
        return;
    }
    qsort(rtt, n, sizeof *rtt, cmp_double);
    double sum = 0;
    for (unsigned long i = 0; i < n; i++)
        sum += rtt[i];
    unsigned long p99 = (unsigned long)ceil(0.99 * (double)n) - 1;
    printf("ping %s: %lu round trips of %zu bytes in %.2f s\n", name, n, size, secs);
    printf("  min %.1f us  median %.1f us  p99 %.1f us  max %.1f us  mean %.1f us\n", rtt[0],
           n % 2 ? rtt[n / 2] : (rtt[n / 2 - 1] + rtt[n / 2]) / 2, rtt[p99], rtt[n - 1],
           sum / (double)n);
}

int cmd_ping(int argc, char **argv)
{
    static const char usage[] = "usage: amp ping [-b BOARD] [-f FW.elf] [-c COUNT] [-s SIZE] "
                                "[-w MS] NAME";
    static const struct option longopts[] = {
        { "board", required_argument, NULL, 'b' }, { "firmware", required_argument, NULL, 'f' },
        { "count", required_argument, NULL, 'c' }, { "size", required_argument, NULL, 's' },
        { "wait", required_argument, NULL, 'w' },  { NULL, 0, NULL, 0 },
    };
    const char *board = NULL, *fw = NULL;
    unsigned long count = 1000, size = 16, wait_ms = 1000;
    int c;
    while ((c = getopt_long(argc, argv, "+b:f:c:s:w:", longopts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'b': board = optarg; break;
        case 'f': fw = optarg; break;
        case 'c': ok = cli_parse_uint(optarg, 1, 100000000, &count); break;
        case 's': ok = cli_parse_uint(optarg, 1, AMP_RPMSG_DEFAULT_BUF_SIZE - 16, &size); break;
        case 'w': ok = cli_parse_uint(optarg, 1, 3600000, &wait_ms); break;
        default: ok = false;
        }
        if (!ok)
            return cli_fail(EXIT_USAGE, "ping", "%s (SIZE 1 to %d)", usage,
                            AMP_RPMSG_DEFAULT_BUF_SIZE - 16);
    }
    if (optind != argc - 1)
        return cli_fail(EXIT_USAGE, "ping", "%s", usage);
    const char *name = argv[optind];
    if (strlen(name) >= AMP_RPMSG_NAME_LEN)
        return cli_fail(EXIT_USAGE, "ping", "service name longer than %d characters",
                        AMP_RPMSG_NAME_LEN - 1);
    double *rtt = malloc(count * sizeof *rtt);
    if (!rtt)
        return cli_fail(EXIT_FAIL, "ping", "out of memory for %lu samples", count);

    cli_catch_stop();
    static struct pinger pg;
    struct cli_board cb;
    int rc = cli_boot(&cb, "ping", board, fw, NULL, NULL);
    if (rc == EXIT_OK) {
        int e = amp_rpmsg_create_ept(&pg.ept, cb.dev, name, AMP_RPMSG_ADDR_ANY,
                                     AMP_RPMSG_ADDR_ANY, on_echo, NULL, &pg);
        if (e)
            rc = cli_fail(EXIT_FAIL, "ping", "endpoint: %s", amp_strerror(e));
    }
    if (rc == EXIT_OK) {
        bool ready = false;
        struct amp_deadline dl;
        amp_deadline_start(&dl, cb.p, BOOT_TIMEOUT_MS);
        while (!(ready = amp_rpmsg_ept_is_ready(&pg.ept)) && !cli_stop &&
               amp_deadline_left(&dl, cb.p) > 0 && (rc = cli_check_core(&cb, "ping")) == 0) {
            amp_rpmsg_poll(cb.dev);
            amp_rpmsg_wait(cb.dev, 100);
        }
        if (rc == EXIT_CRASHED && !fw)
            fprintf(stderr, "amp ping: (booted what is in the board's flash; is a firmware "
                            "there? -f FW.elf loads one)\n");
        if (rc == EXIT_OK && !ready && !cli_stop)
            rc = cli_fail(EXIT_TIMEOUT, "ping", "the firmware did not announce \"%s\" within %d s",
                          name, BOOT_TIMEOUT_MS / 1000);
    }
    unsigned long done = 0;
    double t0 = now_us(), next_progress = t0 + 1e6;
    uint8_t msg[AMP_RPMSG_DEFAULT_BUF_SIZE];
    while (rc == EXIT_OK && !cli_stop && done < count) {
        for (size_t i = 0; i < size; i++)
            msg[i] = (uint8_t)(done * 31 + i);
        pg.got = false;
        double t = now_us();
        int e = amp_rpmsg_send(&pg.ept, msg, size, (int32_t)wait_ms);
        if (e < 0) {
            rc = cli_check_core(&cb, "ping");
            if (rc == EXIT_OK)
                rc = cli_fail(e == -AMP_ETIMEDOUT ? EXIT_TIMEOUT : EXIT_FAIL, "ping",
                              "send %lu: %s", done + 1, amp_strerror(e));
            break;
        }
        rc = serve_until(&cb, &pg.got, (int32_t)wait_ms);
        if (rc == EXIT_TIMEOUT)
            rc = cli_fail(EXIT_TIMEOUT, "ping", "no echo of message %lu within %lu ms",
                          done + 1, wait_ms);
        if (rc || !pg.got)
            break;
        rtt[done] = now_us() - t;
        if (pg.reply_len != size || memcmp(pg.reply, msg, size) != 0) {
            rc = cli_fail(EXIT_FAIL, "ping", "echo %lu differs from what was sent (%zu bytes "
                          "back for %lu)", done + 1, pg.reply_len, size);
            break;
        }
        done++;
        double now = now_us();
        if (now >= next_progress) {
            fprintf(stderr, "ping %s: %lu/%lu round trips\n", name, done, count);
            next_progress = now + 1e6;
        }
    }
    if (done)
        print_stats(name, rtt, done, size, (now_us() - t0) / 1e6);
    if (cli_stop && rc == EXIT_OK)
        printf("ping %s: interrupted after %lu of %lu\n", name, done, count);
    if (cb.board)
        amp_rpmsg_destroy_ept(&pg.ept);
    cli_close(&cb);
    free(rtt);
    return rc;
}
