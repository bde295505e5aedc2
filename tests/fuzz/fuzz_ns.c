/*
 * libFuzzer target: the name service. One device is under test (the host,
 * or the remote with FZ_NS_CFG_REMOTE); its peer, over the loopback rings
 * (tests/c/loopback.h), sends it name-service messages - well formed ones
 * built from the input and raw bytes of any length - while the device
 * under test creates, destroys and uses named endpoints. The new-service
 * callback may create an endpoint for what it hears (binding it) and the
 * unbind callback may destroy its endpoint, so the endpoint list changes
 * while the name service walks it.
 *
 * Checked: names handed to callbacks are NUL-terminated within 32 bytes,
 * flags are create or destroy, the endpoint list holds exactly the live
 * endpoints (no loop, nothing destroyed, nothing twice), every endpoint's
 * destination came from its creator or the peer, and every error is one
 * the API documents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_ops.h"
#include "loopback.h"

#define NS_FEATURE (1u << AMP_VIRTIO_RPMSG_F_NS)
#define SLOTS 8
#define PEER_EPTS 4

static const char *const names[4] = { "svc0", "svc1", "rpmsg-tty", "a-name-of-thirty-one-bytes-long" };

static struct lb_pair lb;
static struct fz_platform host_plat, remote_plat;
static struct amp_rpmsg_device *dut, *peer;
static struct amp_rpmsg_endpoint slot[SLOTS];
static bool live[SLOTS];
static struct amp_rpmsg_endpoint peer_ept[PEER_EPTS];
static bool peer_live[PEER_EPTS];
static struct amp_rpmsg_endpoint peer_raw;   /* the peer's sender of NS messages */
static uint8_t cfg_bits;
static unsigned ns_calls, unbinds;

static int on_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                 void *priv)
{
    (void)ept;
    (void)data;
    (void)src;
    (void)priv;
    FZ_CHECK(len <= amp_rpmsg_max_payload(ept->dev));
    return AMP_RPMSG_RELEASE;
}

static int free_slot(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (!live[i])
            return i;
    return -1;
}

static bool create_ok(int rc)
{
    /* An announcement that could not go out (no buffer, or the ring is corrupt). */
    return rc == 0 || rc == -AMP_ENOBUFS || rc == -AMP_EBADMSG || rc == -AMP_ERANGE;
}

static void on_unbind(struct amp_rpmsg_endpoint *ept, void *priv)
{
    (void)priv;
    unbinds++;
    FZ_CHECK(ept->dest_addr == AMP_RPMSG_ADDR_ANY);
    if (!(cfg_bits & FZ_NS_CFG_UNBIND))
        return;
    int i = (int)(ept - slot);
    FZ_CHECK(i >= 0 && i < SLOTS && live[i]);
    amp_rpmsg_destroy_ept(ept);
    live[i] = false;
}

static void on_ns(struct amp_rpmsg_device *dev, const char *name, uint32_t addr, uint32_t flags,
                  void *priv)
{
    (void)priv;
    ns_calls++;
    FZ_CHECK(memchr(name, 0, AMP_RPMSG_NAME_LEN) != NULL);
    FZ_CHECK(flags <= AMP_RPMSG_NS_DESTROY);
    if (dev != dut || flags != AMP_RPMSG_NS_CREATE || !(cfg_bits & FZ_NS_CFG_BIND))
        return;
    /* Bind: an endpoint of that name, talking to the announced address. */
    int i = free_slot();
    if (i < 0)
        return;
    int rc = amp_rpmsg_create_ept(&slot[i], dev, name, AMP_RPMSG_ADDR_ANY, addr, on_rx,
                                  on_unbind, NULL);
    FZ_CHECK(rc == 0);   /* a fixed destination: nothing to announce, nothing to fail */
    live[i] = true;
}

/* The list holds exactly the live slots (plus the name service), each once. */
static void check_endpoints(void)
{
    unsigned count = 0;
    bool seen[SLOTS] = { false };
    for (struct amp_rpmsg_endpoint *e = dut->endpoints; e; e = e->next) {
        FZ_CHECK(++count <= SLOTS + 1);
        FZ_CHECK(e->dev == dut);
        if (e == &dut->ns_ept)
            continue;
        int i = (int)(e - slot);
        FZ_CHECK(i >= 0 && i < SLOTS && live[i] && !seen[i]);
        seen[i] = true;
        FZ_CHECK(memchr(e->name, 0, AMP_RPMSG_NAME_LEN) != NULL);
    }
    for (int i = 0; i < SLOTS; i++)
        FZ_CHECK(seen[i] == live[i]);
}

static void pump(void)
{
    for (int i = 0; i < 8; i++) {
        int a = amp_rpmsg_poll(dut), b = amp_rpmsg_poll(peer);
        FZ_CHECK(a >= 0 || a == -AMP_EBADMSG || a == -AMP_ENOTCONN);
        FZ_CHECK(b >= 0 || b == -AMP_EBADMSG || b == -AMP_ENOTCONN);
        if (a <= 0 && b <= 0)
            break;
    }
}

