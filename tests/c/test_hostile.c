/*
 * A peer that writes garbage into shared memory: every bad index, length
 * and address must be refused with an error, and nothing outside the
 * shared region may be read or written (ASan watches the test).
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

struct fixture {
    struct lb_pair lb;
    struct amp_rpmsg_endpoint hept, rept;
    unsigned host_rx, remote_rx;
    unsigned ns_calls;
};

static int count_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)data;
    (void)len;
    (void)src;
    struct fixture *f = priv;
    if (ept == &f->hept)
        f->host_rx++;
    else
        f->remote_rx++;
    return AMP_RPMSG_RELEASE;
}

static void ns_cb(struct amp_rpmsg_device *dev, const char *name, uint32_t addr, uint32_t flags,
                  void *priv)
{
    (void)dev;
    (void)name;
    (void)addr;
    (void)flags;
    ((struct fixture *)priv)->ns_calls++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    lb_setup(&f->lb, AMP_ADDR_OFFSET, 0, NS_FEATURE);
    if (amp_rpmsg_init(&f->lb.host, &f->lb.host_cfg) || amp_rpmsg_init(&f->lb.remote, &f->lb.remote_cfg))
        return -1;
    amp_rpmsg_set_ns_callback(&f->lb.host, ns_cb, f);
    amp_rpmsg_set_ns_callback(&f->lb.remote, ns_cb, f);
    if (amp_rpmsg_create_ept(&f->hept, &f->lb.host, "c", AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY,
                             count_cb, NULL, f) ||
        amp_rpmsg_create_ept(&f->rept, &f->lb.remote, "c", AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY,
                             count_cb, NULL, f))
        return -1;
    lb_settle(&f->lb);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* vring layout for num 64, align 32: desc at 0, avail at 1024, used at 1184. */
static struct amp_vring_desc *desc_of(struct fixture *f, unsigned vring_off)
{
    return (struct amp_vring_desc *)(void *)(f->lb.mem + vring_off);
}

static struct amp_vring_avail *avail_of(struct fixture *f, unsigned vring_off)
{
    return (struct amp_vring_avail *)(void *)(f->lb.mem + vring_off + 1024);
}

static struct amp_vring_used *used_of(struct fixture *f, unsigned vring_off)
{
    return (struct amp_vring_used *)(void *)(f->lb.mem + vring_off + 1184);
}

static void test_avail_descriptor_index_out_of_range(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(amp_rpmsg_send(&f->hept, "a", 1, AMP_NO_WAIT), 1);
    struct amp_vring_avail *avail = avail_of(f, LB_VRING1_OFF);
    avail->ring[(uint16_t)(avail->idx - 1) % 64] = 64;     /* one past the table */
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), -AMP_EBADMSG);
    assert_int_equal(f->remote_rx, 0);
    /* The ring stays refused: no later poll gets past the bad entry... */
    assert_int_equal(amp_rpmsg_send(&f->hept, "b", 1, AMP_NO_WAIT), 1);
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), -AMP_EBADMSG);
    assert_int_equal(f->remote_rx, 0);
    /* ...and the device is refused for sending too, until the next init. */
    assert_int_equal(amp_rpmsg_send(&f->rept, "c", 1, AMP_NO_WAIT), -AMP_EBADMSG);
}

static void test_used_id_out_of_range(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(amp_rpmsg_send(&f->rept, "a", 1, AMP_NO_WAIT), 1);
    struct amp_vring_used *used = used_of(f, LB_VRING0_OFF);
    used->ring[(uint16_t)(used->idx - 1) % 64].id = 0xFFFF;
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), -AMP_EBADMSG);
    assert_int_equal(f->host_rx, 0);
}

