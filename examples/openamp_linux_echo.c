/*
 * openamp_linux_echo: either role of OpenAMP's Linux echo demo, on
 * OpenAMP's Linux process convention (platforms/openamp-linux).
 *
 *   openamp_linux_echo remote [-s SHM] [-k SOCKET]
 *       announces "rpmsg-openamp-demo-channel", echoes every message, and
 *       exits when the host destroys its endpoint (like OpenAMP's rpmsg-echo).
 *   openamp_linux_echo host [-n COUNT] [-s SHM] [-k SOCKET]
 *       binds to that service, sends COUNT messages (1..496 bytes), checks
 *       each echo, then destroys its endpoint (like rpmsg-echo-ping).
 *
 * Either side talks to OpenAMP's own demos as well as to the other role.
 * Prints "sent N, echoed N, mismatched N, errors N"; exits 0 only if all
 * came back intact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openamp_linux.h"

#define SERVICE "rpmsg-openamp-demo-channel"
#define TIMEOUT_MS 10000

struct state {
    unsigned received;
    size_t len;
    uint8_t last[AMP_OL_BUF_SIZE];
    unsigned errors;
    bool unbound;
};

static int remote_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                     void *priv)
{
    struct state *st = priv;
    st->received++;
    if (amp_rpmsg_send_offchannel(ept, ept->addr, src, data, len, TIMEOUT_MS) != (int)len)
        st->errors++;
    return AMP_RPMSG_RELEASE;
}

static int host_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                   void *priv)
{
    (void)ept;
    (void)src;
    struct state *st = priv;
    st->received++;
    st->len = len;
    memcpy(st->last, data, len < sizeof st->last ? len : sizeof st->last);
    return AMP_RPMSG_RELEASE;
}

static void unbound(struct amp_rpmsg_endpoint *ept, void *priv)
{
    (void)ept;
    ((struct state *)priv)->unbound = true;
}

/* Poll and wait until done(st) or the timeout: 0, or an error. */
static int serve(struct amp_rpmsg_device *dev, struct state *st, bool (*done)(struct state *,
                 struct amp_rpmsg_endpoint *), struct amp_rpmsg_endpoint *ept, int32_t timeout_ms)
{
    const struct amp_platform *p = dev->cfg.platform;
    struct amp_deadline dl;
    amp_deadline_start(&dl, p, timeout_ms);
    for (;;) {
        int rc = amp_rpmsg_poll(dev);
        if (rc < 0)
            return rc;
        if (done(st, ept))
            return 0;
        int32_t left = amp_deadline_left(&dl, p);
        if (left == 0)
            return -AMP_ETIMEDOUT;
        rc = amp_rpmsg_wait(dev, left);
        if (rc < 0 && rc != -AMP_ETIMEDOUT)
            return rc;
    }
}

static bool is_unbound(struct state *st, struct amp_rpmsg_endpoint *ept)
{
    (void)ept;
    return st->unbound;
}

static bool is_bound(struct state *st, struct amp_rpmsg_endpoint *ept)
{
    (void)st;
    return amp_rpmsg_ept_is_ready(ept);
}

static unsigned want;
static bool got_reply(struct state *st, struct amp_rpmsg_endpoint *ept)
{
    (void)ept;
    return st->received >= want;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "host") != 0 && strcmp(argv[1], "remote") != 0)) {
        fprintf(stderr, "usage: %s host|remote [-n COUNT] [-s SHM] [-k SOCKET]\n", argv[0]);
        return 2;
    }
    bool host = strcmp(argv[1], "host") == 0;
    struct amp_ol_options opt = { .connect_timeout_ms = TIMEOUT_MS };
    unsigned count = 100;
    int c;
    optind = 2;
    while ((c = getopt(argc, argv, "n:s:k:")) != -1) {
        if (c == 'n')
            count = (unsigned)strtoul(optarg, NULL, 0);
        else if (c == 's')
            opt.shm_name = optarg;
        else if (c == 'k')
            opt.socket_path = optarg;
        else
            return 2;
    }

    char err[256];
    struct amp_ol *ol;
    int rc = amp_ol_open(&ol, host ? AMP_RPMSG_HOST : AMP_RPMSG_REMOTE, &opt, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 1;
    }
    struct amp_rpmsg_device *dev;
    rc = amp_ol_rpmsg(ol, &dev, TIMEOUT_MS, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        amp_ol_close(ol);
        return 1;
    }
    struct state st = { 0 };
    struct amp_rpmsg_endpoint ept;
    rc = amp_rpmsg_create_ept(&ept, dev, SERVICE, AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY,
                              host ? host_rx : remote_rx, unbound, &st);
    if (rc) {
        fprintf(stderr, "%s: endpoint: %s\n", argv[1], amp_strerror(rc));
        amp_ol_close(ol);
        return 1;
    }

    unsigned sent = 0, echoed = 0, mismatched = 0;
    if (!host) {
        /* Serve until the host destroys its endpoint, as OpenAMP's echo remote does. */
        rc = serve(dev, &st, is_unbound, &ept, AMP_WAIT_FOREVER);
        unsigned dropped = dev->rx_dropped;
        printf("remote: received %u, echoed %u, errors %u, dropped %u (%s)\n", st.received,
               st.received - st.errors, st.errors, dropped, rc ? amp_strerror(rc) : "host unbound");
        amp_ol_close(ol);
        return rc == 0 && st.errors == 0 && dropped == 0 ? 0 : 1;
    }

    rc = serve(dev, &st, is_bound, &ept, TIMEOUT_MS);
    for (unsigned i = 0; rc == 0 && i < count; i++) {
        uint8_t msg[AMP_OL_BUF_SIZE - 16];
        size_t len = 1 + (i * 37) % sizeof msg;
        for (size_t b = 0; b < len; b++)
            msg[b] = (uint8_t)(i + b);
        rc = amp_rpmsg_send(&ept, msg, len, TIMEOUT_MS);
        if (rc < 0)
            break;
        sent++;
        want = st.received + 1;
        rc = serve(dev, &st, got_reply, &ept, TIMEOUT_MS);
        if (rc == 0 && st.len == len && memcmp(st.last, msg, len) == 0)
            echoed++;
        else if (rc == 0)
            mismatched++;
    }
    unsigned dropped = dev->rx_dropped;
    printf("host: sent %u, echoed %u, mismatched %u, errors %u, dropped %u%s%s\n", sent, echoed,
           mismatched, rc < 0 ? 1u : 0u, dropped, rc < 0 ? ": " : "",
           rc < 0 ? amp_strerror(rc) : "");
    /* NS destroy: the remote's cue to finish. */
    amp_rpmsg_destroy_ept(&ept);
    amp_ol_close(ol);
    return rc >= 0 && sent == count && echoed == count && dropped == 0 ? 0 : 1;
}