static void peer_send_ns(const void *msg, size_t len)
{
    int rc = amp_rpmsg_send_offchannel(&peer_raw, peer_raw.addr, AMP_RPMSG_NS_ADDR, msg, len,
                                       AMP_NO_WAIT);
    if (rc == -AMP_ENOBUFS) {
        pump();
        rc = amp_rpmsg_send_offchannel(&peer_raw, peer_raw.addr, AMP_RPMSG_NS_ADDR, msg, len,
                                       AMP_NO_WAIT);
    }
    FZ_CHECK(rc == (int)len || rc == -AMP_ENOBUFS || rc == -AMP_EMSGSIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_input in = { data, size };
    cfg_bits = fz_u8(&in);
    lb_setup(&lb, AMP_ADDR_OFFSET, 0, NS_FEATURE);
    fz_platform_init(&host_plat, NULL);
    fz_platform_init(&remote_plat, NULL);
    lb.host_cfg.platform = &host_plat.platform;
    lb.remote_cfg.platform = &remote_plat.platform;
    FZ_CHECK(amp_rpmsg_init(&lb.host, &lb.host_cfg) == 0);
    FZ_CHECK(amp_rpmsg_init(&lb.remote, &lb.remote_cfg) == 0);
    bool remote_dut = cfg_bits & FZ_NS_CFG_REMOTE;
    dut = remote_dut ? &lb.remote : &lb.host;
    peer = remote_dut ? &lb.host : &lb.remote;
    amp_rpmsg_set_ns_callback(dut, on_ns, NULL);
    amp_rpmsg_set_ns_callback(peer, on_ns, NULL);
    memset(live, 0, sizeof live);
    memset(peer_live, 0, sizeof peer_live);
    ns_calls = unbinds = 0;
    FZ_CHECK(amp_rpmsg_create_ept(&peer_raw, peer, NULL, 0x7000, AMP_RPMSG_NS_ADDR, on_rx, NULL,
                                  NULL) == 0);

    for (unsigned steps = 0; fz_more(&in) && steps < 256; steps++) {
        switch (fz_u8(&in) % FZ_NS_COUNT) {
        case FZ_NS_CREATE_EPT: {
            uint8_t a = fz_u8(&in);
            int i = a & 7u;
            if (live[i])
                break;
            int rc = amp_rpmsg_create_ept(&slot[i], dut, names[(a >> 3) & 3u],
                                          AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY, on_rx,
                                          on_unbind, NULL);
            FZ_CHECK(create_ok(rc));
            live[i] = rc == 0;
            break;
        }
        case FZ_NS_DESTROY_EPT: {
            int i = fz_u8(&in) & 7u;
            if (!live[i])
                break;
            int rc = amp_rpmsg_destroy_ept(&slot[i]);
            FZ_CHECK(create_ok(rc));
            FZ_CHECK(slot[i].dev == NULL);
            live[i] = false;
            break;
        }
        case FZ_NS_ANNOUNCE: {
            struct amp_rpmsg_ns_msg msg;
            memset(&msg, 0, sizeof msg);
            uint8_t name = fz_u8(&in);
            strcpy(msg.name, names[name & 3u]);
            msg.flags = amp_cpu_to_le32(fz_u8(&in) & 3u);   /* 2, 3: invalid */
            msg.addr = amp_cpu_to_le32(fz_u16(&in) | ((name & 0x80u) ? 0xFFFF0000u : 0));
            peer_send_ns(&msg, sizeof msg);
            break;
        }
        case FZ_NS_RAW: {
            uint8_t len = fz_u8(&in);
            uint8_t buf[256];
            for (unsigned i = 0; i < len; i++)
                buf[i] = fz_u8(&in);
            peer_send_ns(buf, len);
            break;
        }
        case FZ_NS_PUMP:
            pump();
            break;
        case FZ_NS_SEND: {
            int i = fz_u8(&in) & 7u;
            if (!live[i])
                break;
            int rc = amp_rpmsg_send(&slot[i], "x", 1, AMP_NO_WAIT);
            FZ_CHECK(rc == 1 || rc == -AMP_ENOTCONN || rc == -AMP_ENOBUFS);
            break;
        }
        case FZ_NS_PEER_EPT: {
            uint8_t a = fz_u8(&in);
            int i = (a >> 1) % PEER_EPTS;
            if (!(a & 1u) && !peer_live[i]) {
                int rc = amp_rpmsg_create_ept(&peer_ept[i], peer, names[i], AMP_RPMSG_ADDR_ANY,
                                              AMP_RPMSG_ADDR_ANY, on_rx, NULL, NULL);
                FZ_CHECK(create_ok(rc));
                peer_live[i] = rc == 0;
            } else if ((a & 1u) && peer_live[i]) {
                FZ_CHECK(create_ok(amp_rpmsg_destroy_ept(&peer_ept[i])));
                peer_live[i] = false;
            }
            break;
        }
        }
        check_endpoints();
    }
    amp_rpmsg_deinit(&lb.host);
    amp_rpmsg_deinit(&lb.remote);
    return 0;
}
