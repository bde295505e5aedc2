/*
 * amp-vhost-rpmsg: serve an rpmsg virtio device to a vhost-user front end
 * (User-mode Linux, QEMU) with the library's remote role, and echo every
 * message on the announced services back to its sender.
 *
 *   amp-vhost-rpmsg --socket PATH [--echo NAME]... [--announce-when FILE]
 *                   [--destroy-after NAME:COUNT] [--reply-when NAME:FILE]
 *                   [--no-event-idx] [--break-used-len] [--timeout SECONDS]
 *
 * --reply-when holds the answers to NAME (copied, in order) until FILE
 * exists. Linux's rpmsg_client_sample replies from its receive interrupt
 * (hard IRQ under User-mode Linux); an answer to its probe's first send,
 * which kicks while holding virtio_rpmsg_bus's transmit mutex, must not
 * arrive before that mutex is free, or the reply sleeps in the interrupt.
 * The guest's init creates FILE once the probe has returned.
 *
 * Ends with status 0 when the front end hangs up, 1 on any error or when
 * the timeout runs out, 2 for a bad command line. The last lines on stderr
 * say what was echoed.
 */
#include "vhost_user.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERVICES 8
#define MAX_HELD 64
#define ECHO_TIMEOUT_MS 2000

struct held {
    uint32_t src;
    uint16_t len;
    uint8_t data[AMP_RPMSG_DEFAULT_BUF_SIZE];
};

struct service {
    struct amp_rpmsg_endpoint ept;
    const char *name;
    bool created, destroyed;
    uint64_t messages, bytes, failed;
    uint64_t destroy_after;           /* 0: never */
    const char *reply_when;           /* --reply-when: answers held until this file exists */
    struct held queue[MAX_HELD];
    unsigned head, count;
    int last_error;
};

static struct service services[MAX_SERVICES];
static unsigned service_count;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void echo(struct service *s, const void *data, size_t len, uint32_t src)
{
    int rc = amp_rpmsg_send_offchannel(&s->ept, s->ept.addr, src, data, len, ECHO_TIMEOUT_MS);
    if (rc < 0) {
        s->failed++;
        s->last_error = rc;
    }
}

static int echo_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                   void *priv)
{
    (void)ept;
    struct service *s = priv;
    s->messages++;
    s->bytes += len;
    if (!s->reply_when) {
        echo(s, data, len, src);
    } else if (s->count < MAX_HELD && len <= sizeof(s->queue[0].data)) {
        struct held *h = &s->queue[(s->head + s->count++) % MAX_HELD];
        h->src = src;
        h->len = (uint16_t)len;
        memcpy(h->data, data, len);
    } else {
        s->failed++;                  /* answering now could be the race we hold for */
        s->last_error = -AMP_ENOSPC;
    }
    return AMP_RPMSG_RELEASE;
}

/* Release the services whose --reply-when file exists; true if one still holds answers. */
static bool answer_held(void)
{
    bool holding = false;
    for (unsigned i = 0; i < service_count; i++) {
        struct service *s = &services[i];
        if (!s->reply_when || !s->count)
            continue;
        if (access(s->reply_when, F_OK) != 0) {
            holding = true;
            continue;
        }
        for (; s->count; s->count--, s->head = (s->head + 1) % MAX_HELD)
            if (s->created && !s->destroyed)
                echo(s, s->queue[s->head].data, s->queue[s->head].len, s->queue[s->head].src);
        s->reply_when = NULL;
    }
    return holding;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s --socket PATH [--echo NAME]... [--announce-when FILE]\n"
            "          [--destroy-after NAME:COUNT] [--reply-when NAME:FILE] [--no-event-idx]\n"
            "          [--break-used-len] [--timeout SECONDS]\n", argv0);
    exit(2);
}

static struct service *add_service(const char *name, const char *argv0)
{
    for (unsigned i = 0; i < service_count; i++)
        if (!strcmp(services[i].name, name))
            return &services[i];
    if (service_count == MAX_SERVICES || strlen(name) >= AMP_RPMSG_NAME_LEN || !name[0]) {
        fprintf(stderr, "%s: service name '%s': 1..31 bytes, at most %d services\n", argv0, name,
                MAX_SERVICES);
        exit(2);
    }
    services[service_count].name = name;
    return &services[service_count++];
}

/* "NAME:N" with N > 0: the service NAME (added if new) and N. */
static struct service *name_and_number(char *arg, unsigned long long *n, const char *argv0)
{
    char *colon = strrchr(arg, ':'), *end;
    *n = colon ? strtoull(colon + 1, &end, 10) : 0;
    if (!colon || colon == arg || !*n || *end)
        usage(argv0);
    *colon = '\0';
    return add_service(arg, argv0);
}

