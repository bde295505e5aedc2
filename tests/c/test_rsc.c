/*
 * test_rsc.c - resource tables: the host-built table is byte-for-byte
 * MicroPython's, and the parser refuses every hostile table without reading
 * a byte outside it (tables live in exactly sized heap blocks, so ASan sees
 * any overread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "amp/rsc.h"

/* MicroPython's table on the STM32H747 (sim board), written out by hand. */
static const uint8_t micropython_table[140] = {
    /* header: ver 1, num 2, reserved 0, 0 */
    0x01, 0x00, 0x00, 0x00,  0x02, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
    /* offset[0] = 24 (vdev), offset[1] = 92 (trace) */
    0x18, 0x00, 0x00, 0x00,  0x5c, 0x00, 0x00, 0x00,
    /* 24: vdev: type 3, id 7, notifyid 0, dfeatures 1 (NS), gfeatures 0, config_len 0 */
    0x03, 0x00, 0x00, 0x00,  0x07, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,  0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
    /* status 0, num_of_vrings 2, reserved 0, 0 */
    0x00, 0x02, 0x00, 0x00,
    /* 52: vring 0: da 0x38001400, align 32, num 64, notifyid 0, pa 0 */
    0x00, 0x14, 0x00, 0x38,  0x20, 0x00, 0x00, 0x00,
    0x40, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    /* 72: vring 1: da 0x38000400, align 32, num 64, notifyid 1, pa 0 */
    0x00, 0x04, 0x00, 0x38,  0x20, 0x00, 0x00, 0x00,
    0x40, 0x00, 0x00, 0x00,  0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    /* 92: trace: type 2, da 0x38000380, len 128, reserved 0 */
    0x02, 0x00, 0x00, 0x00,  0x80, 0x03, 0x00, 0x38,
    0x80, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
    /* 108: name "trace_buf", NUL-padded to 32 */
    't', 'r', 'a', 'c', 'e', '_', 'b', 'u', 'f', 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
};

static const struct amp_rsc_layout sim_layout = {
    .features = 1u << AMP_VIRTIO_RPMSG_F_NS,
    .vdev_notifyid = 0,
    .vring_da = { 0x38001400u, 0x38000400u },
    .vring_notifyid = { 0, 1 },
    .vring_num = 64,
    .vring_align = 32,
    .trace_da = 0x38000380u,
    .trace_len = 128,
};

