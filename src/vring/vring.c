/* vring layout, common to both sides. */
#include "vring_internal.h"

static bool is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

/* The used ring starts at the first `align` boundary after the available ring. */
static size_t used_offset(uint32_t num, uint32_t align)
{
    size_t avail_end = 16u * num + 2u * (3u + num);
    return (avail_end + align - 1) & ~(size_t)(align - 1);
}

size_t amp_vring_size(uint32_t num, uint32_t align)
{
    return used_offset(num, align) + 6u + 8u * num;
}

int vring_attach(struct amp_vring *vr, void *mem, uint32_t num, uint32_t align, bool event_idx)
{
    /* The used ring holds u32 fields: an unaligned base would fault on Cortex-M. */
    if (!vr || !mem || ((uintptr_t)mem & 3u) || !is_pow2(num) || num > 32768u ||
        !is_pow2(align) || align < 4)
        return -AMP_EINVAL;
    uint8_t *base = mem;
    vr->desc = mem;
    vr->avail = (struct amp_vring_avail *)(void *)(base + 16u * num);
    vr->used = (struct amp_vring_used *)(void *)(base + used_offset(num, align));
    vr->num = (uint16_t)num;  /* 32768 fits; the ring slot is idx & (num - 1) */
    vr->last_seen = vr->next_idx = vr->notified_idx = vr->peer_idx = 0;
    vr->event_idx = event_idx;
    vr->cb_enabled = true;
    return 0;
}
