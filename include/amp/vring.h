/*
 * amp/vring.h - split virtqueue (virtio 1.x "split ring") in shared memory,
 * both the driver side (the host, which owns the buffers) and the device
 * side (the remote, which consumes and returns them).
 *
 * Everything read from the ring is treated as hostile: indices are checked
 * against `num` and the used/avail index may never run ahead by more than
 * `num`. A violation returns -AMP_EBADMSG and leaves the local state as it
 * was.
 */
#ifndef AMP_VRING_H
#define AMP_VRING_H

#include "amp/platform.h"

/* ---- Wire layout (little-endian, packed by construction). ---- */
#define AMP_VRING_DESC_F_NEXT      1u
#define AMP_VRING_DESC_F_WRITE     2u
#define AMP_VRING_DESC_F_INDIRECT  4u
#define AMP_VRING_AVAIL_F_NO_INTERRUPT 1u
#define AMP_VRING_USED_F_NO_NOTIFY     1u
#define AMP_VIRTIO_F_EVENT_IDX     29u   /* feature bit */

struct amp_vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct amp_vring_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];     /* num entries, then u16 used_event */
};

struct amp_vring_used_elem {
    uint32_t id;
    uint32_t len;
};

struct amp_vring_used {
    uint16_t flags;
    uint16_t idx;
    struct amp_vring_used_elem ring[]; /* num entries, then u16 avail_event */
};

_Static_assert(sizeof(struct amp_vring_desc) == 16, "vring desc is 16 bytes");
_Static_assert(offsetof(struct amp_vring_desc, len) == 8, "desc.len at 8");
_Static_assert(offsetof(struct amp_vring_desc, flags) == 12, "desc.flags at 12");
_Static_assert(offsetof(struct amp_vring_desc, next) == 14, "desc.next at 14");
_Static_assert(sizeof(struct amp_vring_avail) == 4, "avail header is 4 bytes");
_Static_assert(sizeof(struct amp_vring_used_elem) == 8, "used elem is 8 bytes");
_Static_assert(offsetof(struct amp_vring_used, ring) == 4, "used ring at 4");

/* Bytes a ring of `num` entries with `align` occupies (reference.md §1). */
size_t amp_vring_size(uint32_t num, uint32_t align);

/*
 * Local view of one vring. The caller owns this struct; the ring itself
 * lives in shared memory. Shadow indices are kept here, never re-read from
 * shared memory, so the peer cannot rewind them.
 */
struct amp_vring {
    struct amp_vring_desc *desc;
    struct amp_vring_avail *avail;
    struct amp_vring_used *used;
    uint16_t num;
    uint16_t last_seen;   /* driver: next used idx to read; device: next avail idx */
    uint16_t next_idx;    /* driver: our avail idx; device: our used idx */
    uint16_t notified_idx; /* driver: next_idx when we last decided whether to notify;
                            * device: the used idx last published */
    uint16_t peer_idx;    /* the peer's index as last read: re-read only once we catch up */
    bool event_idx;       /* VIRTIO_F_EVENT_IDX negotiated */
    bool cb_enabled;      /* we asked the peer to notify us */
};

/*
 * Attach to a ring at `mem` (size amp_vring_size(num, align)); `num` must be
 * a power of two in 1..32768 and `align` a power of two >= 4.
 * Driver init also zeroes the ring; device attach leaves it untouched and
 * continues the used index from the value the driver left in the ring.
 */
int amp_vring_init_driver(struct amp_vring *vr, void *mem, uint32_t num, uint32_t align,
                          bool event_idx);
int amp_vring_init_device(struct amp_vring *vr, void *mem, uint32_t num, uint32_t align,
                          bool event_idx);

/* ---- Driver side (host). ---- */

/* Fill descriptor `id` and make it available to the device. */
int amp_vring_add_avail(struct amp_vring *vr, uint16_t id, uint64_t addr, uint32_t len,
                        uint16_t flags);
/*
 * Take the next used entry: 0 with *id and *len set, -AMP_EAGAIN if none,
 * -AMP_EBADMSG if the device wrote an impossible index or id.
 */
int amp_vring_get_used(struct amp_vring *vr, uint16_t *id, uint32_t *len);
/* True when the device asked to be told of the entries added since the last call. */
bool amp_vring_driver_needs_notify(struct amp_vring *vr);
/*
 * Ask (enable) or stop asking for a doorbell when the device adds used
 * entries. Enabling returns true if entries are already pending, so the
 * caller must not go to sleep.
 */
bool amp_vring_driver_want_notify(struct amp_vring *vr, bool enable);

/* ---- Device side (remote). ---- */

/*
 * Take the next available descriptor: its id (>= 0), -AMP_EAGAIN if none,
 * -AMP_EBADMSG for an impossible index. With event index, avail_event is
 * not moved here but only by amp_vring_device_want_notify(true), as Linux's
 * vhost does: a driver rings once per wait, not once per buffer.
 */
int amp_vring_get_avail(struct amp_vring *vr);
/*
 * Put back the id the last amp_vring_get_avail() took, unused: the next
 * call returns it again (read anew from the ring, and checked anew).
 */
static inline void amp_vring_unget_avail(struct amp_vring *vr)
{
    vr->last_seen--;
}
/*
 * Read descriptor `id` (< num) once. Chained and indirect descriptors are
 * not used by rpmsg and are refused with -AMP_EBADMSG. Inline: it is the
 * receive and send paths' every buffer.
 */
static inline int amp_vring_read_desc(const struct amp_vring *vr, uint16_t id, uint64_t *addr,
                                      uint32_t *len)
{
    if (id >= vr->num)
        return -AMP_EBADMSG;
    const struct amp_vring_desc *desc = &vr->desc[id];
    if (amp_le16(AMP_READ_ONCE(desc->flags)) & (AMP_VRING_DESC_F_NEXT | AMP_VRING_DESC_F_INDIRECT))
        return -AMP_EBADMSG;
    *addr = amp_le64(AMP_READ_ONCE(desc->addr));
    *len = amp_le32(AMP_READ_ONCE(desc->len));
    return 0;
}
/*
 * Return descriptor `id` to the driver, in two steps so that a batch costs
 * one publication: add_used writes the used entry (0, or -AMP_ERANGE for an
 * id >= num); the driver sees it once publish_used moves the used index
 * past it and every entry added before, and publish_used says whether the
 * driver asked for a doorbell for any of them (1 ring it, 0 not;
 * -AMP_EAGAIN with nothing to publish: no doorbell either way).
 *
 * used.len is the descriptor's whole length, as OpenAMP's device writes
 * it. OpenAMP's host (v2023.10 and current) takes the used.len of a
 * returned transmit buffer as that buffer's capacity and re-posts a
 * receive buffer with it as the new length; rpmsg-lite's master takes it
 * as the zero-copy capacity. Linux ignores it on its transmit ring and
 * needs it >= 16 + payload on receive. Writing only the bytes used would
 * shrink such a host's buffers to the last message each carried.
 */
int amp_vring_add_used(struct amp_vring *vr, uint16_t id);
int amp_vring_publish_used(struct amp_vring *vr);

/* Same as the driver's, for the driver adding available entries. */
bool amp_vring_device_want_notify(struct amp_vring *vr, bool enable);

#endif /* AMP_VRING_H */
