/* Helpers shared by the driver and device halves of the vring layer. */
#ifndef AMP_VRING_INTERNAL_H
#define AMP_VRING_INTERNAL_H

#include "amp/vring.h"

/* used_event lives just after the avail ring, avail_event after the used ring. */
static inline uint16_t *vring_used_event(const struct amp_vring *vr)
{
    return &vr->avail->ring[vr->num];
}

static inline uint16_t *vring_avail_event(const struct amp_vring *vr)
{
    return (uint16_t *)(void *)&vr->used->ring[vr->num];
}

/*
 * Has the index moved past `event` in the step old -> new? (virtio spec
 * 2.7.10: notify iff new - event - 1 < new - old, all mod 2^16.)
 */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

static inline bool vring_is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

/* The used ring starts at the first `align` boundary after the available ring. */
static inline size_t vring_used_offset(uint32_t num, uint32_t align)
{
    size_t avail_end = 16u * num + 2u * (3u + num);
    return (avail_end + align - 1) & ~(size_t)(align - 1);
}

/* Point vr at the ring in mem, shadow indices at 0 (either side's init; one per image). */
__attribute__((always_inline))
static inline int vring_attach(struct amp_vring *vr, void *mem, uint32_t num, uint32_t align,
                               bool event_idx)
{
    /* The used ring holds u32 fields: an unaligned base would fault on Cortex-M. */
    if (!vr || !mem || ((uintptr_t)mem & 3u) || !vring_is_pow2(num) || num > 32768u ||
        !vring_is_pow2(align) || align < 4)
        return -AMP_EINVAL;
    uint8_t *base = mem;
    vr->desc = mem;
    vr->avail = (struct amp_vring_avail *)(void *)(base + 16u * num);
    vr->used = (struct amp_vring_used *)(void *)(base + vring_used_offset(num, align));
    vr->num = (uint16_t)num;  /* 32768 fits; the ring slot is idx & (num - 1) */
    vr->last_seen = vr->next_idx = vr->notified_idx = vr->peer_idx = 0;
    vr->event_idx = event_idx;
    vr->cb_enabled = true;
    return 0;
}

#endif
