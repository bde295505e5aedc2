/*
 * The vhost-user backend (vhost/) against our host role acting as the
 * front end's guest driver, in one process: the test speaks vhost-user on
 * a socketpair exactly as User-mode Linux 6.1 does (same requests, same
 * order, REPLY_ACK), gives the backend memfd-backed "guest RAM" at a
 * guest-physical address different from its user address (and a nonzero
 * mmap offset), and then runs rpmsg traffic through the rings.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "vhost_user.h"

#define GPA_BASE   0x40000000ull
#define UADDR_BASE 0x7f1200000000ull
#define MAP_OFF    0x1000u               /* the region starts this far into the file */
#define RAM_SIZE   0x100000u
#define NUM        256u
#define ALIGN      4096u
#define VRING0_OFF 0x0000u
#define VRING1_OFF 0x4000u
#define POOL_OFF   0x10000u

struct fe {
    int sock;                            /* our end; the backend has the other */
    int memfd;
    uint8_t *file;                       /* the whole memfd mapping */
    uint8_t *ram;                        /* the region: file + MAP_OFF */
    int kick[2];                         /* eventfds we ring */
    int call[2][2];                      /* pipes the backend rings: [q][0] is ours */
    int slave[2];
    struct amp_platform_ops ops;
    struct amp_platform platform;
    struct amp_rpmsg_config cfg;
    struct amp_rpmsg_device host;
    struct amp_rpmsg_endpoint ept;
    uint32_t remote_addr;                /* from the backend's NS announcement */
    uint8_t got[512];
    size_t got_len;
    unsigned got_count;
    struct amp_vhost vh;                 /* the backend under test */
    struct amp_rpmsg_endpoint echo;      /* the backend's service */
    unsigned echoed;
};

static void fe_notify(void *ctx, uint32_t queue)
{
    struct fe *fe = ctx;
    uint64_t one = 1;
    assert_true(queue < 2);
    assert_int_equal(write(fe->kick[queue], &one, sizeof(one)), sizeof(one));
}

/* The host never really sleeps here: the test drives the backend itself. */
static int fe_wait(void *ctx, int32_t timeout_ms)
{
    (void)ctx;
    (void)timeout_ms;
    return -AMP_ETIMEDOUT;
}

static uint32_t fe_time(void *ctx)
{
    (void)ctx;
    return 0;
}

static int backend_echo(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                        void *priv)
{
    struct fe *fe = priv;
    fe->echoed++;
    int rc = amp_rpmsg_send_offchannel(ept, ept->addr, src, data, len, 0);
    return rc < 0 ? rc : AMP_RPMSG_RELEASE;
}

static int host_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                   void *priv)
{
    (void)ept;
    (void)src;
    struct fe *fe = priv;
    assert_true(len <= sizeof(fe->got));
    memcpy(fe->got, data, len);
    fe->got_len = len;
    fe->got_count++;
    return AMP_RPMSG_RELEASE;
}

static void host_ns(struct amp_rpmsg_device *dev, const char *name, uint32_t addr,
                    uint32_t flags, void *priv)
{
    (void)dev;
    struct fe *fe = priv;
    if (!strcmp(name, "rpmsg-raw") && flags == AMP_RPMSG_NS_CREATE)
        fe->remote_addr = addr;
}

