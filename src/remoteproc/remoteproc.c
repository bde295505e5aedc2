/*
 * remoteproc.c - the remote core's life cycle:
 *
 *   OFFLINE --load/set_entry--> LOADED --start--> RUNNING --stop--> STOPPED
 *                                                    |                 |
 *                                            (core dies) CRASHED --start--+
 *
 * Every start rebuilds the host's view from scratch (resource table, vrings,
 * buffers, rpmsg device), so a core can be started again after a stop or a
 * crash. A start that fails part-way leaves the state as it was.
 */
#include "amp/remoteproc.h"

/* AMP_RPROC_FW_VDEV=0: the board's own table only (MicroPython's model, as
 * upstream's module on the STM32H747): a firmware's .resource_table, if
 * the loader reports one, is not used (neither its vdev nor its trace). */
#ifndef AMP_RPROC_FW_VDEV
#define AMP_RPROC_FW_VDEV 1
#endif

/* Buffers start on their own cache line, apart from the vring tails. */
#define RPROC_POOL_ALIGN 64u
#define RPROC_VRING_NUM_MAX 32768u

static const char *const state_text[] = {
    [AMP_RPROC_OFFLINE] = "offline",
    [AMP_RPROC_LOADED] = "loaded",
    [AMP_RPROC_RUNNING] = "running",
    [AMP_RPROC_STOPPED] = "stopped",
    [AMP_RPROC_CRASHED] = "crashed",
};

const char *amp_rproc_state_str(enum amp_rproc_state state)
{
    if ((unsigned)state >= sizeof(state_text) / sizeof(state_text[0]))
        return "unknown";
    return state_text[state];
}

#if AMP_RPROC_FW_VDEV
static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/* [off, off+len) inside `size` bytes, without a sum that could wrap. */
static bool range_in(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a <= b ? b - a < alen : a - b < blen;
}
#endif

static void forget_image(struct amp_rproc *rp)
{
    rp->entry = 0;
    rp->rsc = (struct amp_rsc_table){ 0 };
    rp->has_rsc = false;
    rp->trace = NULL;
    rp->trace_len = 0;
}

static void rpmsg_down(struct amp_rproc *rp)
{
    if (rp->rpmsg)
        amp_rpmsg_reset(rp->rpmsg);
}

/*
 * Notice a core that is no longer running on its own: CRASHED if the board
 * says it died, STOPPED for any other answer (it halted or exited). Either
 * way its rings can no longer be trusted.
 */
static void poll_board(struct amp_rproc *rp)
{
    if (rp->state != AMP_RPROC_RUNNING || !rp->ops->state)
        return;
    enum amp_rproc_state board_state = rp->ops->state(rp->ctx);
    if (board_state == AMP_RPROC_RUNNING)
        return;
    rp->state = board_state == AMP_RPROC_CRASHED ? AMP_RPROC_CRASHED : AMP_RPROC_STOPPED;
    rpmsg_down(rp);
}

void amp_rproc_init(struct amp_rproc *rp, const struct amp_rproc_board_ops *ops, void *ctx,
                    const struct amp_mem_map *map, const struct amp_platform *platform,
                    struct amp_rpmsg_device *rpmsg)
{
    if (!rp)
        return;
    __builtin_memset(rp, 0, sizeof(*rp));
    rp->ops = ops;
    rp->ctx = ctx;
    rp->platform = platform;
    rp->rpmsg = rpmsg;
    rp->state = AMP_RPROC_OFFLINE;
    if (map && map->regions) {
        rp->map = *map;
        for (unsigned i = 0; i < map->count; i++) {
            if (map->regions[i].flags & AMP_MEM_SHARED) {
                rp->shared = &map->regions[i];
                break;
            }
        }
    }
}

int amp_rproc_load(struct amp_rproc *rp, const void *image, size_t size, uint16_t machine,
                   struct amp_elf_error *err)
{
    struct amp_elf_info info;

    if (!rp || !rp->ops)
        return -AMP_EINVAL;
    poll_board(rp);
    if (rp->state == AMP_RPROC_RUNNING)
        return -AMP_EBUSY;

