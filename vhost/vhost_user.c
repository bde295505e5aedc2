/*
 * vhost-user backend for one rpmsg virtio device, on the remote role.
 * Protocol: the vhost-user specification (QEMU docs/interop/vhost-user),
 * as User-mode Linux 6.1's virtio_uml speaks it: SET_OWNER, GET_FEATURES,
 * GET/SET_PROTOCOL_FEATURES, SET_SLAVE_REQ_FD, SET_FEATURES, SET_MEM_TABLE,
 * then per queue SET_VRING_CALL, NUM, BASE, ADDR, KICK, ENABLE.
 */
#include "vhost_user.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FEATURE_NS        (1ull << AMP_VIRTIO_RPMSG_F_NS)
#define FEATURE_EVENT_IDX (1ull << AMP_VIRTIO_F_EVENT_IDX)
#define FEATURE_PROTOCOL  (1ull << AMP_VHOST_F_PROTOCOL_FEATURES)
#define FEATURE_VERSION_1 (1ull << AMP_VHOST_F_VERSION_1)
#define PROTOCOL_OFFERED  ((1ull << AMP_VHOST_PROTOCOL_F_REPLY_ACK) | \
                           (1ull << AMP_VHOST_PROTOCOL_F_SLAVE_REQ))

struct request {
    struct amp_vhost_hdr hdr;
    union {
        uint64_t u64;
        struct amp_vhost_vring_state state;
        struct amp_vhost_vring_addr addr;
        struct amp_vhost_mem_table mem;
        uint8_t bytes[AMP_VHOST_MAX_PAYLOAD];
    } u;
    int fds[AMP_VHOST_MAX_REGIONS];
    unsigned nfds;
};

/* Record why the connection ends; returns err for `return fail(...)`. */
static int fail(struct amp_vhost *vh, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vh->error, sizeof(vh->error), fmt, ap);
    va_end(ap);
    return err;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void *gpa_to_va(const struct amp_vhost *vh, uint64_t gpa, uint64_t len);

/* ---- Platform ops for the remote role. ---- */

static uint32_t vh_time_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/*
 * break_used_len: rewrite the used entries of vring 0 published since the
 * last call to one byte less than the message they carry.
 */
static void break_used_lengths(struct amp_vhost *vh)
{
    struct amp_vring *vr = &vh->rpmsg.tx_vring;
    for (; vh->trimmed_idx != vr->next_idx; vh->trimmed_idx++) {
        struct amp_vring_used_elem *elem = &vr->used->ring[vh->trimmed_idx & (vr->num - 1)];
        uint64_t addr;
        uint32_t len;
        uint16_t id = (uint16_t)amp_le32(AMP_READ_ONCE(elem->id));
        if (amp_vring_read_desc(vr, id, &addr, &len))
            continue;
        const struct amp_rpmsg_hdr *hdr = gpa_to_va(vh, addr, sizeof(*hdr));
        if (!hdr)
            continue;
        uint32_t msg = (uint32_t)sizeof(*hdr) + amp_le16(AMP_READ_ONCE(hdr->len));
        AMP_WRITE_ONCE(elem->len, amp_cpu_to_le32(msg - 1));
    }
}

