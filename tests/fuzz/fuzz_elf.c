/*
 * libFuzzer target: the ELF loader and the life cycle on sim-h747's memory
 * map. The input is a firmware file. It is loaded (amp_rproc_load: every
 * check, then segments copied into board memory, the embedded resource
 * table validated), then started (the Linux model places vrings and buffers
 * in shared memory from that table and brings the host rpmsg device up),
 * polled once, stopped, started again for an external host stack (which
 * touches nothing in shared memory) and shut down.
 *
 * Each region is its own heap block, so ASan sees any byte written or read
 * outside the map. After a successful load the harness checks what the
 * loader promised: the entry lies in executable memory and the resource
 * table's copy lies inside the map.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amp/remoteproc.h"
#include "fuzz_common.h"

/* sim-h747 (include/amp/sim.h), without the host library. */
#define FLASH_DA   0x08100000u
#define FLASH_SIZE 0x00100000u
#define SRAM_DA    0x10000000u
#define SRAM_SIZE  0x00048000u
#define SHARED_DA  0x38000000u
#define SHARED_SIZE 0x00010000u

static struct amp_mem_region regions[3];
static struct amp_mem_map map;
static struct fz_platform plat;
static struct amp_rpmsg_device rpmsg;

static int board_start(void *ctx, uint64_t entry)
{
    (void)ctx;
    FZ_CHECK(amp_mem_find(&map, entry, 1) != NULL);
    return 0;
}

static int board_stop(void *ctx)
{
    (void)ctx;
    return 0;
}

static enum amp_rproc_state board_state(void *ctx)
{
    (void)ctx;
    return AMP_RPROC_RUNNING;
}

static const struct amp_rproc_board_ops board_ops = {
    .start = board_start,
    .stop = board_stop,
    .state = board_state,
};

static void setup_once(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    static const struct { const char *name; uint32_t da, size, flags; } spec[3] = {
        { "flash", FLASH_DA, FLASH_SIZE, AMP_MEM_EXEC },
        { "sram", SRAM_DA, SRAM_SIZE, AMP_MEM_EXEC },
        { "shared", SHARED_DA, SHARED_SIZE, AMP_MEM_SHARED },
    };
    for (unsigned i = 0; i < 3; i++) {
        void *va = calloc(1, spec[i].size);
        FZ_CHECK(va != NULL);
        regions[i] = (struct amp_mem_region){ spec[i].name, spec[i].da, spec[i].size, va,
                                              spec[i].flags };
    }
    map = (struct amp_mem_map){ regions, 3 };
    fz_platform_init(&plat, NULL);
}

static bool inside_map(const void *va, uint64_t len)
{
    for (unsigned i = 0; i < map.count; i++) {
        const uint8_t *base = regions[i].va;
        if ((const uint8_t *)va >= base && (const uint8_t *)va <= base + regions[i].size &&
            len <= regions[i].size - (uint64_t)((const uint8_t *)va - base))
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    /* The loader never keeps a pointer into the file: hand it an exact-size copy. */
    uint8_t *image = malloc(size ? size : 1);
    FZ_CHECK(image != NULL);
    memcpy(image, data, size);
    memset(regions[2].va, 0, SHARED_SIZE);

    /* The bare loader, for any machine, then the life cycle for the board's. */
    struct amp_elf_info info;
    struct amp_elf_error err;
    int rc = amp_elf_load(image, size, &map, 0, &info, &err);
    if (rc == 0) {
        const struct amp_mem_region *r = amp_mem_find(&map, info.entry, 1);
        FZ_CHECK(r && (r->flags & AMP_MEM_EXEC));
        FZ_CHECK(info.segments > 0 && info.segments <= AMP_ELF_MAX_PHDRS);
        if (info.rsc_size) {
            FZ_CHECK(inside_map(info.rsc_va, info.rsc_size));
            FZ_CHECK(((uintptr_t)info.rsc_va & 3u) == 0);
            FZ_CHECK(amp_mem_da_to_va(&map, info.rsc_da, info.rsc_size) == info.rsc_va);
        }
    } else {
        FZ_CHECK(rc < 0 && (unsigned)err.problem < AMP_ELF_PROBLEM_COUNT);
        FZ_CHECK(amp_elf_problem_str(err.problem) != NULL);
    }

    struct amp_rproc rp;
    memset(&rpmsg, 0, sizeof rpmsg);
    amp_rproc_init(&rp, &board_ops, NULL, &map, &plat.platform, &rpmsg);
    rc = amp_rproc_load(&rp, image, size, 0, &err);
    if (rc == 0) {
        FZ_CHECK(amp_rproc_state(&rp) == AMP_RPROC_LOADED);
        if (amp_rproc_start(&rp) == 0) {
            FZ_CHECK(rp.state == AMP_RPROC_RUNNING);
            if (rp.trace)
                FZ_CHECK(inside_map(rp.trace, rp.trace_len));
            if (rpmsg.ready) {
                FZ_CHECK(amp_rpmsg_poll(&rpmsg) >= 0);
            }
            /* Stop, and boot again for another host stack: only the trace is read. */
            FZ_CHECK(amp_rproc_stop(&rp) == 0 && rp.state == AMP_RPROC_STOPPED);
            FZ_CHECK(!rpmsg.ready);
            rp.external_host = true;
            FZ_CHECK(amp_rproc_start(&rp) == 0 && rp.state == AMP_RPROC_RUNNING);
            if (rp.trace)
                FZ_CHECK(inside_map(rp.trace, rp.trace_len));
        }
        amp_rproc_shutdown(&rp);
        FZ_CHECK(rp.state == AMP_RPROC_OFFLINE);
    }
    free(image);
    return 0;
}