    int ret = amp_elf_load(image, size, &rp->map, machine, &info, err);
    if (ret < 0)
        return ret;  /* nothing was written: the previous image and state stand */

    forget_image(rp);
    rp->entry = info.entry;
    if (AMP_RPROC_FW_VDEV && info.rsc_size) {
        /* The loader validated these very bytes; this only fills rp->rsc. */
        ret = amp_rsc_parse(&rp->rsc, info.rsc_va, (size_t)info.rsc_size);
        if (ret < 0) {
            rp->state = AMP_RPROC_OFFLINE;
            if (err) {
                err->problem = AMP_ELF_BAD_RSC_TABLE;
                err->segment = -1;
                err->addr = info.rsc_da;
                err->size = info.rsc_size;
            }
            return -AMP_EBADMSG;
        }
        rp->has_rsc = true;
    }
    rp->state = AMP_RPROC_LOADED;
    return 0;
}

int amp_rproc_set_entry(struct amp_rproc *rp, uint64_t entry)
{
    if (!rp || !rp->ops)
        return -AMP_EINVAL;
    poll_board(rp);
    if (rp->state == AMP_RPROC_RUNNING)
        return -AMP_EBUSY;
    const struct amp_mem_region *region = amp_mem_find(&rp->map, entry, 1);
    if (!region || !(region->flags & AMP_MEM_EXEC))
        return -AMP_ERANGE;
    forget_image(rp);
    rp->entry = entry;
    rp->state = AMP_RPROC_LOADED;
    return 0;
}

#if AMP_RPROC_FW_VDEV
/* The trace buffer the firmware's table names, if this side can reach it. */
static void find_trace(struct amp_rproc *rp)
{
    uint32_t index = 0;
    struct amp_rsc_trace *trace = amp_rsc_find(&rp->rsc, AMP_RSC_TRACE, &index);

    rp->trace = NULL;
    rp->trace_len = 0;
    if (!trace)
        return;
    /* A trace buffer we cannot reach only costs the log: not a reason to fail. */
    uint32_t len = amp_le32(trace->len);
    void *va = amp_mem_da_to_va(&rp->map, amp_le32(trace->da), len);
    if (va && len) {
        rp->trace = va;
        rp->trace_len = len;
    }
}

struct vring_place {
    uint64_t da;
    void *va;
    bool allocated;   /* chosen by us: write da back into the table */
};

/*
 * Linux model: place the vdev's vrings and the buffer pool, then (only once
 * everything fits) write the chosen addresses back and describe it all in
 * *cfg.
 */
static int plan_vdev(struct amp_rproc *rp, struct amp_rsc_vdev *vdev,
                     struct amp_rpmsg_config *cfg)
{
    const struct amp_mem_region *shm = rp->shared;
    struct vring_place place[2] = { { 0 } };

    /* The table lies in the remote's memory: decide on one copy of it. */
    if (AMP_READ_ONCE(vdev->num_of_vrings) != 2)
        return -AMP_EBADMSG;
    struct amp_rsc_vdev_vring vring[2];
    __builtin_memcpy(vring, (const void *)vdev->vring, sizeof(vring));
    uint32_t num = amp_le32(vring[0].num);
    uint32_t align = amp_le32(vring[0].align);
    if (num != amp_le32(vring[1].num) || align != amp_le32(vring[1].align) ||
        !is_pow2(num) || num > RPROC_VRING_NUM_MAX || !is_pow2(align) || align < 4)
        return -AMP_EBADMSG;
    uint64_t vring_size = amp_vring_size(num, align);
    if (vring_size == 0)
        return -AMP_EBADMSG;
    /* Buffers always live in the shared region, whatever the vrings do. */
    if (!shm || !shm->va || (uint64_t)(size_t)shm->size != shm->size)
        return -AMP_ENOSPC;