static void test_used_index_jumps_past_num(void **state)
{
    struct fixture *f = *state;
    struct amp_vring_used *used = used_of(f, LB_VRING0_OFF);
    used->idx = (uint16_t)(used->idx + 65);
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), -AMP_EBADMSG);
    assert_int_equal(f->host_rx, 0);
    /* The transmit side checks its used ring too. */
    struct fixture *g = *state;
    used_of(g, LB_VRING1_OFF)->idx = (uint16_t)(used_of(g, LB_VRING1_OFF)->idx + 200);
    /* Buffers already reclaimed may still go out; the bad ring is hit next. */
    int sent = 0, rc;
    while ((rc = amp_rpmsg_send(&g->hept, "x", 1, AMP_NO_WAIT)) == 1 && sent < 100)
        sent++;
    assert_int_equal(rc, -AMP_EBADMSG);
    assert_true(sent < 46);
    assert_int_equal(amp_rpmsg_send(&g->hept, "x", 1, 50), -AMP_EBADMSG);
}

static void test_avail_index_jumps_past_num(void **state)
{
    struct fixture *f = *state;
    struct amp_vring_avail *avail = avail_of(f, LB_VRING1_OFF);
    avail->idx = (uint16_t)(avail->idx + 100);
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), -AMP_EBADMSG);
    assert_int_equal(f->remote_rx, 0);
}

/* The host sends "abc": the descriptor the remote will read, and its header. */
static struct amp_vring_desc *host_sends_abc(struct fixture *f, struct amp_rpmsg_hdr **hdr)
{
    assert_int_equal(amp_rpmsg_send(&f->hept, "abc", 3, AMP_NO_WAIT), 3);
    struct amp_vring_avail *avail = avail_of(f, LB_VRING1_OFF);
    uint16_t head = avail->ring[(uint16_t)(avail->idx - 1) % 64];
    struct amp_vring_desc *desc = &desc_of(f, LB_VRING1_OFF)[head];
    *hdr = (void *)(f->lb.mem + LB_SHM_OFFSET + desc->addr);
    return desc;
}

/* The remote drops that message with err, hands it back, and the link goes on. */
static void remote_drops_it_and_goes_on(struct fixture *f, int err)
{
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    assert_int_equal(f->remote_rx, 0);
    assert_int_equal(f->lb.remote.rx_dropped, 1);
    assert_int_equal(f->lb.remote.last_rx_error, err);
    assert_int_equal(amp_rpmsg_send(&f->hept, "ok", 2, AMP_NO_WAIT), 2);
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    assert_int_equal(f->remote_rx, 1);
}

static void test_payload_longer_than_buffer_host_to_remote(void **state)
{
    struct fixture *f = *state;
    struct amp_rpmsg_hdr *hdr;
    host_sends_abc(f, &hdr);
    hdr->len = 400;      /* the descriptor covers only 19 bytes */
    remote_drops_it_and_goes_on(f, -AMP_EMSGSIZE);
}

static void test_used_length_larger_than_buffer(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(amp_rpmsg_send(&f->rept, "abc", 3, AMP_NO_WAIT), 3);
    struct amp_vring_used *used = used_of(f, LB_VRING0_OFF);
    used->ring[(uint16_t)(used->idx - 1) % 64].len = 100000;
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), 1);
    assert_int_equal(f->host_rx, 0);
    assert_int_equal(f->lb.host.rx_dropped, 1);
    /* A header longer than the used length is refused the same way. */
    assert_int_equal(amp_rpmsg_send(&f->rept, "abc", 3, AMP_NO_WAIT), 3);
    struct amp_vring_used_elem *elem = &used->ring[(uint16_t)(used->idx - 1) % 64];
    struct amp_rpmsg_hdr *hdr = (void *)(f->lb.mem + LB_POOL_OFF + 512u * elem->id);
    hdr->len = 497;
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), 1);
    assert_int_equal(f->lb.host.rx_dropped, 2);
    assert_int_equal(f->lb.host.last_rx_error, -AMP_EMSGSIZE);
    /* The dropped buffers were posted again: all 64 are available. */
    assert_int_equal((uint16_t)(f->lb.host.rx_vring.next_idx - used->idx), 64);
}