static struct fe *fe_new(bool event_idx, bool break_used_len)
{
    struct fe *fe = calloc(1, sizeof(*fe));
    assert_non_null(fe);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fe->sock = sv[0];
    fe->memfd = memfd_create("vhost-test-ram", MFD_CLOEXEC);
    assert_true(fe->memfd >= 0);
    assert_int_equal(ftruncate(fe->memfd, MAP_OFF + RAM_SIZE), 0);
    fe->file = mmap(NULL, MAP_OFF + RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fe->memfd, 0);
    assert_true(fe->file != MAP_FAILED);
    fe->ram = fe->file + MAP_OFF;
    for (int q = 0; q < 2; q++) {
        fe->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        assert_true(fe->kick[q] >= 0);
        assert_int_equal(pipe2(fe->call[q], O_CLOEXEC | O_NONBLOCK), 0);
    }
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fe->slave), 0);
    struct amp_vhost_options opt = { .event_idx = event_idx, .break_used_len = break_used_len };
    assert_int_equal(amp_vhost_init(&fe->vh, sv[1], &opt), 0);

    fe->ops = (struct amp_platform_ops){ .notify = fe_notify, .wait = fe_wait,
                                         .time_ms = fe_time };
    fe->platform = (struct amp_platform){ .ops = &fe->ops, .ctx = fe };
    fe->cfg = (struct amp_rpmsg_config){
        .role = AMP_RPMSG_HOST,
        .addr_mode = AMP_ADDR_PHYS,
        .shm = fe->ram,
        .shm_pa = GPA_BASE,
        .shm_size = RAM_SIZE,
        .vring = { fe->ram + VRING0_OFF, fe->ram + VRING1_OFF },
        .vring_notifyid = { 0, 1 },
        .vring_num = NUM,
        .vring_align = ALIGN,
        .buf_pool = fe->ram + POOL_OFF,
        .buf_count = 2 * NUM,
        .rx_buf_count = NUM,
        .buf_size = 512,
        .features = (1u << AMP_VIRTIO_RPMSG_F_NS) | (1u << AMP_VIRTIO_F_EVENT_IDX),
        .platform = &fe->platform,
    };
    return fe;
}

static void fe_free(struct fe *fe)
{
    amp_vhost_close(&fe->vh);
    close(fe->sock);
    close(fe->memfd);
    munmap(fe->file, MAP_OFF + RAM_SIZE);
    for (int q = 0; q < 2; q++) {
        close(fe->kick[q]);
        close(fe->call[q][0]);
        close(fe->call[q][1]);
    }
    close(fe->slave[0]);
    close(fe->slave[1]);
    free(fe);
}

static void fe_send(struct fe *fe, uint32_t request, uint32_t flags, const void *payload,
                    uint32_t size, const int *fds, unsigned nfds)
{
    struct amp_vhost_hdr hdr = { request, AMP_VHOST_VERSION | flags, size };
    uint8_t buf[sizeof(hdr) + 512];
    assert_true(size <= 512);
    memcpy(buf, &hdr, sizeof(hdr));
    if (size)
        memcpy(buf + sizeof(hdr), payload, size);
    struct iovec iov = { buf, sizeof(hdr) + size };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 8)];
    } control;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds) {
        mh.msg_control = control.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    assert_int_equal(sendmsg(fe->sock, &mh, 0), (ssize_t)(sizeof(hdr) + size));
}

/* The backend's answer, if it wrote one: its payload size, or -1. */
static int fe_reply(struct fe *fe, uint32_t request, void *payload, size_t size)
{
    struct amp_vhost_hdr hdr;
    ssize_t n = recv(fe->sock, &hdr, sizeof(hdr), MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
        return -1;
    assert_int_equal(n, sizeof(hdr));
    assert_int_equal(hdr.request, request);
    assert_int_equal(hdr.flags, AMP_VHOST_VERSION | AMP_VHOST_FLAG_REPLY);
    assert_true(hdr.size <= size);
    assert_int_equal(recv(fe->sock, payload, hdr.size, MSG_DONTWAIT), (ssize_t)hdr.size);
    return (int)hdr.size;
}

/* A setting with REPLY_ACK, as UML sends them: the backend's status (0 = done). */
static uint64_t fe_set(struct fe *fe, uint32_t request, const void *payload, uint32_t size,
                       const int *fds, unsigned nfds)
{
    fe_send(fe, request, AMP_VHOST_FLAG_NEED_REPLY, payload, size, fds, nfds);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), 0);
    uint64_t status = ~0ull;
    assert_int_equal(fe_reply(fe, request, &status, sizeof(status)), sizeof(status));
    return status;
}

static uint64_t fe_get_u64(struct fe *fe, uint32_t request)
{
    fe_send(fe, request, 0, NULL, 0, NULL, 0);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), 0);
    uint64_t v = 0;
    assert_int_equal(fe_reply(fe, request, &v, sizeof(v)), sizeof(v));
    return v;
}

