/*
 * Host-chosen layouts without a resource table (rpmsg-lite's model): the
 * firmware knows the addresses from its own configuration, so the board's
 * host set-up lays out exactly what the caller describes.
 */
#include <string.h>

#include "sim_internal.h"

static bool pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

/* [da, da + len) inside shared memory, without a sum that could wrap. */
static bool in_shared(uint64_t da, uint64_t len)
{
    return da >= AMP_SIM_SHARED_DA && da - AMP_SIM_SHARED_DA <= AMP_SIM_SHARED_SIZE &&
           len <= AMP_SIM_SHARED_SIZE - (da - AMP_SIM_SHARED_DA);
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

int amp_sim_layout_rpmsg_lite(struct amp_sim_layout *out, uint32_t shm_da, uint16_t num,
                              uint32_t align, uint32_t vring_span, uint32_t buf_size)
{
    if (!out || !pow2(num) || num > AMP_RPMSG_MAX_VRING_NUM || !pow2(align) || align < 4)
        return -AMP_EINVAL;
    uint32_t ring = (uint32_t)amp_vring_size(num, align);
    uint32_t span = vring_span ? vring_span : (ring + align - 1) & ~(align - 1);
    if (span < ring || (span & 3u))
        return -AMP_EINVAL;
    uint32_t size = buf_size ? buf_size : AMP_RPMSG_DEFAULT_BUF_SIZE;
    memset(out, 0, sizeof *out);
    out->addr_mode = AMP_ADDR_PHYS;
    out->shm_da = shm_da;
    out->vring_da[0] = shm_da;
    out->vring_da[1] = shm_da + span;
    out->vring_notifyid[0] = 0;
    out->vring_notifyid[1] = 1;
    out->vring_num = num;
    out->vring_align = align;
    out->pool_da = shm_da + 2 * span;
    out->buf_count = 2u * num;
    out->rx_buf_count = num;
    out->buf_size = size;
    out->shm_size = 2 * span + out->buf_count * size;
    out->features = 1u << AMP_VIRTIO_RPMSG_F_NS;
    return 0;
}

int amp_sim_set_layout(struct amp_sim_board *board, const struct amp_sim_layout *layout,
                       char *errmsg, size_t errlen)
{
    sim_errmsg(errmsg, errlen, "%s", "");
    if (!board)
        return -AMP_EINVAL;
    if (amp_rproc_state(&board->rproc) == AMP_RPROC_RUNNING) {
        sim_errmsg(errmsg, errlen, "board %s: cannot change the layout under a running core",
                   board->name);
        return -AMP_EBUSY;
    }
    if (!layout) {
        board->has_layout = false;
        return 0;
    }
    const struct amp_sim_layout *l = layout;
    uint32_t buf_size = l->buf_size ? l->buf_size : AMP_RPMSG_DEFAULT_BUF_SIZE;
    if (!pow2(l->vring_num) || l->vring_num > AMP_RPMSG_MAX_VRING_NUM || !pow2(l->vring_align) ||
        l->vring_align < 4 || buf_size <= sizeof(struct amp_rpmsg_hdr) || (buf_size & 3u) ||
        l->buf_count < 2 || l->rx_buf_count >= l->buf_count ||
        (l->addr_mode != AMP_ADDR_PHYS && l->addr_mode != AMP_ADDR_OFFSET)) {
        sim_errmsg(errmsg, errlen,
                   "board %s: layout: vring_num and vring_align must be powers of two "
                   "(num <= 256, align >= 4), buf_size a multiple of 4 above 16, "
                   "buf_count >= 2 and above rx_buf_count", board->name);
        return -AMP_EINVAL;
    }
    uint64_t ring = amp_vring_size(l->vring_num, l->vring_align);
    uint64_t pool = (uint64_t)l->buf_count * buf_size;
    const char *bad = NULL;
    if (!in_shared(l->shm_da, l->shm_size))
        bad = "the shm region";
    else if (!in_shared(l->vring_da[0], ring) || (l->vring_da[0] & (l->vring_align - 1)))
        bad = "vring 0";
    else if (!in_shared(l->vring_da[1], ring) || (l->vring_da[1] & (l->vring_align - 1)))
        bad = "vring 1";
    else if (l->pool_da < l->shm_da || pool > l->shm_size ||
             l->pool_da - l->shm_da > l->shm_size - pool || (l->pool_da & 3u))
        bad = "the buffer pool (inside the shm region, 4-byte aligned)";
    else if (overlap(l->vring_da[0], ring, l->vring_da[1], ring) ||
             overlap(l->vring_da[0], ring, l->pool_da, pool) ||
             overlap(l->vring_da[1], ring, l->pool_da, pool))
        bad = "the rings and the pool (they overlap)";
    else if (l->trace_len && !amp_mem_da_to_va(&board->map, l->trace_da, l->trace_len))
        bad = "the trace buffer (not in board memory)";
    if (bad) {
        sim_errmsg(errmsg, errlen, "board %s: layout: %s does not fit (shared memory is "
                   "0x%08x-0x%08x)", board->name, bad, AMP_SIM_SHARED_DA,
                   AMP_SIM_SHARED_DA + AMP_SIM_SHARED_SIZE - 1);
        return -AMP_ERANGE;
    }
    board->layout = *l;
    board->layout.buf_size = buf_size;
    board->has_layout = true;
    return 0;
}

void sim_layout_config(struct amp_sim_board *board, struct amp_rpmsg_config *cfg)
{
    const struct amp_sim_layout *l = &board->layout;
    uint8_t *shared = board->mem[SIM_SHARED];
    memset(cfg, 0, sizeof *cfg);
    cfg->role = AMP_RPMSG_HOST;
    cfg->addr_mode = l->addr_mode;
    cfg->shm = shared + (l->shm_da - AMP_SIM_SHARED_DA);
    cfg->shm_pa = l->shm_da;
    cfg->shm_size = l->shm_size;
    for (int i = 0; i < 2; i++) {
        cfg->vring[i] = shared + (l->vring_da[i] - AMP_SIM_SHARED_DA);
        cfg->vring_notifyid[i] = l->vring_notifyid[i];
    }
    cfg->vring_num = l->vring_num;
    cfg->vring_align = l->vring_align;
    cfg->buf_pool = shared + (l->pool_da - AMP_SIM_SHARED_DA);
    cfg->buf_count = l->buf_count;
    cfg->rx_buf_count = l->rx_buf_count;
    cfg->buf_size = l->buf_size;
    cfg->vdev = NULL;  /* no table: no status byte, the features are the layout's */
    cfg->features = l->features;
    cfg->platform = board->rpmsg_platform;
}