static void test_descriptor_address_outside_region(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(amp_rpmsg_send(&f->hept, "abc", 3, AMP_NO_WAIT), 3);
    struct amp_vring_avail *avail = avail_of(f, LB_VRING1_OFF);
    uint16_t head = avail->ring[(uint16_t)(avail->idx - 1) % 64];
    struct amp_vring_desc *desc = &desc_of(f, LB_VRING1_OFF)[head];
    desc->addr = LB_SHARED_SIZE;            /* just past the end */
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    assert_int_equal(f->lb.remote.last_rx_error, -AMP_ERANGE);
    /* Straddling the end is no better. */
    assert_int_equal(amp_rpmsg_send(&f->hept, "abc", 3, AMP_NO_WAIT), 3);
    head = avail->ring[(uint16_t)(avail->idx - 1) % 64];
    desc = &desc_of(f, LB_VRING1_OFF)[head];
    desc->addr = f->lb.remote_cfg.shm_size - 8;
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    assert_int_equal(f->lb.remote.rx_dropped, 2);
    assert_int_equal(f->remote_rx, 0);
    /* A huge address (wraps when added to the base) too. */
    assert_int_equal(amp_rpmsg_send(&f->hept, "abc", 3, AMP_NO_WAIT), 3);
    head = avail->ring[(uint16_t)(avail->idx - 1) % 64];
    desc_of(f, LB_VRING1_OFF)[head].addr = UINT64_MAX - 4;
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    assert_int_equal(f->lb.remote.rx_dropped, 3);

    /* An empty buffer the host posts for the remote to fill, outside the region. */
    struct amp_vring_desc *rx_desc = desc_of(f, LB_VRING0_OFF);
    for (unsigned i = 0; i < 64; i++)
        rx_desc[i].addr = 0x7FFFFFFF;
    assert_int_equal(amp_rpmsg_send(&f->rept, "x", 1, AMP_NO_WAIT), -AMP_ERANGE);
}

/*
 * A host descriptor longer than our buffers, with a header that fills it:
 * no callback may get more than amp_rpmsg_max_payload() (a firmware sizes
 * its own copy by it). Dropped and handed back; the link goes on.
 */
static void test_descriptor_longer_than_our_buffers(void **state)
{
    struct fixture *f = *state;
    struct amp_rpmsg_hdr *hdr;
    host_sends_abc(f, &hdr)->len = 2048;     /* still inside the region */
    hdr->len = (uint16_t)(amp_rpmsg_max_payload(&f->lb.remote) + 1);
    remote_drops_it_and_goes_on(f, -AMP_EMSGSIZE);
}

/* A message buffer too short for a header: dropped, handed back, the link goes on. */
static void test_descriptor_shorter_than_header(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(amp_rpmsg_send(&f->hept, "abc", 3, AMP_NO_WAIT), 3);
    struct amp_vring_avail *avail = avail_of(f, LB_VRING1_OFF);
    uint16_t head = avail->ring[(uint16_t)(avail->idx - 1) % 64];
    desc_of(f, LB_VRING1_OFF)[head].len = 15;
    struct amp_vring_used *used = used_of(f, LB_VRING1_OFF);
    uint16_t used_before = used->idx;
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    assert_int_equal(f->lb.remote.rx_dropped, 1);
    assert_int_equal(f->lb.remote.last_rx_error, -AMP_EMSGSIZE);
    assert_int_equal(f->remote_rx, 0);
    assert_int_equal((uint16_t)(used->idx - used_before), 1);
    assert_int_equal(used->ring[used_before % 64].id, head);
    /* An empty buffer too short for a header is refused for sending too. */
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), 0);
    assert_int_equal(amp_rpmsg_send(&f->hept, "ok", 2, AMP_NO_WAIT), 2);
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    assert_int_equal(f->remote_rx, 1);
    struct amp_vring_desc *tx_desc = desc_of(f, LB_VRING0_OFF);
    for (unsigned i = 0; i < 64; i++)
        tx_desc[i].len = 15;
    assert_int_equal(amp_rpmsg_send(&f->rept, "", 0, AMP_NO_WAIT), -AMP_EMSGSIZE);
    uint32_t size = 0;
    int err = 0;
    assert_null(amp_rpmsg_get_tx_buffer(&f->lb.remote, &size, AMP_NO_WAIT, &err));
    assert_int_equal(err, -AMP_EMSGSIZE);
}