static int report(const struct amp_vhost *vh, bool ok)
{
    fprintf(stderr, "amp-vhost-rpmsg: %llu requests, %llu kicks, %llu calls, features 0x%llx "
            "(event_idx %s)%s\n", (unsigned long long)vh->requests,
            (unsigned long long)vh->kicks, (unsigned long long)vh->calls,
            (unsigned long long)vh->features,
            (vh->features >> AMP_VIRTIO_F_EVENT_IDX) & 1 ? "on" : "off",
            vh->opt.break_used_len ? ", used.len broken on purpose" : "");
    for (unsigned i = 0; i < service_count; i++) {
        const struct service *s = &services[i];
        fprintf(stderr, "amp-vhost-rpmsg: %s addr 0x%x: %llu messages, %llu bytes echoed, "
                "%llu echoes failed%s%s%s\n", s->name, s->created ? s->ept.addr : 0,
                (unsigned long long)s->messages, (unsigned long long)s->bytes,
                (unsigned long long)s->failed, s->failed ? " (" : "",
                s->failed ? amp_strerror(s->last_error) : "", s->failed ? ")" : "");
        if (s->failed || !s->created)
            ok = false;
    }
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *sock_path = NULL, *announce_file = NULL;
    struct amp_vhost_options opt = { .event_idx = true };
    double timeout_s = 60;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-event-idx")) {
            opt.event_idx = false;
        } else if (!strcmp(a, "--break-used-len")) {
            opt.break_used_len = true;
        } else if (!v) {
            usage(argv[0]);
        } else if (!strcmp(a, "--socket")) {
            sock_path = v;
            i++;
        } else if (!strcmp(a, "--echo")) {
            add_service(v, argv[0]);
            i++;
        } else if (!strcmp(a, "--announce-when")) {
            announce_file = v;
            i++;
        } else if (!strcmp(a, "--destroy-after")) {
            unsigned long long n;
            struct service *s = name_and_number(argv[++i], &n, argv[0]);
            s->destroy_after = n;
        } else if (!strcmp(a, "--reply-when")) {
            char *colon = strchr(argv[++i], ':');
            if (!colon || colon == argv[i] || !colon[1])
                usage(argv[0]);
            *colon = '\0';
            add_service(argv[i], argv[0])->reply_when = colon + 1;
        } else if (!strcmp(a, "--timeout")) {
            char *end;
            timeout_s = strtod(v, &end);
            if (*end || timeout_s <= 0)
                usage(argv[0]);
            i++;
        } else {
            usage(argv[0]);
        }
    }
    if (!sock_path)
        usage(argv[0]);
    if (!service_count) {
        add_service("rpmsg-client-sample", argv[0]);
        add_service("rpmsg-raw", argv[0]);
    }
    double deadline = now_s() + timeout_s;

    int lfd = amp_vhost_listen(sock_path);
    if (lfd < 0) {
        fprintf(stderr, "amp-vhost-rpmsg: cannot listen on %s: %s\n", sock_path, strerror(errno));
        return 1;
    }
    int fd = amp_vhost_accept(lfd, (int32_t)(timeout_s * 1000));
    close(lfd);
    unlink(sock_path);
    if (fd < 0) {
        fprintf(stderr, "amp-vhost-rpmsg: no front end connected to %s within %.0f s\n",
                sock_path, timeout_s);
        return 1;
    }
    static struct amp_vhost vh;
    amp_vhost_init(&vh, fd, &opt);
    fprintf(stderr, "amp-vhost-rpmsg: front end connected on %s\n", sock_path);

    bool announced = false, ok = true;
    int rc;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) {
            fprintf(stderr, "amp-vhost-rpmsg: timed out after %.0f s\n", timeout_s);
            ok = false;
            break;
        }
        /* Holding answers: look for the file every 10 ms. */
        double next = answer_held() ? 0.01 : 0.1;
        if (next > left)
            next = left;
        rc = amp_vhost_service(&vh, (int32_t)(next * 1000) + 1);
        if (rc == -AMP_ENODEV && !vh.error[0])
            break;                      /* the front end hung up */
        if (rc) {
            fprintf(stderr, "amp-vhost-rpmsg: %s (%s)\n", vh.error[0] ? vh.error : "error",
                    amp_strerror(rc));
            ok = false;
            break;
        }
        if (vh.live && !announced && (!announce_file || access(announce_file, F_OK) == 0)) {
            announced = true;
            for (unsigned i = 0; i < service_count && ok; i++) {
                struct service *s = &services[i];
                rc = amp_rpmsg_create_ept(&s->ept, &vh.rpmsg, s->name, AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, echo_cb, NULL, s);
                if (rc) {
                    fprintf(stderr, "amp-vhost-rpmsg: announcing %s: %s\n", s->name,
                            amp_strerror(rc));
                    ok = false;
                } else {
                    s->created = true;
                    fprintf(stderr, "amp-vhost-rpmsg: announced %s at 0x%x\n", s->name,
                            s->ept.addr);
                }
            }
        }
        for (unsigned i = 0; i < service_count && vh.live; i++) {
            struct service *s = &services[i];
            /* Only once every answer is out, held ones included. */
            if (s->created && !s->destroyed && s->destroy_after &&
                s->messages >= s->destroy_after && !s->count) {
                s->destroyed = true;
                rc = amp_rpmsg_destroy_ept(&s->ept);
                fprintf(stderr, "amp-vhost-rpmsg: destroyed %s after %llu messages%s%s\n",
                        s->name, (unsigned long long)s->messages, rc ? ": " : "",
                        rc ? amp_strerror(rc) : "");
                if (rc)
                    ok = false;
            }
        }
    }
    rc = report(&vh, ok);
    amp_vhost_close(&vh);
    return rc;
}
