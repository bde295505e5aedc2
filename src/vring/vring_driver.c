/*
 * Driver side of a split vring: the host adds buffers to the available
 * ring and takes them back from the used ring.
 */
#include "vring_internal.h"

int amp_vring_init_driver(struct amp_vring *vr, void *mem, uint32_t num, uint32_t align,
                          bool event_idx)
{
    int rc = vring_attach(vr, mem, num, align, event_idx);
    if (rc == 0)
        __builtin_memset(mem, 0, amp_vring_size(num, align));
    return rc;
}

int amp_vring_add_avail(struct amp_vring *vr, uint16_t id, uint64_t addr, uint32_t len,
                        uint16_t flags)
{
    if (id >= vr->num)
        return -AMP_ERANGE;
    struct amp_vring_desc *desc = &vr->desc[id];
    /*
     * Buffers go back to the same descriptor with the same address most of
     * the time; skipping identical stores keeps the line shared with the
     * peer instead of bouncing it between the cores.
     */
    if (desc->addr != amp_cpu_to_le64(addr))
        desc->addr = amp_cpu_to_le64(addr);
    if (desc->len != amp_cpu_to_le32(len))
        desc->len = amp_cpu_to_le32(len);
    if (desc->flags != amp_cpu_to_le16(flags))
        desc->flags = amp_cpu_to_le16(flags);
    vr->avail->ring[vr->next_idx & (vr->num - 1)] = amp_cpu_to_le16(id);
    vr->next_idx++;
    /* The descriptor and ring slot must be visible before the index that publishes them. */
    amp_wmb();
    AMP_WRITE_ONCE(vr->avail->idx, amp_cpu_to_le16(vr->next_idx));
    return 0;
}

int amp_vring_get_used(struct amp_vring *vr, uint16_t *id, uint32_t *len)
{
    if (vr->peer_idx == vr->last_seen) {
        /* Caught up: only now look at the line the device keeps writing. */
        uint16_t used_idx = amp_le16(AMP_READ_ONCE(vr->used->idx));
        uint16_t pending = (uint16_t)(used_idx - vr->last_seen);
        if (pending == 0)
            return -AMP_EAGAIN;
        if (pending > vr->num)
            return -AMP_EBADMSG;     /* the device cannot have used more than we gave */
        vr->peer_idx = used_idx;
        /* Read the entries only after seeing the index that published them. */
        amp_rmb();
    }
    const struct amp_vring_used_elem *elem = &vr->used->ring[vr->last_seen & (vr->num - 1)];
    uint32_t elem_id = amp_le32(AMP_READ_ONCE(elem->id));
    uint32_t elem_len = amp_le32(AMP_READ_ONCE(elem->len));
    if (elem_id >= vr->num)
        return -AMP_EBADMSG;
    vr->last_seen++;
    if (vr->event_idx && vr->cb_enabled) {
        AMP_WRITE_ONCE(*vring_used_event(vr), amp_cpu_to_le16(vr->last_seen));
        /* Before our next read of the index (as Linux's virtio_store_mb):
         * else the device may read the old event after we read the old
         * index, and neither side sees the other's entry: a lost wake-up. */
        amp_mb();
    }
    *id = (uint16_t)elem_id;
    *len = elem_len;
    return 0;
}

bool amp_vring_driver_needs_notify(struct amp_vring *vr)
{
    uint16_t old_idx = vr->notified_idx;
    uint16_t new_idx = vr->next_idx;
    vr->notified_idx = new_idx;
    /* Our avail index store must be ordered before reading the device's wishes. */
    amp_mb();
    if (vr->event_idx)
        return vring_need_event(amp_le16(AMP_READ_ONCE(*vring_avail_event(vr))), new_idx, old_idx);
    return !(amp_le16(AMP_READ_ONCE(vr->used->flags)) & AMP_VRING_USED_F_NO_NOTIFY);
}

bool amp_vring_driver_want_notify(struct amp_vring *vr, bool enable)
{
    vr->cb_enabled = enable;
    if (!enable) {
        /* With event index, an event just behind us is only reached again
         * after the index wraps, 65535 entries later: the device stays quiet. */
        if (vr->event_idx)
            AMP_WRITE_ONCE(*vring_used_event(vr), amp_cpu_to_le16((uint16_t)(vr->last_seen - 1)));
        else
            AMP_WRITE_ONCE(vr->avail->flags, amp_cpu_to_le16(AMP_VRING_AVAIL_F_NO_INTERRUPT));
        return false;
    }
    if (vr->event_idx)
        AMP_WRITE_ONCE(*vring_used_event(vr), amp_cpu_to_le16(vr->last_seen));
    else
        AMP_WRITE_ONCE(vr->avail->flags, amp_cpu_to_le16(0));
    /* Publish the request before re-checking, or an entry added meanwhile is missed. */
    amp_mb();
    return amp_le16(AMP_READ_ONCE(vr->used->idx)) != vr->last_seen;
}
