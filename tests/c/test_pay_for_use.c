/*
 * What a firmware links only when it uses it (issue 12), and that it
 * behaves the same when it does: the endpoint table, the name service's
 * receive side on a remote, the fixed-address endpoint path, and a
 * transmit buffer too small for the message that stays first in line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "loopback.h"

#define NS_FEATURE (1u << AMP_VIRTIO_RPMSG_F_NS)
#define N_EPTS 200u

struct counter {
    unsigned count;
    uint32_t last_dst;     /* the endpoint a message reached */
    size_t last_len;
};

static int count_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                    void *priv)
{
    (void)data;
    (void)src;
    struct counter *c = priv;
    c->count++;
    c->last_dst = ept->addr;
    c->last_len = len;
    return AMP_RPMSG_RELEASE;
}

static struct lb_pair *up_pair(void)
{
    struct lb_pair *lb = malloc(sizeof(*lb));
    assert_non_null(lb);
    lb_setup(lb, AMP_ADDR_OFFSET, 0, NS_FEATURE);
    assert_int_equal(amp_rpmsg_init(&lb->host, &lb->host_cfg), 0);
    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), 0);
    return lb;
}

/* Send one message from the host's endpoint to dst and deliver it. */
static void host_to(struct lb_pair *lb, struct amp_rpmsg_endpoint *from, uint32_t dst)
{
    assert_int_equal(amp_rpmsg_send_offchannel(from, from->addr, dst, "m", 1, AMP_NO_WAIT), 1);
    lb_settle(lb);
}

/* Many endpoints, with addresses chosen to collide in the table, created and destroyed
 * in an order that makes removals shift entries back: every message still arrives. */
static void test_ept_table_finds_every_endpoint(void **state)
{
    (void)state;
    struct lb_pair *lb = up_pair();
    static struct amp_rpmsg_endpoint epts[N_EPTS];
    static struct amp_rpmsg_endpoint *slots[256];
    struct counter c = {0};
    struct amp_rpmsg_endpoint hept;
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, NULL, 40, AMP_RPMSG_ADDR_ANY, NULL,
                                          NULL, NULL), 0);
    /* Some endpoints exist before the table: it indexes them. */
    for (uint32_t i = 0; i < 10; i++)
        assert_int_equal(amp_rpmsg_create_ept(&epts[i], &lb->remote, NULL, 5000 + 256 * i,
                                              AMP_RPMSG_ADDR_ANY, count_cb, NULL, &c), 0);
    assert_int_equal(amp_rpmsg_set_ept_table(&lb->remote, slots, 256), 0);
    for (uint32_t i = 10; i < N_EPTS; i++)
        assert_int_equal(amp_rpmsg_create_ept(&epts[i], &lb->remote, NULL, 5000 + 256 * i,
                                              AMP_RPMSG_ADDR_ANY, count_cb, NULL, &c), 0);
    /* A taken address is still refused through the table. */
    struct amp_rpmsg_endpoint dup;
    assert_int_equal(amp_rpmsg_create_ept(&dup, &lb->remote, NULL, 5000 + 256 * 7,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), -AMP_EADDRINUSE);
    for (uint32_t i = 0; i < N_EPTS; i++) {
        host_to(lb, &hept, 5000 + 256 * i);
        assert_int_equal(c.count, i + 1);
        assert_int_equal(c.last_dst, 5000 + 256 * i);
    }
    /* Remove every third, then all others must still be found; the removed are not. */
    for (uint32_t i = 0; i < N_EPTS; i += 3)
        assert_int_equal(amp_rpmsg_destroy_ept(&epts[i]), 0);
    unsigned dropped = lb->remote.rx_dropped;
    c.count = 0;
    for (uint32_t i = 0; i < N_EPTS; i++)
        host_to(lb, &hept, 5000 + 256 * i);
    assert_int_equal(c.count, N_EPTS - (N_EPTS + 2) / 3);
    assert_int_equal(lb->remote.rx_dropped - dropped, (N_EPTS + 2) / 3);
    assert_int_equal(lb->remote.last_rx_error, -AMP_ENOENT);
    /* A dynamic address skips the ones the table holds. */
    struct amp_rpmsg_endpoint any;
    assert_int_equal(amp_rpmsg_create_ept(&any, &lb->remote, NULL, AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, count_cb, NULL, &c), 0);
    assert_int_equal(any.addr, 1024);
    free(lb);
}