    /* Fixed vrings first: free space in shm starts after any that sit there. */
    uint64_t cursor = 0;
    for (unsigned i = 0; i < 2; i++) {
        uint32_t da = amp_le32(vring[i].da);
        if (da == AMP_RSC_ADDR_ANY)
            continue;
        place[i].da = da;
        place[i].va = amp_mem_da_to_va(&rp->map, da, vring_size);
        if (!place[i].va || (da & (align - 1)) != 0)
            return -AMP_ERANGE;
        if (amp_mem_find(&rp->map, da, vring_size) == shm && da - shm->da + vring_size > cursor)
            cursor = da - shm->da + vring_size;
    }
    for (unsigned i = 0; i < 2; i++) {
        if (amp_le32(vring[i].da) != AMP_RSC_ADDR_ANY)
            continue;
        uint64_t pad = (align - ((shm->da + cursor) & (align - 1))) & (align - 1);
        if (!range_in(cursor, pad, shm->size) || !range_in(cursor + pad, vring_size, shm->size))
            return -AMP_ENOSPC;
        uint64_t off = cursor + pad;
        uint64_t da = shm->da + off;
        /* The table holds 32-bit addresses, and ANY may not be one of them. */
        if (da > AMP_RSC_ADDR_ANY - 1 || vring_size > AMP_RSC_ADDR_ANY - da)
            return -AMP_ERANGE;
        place[i] = (struct vring_place){ da, (uint8_t *)shm->va + (size_t)off, true };
        cursor = off + vring_size;
    }
    if (ranges_overlap(place[0].da, vring_size, place[1].da, vring_size))
        return -AMP_EBADMSG;

    uint32_t buf_size = rp->buf_size ? rp->buf_size : AMP_RPMSG_DEFAULT_BUF_SIZE;
    if (buf_size <= sizeof(struct amp_rpmsg_hdr))
        return -AMP_EINVAL;
    uint64_t pad = (RPROC_POOL_ALIGN - ((shm->da + cursor) & (RPROC_POOL_ALIGN - 1))) &
                   (RPROC_POOL_ALIGN - 1);
    if (!range_in(cursor, pad, shm->size))
        return -AMP_ENOSPC;
    uint64_t pool_off = cursor + pad;
    /* shm->size fits a size_t (checked above): no 64-bit division on 32-bit cores. */
    size_t buf_count = (size_t)(shm->size - pool_off) / buf_size;
    if (buf_count > 2 * (size_t)num)
        buf_count = 2 * (size_t)num;
    if (buf_count < 2)  /* at least one each way */
        return -AMP_ENOSPC;

    /* Everything fits: now, and only now, touch the table. */
    for (unsigned i = 0; i < 2; i++) {
        if (place[i].allocated) {
            vdev->vring[i].da = amp_cpu_to_le32((uint32_t)place[i].da);
            vdev->vring[i].pa = amp_cpu_to_le32((uint32_t)place[i].da);
        }
    }
    /* A fresh device: the remote must wait for the host's DRIVER_OK again. */
    vdev->status = 0;
    vdev->gfeatures = 0;
    if (rp->platform)
        amp_cache_flush(rp->platform, rp->rsc.hdr, rp->rsc.size);

    cfg->addr_mode = AMP_ADDR_PHYS;
    cfg->shm = shm->va;
    cfg->shm_pa = shm->da;
    cfg->shm_size = (size_t)shm->size;
    for (unsigned i = 0; i < 2; i++) {
        cfg->vring[i] = place[i].va;
        cfg->vring_notifyid[i] = amp_le32(vring[i].notifyid);
    }
    cfg->vring_num = (uint16_t)num;
    cfg->vring_align = align;
    cfg->buf_pool = (uint8_t *)shm->va + (size_t)pool_off;
    cfg->buf_count = (uint32_t)buf_count;
    cfg->rx_buf_count = 0;  /* split evenly */
    cfg->buf_size = buf_size;
    cfg->vdev = vdev;
    /* What this stack implements; the host init keeps what the firmware offers. */
    cfg->features = (1u << AMP_VIRTIO_RPMSG_F_NS) | (1u << AMP_VIRTIO_F_EVENT_IDX);
    return 0;
}

