/*
 * A peer that races us: a second thread keeps rewriting shared memory
 * (message headers, descriptors, ring indices and entries) while this
 * thread polls and sends on both sides of a loopback pair. Whatever the
 * scribbler does, every callback must get a payload that lies inside one
 * buffer of the shared region and no longer than a buffer can hold, and
 * nothing may read or write outside the region (ASan watches). Errors are
 * allowed; wrong lengths, out-of-bounds access and hangs are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "loopback.h"

#define NS_FEATURE (1u << AMP_VIRTIO_RPMSG_F_NS)
#define RING_BYTES 0x800u          /* one vring of 64 entries, align 32, rounded up */
#define POOL_BUFFERS ((LB_SHARED_SIZE - LB_POOL_OFF) / 512u)

enum scribble {
    SCRIBBLE_HOST_RX_LEN,          /* flip hdr.len of messages the remote sends */
    SCRIBBLE_REMOTE_RX_LEN,        /* flip hdr.len of messages the host sends */
    SCRIBBLE_ANYWHERE,             /* random writes over rings and buffer headers */
};

struct fixture {
    struct lb_pair lb;
    struct amp_rpmsg_endpoint hept, rept;
    enum scribble mode;
    _Atomic bool stop;
    _Atomic unsigned long scribbles;
    unsigned long delivered, bad_len, bad_place;
    pthread_t thread;
};

static uint32_t next_random(uint32_t *state)
{
    /* xorshift32: the scribbler needs cheap noise, not quality. */
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static void write16(uint8_t *at, uint16_t v)
{
    __atomic_store_n((uint16_t *)(void *)at, v, __ATOMIC_RELAXED);
}

static void *scribbler(void *arg)
{
    struct fixture *f = arg;
    uint32_t seed = 0x9e3779b9u;
    uint8_t *mem = f->lb.mem;
    while (!atomic_load(&f->stop)) {
        switch (f->mode) {
        case SCRIBBLE_HOST_RX_LEN:
        case SCRIBBLE_REMOTE_RX_LEN: {
            /*
             * The host's receive buffers are the first 64 of the pool, its
             * transmit buffers the rest. Whole passes of one value, so
             * each stays visible long enough to land between two reads.
             */
            unsigned first = f->mode == SCRIBBLE_HOST_RX_LEN ? 0 : 64;
            unsigned last = f->mode == SCRIBBLE_HOST_RX_LEN ? 64 : POOL_BUFFERS;
            uint16_t value = atomic_load(&f->scribbles) & 1 ? 4 : 0xFFFF;
            for (unsigned i = first; i < last; i++)
                write16(mem + LB_POOL_OFF + 512u * i + offsetof(struct amp_rpmsg_hdr, len), value);
            break;
        }
        case SCRIBBLE_ANYWHERE: {
            uint32_t r = next_random(&seed);
            uint32_t pick = r % 4;
            uint16_t value = (uint16_t)(next_random(&seed) >> (r & 8 ? 0 : 24));
            size_t off;
            if (pick == 0)
                off = LB_VRING0_OFF + (next_random(&seed) % RING_BYTES);
            else if (pick == 1)
                off = LB_VRING1_OFF + (next_random(&seed) % RING_BYTES);
            else
                off = LB_POOL_OFF + 512u * (next_random(&seed) % POOL_BUFFERS) + (next_random(&seed) % 16);
            write16(mem + (off & ~(size_t)1), value);
            break;
        }
        }
        atomic_fetch_add(&f->scribbles, 1);
    }
    return NULL;
}

/* The payload must be inside one 512-byte slot of the shared region. */
static int check_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                    void *priv)
{
    (void)src;
    struct fixture *f = priv;
    const uint8_t *shm = f->lb.host_cfg.shm;
    const uint8_t *at = data;
    f->delivered++;
    if (len > amp_rpmsg_max_payload(ept->dev))
        f->bad_len++;
    if (at < shm + sizeof(struct amp_rpmsg_hdr) || at + len > shm + f->lb.host_cfg.shm_size)
        f->bad_place++;
    /* Touch every byte the core says is ours: ASan reports any overrun. */
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < len && len <= 0x10000u; i++)
        sum = (uint8_t)(sum + at[i]);
    (void)sum;
    return AMP_RPMSG_RELEASE;
}

