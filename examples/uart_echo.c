/*
 * uart_echo: load virtual_uart.elf onto the simulated board, exchange a
 * few messages over "vuart-channel", and shut down cleanly.
 *
 *   build/examples/uart_echo [firmware.elf [board-name]]
 *
 * Walked through step by step in docs/host-c.md.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "amp/sim.h"

#define TIMEOUT_MS 5000

struct inbox {
    unsigned count;
    char last[AMP_RPMSG_DEFAULT_BUF_SIZE];
    size_t last_len;
};

static int on_message(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                      void *priv)
{
    struct inbox *in = priv;
    (void)ept;
    (void)src;
    /* data is only valid during the callback: keep a copy. */
    in->last_len = len < sizeof in->last ? len : sizeof in->last;
    memcpy(in->last, data, in->last_len);
    in->count++;
    return AMP_RPMSG_RELEASE;
}

/* Serve the device until done(arg) or the timeout; 0, or an amp error. */
static int serve_until(struct amp_rpmsg_device *dev, const struct amp_platform *p,
                       bool (*done)(const void *), const void *arg)
{
    struct amp_deadline dl;
    amp_deadline_start(&dl, p, TIMEOUT_MS);
    for (;;) {
        int rc = amp_rpmsg_poll(dev);
        if (rc < 0)
            return rc;
        if (done(arg))
            return 0;
        int32_t left = amp_deadline_left(&dl, p);
        if (left == 0)
            return -AMP_ETIMEDOUT;
        rc = amp_rpmsg_wait(dev, left);
        if (rc < 0 && rc != -AMP_ETIMEDOUT)
            return rc;
    }
}

static bool ept_ready(const void *arg)
{
    return amp_rpmsg_ept_is_ready(arg);
}

struct want {
    const struct inbox *in;
    unsigned count;
};

static bool got_reply(const void *arg)
{
    const struct want *w = arg;
    return w->in->count >= w->count;
}

int main(int argc, char **argv)
{
    const char *firmware = argc > 1 ? argv[1] : "build/firmware/virtual_uart.elf";
    /* A board of our own name: another program may have the default open. */
    const char *board_name = argc > 2 ? argv[2] : "uart-echo";
    char err[512];
    struct amp_sim_board *board;
    /* An example should leave nothing behind: drop the flash file at exit. */
    struct amp_sim_options opt = {
        .name = board_name,
        .wait_mode = AMP_SIM_WAIT_BLOCKING,
        .remove_flash_on_close = true,
    };
    int rc = amp_sim_open(&board, &opt, err, sizeof err);
    if (rc) {
        fprintf(stderr, "uart_echo: %s\n", err);
        return 1;
    }
    const struct amp_platform *p = amp_sim_platform(board);
    struct amp_rproc *rp = amp_sim_rproc(board);
    struct amp_rpmsg_device *dev;
    struct amp_rpmsg_endpoint ept;
    struct inbox in = { 0 };
    int status = 1;

    rc = amp_sim_rpmsg(board, &dev);
    if (rc == 0)
        rc = amp_rpmsg_create_ept(&ept, dev, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                                  AMP_RPMSG_ADDR_ANY, on_message, NULL, &in);
    if (rc) {
        fprintf(stderr, "uart_echo: rpmsg: %s\n", amp_strerror(rc));
        goto out;
    }
    rc = amp_sim_load_file(board, firmware, err, sizeof err);
    if (rc) {
        fprintf(stderr, "uart_echo: %s\n", err);
        goto out_ept;
    }
    rc = amp_rproc_start(rp);
    if (rc) {
        fprintf(stderr, "uart_echo: start: %s\n", amp_strerror(rc));
        goto out_ept;
    }
    printf("uart_echo: %s running (core pid %d)\n", firmware, amp_sim_core_pid(board));

    rc = serve_until(dev, p, ept_ready, &ept);
    if (rc) {
        fprintf(stderr, "uart_echo: no vuart-channel from the firmware: %s\n",
                amp_strerror(rc));
        goto out_stop;
    }
    for (unsigned i = 1; i <= 5; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof msg, "hello %u from the host", i);
        rc = amp_rpmsg_send(&ept, msg, (size_t)len, TIMEOUT_MS);
        if (rc < 0) {
            fprintf(stderr, "uart_echo: send: %s\n", amp_strerror(rc));
            goto out_stop;
        }
        struct want w = { &in, i };
        rc = serve_until(dev, p, got_reply, &w);
        if (rc) {
            fprintf(stderr, "uart_echo: no echo: %s\n", amp_strerror(rc));
            goto out_stop;
        }
        printf("sent:   %s\necho:   %.*s\n", msg, (int)in.last_len, in.last);
        if (in.last_len != (size_t)len || memcmp(in.last, msg, (size_t)len) != 0) {
            fprintf(stderr, "uart_echo: the echo differs from what was sent\n");
            goto out_stop;
        }
    }
    status = 0;

out_stop:;
    char trace[256];
    if (amp_sim_read_trace(board, trace, sizeof trace) >= 0)
        printf("firmware trace: %s", trace);
    rc = amp_rproc_shutdown(rp);
    if (rc) {
        fprintf(stderr, "uart_echo: shutdown: %s\n", amp_strerror(rc));
        status = 1;
    }
out_ept:
    amp_rpmsg_destroy_ept(&ept);
out:
    amp_sim_close(board);
    if (status == 0)
        printf("uart_echo: done\n");
    return status;
}