static void fe_set_u64(struct fe *fe, uint32_t request, uint64_t v, const int *fds,
                       unsigned nfds)
{
    assert_int_equal(fe_set(fe, request, &v, sizeof(v), fds, nfds), 0);
}

static void fe_set_state(struct fe *fe, uint32_t request, uint32_t index, uint32_t num)
{
    struct amp_vhost_vring_state st = { index, num };
    assert_int_equal(fe_set(fe, request, &st, sizeof(st), NULL, 0), 0);
}

static struct amp_vhost_vring_addr ring_addr(uint32_t q)
{
    uint64_t desc = UADDR_BASE + (q ? VRING1_OFF : VRING0_OFF);
    uint64_t avail = desc + 16ull * NUM;
    uint64_t used = (avail + 2ull * (3 + NUM) + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
    return (struct amp_vhost_vring_addr){ .index = q, .desc = desc, .used = used,
                                          .avail = avail, .log = ~0ull };
}

/* UML 6.1's sequence up to the memory table; returns the features set. */
static uint64_t fe_handshake_start(struct fe *fe)
{
    fe_send(fe, AMP_VHOST_SET_OWNER, 0, NULL, 0, NULL, 0);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), 0);
    assert_int_equal(fe_reply(fe, AMP_VHOST_SET_OWNER, NULL, 0), -1);   /* no ack asked */
    uint64_t features = fe_get_u64(fe, AMP_VHOST_GET_FEATURES);
    assert_true(features & (1ull << AMP_VHOST_F_PROTOCOL_FEATURES));
    assert_true(features & (1ull << AMP_VIRTIO_RPMSG_F_NS));
    uint64_t proto = fe_get_u64(fe, AMP_VHOST_GET_PROTOCOL_FEATURES);
    /* UML needs both, or it allocates no irq for the device. */
    assert_true(proto & (1ull << AMP_VHOST_PROTOCOL_F_REPLY_ACK));
    assert_true(proto & (1ull << AMP_VHOST_PROTOCOL_F_SLAVE_REQ));
    uint64_t want = (1ull << AMP_VHOST_PROTOCOL_F_REPLY_ACK) |
                    (1ull << AMP_VHOST_PROTOCOL_F_SLAVE_REQ);
    fe_send(fe, AMP_VHOST_SET_PROTOCOL_FEATURES, 0, &want, sizeof(want), NULL, 0);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), 0);
    fe_set(fe, AMP_VHOST_SET_SLAVE_REQ_FD, NULL, 0, &fe->slave[1], 1);
    /* The driver's view: what the host role accepts of what is offered. */
    uint64_t accept = features & ((1ull << AMP_VIRTIO_RPMSG_F_NS) |
                                  (1ull << AMP_VIRTIO_F_EVENT_IDX) |
                                  (1ull << AMP_VHOST_F_PROTOCOL_FEATURES) |
                                  (1ull << AMP_VHOST_F_VERSION_1));
    fe_set_u64(fe, AMP_VHOST_SET_FEATURES, accept, NULL, 0);
    struct amp_vhost_mem_table mt = { .num = 1 };
    mt.region[0] = (struct amp_vhost_mem_region){ GPA_BASE, RAM_SIZE, UADDR_BASE, MAP_OFF };
    /* UML sends a table of two region slots, one used: 8 + 2 * 32 bytes. */
    assert_int_equal(fe_set(fe, AMP_VHOST_SET_MEM_TABLE, &mt, 8 + 2 * 32, &fe->memfd, 1), 0);
    return accept;
}

static void fe_queue(struct fe *fe, uint32_t q, struct amp_vhost_vring_addr addr)
{
    fe_set_u64(fe, AMP_VHOST_SET_VRING_CALL, q, &fe->call[q][1], 1);
    fe_set_state(fe, AMP_VHOST_SET_VRING_NUM, q, NUM);
    fe_set_state(fe, AMP_VHOST_SET_VRING_BASE, q, 0);
    assert_int_equal(fe_set(fe, AMP_VHOST_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0), 0);
    fe_set_u64(fe, AMP_VHOST_SET_VRING_KICK, q, &fe->kick[q], 1);
}