static int setup_pair(struct fixture *f)
{
    lb_setup(&f->lb, AMP_ADDR_OFFSET, 0, NS_FEATURE);
    if (amp_rpmsg_init(&f->lb.host, &f->lb.host_cfg) ||
        amp_rpmsg_init(&f->lb.remote, &f->lb.remote_cfg))
        return -1;
    if (amp_rpmsg_create_ept(&f->hept, &f->lb.host, "race", AMP_RPMSG_ADDR_ANY,
                             AMP_RPMSG_ADDR_ANY, check_cb, NULL, f) ||
        amp_rpmsg_create_ept(&f->rept, &f->lb.remote, "race", AMP_RPMSG_ADDR_ANY,
                             AMP_RPMSG_ADDR_ANY, check_cb, NULL, f))
        return -1;
    lb_settle(&f->lb);
    return amp_rpmsg_ept_is_ready(&f->hept) && amp_rpmsg_ept_is_ready(&f->rept) ? 0 : -1;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || setup_pair(f))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void start_scribbler(struct fixture *f, enum scribble mode)
{
    f->mode = mode;
    atomic_store(&f->stop, false);
    assert_int_equal(pthread_create(&f->thread, NULL, scribbler, f), 0);
    /* Let it get going before traffic starts. */
    while (atomic_load(&f->scribbles) < 1000)
        ;
}

static void stop_scribbler(struct fixture *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
}

/*
 * Bounded traffic both ways: sends never wait (the scribbler may have
 * wedged a ring), a corrupt ring ends the round with a fresh init.
 */
static void traffic(struct fixture *f, unsigned rounds, bool reinit_on_error)
{
    static const char payload[4] = "ping";
    for (unsigned i = 0; i < rounds; i++) {
        int a = amp_rpmsg_send(&f->rept, payload, sizeof(payload), AMP_NO_WAIT);
        int b = amp_rpmsg_send(&f->hept, payload, sizeof(payload), AMP_NO_WAIT);
        int c = amp_rpmsg_poll(&f->lb.host);
        int d = amp_rpmsg_poll(&f->lb.remote);
        if (reinit_on_error && (a == -AMP_EBADMSG || b == -AMP_EBADMSG ||
                                c == -AMP_EBADMSG || d == -AMP_EBADMSG)) {
            /* Both sides start over; endpoints are kept and re-announced. */
            amp_rpmsg_init(&f->lb.host, &f->lb.host_cfg);
            amp_rpmsg_init(&f->lb.remote, &f->lb.remote_cfg);
            lb_settle(&f->lb);
        }
    }
}

static void test_header_length_flipped_under_host(void **state)
{
    struct fixture *f = *state;
    start_scribbler(f, SCRIBBLE_HOST_RX_LEN);
    traffic(f, 200000, false);
    stop_scribbler(f);
    assert_true(f->delivered > 0);
    assert_int_equal(f->bad_len, 0);
    assert_int_equal(f->bad_place, 0);
}

static void test_header_length_flipped_under_remote(void **state)
{
    struct fixture *f = *state;
    start_scribbler(f, SCRIBBLE_REMOTE_RX_LEN);
    traffic(f, 200000, false);
    stop_scribbler(f);
    assert_true(f->delivered > 0);
    assert_int_equal(f->bad_len, 0);
    assert_int_equal(f->bad_place, 0);
}

static void test_rings_and_headers_scribbled(void **state)
{
    struct fixture *f = *state;
    start_scribbler(f, SCRIBBLE_ANYWHERE);
    traffic(f, 100000, true);
    stop_scribbler(f);
    assert_int_equal(f->bad_len, 0);
    assert_int_equal(f->bad_place, 0);
    /* Quiet again, both sides recover and the link carries messages. */
    amp_rpmsg_init(&f->lb.host, &f->lb.host_cfg);
    amp_rpmsg_init(&f->lb.remote, &f->lb.remote_cfg);
    lb_settle(&f->lb);
    unsigned long before = f->delivered;
    assert_int_equal(amp_rpmsg_send(&f->rept, "ok", 2, AMP_NO_WAIT), 2);
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), 1);
    assert_int_equal(f->delivered, before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_length_flipped_under_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_length_flipped_under_remote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rings_and_headers_scribbled, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
