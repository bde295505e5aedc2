/*
 * amp/rsc.h - the remoteproc resource table: build one (the host-built
 * table at a fixed shared address, MicroPython's model) and parse and
 * validate one (firmware-embedded, Linux's model).
 *
 * A table comes from a file or from memory the peer can write, so the
 * parser checks every offset, count and length against the table size
 * before anything reads through it.
 */
#ifndef AMP_RSC_H
#define AMP_RSC_H

#include "amp/platform.h"

#define AMP_RSC_CARVEOUT  0u
#define AMP_RSC_DEVMEM    1u
#define AMP_RSC_TRACE     2u
#define AMP_RSC_VDEV      3u
#define AMP_RSC_VENDOR_START 128u
#define AMP_RSC_VENDOR_END   512u

#define AMP_RSC_ADDR_ANY  0xFFFFFFFFu
#define AMP_VIRTIO_ID_RPMSG  7u
#define AMP_VIRTIO_RPMSG_F_NS 0u        /* feature bit: name service */

/* virtio device status bits (vdev.status). */
#define AMP_VIRTIO_STATUS_ACKNOWLEDGE 0x01u
#define AMP_VIRTIO_STATUS_DRIVER      0x02u
#define AMP_VIRTIO_STATUS_DRIVER_OK   0x04u
#define AMP_VIRTIO_STATUS_FEATURES_OK 0x08u
#define AMP_VIRTIO_STATUS_NEEDS_RESET 0x40u
#define AMP_VIRTIO_STATUS_FAILED      0x80u

#define AMP_RSC_NAME_LEN 32

struct amp_rsc_hdr {
    uint32_t ver;
    uint32_t num;
    uint32_t reserved[2];
    uint32_t offset[];
};

struct amp_rsc_carveout {      /* also the layout of DEVMEM */
    uint32_t type;
    uint32_t da;
    uint32_t pa;
    uint32_t len;
    uint32_t flags;
    uint32_t reserved;
    char name[AMP_RSC_NAME_LEN];
};

struct amp_rsc_trace {
    uint32_t type;
    uint32_t da;
    uint32_t len;
    uint32_t reserved;
    char name[AMP_RSC_NAME_LEN];
};

struct amp_rsc_vdev_vring {
    uint32_t da;
    uint32_t align;
    uint32_t num;
    uint32_t notifyid;
    uint32_t pa;
};

struct amp_rsc_vdev {
    uint32_t type;
    uint32_t id;
    uint32_t notifyid;
    uint32_t dfeatures;
    uint32_t gfeatures;
    uint32_t config_len;
    uint8_t status;
    uint8_t num_of_vrings;
    uint8_t reserved[2];
    struct amp_rsc_vdev_vring vring[];  /* then config_len bytes of config */
};

_Static_assert(sizeof(struct amp_rsc_hdr) == 16, "rsc header is 16 bytes");
_Static_assert(sizeof(struct amp_rsc_carveout) == 56, "carveout is 56 bytes");
_Static_assert(offsetof(struct amp_rsc_carveout, name) == 24, "carveout.name at 24");
_Static_assert(sizeof(struct amp_rsc_trace) == 48, "trace is 48 bytes");
_Static_assert(offsetof(struct amp_rsc_trace, name) == 16, "trace.name at 16");
_Static_assert(sizeof(struct amp_rsc_vdev_vring) == 20, "vdev vring is 20 bytes");
_Static_assert(sizeof(struct amp_rsc_vdev) == 28, "vdev header is 28 bytes");
_Static_assert(offsetof(struct amp_rsc_vdev, status) == 24, "vdev.status at 24");

/*
 * A validated table. amp_rsc_parse() fills it only if the whole table is
 * sound: header, every offset, every entry's fixed part, each vdev's
 * vrings and config. Entries may then be read without further checks on
 * their extent (their *values* - addresses, lengths - still need checking
 * by whoever uses them).
 */
struct amp_rsc_table {
    struct amp_rsc_hdr *hdr;
    size_t size;
    uint32_t num;
};

/*
 * Validate a table wherever it lies (any alignment, read-only): the checks
 * amp_rsc_parse() makes, for a table that is still inside a file image.
 * Entry offsets must be multiples of 4 and may not point into the header or
 * the offset array; unknown and vendor types need only their type word.
 * Returns 0 or -AMP_EBADMSG.
 */
int amp_rsc_check(const void *mem, size_t size);
/*
 * Validate the table at `mem` (4-byte aligned, else -AMP_EINVAL) and fill
 * *tbl. `size` bounds the table: its length where known (a file section),
 * else the bytes from `mem` to the end of the region it sits in (a table in
 * shared memory states no length of its own). amp_rsc_entry() re-checks an
 * entry's extent on every call, so a table in memory the peer can write
 * never leads a reader out of bounds.
 */
int amp_rsc_parse(struct amp_rsc_table *tbl, void *mem, size_t size);
/* Entry `index` (< tbl->num) and, if type is not NULL, its type; NULL if
 * out of range or if the entry no longer fits the table. */
void *amp_rsc_entry(const struct amp_rsc_table *tbl, uint32_t index, uint32_t *type);
/* First entry of `type` at or after *index; updates *index. NULL if none. */
void *amp_rsc_find(const struct amp_rsc_table *tbl, uint32_t type, uint32_t *index);
/* The first rpmsg vdev (id 7), or NULL. */
struct amp_rsc_vdev *amp_rsc_find_rpmsg_vdev(const struct amp_rsc_table *tbl);

/*
 * Description of a host-built table: one rpmsg vdev with two vrings and an
 * optional trace buffer, in MicroPython's order and layout (reference §3).
 */
struct amp_rsc_layout {
    uint32_t features;          /* dfeatures offered, e.g. 1 << AMP_VIRTIO_RPMSG_F_NS */
    uint32_t vdev_notifyid;
    uint32_t vring_da[2];       /* vring 0: remote->host, vring 1: host->remote */
    uint32_t vring_notifyid[2];
    uint32_t vring_num;
    uint32_t vring_align;
    uint32_t trace_da;          /* 0 with trace_len 0: no trace entry */
    uint32_t trace_len;
};

/* Bytes amp_rsc_build() writes for `layout`. */
size_t amp_rsc_build_size(const struct amp_rsc_layout *layout);
/*
 * Write the table into `mem` (4-byte aligned; all `size` bytes are zeroed
 * first). -AMP_ENOSPC if size < amp_rsc_build_size(); -AMP_EINVAL if
 * vring_num is not a power of two in 1..32768 or vring_align not a power of
 * two >= 4.
 */
int amp_rsc_build(void *mem, size_t size, const struct amp_rsc_layout *layout);

#endif /* AMP_RSC_H */