/* Everything up to a live device, the host's rings laid out first. */
static void fe_connect(struct fe *fe)
{
    uint64_t features = fe_handshake_start(fe);
    fe->cfg.features = (uint32_t)features;
    assert_int_equal(amp_rpmsg_init(&fe->host, &fe->cfg), 0);
    amp_rpmsg_set_ns_callback(&fe->host, host_ns, fe);
    for (uint32_t q = 0; q < 2; q++) {
        fe_queue(fe, q, ring_addr(q));
        assert_false(fe->vh.live);
        fe_set_state(fe, AMP_VHOST_SET_VRING_ENABLE, q, 1);
    }
    assert_true(fe->vh.live);
    assert_int_equal(fe->vh.cfg.vring_align, ALIGN);
    assert_int_equal(fe->vh.cfg.shm_pa, GPA_BASE);
    assert_ptr_equal(fe->vh.cfg.vring[1], fe->vh.region[0].base + VRING1_OFF);
    /* The service announces itself; the host learns its address. */
    assert_int_equal(amp_rpmsg_create_ept(&fe->echo, &fe->vh.rpmsg, "rpmsg-raw",
                                          AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY, backend_echo,
                                          NULL, fe), 0);
}

static void fe_bind(struct fe *fe)
{
    assert_true(amp_rpmsg_poll(&fe->host) >= 1);
    assert_int_equal(fe->remote_addr, fe->echo.addr);
    assert_int_equal(amp_rpmsg_create_ept(&fe->ept, &fe->host, "rpmsg-raw", AMP_RPMSG_ADDR_ANY,
                                          fe->remote_addr, host_rx, NULL, fe), 0);
}

static bool pipe_has_data(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) == 1;
}

static void drain_pipe(int fd)
{
    uint8_t buf[4096];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

/* Round trips of every size 0..496 and then `extra` more, all verified. */
static void echo_round_trips(struct fe *fe, unsigned extra)
{
    uint8_t msg[496];
    for (unsigned i = 0; i < 497 + extra; i++) {
        size_t len = i < 497 ? i : (i * 7919u) % 497;
        for (size_t k = 0; k < len; k++)
            msg[k] = (uint8_t)(i * 13u + k);
        drain_pipe(fe->call[0][0]);
        assert_int_equal(amp_rpmsg_send(&fe->ept, msg, len, 0), (int)len);
        assert_int_equal(amp_vhost_service(&fe->vh, 0), 0);
        /* The reply rang the host's doorbell (the host asked to be rung). */
        assert_true(pipe_has_data(fe->call[0][0]));
        unsigned before = fe->got_count;
        assert_int_equal(amp_rpmsg_poll(&fe->host), 1);
        assert_int_equal(fe->got_count, before + 1);
        assert_int_equal(fe->got_len, len);
        assert_memory_equal(fe->got, msg, len);
    }
    assert_int_equal(fe->echoed, 497 + extra);
    assert_int_equal(fe->host.rx_dropped, 0);
}

static void run_echo(bool event_idx)
{
    struct fe *fe = fe_new(event_idx, false);
    fe_connect(fe);
    assert_int_equal(!!(fe->vh.features & (1ull << AMP_VIRTIO_F_EVENT_IDX)), event_idx);
    assert_int_equal(fe->host.rx_vring.event_idx, event_idx);
    fe_bind(fe);
    echo_round_trips(fe, 3000);
    assert_true(fe->vh.kicks > 0);
    fe_free(fe);
}

static void test_echo_event_idx(void **state)
{
    (void)state;
    run_echo(true);
}

static void test_echo_no_event_idx(void **state)
{
    (void)state;
    run_echo(false);
}

/* The knob writes used.len one byte short of the message: our host drops it too. */
static void test_break_used_len(void **state)
{
    (void)state;
    struct fe *fe = fe_new(true, true);
    fe_connect(fe);
    /* Even the NS announcement arrives short: the host refuses it. */
    amp_rpmsg_poll(&fe->host);
    assert_int_equal(fe->remote_addr, 0);
    assert_int_equal(fe->host.rx_dropped, 1);
    assert_int_equal(fe->host.last_rx_error, -AMP_EMSGSIZE);
    fe_free(fe);
}

/* After the front end takes a ring back, the backend stops and reports where it was. */
static void test_get_vring_base_stops(void **state)
{
    (void)state;
    struct fe *fe = fe_new(true, false);
    fe_connect(fe);
    fe_bind(fe);
    echo_round_trips(fe, 10);
    struct amp_vhost_vring_state st = { 1, 0 };
    fe_send(fe, AMP_VHOST_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);
    assert_int_equal(amp_vhost_service(&fe->vh, 0), 0);
    assert_int_equal(fe_reply(fe, AMP_VHOST_GET_VRING_BASE, &st, sizeof(st)), sizeof(st));
    assert_int_equal(st.index, 1);
    assert_int_equal(st.num, 497 + 10);          /* every message the host sent was read */
    assert_false(fe->vh.live);
    /* Still answering requests (UML asks GET_FEATURES after disabling). */
    assert_true(fe_get_u64(fe, AMP_VHOST_GET_FEATURES) != 0);
    close(fe->sock);
    fe->sock = -1;
    assert_int_equal(amp_vhost_service(&fe->vh, 100), -AMP_ENODEV);
    assert_string_equal(fe->vh.error, "");       /* a clean hang-up */
    fe_free(fe);
}

static void test_unknown_request_hangs_up(void **state)
{
    (void)state;
    struct fe *fe = fe_new(true, false);
    fe_send(fe, 24 /* GET_CONFIG: we offered no CONFIG */, 0, NULL, 0, NULL, 0);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_ENOTSUP);
    assert_non_null(strstr(fe->vh.error, "unsupported request 24"));
    assert_int_equal(amp_vhost_service(&fe->vh, 0), -AMP_ENODEV);
    fe_free(fe);
}