/* Linux model: the firmware's own table. *have_cfg: it has an rpmsg vdev. */
static int prepare_embedded(struct amp_rproc *rp, struct amp_rpmsg_config *cfg, bool *have_cfg)
{
    /* The last run could write its table: check it again before trusting it. */
    if (amp_rsc_parse(&rp->rsc, rp->rsc.hdr, rp->rsc.size) < 0)
        return -AMP_EBADMSG;
    find_trace(rp);
    struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(&rp->rsc);
    *have_cfg = vdev != NULL;
    return vdev ? plan_vdev(rp, vdev, cfg) : 0;
}
#endif

/* MicroPython model: the board writes its table at its fixed address. */
static int prepare_host_table(struct amp_rproc *rp, struct amp_rpmsg_config *cfg,
                              bool *have_cfg)
{
    rp->trace = NULL;  /* the board's table names the trace; the board reads it */
    rp->trace_len = 0;
    *have_cfg = false;
    if (!rp->ops->host_table)
        return 0;
    int ret = rp->ops->host_table(rp->ctx, cfg);
    if (ret < 0)
        return ret;
    *have_cfg = true;
    return 0;
}

int amp_rproc_start(struct amp_rproc *rp)
{
    struct amp_rpmsg_config cfg;
    bool have_cfg;
    int ret;

    if (!rp || !rp->ops || !rp->ops->start)
        return -AMP_EINVAL;
    poll_board(rp);
    if (rp->state == AMP_RPROC_RUNNING)
        return -AMP_EBUSY;
    if (rp->state == AMP_RPROC_OFFLINE)
        return -AMP_EINVAL;  /* nothing to boot: load or set_entry first */

    if (rp->external_host) {
        /* Whoever drives rpmsg set shared memory up (MicroPython's order) or
         * will: touch nothing of it. The trace is only read. */
        rp->trace = NULL;
        rp->trace_len = 0;
#if AMP_RPROC_FW_VDEV
        if (rp->has_rsc && amp_rsc_parse(&rp->rsc, rp->rsc.hdr, rp->rsc.size) == 0)
            find_trace(rp);
#endif
        ret = rp->ops->start(rp->ctx, rp->entry);
        if (ret < 0)
            return ret;
        rp->state = AMP_RPROC_RUNNING;
        return 0;
    }

    __builtin_memset(&cfg, 0, sizeof(cfg));
    cfg.role = AMP_RPMSG_HOST;
    cfg.platform = rp->platform;
#if AMP_RPROC_FW_VDEV
    ret = rp->has_rsc ? prepare_embedded(rp, &cfg, &have_cfg)
                      : prepare_host_table(rp, &cfg, &have_cfg);
#else
    ret = prepare_host_table(rp, &cfg, &have_cfg);
#endif
    if (ret < 0)
        return ret;

    /* Set the rings up before the core runs: it may look at them at once. */
    if (rp->rpmsg) {
        amp_rpmsg_reset(rp->rpmsg);
        if (have_cfg) {
            ret = amp_rpmsg_init(rp->rpmsg, &cfg);
            if (ret < 0)
                return ret;
        }
    }
    ret = rp->ops->start(rp->ctx, rp->entry);
    if (ret < 0) {
        rpmsg_down(rp);
        return ret;
    }
    rp->state = AMP_RPROC_RUNNING;
    return 0;
}

int amp_rproc_stop(struct amp_rproc *rp)
{
    if (!rp || !rp->ops)
        return -AMP_EINVAL;
    poll_board(rp);
    if (rp->state != AMP_RPROC_RUNNING && rp->state != AMP_RPROC_CRASHED)
        return 0;
    if (rp->ops->stop) {
        int ret = rp->ops->stop(rp->ctx);
        if (ret < 0)
            return ret;  /* the core may still run: keep its rings */
    }
    rpmsg_down(rp);
    rp->state = AMP_RPROC_STOPPED;
    return 0;
}

int amp_rproc_shutdown(struct amp_rproc *rp)
{
    int ret = amp_rproc_stop(rp);
    if (ret < 0)
        return ret;
    forget_image(rp);
    rp->state = AMP_RPROC_OFFLINE;
    return 0;
}

enum amp_rproc_state amp_rproc_state(struct amp_rproc *rp)
{
    if (!rp || !rp->ops)
        return AMP_RPROC_OFFLINE;
    poll_board(rp);
    return rp->state;
}