static void test_ept_table_full_and_dropped(void **state)
{
    (void)state;
    struct lb_pair *lb = up_pair();
    struct amp_rpmsg_endpoint epts[8], hept;
    struct amp_rpmsg_endpoint *slots[8];
    struct counter c = {0};
    assert_int_equal(amp_rpmsg_set_ept_table(&lb->remote, slots, 6), -AMP_EINVAL);
    assert_int_equal(amp_rpmsg_set_ept_table(&lb->remote, slots, 8), 0);
    /* One slot always stays empty: 7 fit, the 8th is refused and not registered. */
    for (uint32_t i = 0; i < 7; i++)
        assert_int_equal(amp_rpmsg_create_ept(&epts[i], &lb->remote, NULL, 100 + i,
                                              AMP_RPMSG_ADDR_ANY, count_cb, NULL, &c), 0);
    assert_int_equal(amp_rpmsg_create_ept(&epts[7], &lb->remote, NULL, 107, AMP_RPMSG_ADDR_ANY,
                                          count_cb, NULL, &c), -AMP_ENOSPC);
    assert_null(epts[7].dev);
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, NULL, 40, AMP_RPMSG_ADDR_ANY, NULL,
                                          NULL, NULL), 0);
    host_to(lb, &hept, 106);
    assert_int_equal(c.last_dst, 106);
    /* Too many endpoints for a smaller table; dropping the table goes back to the list. */
    struct amp_rpmsg_endpoint *small[4];
    assert_int_equal(amp_rpmsg_set_ept_table(&lb->remote, small, 4), -AMP_ENOSPC);
    assert_int_equal(amp_rpmsg_set_ept_table(&lb->remote, NULL, 0), 0);
    assert_int_equal(amp_rpmsg_create_ept(&epts[7], &lb->remote, NULL, 107, AMP_RPMSG_ADDR_ANY,
                                          count_cb, NULL, &c), 0);
    host_to(lb, &hept, 107);
    assert_int_equal(c.last_dst, 107);
    host_to(lb, &hept, 103);
    assert_int_equal(c.last_dst, 103);
    assert_int_equal(c.count, 3);
    free(lb);
}

/* Announcements no endpoint matched: the last name, and how many. */
struct ns_seen {
    unsigned calls;
    char name[AMP_RPMSG_NAME_LEN];
    uint32_t flags;
};

static void ns_record(struct amp_rpmsg_device *dev, const char *name, uint32_t addr,
                      uint32_t flags, void *priv)
{
    struct ns_seen *seen = priv;
    assert_non_null(dev);
    assert_true(addr >= AMP_RPMSG_RESERVED_ADDRS);
    seen->calls++;
    seen->flags = flags;
    memcpy(seen->name, name, sizeof(seen->name));
}