static void test_oversized_payload(void **state)
{
    (void)state;
    struct fe *fe = fe_new(true, false);
    struct amp_vhost_hdr hdr = { AMP_VHOST_SET_FEATURES, AMP_VHOST_VERSION, 100000 };
    assert_int_equal(write(fe->sock, &hdr, sizeof(hdr)), sizeof(hdr));
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_EBADMSG);
    assert_non_null(strstr(fe->vh.error, "100000-byte payload"));
    fe_free(fe);
}

static void test_bad_version(void **state)
{
    (void)state;
    struct fe *fe = fe_new(true, false);
    struct amp_vhost_hdr hdr = { AMP_VHOST_GET_FEATURES, 2, 0 };
    assert_int_equal(write(fe->sock, &hdr, sizeof(hdr)), sizeof(hdr));
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_EBADMSG);
    fe_free(fe);
}

static void test_short_payload(void **state)
{
    (void)state;
    struct fe *fe = fe_new(true, false);
    uint32_t four = 7;
    fe_send(fe, AMP_VHOST_SET_FEATURES, 0, &four, sizeof(four), NULL, 0);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_EBADMSG);
    assert_non_null(strstr(fe->vh.error, "4-byte payload, needs 8"));
    fe_free(fe);
}

/* Refusals the front end asked to hear about are answered, and it goes on. */
static void test_refused_settings_are_acked(void **state)
{
    (void)state;
    struct fe *fe = fe_new(false, false);
    fe_handshake_start(fe);
    struct amp_vhost_vring_state st = { 0, 100 };        /* not a power of two */
    assert_int_equal(fe_set(fe, AMP_VHOST_SET_VRING_NUM, &st, sizeof(st), NULL, 0), 1);
    st.num = 512;                                        /* more than rpmsg's 256 */
    assert_int_equal(fe_set(fe, AMP_VHOST_SET_VRING_NUM, &st, sizeof(st), NULL, 0), 1);
    uint64_t event_idx = 1ull << AMP_VIRTIO_F_EVENT_IDX; /* not offered this time */
    assert_int_equal(fe_set(fe, AMP_VHOST_SET_FEATURES, &event_idx, 8, NULL, 0), 1);
    st = (struct amp_vhost_vring_state){ 2, 256 };       /* rpmsg has queues 0 and 1 */
    fe_send(fe, AMP_VHOST_SET_VRING_NUM, AMP_VHOST_FLAG_NEED_REPLY, &st, sizeof(st), NULL, 0);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_EBADMSG);
    fe_free(fe);
}