/* A heap copy of exactly `size` bytes (malloc keeps it aligned). */
static uint8_t *copy_of(const void *src, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    assert_non_null(p);
    if (size)
        memcpy(p, src, size);
    return p;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

struct patch {
    size_t at;
    uint32_t value;
};

/* Parse a modified copy of MicroPython's table, cut to `size` bytes. */
static int parse_with(size_t size, const struct patch *patches, size_t count)
{
    uint8_t *t = copy_of(micropython_table, sizeof(micropython_table));
    for (size_t i = 0; i < count; i++)
        put32(t + patches[i].at, patches[i].value);
    uint8_t *exact = copy_of(t, size);
    struct amp_rsc_table tbl = { 0 };
    int ret = amp_rsc_parse(&tbl, exact, size);
    if (ret < 0)
        assert_null(tbl.hdr);  /* nothing filled on failure */
    free(exact);
    free(t);
    return ret;
}

static int parse_patched(size_t size, size_t at, uint32_t value)
{
    const struct patch patch = { at, value };
    return parse_with(size, &patch, 1);
}

/* ---- Building. ---- */

static void test_build_matches_micropython(void **state)
{
    (void)state;
    _Alignas(4) uint8_t mem[1024];

    assert_int_equal(amp_rsc_build_size(&sim_layout), sizeof(micropython_table));
    memset(mem, 0xEE, sizeof(mem));
    assert_int_equal(amp_rsc_build(mem, sizeof(mem), &sim_layout), 0);
    assert_memory_equal(mem, micropython_table, sizeof(micropython_table));
    /* The rest of the 1 KiB reserved for the table is zeroed too. */
    for (size_t i = sizeof(micropython_table); i < sizeof(mem); i++)
        assert_int_equal(mem[i], 0);

    /* ...and the parser accepts it and finds both entries. */
    struct amp_rsc_table tbl;
    uint32_t type = 99;
    assert_int_equal(amp_rsc_parse(&tbl, mem, sizeof(micropython_table)), 0);
    assert_int_equal(tbl.num, 2);
    assert_ptr_equal(amp_rsc_entry(&tbl, 0, &type), mem + 24);
    assert_int_equal(type, AMP_RSC_VDEV);
    assert_ptr_equal(amp_rsc_entry(&tbl, 1, &type), mem + 92);
    assert_int_equal(type, AMP_RSC_TRACE);
    assert_null(amp_rsc_entry(&tbl, 2, &type));
    assert_ptr_equal(amp_rsc_find_rpmsg_vdev(&tbl), mem + 24);
    uint32_t index = 0;
    struct amp_rsc_trace *trace = amp_rsc_find(&tbl, AMP_RSC_TRACE, &index);
    assert_ptr_equal(trace, mem + 92);
    assert_int_equal(index, 1);
    assert_string_equal(trace->name, "trace_buf");
    index = 2;
    assert_null(amp_rsc_find(&tbl, AMP_RSC_VDEV, &index));
    assert_null(amp_rsc_find(&tbl, AMP_RSC_CARVEOUT, NULL));
}

static void test_build_without_trace(void **state)
{
    (void)state;
    _Alignas(4) uint8_t mem[88];
    struct amp_rsc_layout layout = sim_layout;
    layout.trace_len = 0;

    assert_int_equal(amp_rsc_build_size(&layout), 88);
    assert_int_equal(amp_rsc_build(mem, sizeof(mem), &layout), 0);
    /* num 1, the vdev right after the single offset. */
    assert_int_equal(mem[4], 1);
    assert_int_equal(mem[16], 20);
    struct amp_rsc_table tbl;
    assert_int_equal(amp_rsc_parse(&tbl, mem, sizeof(mem)), 0);
    assert_int_equal(tbl.num, 1);
    assert_ptr_equal(amp_rsc_find_rpmsg_vdev(&tbl), mem + 20);
    assert_null(amp_rsc_find(&tbl, AMP_RSC_TRACE, NULL));
}

static void test_build_refuses(void **state)
{
    (void)state;
    _Alignas(4) uint8_t mem[160];
    struct amp_rsc_layout layout = sim_layout;

    memset(mem, 0xEE, sizeof(mem));
    assert_int_equal(amp_rsc_build(mem, sizeof(micropython_table) - 1, &sim_layout),
                     -AMP_ENOSPC);
    assert_int_equal(mem[0], 0xEE);  /* nothing written */
    assert_int_equal(amp_rsc_build(mem + 1, 150, &sim_layout), -AMP_EINVAL);
    assert_int_equal(amp_rsc_build(NULL, 150, &sim_layout), -AMP_EINVAL);
    assert_int_equal(amp_rsc_build(mem, sizeof(mem), NULL), -AMP_EINVAL);
    assert_int_equal(amp_rsc_build_size(NULL), 0);
    layout.vring_num = 48;
    assert_int_equal(amp_rsc_build(mem, sizeof(mem), &layout), -AMP_EINVAL);
    layout.vring_num = 65536;
    assert_int_equal(amp_rsc_build(mem, sizeof(mem), &layout), -AMP_EINVAL);
    layout = sim_layout;
    layout.vring_align = 2;
    assert_int_equal(amp_rsc_build(mem, sizeof(mem), &layout), -AMP_EINVAL);
    layout.vring_align = 24;
    assert_int_equal(amp_rsc_build(mem, sizeof(mem), &layout), -AMP_EINVAL);
}

/* ---- Parsing hostile tables. ---- */

static void test_parse_header(void **state)
{
    (void)state;
    /* Smaller than a header, down to nothing. */
    for (size_t size = 0; size < 16; size++) {
        uint8_t *t = copy_of(micropython_table, size);
        struct amp_rsc_table tbl = { 0 };
        assert_int_equal(amp_rsc_parse(&tbl, t, size), -AMP_EBADMSG);
        free(t);
    }
    assert_int_equal(parse_patched(140, 0, 2), -AMP_EBADMSG);          /* ver 2 */
    assert_int_equal(parse_patched(140, 0, 0), -AMP_EBADMSG);          /* ver 0 */
    assert_int_equal(parse_patched(140, 8, 1), -AMP_EBADMSG);          /* reserved[0] */
    assert_int_equal(parse_patched(140, 12, 0x80000000u), -AMP_EBADMSG); /* reserved[1] */
    assert_int_equal(parse_patched(140, 4, 0xFFFFFFFFu), -AMP_EBADMSG); /* num huge */
    assert_int_equal(parse_patched(140, 4, 0x40000000u), -AMP_EBADMSG); /* num*4 wraps 32 bits */
    assert_int_equal(parse_patched(140, 4, 32), -AMP_EBADMSG);         /* offsets run off the end */
    /* An empty table is sound. */
    assert_int_equal(parse_patched(16, 4, 0), 0);
    /* num 1 ignores the trace entry. */
    assert_int_equal(parse_patched(140, 4, 1), 0);
}

static void test_parse_offsets(void **state)
{
    (void)state;
    assert_int_equal(parse_patched(140, 20, 140), -AMP_EBADMSG);        /* at the very end */
    assert_int_equal(parse_patched(140, 20, 0x1000), -AMP_EBADMSG);     /* past the end */
    assert_int_equal(parse_patched(140, 20, 0xFFFFFFFCu), -AMP_EBADMSG); /* wraps */
    assert_int_equal(parse_patched(140, 20, 0), -AMP_EBADMSG);          /* into the header */
    assert_int_equal(parse_patched(140, 20, 20), -AMP_EBADMSG);         /* into the offsets */
    assert_int_equal(parse_patched(140, 20, 94), -AMP_EBADMSG);         /* misaligned */
    /* The trace entry's fixed part (48 bytes) crossing the end. */
    const struct patch trace_crosses[] = { { 20, 96 }, { 96, AMP_RSC_TRACE } };
    assert_int_equal(parse_with(140, trace_crosses, 2), -AMP_EBADMSG);
    assert_int_equal(parse_patched(139, 20, 92), -AMP_EBADMSG);
    /* A trace entry with exactly its 48 bytes is fine. */
    assert_int_equal(parse_patched(140, 20, 92), 0);
    /* A vdev whose 28 fixed bytes just fit (no vrings, no config), then cross the end. */
    const struct patch vdev_fits[] = { { 20, 112 }, { 112, AMP_RSC_VDEV } };
    assert_int_equal(parse_with(140, vdev_fits, 2), 0);
    const struct patch vdev_crosses[] = { { 20, 116 }, { 116, AMP_RSC_VDEV } };
    assert_int_equal(parse_with(140, vdev_crosses, 2), -AMP_EBADMSG);
    /* A carveout (56 bytes) where only a trace (48) fits. */
    assert_int_equal(parse_patched(140, 92, AMP_RSC_CARVEOUT), -AMP_EBADMSG);
    assert_int_equal(parse_patched(140, 92, AMP_RSC_DEVMEM), -AMP_EBADMSG);
}

static void test_parse_vdev_extent(void **state)
{
    (void)state;
    /* num_of_vrings is the byte at 24 + 25 = 49. */
    uint8_t *t = copy_of(micropython_table, sizeof(micropython_table));
    for (unsigned n = 0; n < 256; n++) {
        t[49] = (uint8_t)n;
        struct amp_rsc_table tbl;
        int ret = amp_rsc_parse(&tbl, t, sizeof(micropython_table));
        /* 28 + n*20 must fit in the 116 bytes from 24 to the end. */
        assert_int_equal(ret, 28 + n * 20 <= 116 ? 0 : -AMP_EBADMSG);
    }
    free(t);
    /* config_len (at 24 + 20 = 44) crossing the end, or wrapping. */
    assert_int_equal(parse_patched(140, 44, 48), 0);   /* exactly up to the end */
    assert_int_equal(parse_patched(140, 44, 49), -AMP_EBADMSG);
    assert_int_equal(parse_patched(140, 44, 0xFFFFFFFFu), -AMP_EBADMSG);
    assert_int_equal(parse_patched(140, 44, 0xFFFFFFC0u), -AMP_EBADMSG);
}

static void test_parse_unknown_types(void **state)
{
    (void)state;
    /* Vendor and unknown entries need only their type word: put one in the
     * last 4 bytes of the table. */
    uint8_t *t = copy_of(micropython_table, sizeof(micropython_table));
    put32(t + 20, 136);
    uint32_t types[] = { 128, 200, 511, 4, 127, 512, 0xFFFFFFFFu };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        put32(t + 136, types[i]);
        struct amp_rsc_table tbl;
        uint32_t type;
        assert_int_equal(amp_rsc_parse(&tbl, t, 140), 0);
        assert_ptr_equal(amp_rsc_entry(&tbl, 1, &type), t + 136);
        assert_int_equal(type, types[i]);
    }
    free(t);
}

