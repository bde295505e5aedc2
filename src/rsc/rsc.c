/*
 * rsc.c - the remoteproc resource table: validate one that came from a file
 * or from memory the peer can write, look its entries up, and build the
 * host-side table of MicroPython's model.
 *
 * Validation reads through byte loads, never through struct pointers, so it
 * works on a table at any alignment (inside a file image, say) and every
 * offset is checked before the bytes it names are read.
 */
#include "amp/rsc.h"

#define RSC_VERSION 1u
/* Largest vring a split virtqueue allows (virtio 1.x). */
#define RSC_VRING_NUM_MAX 32768u

static uint32_t load_le32(const uint8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return amp_le32(v);
}

/* Byte `off` of `base` as a void pointer: no cast-align games on strict targets. */
static void *at(void *base, size_t off)
{
    return (uint8_t *)base + off;
}

/* Bytes of an entry of `type` that precede its variable part. */
static size_t fixed_size(uint32_t type)
{
    switch (type) {
    case AMP_RSC_CARVEOUT:
    case AMP_RSC_DEVMEM:
        return sizeof(struct amp_rsc_carveout);
    case AMP_RSC_TRACE:
        return sizeof(struct amp_rsc_trace);
    case AMP_RSC_VDEV:
        return sizeof(struct amp_rsc_vdev);
    default:
        /* Vendor (128..511) and unknown types: only the type word is ours to read. */
        return sizeof(uint32_t);
    }
}

/*
 * Does the entry at `off` lie wholly inside the table? `first` is where the
 * offset array ends: entries may not overlay the header. The type is read
 * once and handed back, so a peer rewriting it cannot change what was checked.
 */
static int check_entry(const uint8_t *base, size_t size, size_t first, uint32_t off,
                       uint32_t *type_out)
{
    if (off < first || off > size || (off & 3u) != 0)
        return -AMP_EBADMSG;
    size_t room = size - off;
    if (room < sizeof(uint32_t))
        return -AMP_EBADMSG;
    const uint8_t *entry = base + off;
    uint32_t type = load_le32(entry);
    size_t need = fixed_size(type);
    if (room < need)
        return -AMP_EBADMSG;
    if (type == AMP_RSC_VDEV) {
        /* At most 255 vrings of 20 bytes: this cannot overflow. */
        need += (size_t)entry[offsetof(struct amp_rsc_vdev, num_of_vrings)] *
                sizeof(struct amp_rsc_vdev_vring);
        uint32_t config_len = load_le32(entry + offsetof(struct amp_rsc_vdev, config_len));
        if (room < need || config_len > room - need)
            return -AMP_EBADMSG;
    }
    *type_out = type;
    return 0;
}

/* Where the offset array ends, for a table of `num` entries already checked to fit. */
static size_t header_end(uint32_t num)
{
    return sizeof(struct amp_rsc_hdr) + (size_t)num * sizeof(uint32_t);
}

int amp_rsc_check(const void *mem, size_t size)
{
    const uint8_t *base = mem;

    if (!base)
        return -AMP_EINVAL;
    if (size < sizeof(struct amp_rsc_hdr))
        return -AMP_EBADMSG;
    if (load_le32(base + offsetof(struct amp_rsc_hdr, ver)) != RSC_VERSION ||
        load_le32(base + offsetof(struct amp_rsc_hdr, reserved)) != 0 ||
        load_le32(base + offsetof(struct amp_rsc_hdr, reserved) + 4) != 0)
        return -AMP_EBADMSG;

    uint32_t num = load_le32(base + offsetof(struct amp_rsc_hdr, num));
    if (num > (size - sizeof(struct amp_rsc_hdr)) / sizeof(uint32_t))
        return -AMP_EBADMSG;

    size_t first = header_end(num);
    for (uint32_t i = 0; i < num; i++) {
        uint32_t type;
        uint32_t off = load_le32(base + sizeof(struct amp_rsc_hdr) + (size_t)i * sizeof(uint32_t));
        int ret = check_entry(base, size, first, off, &type);
        if (ret < 0)
            return ret;
    }
    return 0;
}

int amp_rsc_parse(struct amp_rsc_table *tbl, void *mem, size_t size)
{
    /* Callers read entries through struct pointers, so those must be aligned. */
    if (!tbl || !mem || ((uintptr_t)mem & 3u) != 0)
        return -AMP_EINVAL;
    int ret = amp_rsc_check(mem, size);
    if (ret < 0)
        return ret;
    tbl->hdr = mem;
    tbl->size = size;
    tbl->num = load_le32(at(mem, offsetof(struct amp_rsc_hdr, num)));
    return 0;
}

