/*
 * vhost/vhost_user.h - a vhost-user backend: the device side of one rpmsg
 * virtio device (id 7), served by the library's remote role, for any
 * vhost-user front end (User-mode Linux's virtio_uml, QEMU's
 * vhost-user-device) on a UNIX stream socket.
 *
 * The front end owns the memory: SET_MEM_TABLE hands us file descriptors
 * of its RAM, which we map; ring addresses arrive in its user address space
 * and descriptors hold its guest-physical addresses (the remote role's
 * physical mode over the region that holds the rings). Everything the
 * front end sends - message sizes, counts, indices, addresses - is checked
 * before use; a message we cannot honour is refused (REPLY_ACK) or ends
 * the connection with a reason in amp_vhost.error, never a guess.
 *
 * This is an OS-level program component (sockets, mmap, poll), not part of
 * the portable core: it sits on top of amp/rpmsg.h like any application.
 */
#ifndef AMP_VHOST_USER_H
#define AMP_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "amp/rpmsg.h"
#include "amp/rsc.h"

#define AMP_VHOST_MAX_REGIONS 8       /* VHOST_MEMORY_BASELINE_NREGIONS */
#define AMP_VHOST_QUEUES      2       /* rpmsg: vring 0 remote->host, vring 1 host->remote */

/* Feature bits we may offer (virtio + vhost-user). */
#define AMP_VHOST_F_PROTOCOL_FEATURES 30u
#define AMP_VHOST_F_VERSION_1         32u
/* Protocol features we offer: UML allocates no irq for the device without
 * both (its probe then fails with -EBUSY). */
#define AMP_VHOST_PROTOCOL_F_REPLY_ACK 3u
#define AMP_VHOST_PROTOCOL_F_SLAVE_REQ 5u

/* Requests (front end -> backend) this backend knows. */
enum amp_vhost_request {
    AMP_VHOST_GET_FEATURES = 1,
    AMP_VHOST_SET_FEATURES = 2,
    AMP_VHOST_SET_OWNER = 3,
    AMP_VHOST_RESET_OWNER = 4,
    AMP_VHOST_SET_MEM_TABLE = 5,
    AMP_VHOST_SET_VRING_NUM = 8,
    AMP_VHOST_SET_VRING_ADDR = 9,
    AMP_VHOST_SET_VRING_BASE = 10,
    AMP_VHOST_GET_VRING_BASE = 11,
    AMP_VHOST_SET_VRING_KICK = 12,
    AMP_VHOST_SET_VRING_CALL = 13,
    AMP_VHOST_SET_VRING_ERR = 14,
    AMP_VHOST_GET_PROTOCOL_FEATURES = 15,
    AMP_VHOST_SET_PROTOCOL_FEATURES = 16,
    AMP_VHOST_GET_QUEUE_NUM = 17,
    AMP_VHOST_SET_VRING_ENABLE = 18,
    AMP_VHOST_SET_SLAVE_REQ_FD = 21,
};

/* ---- Wire structs (native = little-endian on every front end we run). ---- */
#define AMP_VHOST_VERSION         1u
#define AMP_VHOST_FLAG_VERSION_MASK 3u
#define AMP_VHOST_FLAG_REPLY      (1u << 2)
#define AMP_VHOST_FLAG_NEED_REPLY (1u << 3)
#define AMP_VHOST_VRING_INDEX_MASK 0xffu
#define AMP_VHOST_VRING_NOFD      (1u << 8)

struct amp_vhost_hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size;        /* payload bytes after the header */
};

struct amp_vhost_vring_state {
    uint32_t index;
    uint32_t num;
};

struct amp_vhost_vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc, used, avail, log;   /* front end's user addresses */
};

struct amp_vhost_mem_region {
    uint64_t guest_addr;
    uint64_t size;
    uint64_t user_addr;
    uint64_t mmap_offset;
};

struct amp_vhost_mem_table {
    uint32_t num;
    uint32_t padding;
    struct amp_vhost_mem_region region[AMP_VHOST_MAX_REGIONS]; /* only `num` are sent */
};