static void test_parse_arguments(void **state)
{
    (void)state;
    _Alignas(4) uint8_t mem[144];
    struct amp_rsc_table tbl;

    memcpy(mem + 1, micropython_table, sizeof(micropython_table));
    /* The checker takes any alignment; the parser wants struct-ready memory. */
    assert_int_equal(amp_rsc_check(mem + 1, sizeof(micropython_table)), 0);
    assert_int_equal(amp_rsc_parse(&tbl, mem + 1, sizeof(micropython_table)), -AMP_EINVAL);
    assert_int_equal(amp_rsc_parse(NULL, mem, 140), -AMP_EINVAL);
    assert_int_equal(amp_rsc_parse(&tbl, NULL, 140), -AMP_EINVAL);
    assert_int_equal(amp_rsc_check(NULL, 140), -AMP_EINVAL);
    assert_null(amp_rsc_entry(NULL, 0, NULL));
    assert_null(amp_rsc_find(NULL, AMP_RSC_VDEV, NULL));
    assert_null(amp_rsc_find_rpmsg_vdev(NULL));
}

/* The peer may rewrite its table after we parsed it: lookups re-check. */
static void test_entry_rechecks_after_parse(void **state)
{
    (void)state;
    uint8_t *t = copy_of(micropython_table, sizeof(micropython_table));
    struct amp_rsc_table tbl;
    assert_int_equal(amp_rsc_parse(&tbl, t, sizeof(micropython_table)), 0);

    put32(t + 16, 0xFFFFFF00u);          /* vdev offset now hostile */
    assert_null(amp_rsc_entry(&tbl, 0, NULL));
    assert_null(amp_rsc_find_rpmsg_vdev(&tbl));
    put32(t + 16, 24);
    t[49] = 200;                          /* 200 vrings cannot fit */
    assert_null(amp_rsc_find_rpmsg_vdev(&tbl));
    t[49] = 2;
    put32(t + 4, 0xFFFFFFFFu);            /* num: our copy is what counts */
    assert_ptr_equal(amp_rsc_find_rpmsg_vdev(&tbl), t + 24);
    assert_null(amp_rsc_entry(&tbl, 2, NULL));
    free(t);
}