void *amp_rsc_entry(const struct amp_rsc_table *tbl, uint32_t index, uint32_t *type)
{
    if (!tbl || !tbl->hdr || index >= tbl->num)
        return NULL;
    /* The offset is re-read from the table, which the peer may have changed
     * since it was parsed: check it again (it is cheap). tbl->num is our own
     * copy, so the offset array itself is known to fit. */
    uint8_t *base = (uint8_t *)tbl->hdr;
    uint32_t off = load_le32(base + sizeof(struct amp_rsc_hdr) + (size_t)index * sizeof(uint32_t));
    uint32_t entry_type;
    if (check_entry(base, tbl->size, header_end(tbl->num), off, &entry_type) < 0)
        return NULL;
    if (type)
        *type = entry_type;
    return at(base, off);
}

void *amp_rsc_find(const struct amp_rsc_table *tbl, uint32_t type, uint32_t *index)
{
    if (!tbl)
        return NULL;
    for (uint32_t i = index ? *index : 0; i < tbl->num; i++) {
        uint32_t entry_type;
        void *entry = amp_rsc_entry(tbl, i, &entry_type);
        if (entry && entry_type == type) {
            if (index)
                *index = i;
            return entry;
        }
    }
    return NULL;
}

struct amp_rsc_vdev *amp_rsc_find_rpmsg_vdev(const struct amp_rsc_table *tbl)
{
    uint32_t index = 0;
    struct amp_rsc_vdev *vdev;

    while ((vdev = amp_rsc_find(tbl, AMP_RSC_VDEV, &index)) != NULL) {
        if (amp_le32(vdev->id) == AMP_VIRTIO_ID_RPMSG)
            return vdev;
        index++;
    }
    return NULL;
}

/* ---- Building MicroPython's table. ---- */

/* The table always holds the vdev; the trace entry only when it has a length. */
static uint32_t layout_entries(const struct amp_rsc_layout *layout)
{
    return layout->trace_len ? 2u : 1u;
}

static size_t vdev_entry_size(void)
{
    return sizeof(struct amp_rsc_vdev) + 2 * sizeof(struct amp_rsc_vdev_vring);
}

size_t amp_rsc_build_size(const struct amp_rsc_layout *layout)
{
    if (!layout)
        return 0;
    size_t size = header_end(layout_entries(layout)) + vdev_entry_size();
    if (layout->trace_len)
        size += sizeof(struct amp_rsc_trace);
    return size;
}

static bool is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

int amp_rsc_build(void *mem, size_t size, const struct amp_rsc_layout *layout)
{
    static const char trace_name[] = "trace_buf";

    if (!mem || !layout || ((uintptr_t)mem & 3u) != 0)
        return -AMP_EINVAL;
    if (!is_pow2(layout->vring_num) || layout->vring_num > RSC_VRING_NUM_MAX ||
        !is_pow2(layout->vring_align) || layout->vring_align < 4)
        return -AMP_EINVAL;
    if (size < amp_rsc_build_size(layout))
        return -AMP_ENOSPC;

    __builtin_memset(mem, 0, size);

    uint32_t num = layout_entries(layout);
    size_t vdev_off = header_end(num);
    size_t trace_off = vdev_off + vdev_entry_size();

    struct amp_rsc_hdr *hdr = mem;
    hdr->ver = amp_cpu_to_le32(RSC_VERSION);
    hdr->num = amp_cpu_to_le32(num);
    hdr->offset[0] = amp_cpu_to_le32((uint32_t)vdev_off);

    struct amp_rsc_vdev *vdev = at(mem, vdev_off);
    vdev->type = amp_cpu_to_le32(AMP_RSC_VDEV);
    vdev->id = amp_cpu_to_le32(AMP_VIRTIO_ID_RPMSG);
    vdev->notifyid = amp_cpu_to_le32(layout->vdev_notifyid);
    vdev->dfeatures = amp_cpu_to_le32(layout->features);
    vdev->num_of_vrings = 2;
    for (unsigned i = 0; i < 2; i++) {
        struct amp_rsc_vdev_vring *vring = &vdev->vring[i];
        vring->da = amp_cpu_to_le32(layout->vring_da[i]);
        vring->align = amp_cpu_to_le32(layout->vring_align);
        vring->num = amp_cpu_to_le32(layout->vring_num);
        vring->notifyid = amp_cpu_to_le32(layout->vring_notifyid[i]);
    }

    if (layout->trace_len) {
        hdr->offset[1] = amp_cpu_to_le32((uint32_t)trace_off);
        struct amp_rsc_trace *trace = at(mem, trace_off);
        trace->type = amp_cpu_to_le32(AMP_RSC_TRACE);
        trace->da = amp_cpu_to_le32(layout->trace_da);
        trace->len = amp_cpu_to_le32(layout->trace_len);
        __builtin_memcpy(trace->name, trace_name, sizeof(trace_name));
    }
    return 0;
}