_Static_assert(sizeof(struct amp_vhost_hdr) == 12, "vhost-user header is 12 bytes");
_Static_assert(sizeof(struct amp_vhost_vring_state) == 8, "vring state is 8 bytes");
_Static_assert(sizeof(struct amp_vhost_vring_addr) == 40, "vring addr is 40 bytes");
_Static_assert(offsetof(struct amp_vhost_vring_addr, desc) == 8, "vring addr desc at 8");
_Static_assert(sizeof(struct amp_vhost_mem_region) == 32, "memory region is 32 bytes");
_Static_assert(offsetof(struct amp_vhost_mem_table, region) == 8, "regions at 8");

/* Largest payload we accept: a full memory table. */
#define AMP_VHOST_MAX_PAYLOAD sizeof(struct amp_vhost_mem_table)

struct amp_vhost_options {
    bool event_idx;        /* offer VIRTIO_RING_F_EVENT_IDX (29) */
    /*
     * Test knob, off by default: write every used.len on vring 0 (messages
     * to the front end) one byte shorter than header + payload - a wire
     * error Linux must reject ("inbound msg too big"). It proves that
     * make test-linux can fail on a bad used length. Entries are rewritten
     * before each doorbell, so a front end already reading the ring may
     * see a few untouched ones.
     */
    bool break_used_len;
};

struct amp_vhost_region {
    uint64_t gpa, size, uaddr;
    uint8_t *base;         /* the region's first byte in our mapping */
    void *map;             /* the whole mapping (mmap_offset + size bytes) */
    size_t map_len;
};

struct amp_vhost_queue {
    uint32_t num;
    uint32_t base;         /* SET_VRING_BASE */
    struct amp_vhost_vring_addr addr;
    bool has_num, has_addr, enabled;
    int kick_fd, call_fd, err_fd;
};

struct amp_vhost {
    int sock;
    int slave_fd;                      /* kept open; we send no slave requests */
    struct amp_vhost_options opt;
    uint64_t offered, features;
    uint64_t protocol_features;
    bool features_set, owner;
    struct amp_vhost_region region[AMP_VHOST_MAX_REGIONS];
    uint32_t nregions;
    struct amp_vhost_queue q[AMP_VHOST_QUEUES];
    /* The vdev the remote role reads status and features from. */
    union {
        struct amp_rsc_vdev vdev;
        uint8_t vdev_bytes[sizeof(struct amp_rsc_vdev) + 2 * sizeof(struct amp_rsc_vdev_vring)];
    };
    struct amp_platform_ops ops;
    struct amp_platform platform;
    struct amp_rpmsg_config cfg;
    struct amp_rpmsg_device rpmsg;
    bool live;             /* rpmsg device attached to the rings */
    bool stopped;          /* front end took the rings back: no more ring access */
    bool hung_up;          /* connection over (closed, or ended on an error) */
    bool in_core;          /* inside a core call: messages that remap are refused */
    uint16_t trimmed_idx;  /* break_used_len: used entries already rewritten */
    uint64_t kicks, calls, requests;
    char error[200];       /* why the connection ended, if it did on an error */
};

/*
 * Serve the connected socket `sock` (the backend then owns it). Returns 0,
 * or -AMP_EINVAL for bad arguments.
 */
int amp_vhost_init(struct amp_vhost *vh, int sock, const struct amp_vhost_options *opt);
/*
 * Read one request from the socket (blocking until it is complete), act on
 * it and answer. Returns 0; -AMP_ENODEV when the front end hung up;
 * -AMP_EBADMSG for a malformed request, -AMP_ENOTSUP for one we cannot
 * answer (the connection is then unusable: see vh->error).
 */
int amp_vhost_handle_request(struct amp_vhost *vh);
/*
 * Wait up to timeout_ms for the front end (request or doorbell), handle
 * what arrived, then drain the receive ring into the endpoints' callbacks.
 * Returns 0 (also on timeout), or the error that ended the connection
 * (-AMP_ENODEV for a clean hang-up). After the front end takes its rings
 * back (vh->stopped), the device is reset and requests are still answered.
 */
int amp_vhost_service(struct amp_vhost *vh, int32_t timeout_ms);
/* Unmap the front end's memory and close every descriptor. */
void amp_vhost_close(struct amp_vhost *vh);

/*
 * Listening socket at `path` (an old socket file there is replaced), or a
 * negative AMP_E* code; accept one front end within timeout_ms.
 */
int amp_vhost_listen(const char *path);
int amp_vhost_accept(int listen_fd, int32_t timeout_ms);

#endif /* AMP_VHOST_USER_H */