static void vh_notify(void *ctx, uint32_t queue)
{
    struct amp_vhost *vh = ctx;
    if (queue >= AMP_VHOST_QUEUES || vh->q[queue].call_fd < 0)
        return;
    if (queue == 0 && vh->opt.break_used_len)
        break_used_lengths(vh);
    uint64_t one = 1;
    /* A full pipe already holds a doorbell the front end has not read. */
    if (write(vh->q[queue].call_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
        vh->calls++;
}

static void drain_kick(struct amp_vhost *vh, unsigned queue)
{
    uint64_t count;
    if (read(vh->q[queue].kick_fd, &count, sizeof(count)) == (ssize_t)sizeof(count))
        vh->kicks += count;
}

/*
 * Sleep until the front end rings a doorbell or sends a request (handled
 * here, so a core call waiting for a buffer still answers it).
 */
static int wait_front_end(struct amp_vhost *vh, int32_t timeout_ms)
{
    struct pollfd pfd[1 + AMP_VHOST_QUEUES];
    nfds_t n = 0;
    pfd[n++] = (struct pollfd){ .fd = vh->sock, .events = POLLIN };
    for (unsigned i = 0; i < AMP_VHOST_QUEUES; i++)
        if (vh->q[i].kick_fd >= 0)
            pfd[n++] = (struct pollfd){ .fd = vh->q[i].kick_fd, .events = POLLIN };
    int rc = poll(pfd, n, timeout_ms < 0 ? -1 : timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : fail(vh, -AMP_EIO, "poll: %s", strerror(errno));
    if (rc == 0)
        return -AMP_ETIMEDOUT;
    for (unsigned i = 0, k = 1; i < AMP_VHOST_QUEUES; i++)
        if (vh->q[i].kick_fd >= 0 && (pfd[k++].revents & POLLIN))
            drain_kick(vh, i);
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        rc = amp_vhost_handle_request(vh);
        if (rc)
            return rc;
    }
    /* A core call waiting for a buffer ends here once the rings are gone. */
    return vh->stopped ? -AMP_ENODEV : 0;
}

static int vh_wait(void *ctx, int32_t timeout_ms)
{
    return wait_front_end(ctx, timeout_ms);
}

/* ---- Memory. ---- */

/* Local pointer for [uaddr, uaddr+len) in the front end's user addresses. */
static void *uaddr_to_va(const struct amp_vhost *vh, uint64_t uaddr, uint64_t len)
{
    for (uint32_t i = 0; i < vh->nregions; i++) {
        const struct amp_vhost_region *r = &vh->region[i];
        if (uaddr >= r->uaddr && uaddr - r->uaddr <= r->size && len <= r->size - (uaddr - r->uaddr))
            return r->base + (uaddr - r->uaddr);
    }
    return NULL;
}

static const struct amp_vhost_region *region_of(const struct amp_vhost *vh, const void *p)
{
    for (uint32_t i = 0; i < vh->nregions; i++) {
        const struct amp_vhost_region *r = &vh->region[i];
        if ((const uint8_t *)p >= r->base && (const uint8_t *)p < r->base + r->size)
            return r;
    }
    return NULL;
}

static void *gpa_to_va(const struct amp_vhost *vh, uint64_t gpa, uint64_t len)
{
    const uint8_t *shm = vh->cfg.shm;
    if (gpa < vh->cfg.shm_pa || gpa - vh->cfg.shm_pa > vh->cfg.shm_size ||
        len > vh->cfg.shm_size - (gpa - vh->cfg.shm_pa))
        return NULL;
    return (void *)(shm + (gpa - vh->cfg.shm_pa));
}

static void unmap_regions(struct amp_vhost *vh)
{
    for (uint32_t i = 0; i < vh->nregions; i++)
        munmap(vh->region[i].map, vh->region[i].map_len);
    vh->nregions = 0;
}

static int set_mem_table(struct amp_vhost *vh, const struct request *req)
{
    const size_t head = offsetof(struct amp_vhost_mem_table, region);
    if (req->hdr.size < head)
        return fail(vh, -AMP_EBADMSG, "SET_MEM_TABLE: %u-byte payload", req->hdr.size);
    uint32_t num = req->u.mem.num;
    if (num == 0 || num > AMP_VHOST_MAX_REGIONS ||
        req->hdr.size < head + num * sizeof(struct amp_vhost_mem_region))
        return fail(vh, -AMP_EBADMSG, "SET_MEM_TABLE: %u regions in %u bytes", num, req->hdr.size);
    if (req->nfds != num)
        return fail(vh, -AMP_EBADMSG, "SET_MEM_TABLE: %u regions but %u descriptors", num,
                    req->nfds);
    if (vh->live || vh->in_core)
        return fail(vh, -AMP_EBUSY, "SET_MEM_TABLE while the rings are live");
    unmap_regions(vh);
    for (uint32_t i = 0; i < num; i++) {
        struct amp_vhost_mem_region r = req->u.mem.region[i];
        if (r.size == 0 || r.size > SIZE_MAX / 4 || r.mmap_offset > SIZE_MAX / 4 ||
            r.user_addr + r.size < r.user_addr || r.guest_addr + r.size < r.guest_addr) {
            unmap_regions(vh);
            return fail(vh, -AMP_EBADMSG, "SET_MEM_TABLE: region %u (size 0x%llx, offset "
                        "0x%llx) out of range", i, (unsigned long long)r.size,
                        (unsigned long long)r.mmap_offset);
        }
        size_t len = (size_t)(r.mmap_offset + r.size);
        void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, req->fds[i], 0);
        if (map == MAP_FAILED) {
            int e = errno;
            unmap_regions(vh);
            return fail(vh, -AMP_EIO, "SET_MEM_TABLE: mmap of region %u (0x%zx bytes): %s", i,
                        len, strerror(e));
        }
        vh->region[vh->nregions++] = (struct amp_vhost_region){
            .gpa = r.guest_addr, .size = r.size, .uaddr = r.user_addr,
            .base = (uint8_t *)map + r.mmap_offset, .map = map, .map_len = len,
        };
    }
    return 0;
}

/* ---- Bringing the rpmsg device up over the rings. ---- */

/* The legacy split-ring alignment that puts the used ring at `used`. */
static uint32_t ring_align(uint64_t desc, uint64_t used, uint32_t num)
{
    uint64_t avail_end = desc + 16ull * num + 2ull * (3 + num);
    for (uint32_t align = 4; align <= 65536; align <<= 1)
        if (((avail_end + align - 1) & ~(uint64_t)(align - 1)) == used)
            return align;
    return 0;
}

static bool queue_complete(const struct amp_vhost *vh, const struct amp_vhost_queue *q)
{
    /* Without protocol features a ring starts enabled (vhost-user spec). */
    bool enabled = q->enabled || !(vh->features & FEATURE_PROTOCOL);
    return q->has_num && q->has_addr && q->kick_fd >= 0 && q->call_fd >= 0 && enabled;
}

/* Check the rings' layout, describe them to the remote role and attach. */
static int start_device(struct amp_vhost *vh)
{
    uint32_t num = vh->q[0].num;
    if (vh->q[1].num != num)
        return fail(vh, -AMP_EINVAL, "queues of %u and %u entries: the rpmsg core needs one size",
                    num, vh->q[1].num);
    uint32_t align = 0;
    void *ring[AMP_VHOST_QUEUES];
    for (unsigned i = 0; i < AMP_VHOST_QUEUES; i++) {
        const struct amp_vhost_vring_addr *a = &vh->q[i].addr;
        if (vh->q[i].base != 0)
            return fail(vh, -AMP_ENOTSUP, "queue %u starts at index %u; only 0 is supported", i,
                        vh->q[i].base);
        if (a->avail != a->desc + 16ull * num)
            return fail(vh, -AMP_EINVAL, "queue %u: avail ring not right after the descriptors", i);
        uint32_t al = ring_align(a->desc, a->used, num);
        if (!al || (align && al != align))
            return fail(vh, -AMP_EINVAL, "queue %u: used ring at 0x%llx fits no split-ring "
                        "alignment", i, (unsigned long long)a->used);
        align = al;
        ring[i] = uaddr_to_va(vh, a->desc, amp_vring_size(num, align));
        if (!ring[i] || ((uintptr_t)ring[i] & 15u))
            return fail(vh, -AMP_ERANGE, "queue %u: ring at 0x%llx is outside the memory table",
                        i, (unsigned long long)a->desc);
    }
    /* Descriptors hold guest-physical addresses inside the region of the rings. */
    const struct amp_vhost_region *r = region_of(vh, ring[0]);
    memset(vh->vdev_bytes, 0, sizeof(vh->vdev_bytes));
    vh->vdev.type = amp_cpu_to_le32(AMP_RSC_VDEV);
    vh->vdev.id = amp_cpu_to_le32(AMP_VIRTIO_ID_RPMSG);
    vh->vdev.dfeatures = amp_cpu_to_le32((uint32_t)vh->offered);
    vh->vdev.gfeatures = amp_cpu_to_le32((uint32_t)vh->features);
    vh->vdev.num_of_vrings = AMP_VHOST_QUEUES;
    vh->vdev.status = AMP_VIRTIO_STATUS_ACKNOWLEDGE | AMP_VIRTIO_STATUS_DRIVER |
                      AMP_VIRTIO_STATUS_FEATURES_OK | AMP_VIRTIO_STATUS_DRIVER_OK;
    vh->cfg = (struct amp_rpmsg_config){
        .role = AMP_RPMSG_REMOTE,
        .addr_mode = AMP_ADDR_PHYS,
        .shm = r->base,
        .shm_pa = r->gpa,
        .shm_size = (size_t)r->size,
        .vring = { ring[0], ring[1] },
        .vring_notifyid = { 0, 1 },
        .vring_num = (uint16_t)num,
        .vring_align = align,
        .vdev = &vh->vdev,
        .platform = &vh->platform,
    };
    vh->in_core = true;
    int rc = amp_rpmsg_init(&vh->rpmsg, &vh->cfg);
    vh->in_core = false;
    if (rc)
        return fail(vh, rc, "rpmsg init over the rings: %s", amp_strerror(rc));
    vh->trimmed_idx = vh->rpmsg.tx_vring.next_idx;
    vh->live = true;
    return 0;
}

/* ---- Requests. ---- */

/* dispatch() result for a request that was answered with its own reply. */
static int answered(int rc)
{
    return rc ? rc : 1;
}

static int send_reply(struct amp_vhost *vh, uint32_t request, const void *payload, uint32_t size)
{
    struct {
        struct amp_vhost_hdr hdr;
        uint8_t payload[sizeof(struct amp_vhost_vring_state) + sizeof(uint64_t)];
    } msg = { .hdr = { request, AMP_VHOST_VERSION | AMP_VHOST_FLAG_REPLY, size } };
    memcpy(msg.payload, payload, size);
    size_t len = sizeof(msg.hdr) + size;
    const uint8_t *p = (const uint8_t *)&msg;
    while (len) {
        ssize_t n = send(vh->sock, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(vh, -AMP_ENODEV, "reply to request %u: %s", request,
                        n < 0 ? strerror(errno) : "connection closed");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int reply_u64(struct amp_vhost *vh, uint32_t request, uint64_t v)
{
    return send_reply(vh, request, &v, sizeof(v));
}

/* Read exactly len bytes; the first read also collects descriptors. */
static int read_full(struct amp_vhost *vh, void *buf, size_t len, struct request *fds_to)
{
    uint8_t *p = buf;
    while (len) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int) * AMP_VHOST_MAX_REGIONS)];
        } control;
        struct iovec iov = { .iov_base = p, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fds_to) {
            mh.msg_control = control.buf;
            mh.msg_controllen = sizeof(control.buf);
        }
        ssize_t n = recvmsg(vh->sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(vh, -AMP_ENODEV, "read from the front end: %s", strerror(errno));
        if (n == 0)
            return -AMP_ENODEV;
        for (struct cmsghdr *c = fds_to ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            unsigned count = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            const int *in = (const int *)(void *)CMSG_DATA(c);
            for (unsigned i = 0; i < count; i++) {
                if (fds_to->nfds < AMP_VHOST_MAX_REGIONS)
                    fds_to->fds[fds_to->nfds++] = in[i];
                else
                    close(in[i]);
            }
        }
        if (mh.msg_flags & MSG_CTRUNC)
            return fail(vh, -AMP_EBADMSG, "request with more than %d descriptors",
                        AMP_VHOST_MAX_REGIONS);
        fds_to = NULL;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int queue_index(struct amp_vhost *vh, uint32_t index, uint32_t request)
{
    if (index >= AMP_VHOST_QUEUES)
        return fail(vh, -AMP_EBADMSG, "request %u for queue %u; rpmsg has 2", request, index);
    return (int)index;
}

static int need_size(struct amp_vhost *vh, const struct request *req, size_t size)
{
    if (req->hdr.size < size)
        return fail(vh, -AMP_EBADMSG, "request %u: %u-byte payload, needs %zu", req->hdr.request,
                    req->hdr.size, size);
    return 0;
}

/* Take the one descriptor a KICK/CALL/ERR request carries (or none, bit 8). */
static int vring_fd(struct amp_vhost *vh, struct request *req)
{
    int rc = need_size(vh, req, sizeof(uint64_t));
    if (rc)
        return rc;
    uint64_t v = req->u.u64;
    int qi = queue_index(vh, (uint32_t)(v & AMP_VHOST_VRING_INDEX_MASK), req->hdr.request);
    if (qi < 0)
        return qi;
    struct amp_vhost_queue *q = &vh->q[qi];
    int *slot = req->hdr.request == AMP_VHOST_SET_VRING_KICK ? &q->kick_fd :
                req->hdr.request == AMP_VHOST_SET_VRING_CALL ? &q->call_fd : &q->err_fd;
    if (v & AMP_VHOST_VRING_NOFD) {
        if (req->hdr.request != AMP_VHOST_SET_VRING_ERR)
            return fail(vh, -AMP_ENOTSUP, "request %u without a descriptor (polling mode) is "
                        "not supported", req->hdr.request);
        close_fd(slot);
        return 0;
    }
    if (req->nfds != 1)
        return fail(vh, -AMP_EBADMSG, "request %u with %u descriptors", req->hdr.request,
                    req->nfds);
    if (vh->live && req->hdr.request != AMP_VHOST_SET_VRING_ERR)
        return fail(vh, -AMP_EBUSY, "request %u while the rings are live", req->hdr.request);
    close_fd(slot);
    *slot = req->fds[0];
    req->nfds = 0;
    /* Neither doorbell may ever block us: a full call pipe already rings. */
    fcntl(*slot, F_SETFL, fcntl(*slot, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* The queue a vring_state or vring_addr payload names (index first in both), or an error. */
static int payload_queue(struct amp_vhost *vh, const struct request *req, size_t size)
{
    int rc = need_size(vh, req, size);
    return rc ? rc : queue_index(vh, req->u.state.index, req->hdr.request);
}

/* A request that changes a ring's layout while it is live is refused. */
static int ring_config(struct amp_vhost *vh, const struct request *req, struct amp_vhost_queue **q)
{
    size_t size = req->hdr.request == AMP_VHOST_SET_VRING_ADDR ?
                  sizeof(struct amp_vhost_vring_addr) : sizeof(struct amp_vhost_vring_state);
    int qi = payload_queue(vh, req, size);
    if (qi < 0)
        return qi;
    if (vh->live)
        return fail(vh, -AMP_EBUSY, "request %u while the rings are live", req->hdr.request);
    *q = &vh->q[qi];
    return 0;
}

/*
 * The front end takes its rings back (disable, GET_VRING_BASE, reset): we
 * stop touching them, but keep answering requests until it hangs up.
 */
static void stop_rings(struct amp_vhost *vh)
{
    if (vh->live)
        vh->stopped = true;
}

/*
 * Act on one request. Returns 1 if it answered (a GET), 0 if a REPLY_ACK
 * may follow, or a negative error; *refused says the error only refuses
 * this request (the front end can be told and carry on).
 */
static int dispatch(struct amp_vhost *vh, struct request *req, bool *refused)
{
    struct amp_vhost_queue *q;
    int rc;
    switch (req->hdr.request) {
    case AMP_VHOST_GET_FEATURES:
        return answered(reply_u64(vh, req->hdr.request, vh->offered));
    case AMP_VHOST_SET_FEATURES:
        if ((rc = need_size(vh, req, sizeof(uint64_t))) != 0)
            return rc;
        if (req->u.u64 & ~vh->offered) {
            *refused = true;
            return fail(vh, -AMP_EINVAL, "SET_FEATURES 0x%llx: not offered (0x%llx)",
                        (unsigned long long)req->u.u64, (unsigned long long)vh->offered);
        }
        if (vh->live)
            return fail(vh, -AMP_EBUSY, "SET_FEATURES while the rings are live");
        vh->features = req->u.u64;
        vh->features_set = true;
        return 0;
    case AMP_VHOST_SET_OWNER:
        vh->owner = true;
        return 0;
    case AMP_VHOST_RESET_OWNER:
        stop_rings(vh);
        return 0;
    case AMP_VHOST_SET_MEM_TABLE:
        return set_mem_table(vh, req);
    case AMP_VHOST_SET_VRING_NUM:
        if ((rc = ring_config(vh, req, &q)) != 0)
            return rc;
        if (req->u.state.num == 0 || req->u.state.num > AMP_RPMSG_MAX_VRING_NUM ||
            (req->u.state.num & (req->u.state.num - 1))) {
            *refused = true;
            return fail(vh, -AMP_EINVAL, "SET_VRING_NUM %u: a power of two up to %u needed",
                        req->u.state.num, AMP_RPMSG_MAX_VRING_NUM);
        }
        q->num = req->u.state.num;
        q->has_num = true;
        return 0;
    case AMP_VHOST_SET_VRING_BASE:
        if ((rc = ring_config(vh, req, &q)) != 0)
            return rc;
        q->base = req->u.state.num;
        return 0;
    case AMP_VHOST_SET_VRING_ADDR:
        if ((rc = ring_config(vh, req, &q)) != 0)
            return rc;
        q->addr = req->u.addr;
        q->has_addr = true;
        return 0;
    case AMP_VHOST_GET_VRING_BASE: {
        int qi = payload_queue(vh, req, sizeof(struct amp_vhost_vring_state));
        if (qi < 0)
            return qi;
        /* The ring stops: report the next available index we would read. */
        const struct amp_vring *vr = qi == 0 ? &vh->rpmsg.tx_vring : &vh->rpmsg.rx_vring;
        struct amp_vhost_vring_state st = { (uint32_t)qi,
                                            vh->live ? vr->last_seen : vh->q[qi].base };
        stop_rings(vh);
        return answered(send_reply(vh, req->hdr.request, &st, sizeof(st)));
    }
    case AMP_VHOST_SET_VRING_KICK:
    case AMP_VHOST_SET_VRING_CALL:
    case AMP_VHOST_SET_VRING_ERR:
        return vring_fd(vh, req);
    case AMP_VHOST_GET_PROTOCOL_FEATURES:
        return answered(reply_u64(vh, req->hdr.request, PROTOCOL_OFFERED));
    case AMP_VHOST_SET_PROTOCOL_FEATURES:
        if ((rc = need_size(vh, req, sizeof(uint64_t))) != 0)
            return rc;
        if (req->u.u64 & ~PROTOCOL_OFFERED) {
            *refused = true;
            return fail(vh, -AMP_EINVAL, "SET_PROTOCOL_FEATURES 0x%llx: not offered",
                        (unsigned long long)req->u.u64);
        }
        vh->protocol_features = req->u.u64;
        return 0;
    case AMP_VHOST_GET_QUEUE_NUM:
        return answered(reply_u64(vh, req->hdr.request, AMP_VHOST_QUEUES));
    case AMP_VHOST_SET_VRING_ENABLE: {
        int qi = payload_queue(vh, req, sizeof(struct amp_vhost_vring_state));
        if (qi < 0)
            return qi;
        vh->q[qi].enabled = req->u.state.num != 0;
        /* Disabling a live ring (shutdown) stops the device. */
        if (!vh->q[qi].enabled)
            stop_rings(vh);
        return 0;
    }
    case AMP_VHOST_SET_SLAVE_REQ_FD:
        if (req->nfds != 1)
            return fail(vh, -AMP_EBADMSG, "SET_SLAVE_REQ_FD with %u descriptors", req->nfds);
        close_fd(&vh->slave_fd);
        vh->slave_fd = req->fds[0];
        req->nfds = 0;
        return 0;
    default:
        /* The front end may wait for an answer we cannot give: hang up instead. */
        return fail(vh, -AMP_ENOTSUP, "unsupported request %u (%u-byte payload)",
                    req->hdr.request, req->hdr.size);
    }
}

int amp_vhost_handle_request(struct amp_vhost *vh)
{
    if (vh->hung_up)
        return -AMP_ENODEV;
    struct request req;
    memset(&req.hdr, 0, sizeof(req.hdr));
    req.nfds = 0;
    int rc = read_full(vh, &req.hdr, sizeof(req.hdr), &req);
    if (rc == 0 && (req.hdr.flags & AMP_VHOST_FLAG_VERSION_MASK) != AMP_VHOST_VERSION)
        rc = fail(vh, -AMP_EBADMSG, "request %u with version %u", req.hdr.request,
                  req.hdr.flags & AMP_VHOST_FLAG_VERSION_MASK);
    if (rc == 0 && req.hdr.size > sizeof(req.u))
        rc = fail(vh, -AMP_EBADMSG, "request %u with a %u-byte payload (at most %zu)",
                  req.hdr.request, req.hdr.size, sizeof(req.u));
    if (rc == 0) {
        memset(&req.u, 0, sizeof(req.u));
        rc = read_full(vh, &req.u, req.hdr.size, NULL);
    }
    bool refused = false;
    if (rc == 0) {
        vh->requests++;
        rc = dispatch(vh, &req, &refused);
        if (rc == 0 && !vh->live && !vh->stopped && vh->features_set && vh->nregions &&
            queue_complete(vh, &vh->q[0]) && queue_complete(vh, &vh->q[1])) {
            rc = start_device(vh);
            refused = rc != 0;
        }
        bool want_ack = rc <= 0 && (req.hdr.flags & AMP_VHOST_FLAG_NEED_REPLY) &&
                        (vh->protocol_features & (1ull << AMP_VHOST_PROTOCOL_F_REPLY_ACK));
        /*
         * A refused setting is answered with a failure status and the front
         * end decides (UML fails the probe); one it did not ask to hear
         * about ends the connection, so nothing runs on a wrong guess.
         */
        if (want_ack && (rc == 0 || refused))
            rc = reply_u64(vh, req.hdr.request, rc == 0 ? 0 : 1);
        else if (rc > 0)
            rc = 0;
    }
    for (unsigned i = 0; i < req.nfds; i++)
        close(req.fds[i]);
    if (rc)
        vh->hung_up = true;
    return rc;
}

int amp_vhost_init(struct amp_vhost *vh, int sock, const struct amp_vhost_options *opt)
{
    if (!vh || sock < 0)
        return -AMP_EINVAL;
    memset(vh, 0, sizeof(*vh));
    vh->sock = sock;
    vh->slave_fd = -1;
    for (unsigned i = 0; i < AMP_VHOST_QUEUES; i++)
        vh->q[i].kick_fd = vh->q[i].call_fd = vh->q[i].err_fd = -1;
    if (opt)
        vh->opt = *opt;
    vh->offered = FEATURE_NS | FEATURE_PROTOCOL | FEATURE_VERSION_1 |
                  (vh->opt.event_idx ? FEATURE_EVENT_IDX : 0);
    vh->ops = (struct amp_platform_ops){
        .notify = vh_notify,
        .wait = vh_wait,
        .time_ms = vh_time_ms,
    };
    vh->platform = (struct amp_platform){ .ops = &vh->ops, .ctx = vh };
    return 0;
}

int amp_vhost_service(struct amp_vhost *vh, int32_t timeout_ms)
{
    if (vh->hung_up)
        return -AMP_ENODEV;
    int rc = wait_front_end(vh, timeout_ms);
    if (rc == -AMP_ETIMEDOUT)
        rc = 0;
    while (rc == 0 && vh->live && !vh->stopped) {
        vh->in_core = true;
        int n = amp_rpmsg_poll(&vh->rpmsg);
        /* Asked to be rung again: anything that slipped in meanwhile is taken now. */
        bool more = n >= 0 && amp_rpmsg_arm(&vh->rpmsg);
        vh->in_core = false;
        if (vh->opt.break_used_len)
            break_used_lengths(vh);
        if (n < 0)
            rc = fail(vh, n, "receive ring: %s", amp_strerror(n));
        else if (n == 0 && !more)
            break;
    }
    if (vh->live && vh->stopped) {
        /* Out of every core call now: forget the rings. */
        amp_rpmsg_reset(&vh->rpmsg);
        vh->live = false;
    }
    return rc == -AMP_ENODEV && !vh->hung_up ? 0 : rc;
}

void amp_vhost_close(struct amp_vhost *vh)
{
    /* The rings may be gone on the front end's side: no announcements. */
    vh->live = false;
    unmap_regions(vh);
    for (unsigned i = 0; i < AMP_VHOST_QUEUES; i++) {
        close_fd(&vh->q[i].kick_fd);
        close_fd(&vh->q[i].call_fd);
        close_fd(&vh->q[i].err_fd);
    }
    close_fd(&vh->slave_fd);
    close_fd(&vh->sock);
}

int amp_vhost_listen(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!path || strlen(path) >= sizeof(sa.sun_path))
        return -AMP_EINVAL;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -AMP_EIO;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
        close(fd);
        return -AMP_EIO;
    }
    return fd;
}

int amp_vhost_accept(int listen_fd, int32_t timeout_ms)
{
    struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
    int rc;
    do
        rc = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return -AMP_ETIMEDOUT;
    if (rc < 0)
        return -AMP_EIO;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    return fd < 0 ? -AMP_EIO : fd;
}