/* A remote with only unnamed endpoints does not serve the name service unless asked. */
static void test_remote_ns_receive_is_opt_in(void **state)
{
    (void)state;
    struct lb_pair *lb = up_pair();
    struct amp_rpmsg_endpoint hept, rept;
    struct counter c = {0};
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, NULL, 30, AMP_RPMSG_ADDR_ANY,
                                          count_cb, NULL, &c), 0);
    assert_null(lb->remote.ns_ept.dev);
    /* The host's announcement reaches no endpoint on the remote: dropped, counted. */
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, "svc", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    lb_settle(lb);
    assert_int_equal(lb->remote.rx_dropped, 1);
    assert_int_equal(lb->remote.last_rx_error, -AMP_ENOENT);
    /* Opting in: announcements are served (and passed to the callback). */
    struct ns_seen seen = {0};
    amp_rpmsg_set_ns_callback(&lb->remote, ns_record, &seen);
    assert_ptr_equal(lb->remote.ns_ept.dev, &lb->remote);
    struct amp_rpmsg_endpoint hept2;
    assert_int_equal(amp_rpmsg_create_ept(&hept2, &lb->host, "svc2", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    lb_settle(lb);
    assert_int_equal(lb->remote.rx_dropped, 1);
    assert_int_equal(seen.calls, 1);
    assert_string_equal(seen.name, "svc2");
    assert_int_equal(seen.flags, AMP_RPMSG_NS_CREATE);
    /* It stays on across a deinit and init. */
    amp_rpmsg_deinit(&lb->remote);
    assert_int_equal(amp_rpmsg_init(&lb->remote, &lb->remote_cfg), 0);
    assert_ptr_equal(lb->remote.ns_ept.dev, &lb->remote);
    /* A named endpoint turns it on by itself. */
    struct lb_pair *lb2 = up_pair();
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb2->remote, "named", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    assert_ptr_equal(lb2->remote.ns_ept.dev, &lb2->remote);
    free(lb2);
    free(lb);
}

/* The fixed path and the general one make the same endpoint. */
static void test_fixed_and_full_create_agree(void **state)
{
    (void)state;
    struct lb_pair *lb = up_pair();
    struct amp_rpmsg_endpoint a, b;
    uint32_t addr = 77;   /* not a constant the compiler sees through, at -O0 too */
    const char *no_name = NULL;
    assert_int_equal(amp_rpmsg_create_ept_fixed(&a, &lb->remote, 76, 5, count_cb, NULL, NULL), 0);
    assert_int_equal(amp_rpmsg_create_ept_full(&b, &lb->remote, no_name, addr, 5, count_cb, NULL,
                                               NULL), 0);
    assert_int_equal(a.addr, 76);
    assert_int_equal(b.addr, 77);
    assert_int_equal(a.dest_addr, b.dest_addr);
    assert_false(a.announced || b.announced || a.name[0] || b.name[0]);
    assert_int_equal(amp_rpmsg_create_ept_fixed(&a, &lb->remote, 77, 5, NULL, NULL, NULL),
                     -AMP_EADDRINUSE);
    assert_int_equal(amp_rpmsg_create_ept_fixed(&a, &lb->remote, AMP_RPMSG_ADDR_ANY, 5, NULL,
                                                NULL, NULL), -AMP_EINVAL);
    assert_null(lb->remote.ns_ept.dev);
    free(lb);
}

/* The remote's next transmit buffer is smaller than the message: refused, and kept. */
static void test_small_tx_buffer_stays_first(void **state)
{
    (void)state;
    struct lb_pair *lb = up_pair();
    struct amp_rpmsg_endpoint hept, rept;
    struct counter c = {0};
    assert_int_equal(amp_rpmsg_create_ept(&hept, &lb->host, NULL, 40, AMP_RPMSG_ADDR_ANY,
                                          count_cb, NULL, &c), 0);
    assert_int_equal(amp_rpmsg_create_ept(&rept, &lb->remote, NULL, 30, 40, NULL, NULL, NULL), 0);
    /* Shrink the buffer the host posted first for the remote to fill. */
    struct amp_vring_avail *avail = (void *)(lb->mem + LB_VRING0_OFF + 16u * 64);
    struct amp_vring_desc *desc = (void *)(lb->mem + LB_VRING0_OFF);
    uint16_t head = avail->ring[lb->remote.tx_vring.last_seen % 64];
    desc[head].len = 16 + 8;
    uint8_t big[100] = {0};
    assert_int_equal(amp_rpmsg_send(&rept, big, sizeof(big), AMP_NO_WAIT), -AMP_EMSGSIZE);
    /* A message that fits takes that same buffer. */
    assert_int_equal(amp_rpmsg_send(&rept, big, 8, AMP_NO_WAIT), 8);
    lb_settle(lb);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.last_len, 8);
    assert_int_equal(lb->host.rx_vring.last_seen, 1);
    /* And the next big one goes into the next (whole) buffer. */
    assert_int_equal(amp_rpmsg_send(&rept, big, sizeof(big), AMP_NO_WAIT), (int)sizeof(big));
    lb_settle(lb);
    assert_int_equal(c.count, 2);
    assert_int_equal(c.last_len, sizeof(big));
    free(lb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ept_table_finds_every_endpoint),
        cmocka_unit_test(test_ept_table_full_and_dropped),
        cmocka_unit_test(test_remote_ns_receive_is_opt_in),
        cmocka_unit_test(test_fixed_and_full_create_agree),
        cmocka_unit_test(test_small_tx_buffer_stays_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