static void test_ns_name_not_terminated(void **state)
{
    struct fixture *f = *state;
    struct amp_rpmsg_ns_msg msg;
    memset(msg.name, 'A', sizeof(msg.name));   /* 32 bytes, no NUL */
    msg.addr = 2000;
    msg.flags = AMP_RPMSG_NS_CREATE;
    assert_int_equal(amp_rpmsg_send_offchannel(&f->rept, 2000, AMP_RPMSG_NS_ADDR, &msg, sizeof(msg),
                                               AMP_NO_WAIT), (int)sizeof(msg));
    unsigned calls = f->ns_calls;
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), 1);
    assert_int_equal(f->ns_calls, calls);
    assert_int_equal(f->lb.host.rx_dropped, 1);
    assert_int_equal(f->lb.host.last_rx_error, -AMP_EBADMSG);
    /* A short NS message and a bad flags value are refused too. */
    assert_int_equal(amp_rpmsg_send_offchannel(&f->rept, 2000, AMP_RPMSG_NS_ADDR, &msg, 8,
                                               AMP_NO_WAIT), 8);
    msg.name[5] = 0;
    msg.flags = 7;
    assert_int_equal(amp_rpmsg_send_offchannel(&f->rept, 2000, AMP_RPMSG_NS_ADDR, &msg, sizeof(msg),
                                               AMP_NO_WAIT), (int)sizeof(msg));
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), 2);
    assert_int_equal(f->ns_calls, calls);
    assert_int_equal(f->lb.host.rx_dropped, 3);
}

static void test_message_to_unknown_endpoint_dropped(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(amp_rpmsg_send_offchannel(&f->rept, f->rept.addr, 4242, "x", 1, AMP_NO_WAIT), 1);
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), 1);
    assert_int_equal(f->host_rx, 0);
    assert_int_equal(f->lb.host.last_rx_error, -AMP_ENOENT);
}

static void test_vdev_with_vrings_outside_region(void **state)
{
    struct fixture *f = *state;
    struct amp_rpmsg_config cfg = f->lb.remote_cfg;
    struct amp_rsc_vdev *vdev = cfg.vdev;
    size_t vdev_size = f->lb.table.size - (size_t)((uint8_t *)vdev - f->lb.mem);
    uint32_t saved = vdev->vring[0].da;
    vdev->vring[0].da = LB_SHARED_DA + LB_SHARED_SIZE - 100;   /* ring runs off the end */
    assert_int_equal(amp_rpmsg_config_from_vdev(&cfg, vdev, vdev_size), -AMP_ERANGE);
    vdev->vring[0].da = 0x1000;                                 /* below the region */
    assert_int_equal(amp_rpmsg_config_from_vdev(&cfg, vdev, vdev_size), -AMP_ERANGE);
    vdev->vring[0].da = saved;
    vdev->vring[1].num = 48;                                    /* not a power of two */
    assert_int_equal(amp_rpmsg_config_from_vdev(&cfg, vdev, vdev_size), -AMP_EBADMSG);
    assert_int_equal(amp_rpmsg_config_from_vdev(&cfg, vdev, sizeof(*vdev)), -AMP_EINVAL);
}

/* Ids in range but never handed out are caught only after the index moved past them. */
static void test_used_tx_id_never_sent_stays_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(amp_rpmsg_send(&f->hept, "a", 1, AMP_NO_WAIT), 1);
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    struct amp_vring_used *used = used_of(f, LB_VRING1_OFF);
    used->ring[used->idx % 64].id = 50;          /* < num, but never a transmit buffer */
    used->ring[used->idx % 64].len = 512;
    used->idx++;
    int rc = 0;
    for (int i = 0; i < 60 && rc >= 0; i++)
        rc = amp_rpmsg_send(&f->hept, "b", 1, AMP_NO_WAIT);
    assert_int_equal(rc, -AMP_EBADMSG);
    /* Every later use reports it too, on both paths, until init. */
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), -AMP_EBADMSG);
    assert_int_equal(amp_rpmsg_send(&f->hept, "c", 1, 20), -AMP_EBADMSG);
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), -AMP_EBADMSG);
    assert_int_equal(amp_rpmsg_init(&f->lb.host, &f->lb.host_cfg), 0);
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), 0);
}