static void test_find_rpmsg_among_vdevs(void **state)
{
    (void)state;
    /* Two vdevs without vrings: a console (id 3) first, then rpmsg. */
    _Alignas(4) uint8_t mem[24 + 28 + 28] = { 0 };
    put32(mem, 1);
    put32(mem + 4, 2);
    put32(mem + 16, 24);
    put32(mem + 20, 52);
    put32(mem + 24, AMP_RSC_VDEV);
    put32(mem + 28, 3);
    put32(mem + 52, AMP_RSC_VDEV);
    put32(mem + 56, AMP_VIRTIO_ID_RPMSG);
    struct amp_rsc_table tbl;
    assert_int_equal(amp_rsc_parse(&tbl, mem, sizeof(mem)), 0);
    assert_ptr_equal(amp_rsc_find_rpmsg_vdev(&tbl), mem + 52);
    put32(mem + 56, 5);
    assert_null(amp_rsc_find_rpmsg_vdev(&tbl));
}

/* Every truncation of a valid table is refused; every single-byte change
 * either parses (and then every entry can be read) or is refused - and
 * nothing ever reads outside the table. */
static void test_truncations_and_flips(void **state)
{
    (void)state;
    for (size_t size = 0; size < sizeof(micropython_table); size++) {
        uint8_t *t = copy_of(micropython_table, size);
        struct amp_rsc_table tbl;
        assert_int_equal(amp_rsc_parse(&tbl, t, size), -AMP_EBADMSG);
        free(t);
    }
    uint8_t *t = copy_of(micropython_table, sizeof(micropython_table));
    for (size_t i = 0; i < sizeof(micropython_table); i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            t[i] ^= (uint8_t)(1u << bit);
            struct amp_rsc_table tbl;
            if (amp_rsc_parse(&tbl, t, sizeof(micropython_table)) == 0) {
                for (uint32_t e = 0; e < tbl.num; e++) {
                    uint32_t type;
                    uint8_t *entry = amp_rsc_entry(&tbl, e, &type);
                    assert_non_null(entry);
                    volatile uint8_t sink = entry[0];
                    (void)sink;
                }
                /* The last vring and the last config byte are inside the table. */
                struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(&tbl);
                if (vdev && vdev->num_of_vrings) {
                    volatile uint32_t pa = vdev->vring[vdev->num_of_vrings - 1].pa;
                    (void)pa;
                }
                if (vdev && vdev->config_len) {
                    const uint8_t *config = (const uint8_t *)&vdev->vring[vdev->num_of_vrings];
                    volatile uint8_t last = config[vdev->config_len - 1];
                    (void)last;
                }
            }
            t[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_matches_micropython),
        cmocka_unit_test(test_build_without_trace),
        cmocka_unit_test(test_build_refuses),
        cmocka_unit_test(test_parse_header),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_vdev_extent),
        cmocka_unit_test(test_parse_unknown_types),
        cmocka_unit_test(test_parse_arguments),
        cmocka_unit_test(test_entry_rechecks_after_parse),
        cmocka_unit_test(test_find_rpmsg_among_vdevs),
        cmocka_unit_test(test_truncations_and_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
