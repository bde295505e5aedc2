/*
 * Device side of a split vring: the remote takes buffers from the available
 * ring and returns them on the used ring.
 */
#include "vring_internal.h"

int amp_vring_init_device(struct amp_vring *vr, void *mem, uint32_t num, uint32_t align,
                          bool event_idx)
{
    int rc = vring_attach(vr, mem, num, align, event_idx);
    if (rc)
        return rc;
    /*
     * Continue the used index from where the driver left it. Linux, OpenAMP
     * and our host zero it, but rpmsg-lite's master pre-fills the used side
     * of its transmit ring with every buffer, so it starts at num. Any value
     * is safe: it is only ever counted onwards, never used as a slot unmasked.
     * Available entries are read from 0: a driver posts before DRIVER_OK.
     */
    vr->next_idx = vr->notified_idx = amp_le16(AMP_READ_ONCE(vr->used->idx));
    return 0;
}

int amp_vring_get_avail(struct amp_vring *vr)
{
    if (vr->peer_idx == vr->last_seen) {
        /* Caught up: only now look at the line the driver keeps writing. */
        uint16_t avail_idx = amp_le16(AMP_READ_ONCE(vr->avail->idx));
        uint16_t pending = (uint16_t)(avail_idx - vr->last_seen);
        if (pending == 0)
            return -AMP_EAGAIN;
        if (pending > vr->num)
            return -AMP_EBADMSG;     /* more available than the ring can hold */
        vr->peer_idx = avail_idx;
        /* Read the slots only after seeing the index that published them. */
        amp_rmb();
    }
    uint16_t head = amp_le16(AMP_READ_ONCE(vr->avail->ring[vr->last_seen & (vr->num - 1)]));
    if (head >= vr->num)
        return -AMP_EBADMSG;
    /*
     * With event index, avail_event is moved only when notification is
     * (re-)enabled, not for every buffer taken (as Linux's vhost does; the
     * spec allows either): the driver then rings once per wait, and a
     * waiter always re-enables, which re-checks the ring, before sleeping.
     */
    vr->last_seen++;
    return head;
}

int amp_vring_add_used(struct amp_vring *vr, uint16_t id)
{
    if (id >= vr->num)
        return -AMP_ERANGE;
    struct amp_vring_used_elem *elem = &vr->used->ring[vr->next_idx & (vr->num - 1)];
    elem->id = amp_cpu_to_le32(id);
    /* Only echoed to the driver, never used here: no check needed. */
    elem->len = amp_cpu_to_le32(amp_le32(AMP_READ_ONCE(vr->desc[id].len)));
    vr->next_idx++;
    return 0;
}

int amp_vring_publish_used(struct amp_vring *vr)
{
    uint16_t old_idx = vr->notified_idx, new_idx = vr->next_idx;
    if (old_idx == new_idx)
        return -AMP_EAGAIN;
    vr->notified_idx = new_idx;
    /* The entries must be visible before the index that publishes them. */
    amp_wmb();
    AMP_WRITE_ONCE(vr->used->idx, amp_cpu_to_le16(new_idx));
    /* Our used index store must be ordered before reading the driver's wishes. */
    amp_mb();
    /* With event index, the whole step old_idx -> new_idx is decided on at once. */
    if (vr->event_idx)
        return vring_need_event(amp_le16(AMP_READ_ONCE(*vring_used_event(vr))), new_idx, old_idx);
    return !(amp_le16(AMP_READ_ONCE(vr->avail->flags)) & AMP_VRING_AVAIL_F_NO_INTERRUPT);
}


bool amp_vring_device_want_notify(struct amp_vring *vr, bool enable)
{
    vr->cb_enabled = enable;
    /* Off, as on the driver side: an event just behind us silences the driver. */
    if (vr->event_idx)
        AMP_WRITE_ONCE(*vring_avail_event(vr), amp_cpu_to_le16((uint16_t)(vr->last_seen - !enable)));
    else
        AMP_WRITE_ONCE(vr->used->flags, amp_cpu_to_le16(enable ? 0 : AMP_VRING_USED_F_NO_NOTIFY));
    if (!enable)
        return false;
    /* Publish the request before re-checking, or a buffer added meanwhile is missed. */
    amp_mb();
    return amp_le16(AMP_READ_ONCE(vr->avail->idx)) != vr->last_seen;
}
