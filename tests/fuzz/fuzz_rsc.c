/*
 * libFuzzer target: the resource-table parser and the rpmsg config made from it.
 *
 * Input: byte 0 = number of hostile writes (low 3 bits), then that many
 * (u16 offset, u8 value) records, then the table. The table is checked in
 * place (amp_rsc_check, any alignment) and parsed from an aligned copy at
 * the start of a 64 KiB shared region (amp_rsc_parse): both must agree.
 * Every entry the parser hands out must lie inside the table, also after
 * the peer rewrites table bytes (the hostile writes, applied after the
 * parse). An rpmsg vdev is turned into a config by amp_rpmsg_config_from_vdev
 * and by amp_rpmsg_config_from_rsc, which must agree (vrings inside the
 * region after the 1 KiB table, MicroPython's layout), and a remote device
 * is attached to what that describes and polled.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amp/rpmsg.h"
#include "amp/rsc.h"
#include "fuzz_common.h"

#define SHARED_DA   0x38000000u
#define SHARED_SIZE 0x10000u
#define TABLE_MAX   0x400u        /* the table area before the rings */

static uint8_t *region;
static struct fz_platform plat;

static bool inside(const void *p, size_t len, const uint8_t *base, size_t size)
{
    const uint8_t *q = p;
    return q >= base && q <= base + size && len <= size - (size_t)(q - base);
}

/* Bytes of an entry's fixed part: what a reader may touch without further checks. */
static size_t entry_fixed_size(uint32_t type)
{
    static const size_t known[] = {
        [AMP_RSC_CARVEOUT] = sizeof(struct amp_rsc_carveout),
        [AMP_RSC_DEVMEM] = sizeof(struct amp_rsc_carveout),
        [AMP_RSC_TRACE] = sizeof(struct amp_rsc_trace),
        [AMP_RSC_VDEV] = sizeof(struct amp_rsc_vdev),
    };
    return type < sizeof known / sizeof known[0] ? known[type] : sizeof(uint32_t);
}

/* Every entry handed out lies inside the table, with its whole fixed part. */
static void walk(const struct amp_rsc_table *tbl, size_t size)
{
    for (uint32_t i = 0; i < tbl->num + 2; i++) {
        uint32_t type = 0xFFFFFFFFu;
        void *e = amp_rsc_entry(tbl, i, &type);
        if (i >= tbl->num)
            FZ_CHECK(e == NULL);
        if (!e)
            continue;
        FZ_CHECK(inside(e, entry_fixed_size(type), region, size));
    }
    static const uint32_t types[] = { AMP_RSC_CARVEOUT, AMP_RSC_DEVMEM, AMP_RSC_TRACE,
                                      AMP_RSC_VDEV, 200 };
    for (unsigned t = 0; t < sizeof types / sizeof types[0]; t++) {
        uint32_t index = 0;
        unsigned found = 0;
        void *e;
        while ((e = amp_rsc_find(tbl, types[t], &index)) != NULL) {
            FZ_CHECK(inside(e, entry_fixed_size(types[t]), region, size));
            FZ_CHECK(index < tbl->num);
            FZ_CHECK(++found <= tbl->num);
            index++;
        }
    }
}

static void try_vdev(const struct amp_rsc_table *tbl, struct amp_rsc_vdev *vdev)
{
    size_t vdev_size = tbl->size - (size_t)((uint8_t *)vdev - region);
    struct amp_rpmsg_config cfg = {
        .role = AMP_RPMSG_REMOTE,
        .addr_mode = AMP_ADDR_OFFSET,
        .shm = region + TABLE_MAX,
        .shm_pa = SHARED_DA + TABLE_MAX,
        .shm_size = SHARED_SIZE - TABLE_MAX,
        .platform = &plat.platform,
    };
    struct amp_rpmsg_config by_table = cfg;
    int rc = amp_rpmsg_config_from_vdev(&cfg, vdev, vdev_size);
    /* The parsed-table form finds the same vdev and decides the same. */
    FZ_CHECK(amp_rpmsg_config_from_rsc(&by_table, tbl) == rc);
    FZ_CHECK(memcmp(&by_table, &cfg, sizeof cfg) == 0);
    if (rc != 0) {
        FZ_CHECK(rc == -AMP_EINVAL || rc == -AMP_EBADMSG || rc == -AMP_ERANGE);
        return;
    }
    FZ_CHECK(cfg.vdev == vdev);
    FZ_CHECK(cfg.vring_num >= 1 && cfg.vring_num <= AMP_RPMSG_MAX_VRING_NUM);
    for (unsigned i = 0; i < 2; i++)
        FZ_CHECK(inside(cfg.vring[i], amp_vring_size(cfg.vring_num, cfg.vring_align),
                        (uint8_t *)cfg.shm, cfg.shm_size));
    /* A remote attached to whatever the table describes (status from the table). */
    struct amp_rpmsg_device dev;
    memset(&dev, 0, sizeof dev);
    rc = amp_rpmsg_init(&dev, &cfg);
    if (rc == 0) {
        rc = amp_rpmsg_poll(&dev);
        FZ_CHECK(rc >= 0 || rc == -AMP_EBADMSG);
        amp_rpmsg_deinit(&dev);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!region) {
        region = aligned_alloc(64, SHARED_SIZE);
        FZ_CHECK(region != NULL);
        fz_platform_init(&plat, NULL);
    }
    struct fz_input in = { data, size };
    unsigned nwrites = fz_u8(&in) & 7u;
    struct { uint16_t off; uint8_t val; } writes[8];
    for (unsigned i = 0; i < nwrites; i++) {
        writes[i].off = fz_u16(&in);
        writes[i].val = fz_u8(&in);
    }
    size_t n = in.left < TABLE_MAX ? in.left : TABLE_MAX;

    /* In place, at whatever alignment the fuzzer's buffer has (+1: odd too). */
    uint8_t *odd = malloc(n + 1);
    FZ_CHECK(odd != NULL);
    memcpy(odd + 1, in.p, n);
    int checked = amp_rsc_check(odd + 1, n);
    free(odd);
    FZ_CHECK(checked == 0 || checked == -AMP_EBADMSG);

    memset(region, 0, SHARED_SIZE);
    memcpy(region, in.p, n);
    struct amp_rsc_table tbl;
    int parsed = amp_rsc_parse(&tbl, region, n);
    FZ_CHECK(parsed == checked);
    if (parsed != 0)
        return 0;
    FZ_CHECK(tbl.hdr == (void *)region && tbl.size == n);
    walk(&tbl, n);
    struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(&tbl);
    if (vdev)
        try_vdev(&tbl, vdev);

    /* The peer rewrites the table: readers must still stay inside it. */
    for (unsigned i = 0; i < nwrites && n; i++)
        region[writes[i].off % n] = writes[i].val;
    walk(&tbl, n);
    vdev = amp_rsc_find_rpmsg_vdev(&tbl);
    if (vdev)
        try_vdev(&tbl, vdev);
    return 0;
}