static void test_used_tx_id_returned_twice(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(amp_rpmsg_send(&f->hept, "a", 1, AMP_NO_WAIT), 1);
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    struct amp_vring_used *used = used_of(f, LB_VRING1_OFF);
    /* The same buffer once more. */
    used->ring[used->idx % 64] = used->ring[(uint16_t)(used->idx - 1) % 64];
    used->idx++;
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), -AMP_EBADMSG);
    assert_int_equal(amp_rpmsg_send(&f->hept, "b", 1, AMP_NO_WAIT), -AMP_EBADMSG);
}

static void test_used_rx_id_between_count_and_num(void **state)
{
    struct fixture *f = *state;
    /* 32 receive buffers on a 64-entry ring: ids 32..63 are no receive buffer. */
    f->lb.host_cfg.rx_buf_count = 32;
    assert_int_equal(amp_rpmsg_init(&f->lb.host, &f->lb.host_cfg), 0);
    assert_int_equal(amp_rpmsg_init(&f->lb.remote, &f->lb.remote_cfg), 0);
    lb_settle(&f->lb);
    unsigned before = f->host_rx;
    struct amp_vring_used *used = used_of(f, LB_VRING0_OFF);
    used->ring[used->idx % 64].id = 40;
    used->ring[used->idx % 64].len = 20;
    used->idx++;
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), -AMP_EBADMSG);
    assert_int_equal(amp_rpmsg_send(&f->rept, "x", 1, AMP_NO_WAIT), 1);
    assert_int_equal(amp_rpmsg_poll(&f->lb.host), -AMP_EBADMSG);
    assert_int_equal(f->host_rx, before);
    assert_int_equal(amp_rpmsg_send(&f->hept, "y", 1, AMP_NO_WAIT), -AMP_EBADMSG);
}

/* Counts payload lengths no buffer could hold. */
static unsigned long sizes_seen_over;
static int size_cb(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)data;
    (void)src;
    (void)priv;
    if (len > amp_rpmsg_max_payload(ept->dev))
        sizes_seen_over++;
    return AMP_RPMSG_RELEASE;
}

/* Buffers go back whole: used.len is the descriptor length (OpenAMP and rpmsg-lite hosts). */
static void test_remote_returns_whole_descriptors(void **state)
{
    struct fixture *f = *state;
    f->rept.rx_cb = size_cb;
    assert_int_equal(amp_rpmsg_send(&f->rept, "abc", 3, AMP_NO_WAIT), 3);
    struct amp_vring_used *used0 = used_of(f, LB_VRING0_OFF);
    assert_int_equal(used0->ring[(uint16_t)(used0->idx - 1) % 64].len, 512);
    assert_int_equal(amp_rpmsg_send(&f->hept, "abcd", 4, AMP_NO_WAIT), 4);
    struct amp_vring_avail *avail = avail_of(f, LB_VRING1_OFF);
    uint16_t head = avail->ring[(uint16_t)(avail->idx - 1) % 64];
    desc_of(f, LB_VRING1_OFF)[head].len = 512;    /* a host that posts whole buffers */
    assert_int_equal(amp_rpmsg_poll(&f->lb.remote), 1);
    struct amp_vring_used *used1 = used_of(f, LB_VRING1_OFF);
    assert_int_equal(used1->ring[(uint16_t)(used1->idx - 1) % 64].len, 512);
    assert_int_equal(sizes_seen_over, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_avail_descriptor_index_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_id_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_index_jumps_past_num, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_index_jumps_past_num, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_longer_than_buffer_host_to_remote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_length_larger_than_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_address_outside_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ns_name_not_terminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_to_unknown_endpoint_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vdev_with_vrings_outside_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_tx_id_never_sent_stays_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_tx_id_returned_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_rx_id_between_count_and_num, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_returns_whole_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_shorter_than_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_longer_than_our_buffers, setup, teardown),
    };
    return cmocka_run_group_tests_name("hostile shared memory", tests, NULL, NULL);
}
