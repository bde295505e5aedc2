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

int vring_attach(struct amp_vring *vr, void *mem, uint32_t num, uint32_t align, bool event_idx);

#endif