/* Rings outside the memory table, or laid out oddly, never go live. */
static void check_bad_ring(struct amp_vhost_vring_addr bad, const char *why)
{
    struct fe *fe = fe_new(true, false);
    fe_handshake_start(fe);
    fe_queue(fe, 0, ring_addr(0));
    fe_set_state(fe, AMP_VHOST_SET_VRING_ENABLE, 0, 1);
    fe_queue(fe, 1, bad);
    struct amp_vhost_vring_state st = { 1, 1 };
    assert_int_equal(fe_set(fe, AMP_VHOST_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0), 1);
    assert_false(fe->vh.live);
    assert_non_null(strstr(fe->vh.error, why));
    fe_free(fe);
}

static void test_bad_rings(void **state)
{
    (void)state;
    struct amp_vhost_vring_addr a = ring_addr(1);
    uint64_t shift = RAM_SIZE - 0x1000;                  /* the used ring runs off the end */
    a.desc += shift;
    a.avail += shift;
    a.used += shift;
    check_bad_ring(a, "outside the memory table");
    a = ring_addr(1);
    a.avail += 16;
    check_bad_ring(a, "avail ring not right after");
    a = ring_addr(1);
    a.used += 8;
    check_bad_ring(a, "fits no split-ring alignment");
}

static void test_mem_table_checks(void **state)
{
    (void)state;
    struct fe *fe = fe_new(true, false);
    struct amp_vhost_mem_table mt = { .num = 2 };
    mt.region[0] = (struct amp_vhost_mem_region){ GPA_BASE, RAM_SIZE, UADDR_BASE, MAP_OFF };
    mt.region[1] = mt.region[0];
    fe_send(fe, AMP_VHOST_SET_MEM_TABLE, 0, &mt, 8 + 2 * 32, &fe->memfd, 1);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_EBADMSG);
    assert_non_null(strstr(fe->vh.error, "2 regions but 1 descriptors"));
    fe_free(fe);

    fe = fe_new(true, false);
    mt.num = 9;
    fe_send(fe, AMP_VHOST_SET_MEM_TABLE, 0, &mt, 8 + 2 * 32, &fe->memfd, 1);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_EBADMSG);
    fe_free(fe);

    fe = fe_new(true, false);
    mt.num = 1;
    mt.region[0].mmap_offset = 1ull << 62;
    fe_send(fe, AMP_VHOST_SET_MEM_TABLE, 0, &mt, 8 + 32, &fe->memfd, 1);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_EBADMSG);
    fe_free(fe);
}

static void test_polling_mode_refused(void **state)
{
    (void)state;
    struct fe *fe = fe_new(true, false);
    uint64_t v = 0 | AMP_VHOST_VRING_NOFD;
    fe_send(fe, AMP_VHOST_SET_VRING_KICK, 0, &v, sizeof(v), NULL, 0);
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_ENOTSUP);
    assert_non_null(strstr(fe->vh.error, "polling mode"));
    fe_free(fe);
}

static void test_hang_up(void **state)
{
    (void)state;
    struct fe *fe = fe_new(true, false);
    close(fe->sock);
    fe->sock = -1;
    assert_int_equal(amp_vhost_handle_request(&fe->vh), -AMP_ENODEV);
    assert_int_equal(amp_vhost_service(&fe->vh, 0), -AMP_ENODEV);
    fe_free(fe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_event_idx),
        cmocka_unit_test(test_echo_no_event_idx),
        cmocka_unit_test(test_break_used_len),
        cmocka_unit_test(test_get_vring_base_stops),
        cmocka_unit_test(test_unknown_request_hangs_up),
        cmocka_unit_test(test_oversized_payload),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_short_payload),
        cmocka_unit_test(test_refused_settings_are_acked),
        cmocka_unit_test(test_bad_rings),
        cmocka_unit_test(test_mem_table_checks),
        cmocka_unit_test(test_polling_mode_refused),
        cmocka_unit_test(test_hang_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
