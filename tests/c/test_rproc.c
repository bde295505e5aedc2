/*
 * test_rproc.c - the remote core life cycle against a fake board: load,
 * start, crash, restart, stop, shutdown; the Linux model (vrings allocated
 * in shared memory and written back into the firmware's own table) and
 * MicroPython's (the board's host-built table); and a real host rpmsg
 * device brought up and torn down by the life cycle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "amp/remoteproc.h"
#include "amp/rpmsg.h"
#include "amp/rsc.h"
#include "elf_builder.h"

/* ---- Board memory. ---- */
#define FLASH_DA  0x08100000u
#define SRAM_DA   0x10000000u
#define SHARED_DA 0x38000000u
#define SHARED_SIZE 0x4000u

static _Alignas(64) uint8_t flash[0x2000];
static _Alignas(64) uint8_t sram[0x1000];
static _Alignas(64) uint8_t shared[SHARED_SIZE];

static const struct amp_mem_region regions[] = {
    { "flash", FLASH_DA, sizeof(flash), flash, AMP_MEM_EXEC },
    { "sram", SRAM_DA, sizeof(sram), sram, AMP_MEM_EXEC },
    { "shared", SHARED_DA, SHARED_SIZE, shared, AMP_MEM_SHARED },
};
static const struct amp_mem_map map = { regions, 3 };

/* ---- Firmware: .text in flash holding the resource table, .bss in sram. ---- */
#define TEXT_SIZE 512u
#define RSC_OFF   0x80u
#define RSC_SIZE  140u
#define ENTRY     (FLASH_DA + 0x11u)
#define TRACE_DA  (SRAM_DA + 0x800u)
#define TRACE_LEN 64u
#define VRING_NUM 16u
#define VRING_ALIGN 16u
/* round_up(16*16 + 2*(3+16), 16) + 6 + 8*16 (reference.md §1) */
#define VRING_BYTES 438u

/* Offsets inside the table (vdev at 24, its vrings at 52 and 72). */
#define VDEV_AT   24u
#define VRING_AT(i) (52u + 20u * (i))

static uint8_t text[TEXT_SIZE];
static uint8_t *image;
static size_t image_size;

static void build_firmware(uint32_t vring0_da, uint32_t vring1_da, bool with_table)
{
    static uint8_t scratch[4096];
    const struct amp_rsc_layout layout = {
        .features = 1u << AMP_VIRTIO_RPMSG_F_NS, .vdev_notifyid = 2,
        .vring_da = { vring0_da, vring1_da }, .vring_notifyid = { 0, 1 },
        .vring_num = VRING_NUM, .vring_align = VRING_ALIGN,
        .trace_da = TRACE_DA, .trace_len = TRACE_LEN,
    };
    for (unsigned i = 0; i < TEXT_SIZE; i++)
        text[i] = (uint8_t)(i ^ 0x5A);
    assert_int_equal(amp_rsc_build(text + RSC_OFF, RSC_SIZE, &layout), 0);
    text[RSC_OFF + VDEV_AT + 24] = 0x8F;  /* stale status the host must clear */

    struct elfb b = {
        .is64 = true, .machine = ELFB_EM_X86_64, .entry = ENTRY,
        .seg = {
            { .paddr = FLASH_DA, .vaddr = FLASH_DA, .data = text, .filesz = TEXT_SIZE,
              .memsz = TEXT_SIZE },
            { .paddr = SRAM_DA, .vaddr = SRAM_DA, .filesz = 0, .memsz = 0x100 },
        },
        .nseg = 2,
        .sec = {
            { .name = ".text", .seg = 0, .size = TEXT_SIZE },
            { .name = ".resource_table", .seg = 0, .seg_off = RSC_OFF, .size = RSC_SIZE },
        },
        .nsec = with_table ? 2 : 1,
    };
    struct elfb_layout lay;
    free(image);
    image_size = elfb_build(&b, scratch, sizeof(scratch), &lay);
    assert_true(image_size > 0);
    image = malloc(image_size);
    assert_non_null(image);
    memcpy(image, scratch, image_size);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A field of the firmware's table as loaded into flash. */
static uint32_t loaded32(size_t table_off)
{
    return get32(flash + RSC_OFF + table_off);
}

static uint8_t loaded_status(void)
{
    return flash[RSC_OFF + VDEV_AT + 24];
}

/* ---- Fake board. ---- */
struct fake_board {
    int starts, stops, host_tables;
    uint64_t last_entry;
    enum amp_rproc_state reported;
    int start_ret, stop_ret, host_table_ret;
    uint8_t status_at_start;   /* vdev status when the core was released */
    bool saw_ready_at_start;   /* rpmsg device up before the core ran */
    struct amp_rproc *rp;
    struct amp_rpmsg_device *dev;
};

static struct fake_board board;
static struct amp_rproc rp;

static int fake_start(void *ctx, uint64_t entry)
{
    struct fake_board *fb = ctx;
    fb->starts++;
    fb->last_entry = entry;
    fb->status_at_start = loaded_status();
    fb->saw_ready_at_start = fb->dev && fb->dev->ready;
    if (fb->start_ret)
        return fb->start_ret;
    fb->reported = AMP_RPROC_RUNNING;
    return 0;
}

static int fake_stop(void *ctx)
{
    struct fake_board *fb = ctx;
    fb->stops++;
    if (fb->stop_ret)
        return fb->stop_ret;
    fb->reported = AMP_RPROC_STOPPED;
    return 0;
}

static enum amp_rproc_state fake_state(void *ctx)
{
    return ((struct fake_board *)ctx)->reported;
}

/* ---- Platform for the real rpmsg device: doorbells counted, no waiting. ---- */
static int notifies;
static uint32_t clock_ms;

static void fake_notify(void *ctx, uint32_t queue_id)
{
    (void)ctx;
    (void)queue_id;
    notifies++;
}

static int fake_wait(void *ctx, int32_t timeout_ms)
{
    (void)ctx;
    clock_ms += timeout_ms > 0 ? (uint32_t)timeout_ms : 1;
    return -AMP_ETIMEDOUT;
}

static uint32_t fake_time(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static const struct amp_platform_ops platform_ops = {
    .notify = fake_notify, .wait = fake_wait, .time_ms = fake_time,
};
static const struct amp_platform platform = { &platform_ops, NULL };

/* MicroPython's model: the table at the start of shared memory, fixed vrings. */
#define HOST_VRING0_DA (SHARED_DA + 0x1400u)
#define HOST_VRING1_DA (SHARED_DA + 0x0400u)
#define HOST_POOL_OFF  0x2400u

static int fake_host_table(void *ctx, struct amp_rpmsg_config *cfg)
{
    struct fake_board *fb = ctx;
    fb->host_tables++;
    if (fb->host_table_ret)
        return fb->host_table_ret;
    const struct amp_rsc_layout layout = {
        .features = 1u << AMP_VIRTIO_RPMSG_F_NS,
        .vring_da = { HOST_VRING0_DA, HOST_VRING1_DA }, .vring_notifyid = { 0, 1 },
        .vring_num = VRING_NUM, .vring_align = VRING_ALIGN,
    };
    int ret = amp_rsc_build(shared, 0x400, &layout);
    if (ret < 0)
        return ret;
    struct amp_rsc_table tbl;
    ret = amp_rsc_parse(&tbl, shared, amp_rsc_build_size(&layout));
    if (ret < 0)
        return ret;
    assert_ptr_equal(cfg->role, AMP_RPMSG_HOST);   /* the life cycle filled these in */
    assert_ptr_equal(cfg->platform, fb->rp->platform);
    cfg->addr_mode = AMP_ADDR_OFFSET;
    cfg->shm = shared + 0x400;
    cfg->shm_pa = SHARED_DA + 0x400;
    cfg->shm_size = SHARED_SIZE - 0x400;
    cfg->vring[0] = shared + 0x1400;
    cfg->vring[1] = shared + 0x0400;
    cfg->vring_notifyid[0] = 0;
    cfg->vring_notifyid[1] = 1;
    cfg->vring_num = VRING_NUM;
    cfg->vring_align = VRING_ALIGN;
    cfg->buf_pool = shared + HOST_POOL_OFF;
    cfg->buf_count = 8;
    cfg->buf_size = 512;
    cfg->vdev = amp_rsc_find_rpmsg_vdev(&tbl);
    cfg->features = 1u << AMP_VIRTIO_RPMSG_F_NS;
    return 0;
}

static const struct amp_rproc_board_ops board_ops = {
    .start = fake_start, .stop = fake_stop, .state = fake_state, .host_table = fake_host_table,
};

static struct amp_rpmsg_device *new_device(void)
{
    static struct amp_rpmsg_device dev;
    memset(&dev, 0, sizeof(dev));
    return &dev;
}

/* Fresh board, memory and rproc before every test. */
static int setup(void **state)
{
    (void)state;
    memset(flash, 0xA5, sizeof(flash));
    memset(sram, 0xA5, sizeof(sram));
    memset(shared, 0xA5, sizeof(shared));
    memset(&board, 0, sizeof(board));
    board.reported = AMP_RPROC_OFFLINE;
    board.rp = &rp;
    amp_rproc_init(&rp, &board_ops, &board, &map, &platform, NULL);
    build_firmware(AMP_RSC_ADDR_ANY, AMP_RSC_ADDR_ANY, true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(image);
    image = NULL;
    return 0;
}

static void load_ok(void)
{
    struct amp_elf_error err;
    assert_int_equal(amp_rproc_load(&rp, image, image_size, ELFB_EM_X86_64, &err), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_LOADED);
}

/* ---- Life cycle. ---- */

static void test_init(void **state)
{
    (void)state;
    assert_int_equal(rp.state, AMP_RPROC_OFFLINE);
    assert_ptr_equal(rp.shared, &regions[2]);
    assert_int_equal(rp.buf_size, 0);
    assert_false(rp.has_rsc);
}

static void test_lifecycle_restart(void **state)
{
    (void)state;
    load_ok();
    assert_true(rp.has_rsc);
    assert_int_equal(rp.entry, ENTRY);

    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_RUNNING);
    assert_int_equal(board.starts, 1);
    assert_int_equal(board.last_entry, ENTRY);

    /* The core dies on its own. */
    board.reported = AMP_RPROC_CRASHED;
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_CRASHED);
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_RUNNING);
    assert_int_equal(board.starts, 2);

    assert_int_equal(amp_rproc_stop(&rp), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_STOPPED);
    assert_int_equal(board.stops, 1);

    /* Restart after stop works (MicroPython's could not). */
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_RUNNING);
    assert_int_equal(board.starts, 3);
    assert_int_equal(board.last_entry, ENTRY);

    assert_int_equal(amp_rproc_shutdown(&rp), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_OFFLINE);
    assert_int_equal(board.stops, 2);
    assert_false(rp.has_rsc);
    assert_null(rp.trace);
    assert_int_equal(amp_rproc_start(&rp), -AMP_EINVAL);
    assert_int_equal(board.starts, 3);
}

static void test_busy_while_running(void **state)
{
    (void)state;
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), 0);
    memset(flash + 0x1000, 0x77, 16);
    assert_int_equal(amp_rproc_start(&rp), -AMP_EBUSY);
    assert_int_equal(amp_rproc_load(&rp, image, image_size, 0, NULL), -AMP_EBUSY);
    assert_int_equal(amp_rproc_set_entry(&rp, FLASH_DA + 1), -AMP_EBUSY);
    assert_int_equal(board.starts, 1);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_RUNNING);
    assert_int_equal(rp.entry, ENTRY);
}

static void test_crash_noticed_by_start_and_load(void **state)
{
    (void)state;
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), 0);
    /* Nobody polled: start itself notices the core is gone. */
    board.reported = AMP_RPROC_CRASHED;
    assert_int_equal(amp_rproc_start(&rp), 0);
    board.reported = AMP_RPROC_CRASHED;
    load_ok();
    /* A core that exits on its own counts as stopped. */
    assert_int_equal(amp_rproc_start(&rp), 0);
    board.reported = AMP_RPROC_STOPPED;
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_STOPPED);
}

static void test_stop_when_not_running(void **state)
{
    (void)state;
    assert_int_equal(amp_rproc_stop(&rp), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_OFFLINE);
    load_ok();
    assert_int_equal(amp_rproc_stop(&rp), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_LOADED);
    assert_int_equal(board.stops, 0);
    assert_int_equal(amp_rproc_shutdown(&rp), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_OFFLINE);
    assert_int_equal(amp_rproc_start(&rp), -AMP_EINVAL);
}

static void test_stop_failure_keeps_running(void **state)
{
    (void)state;
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), 0);
    board.stop_ret = -AMP_EIO;
    assert_int_equal(amp_rproc_stop(&rp), -AMP_EIO);
    assert_int_equal(amp_rproc_shutdown(&rp), -AMP_EIO);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_RUNNING);
    board.stop_ret = 0;
    assert_int_equal(amp_rproc_shutdown(&rp), 0);
}

static void test_start_failure_keeps_state(void **state)
{
    (void)state;
    load_ok();
    board.start_ret = -AMP_EIO;
    assert_int_equal(amp_rproc_start(&rp), -AMP_EIO);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_LOADED);
    board.start_ret = 0;
    assert_int_equal(amp_rproc_start(&rp), 0);
    board.reported = AMP_RPROC_CRASHED;
    board.start_ret = -AMP_ENODEV;
    assert_int_equal(amp_rproc_start(&rp), -AMP_ENODEV);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_CRASHED);
    board.start_ret = 0;
    assert_int_equal(amp_rproc_start(&rp), 0);
}

static void test_load_failure_keeps_previous(void **state)
{
    (void)state;
    load_ok();
    uint8_t before[sizeof(flash)];
    memcpy(before, flash, sizeof(flash));
    struct amp_elf_error err;
    assert_int_equal(amp_rproc_load(&rp, image, 40, 0, &err), -AMP_ENOEXEC);
    assert_int_equal(err.problem, AMP_ELF_TRUNCATED);
    assert_int_equal(amp_rproc_load(&rp, image, image_size, ELFB_EM_ARM, &err), -AMP_ENOEXEC);
    assert_int_equal(err.problem, AMP_ELF_BAD_MACHINE);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_LOADED);
    assert_int_equal(rp.entry, ENTRY);
    assert_true(rp.has_rsc);
    assert_memory_equal(before, flash, sizeof(flash));
    assert_int_equal(amp_rproc_start(&rp), 0);
}

static void test_state_strings(void **state)
{
    (void)state;
    assert_string_equal(amp_rproc_state_str(AMP_RPROC_OFFLINE), "offline");
    assert_string_equal(amp_rproc_state_str(AMP_RPROC_LOADED), "loaded");
    assert_string_equal(amp_rproc_state_str(AMP_RPROC_RUNNING), "running");
    assert_string_equal(amp_rproc_state_str(AMP_RPROC_STOPPED), "stopped");
    assert_string_equal(amp_rproc_state_str(AMP_RPROC_CRASHED), "crashed");
    assert_string_equal(amp_rproc_state_str((enum amp_rproc_state)42), "unknown");
}

/* ---- Linux model: the firmware's own table. ---- */

static void test_embedded_vrings_written_back(void **state)
{
    (void)state;
    load_ok();
    assert_int_equal(loaded32(VRING_AT(0)), AMP_RSC_ADDR_ANY);
    assert_int_equal(amp_rproc_start(&rp), 0);

    /* vring 0 at the start of shared memory, vring 1 at the next 16-byte boundary. */
    uint32_t da0 = loaded32(VRING_AT(0)), da1 = loaded32(VRING_AT(1));
    assert_int_equal(da0, SHARED_DA);
    assert_int_equal(da1, SHARED_DA + ((VRING_BYTES + 15u) & ~15u));
    assert_int_equal(loaded32(VRING_AT(0) + 16), da0);   /* pa = da */
    assert_int_equal(loaded32(VRING_AT(1) + 16), da1);
    assert_true(da1 + VRING_BYTES <= SHARED_DA + SHARED_SIZE);
    /* Everything else in the vring entries is as the firmware wrote it. */
    assert_int_equal(loaded32(VRING_AT(0) + 4), VRING_ALIGN);
    assert_int_equal(loaded32(VRING_AT(1) + 8), VRING_NUM);
    assert_int_equal(loaded32(VRING_AT(1) + 12), 1);
    /* Status cleared before the core was released (no rpmsg device here). */
    assert_int_equal(board.status_at_start, 0);
    assert_int_equal(loaded32(VDEV_AT + 16), 0);     /* gfeatures */
    /* The trace buffer named by the table. */
    assert_ptr_equal(rp.trace, sram + 0x800);
    assert_int_equal(rp.trace_len, TRACE_LEN);

    /* The same addresses after a restart. */
    assert_int_equal(amp_rproc_stop(&rp), 0);
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(loaded32(VRING_AT(0)), da0);
    assert_int_equal(loaded32(VRING_AT(1)), da1);
}

static void test_embedded_fixed_vrings(void **state)
{
    (void)state;
    /* Fixed vrings are left alone; a mix allocates after the fixed one. */
    build_firmware(SHARED_DA + 0x1000, AMP_RSC_ADDR_ANY, true);
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(loaded32(VRING_AT(0)), SHARED_DA + 0x1000);
    assert_int_equal(loaded32(VRING_AT(0) + 16), 0);  /* pa untouched */
    assert_int_equal(loaded32(VRING_AT(1)), SHARED_DA + 0x1000 + ((VRING_BYTES + 15u) & ~15u));
    assert_int_equal(amp_rproc_stop(&rp), 0);

    /* Fixed vrings outside the map, misaligned, or overlapping: refused. */
    build_firmware(0x20000000u, AMP_RSC_ADDR_ANY, true);
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), -AMP_ERANGE);
    build_firmware(SHARED_DA + 8, AMP_RSC_ADDR_ANY, true);
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), -AMP_ERANGE);
    build_firmware(SHARED_DA + 0x100, SHARED_DA + 0x200, true);
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), -AMP_EBADMSG);
    /* No room left for vring 1 after a fixed vring at the very end. */
    build_firmware(SHARED_DA + SHARED_SIZE - 448, AMP_RSC_ADDR_ANY, true);
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), -AMP_ENOSPC);
    assert_int_equal(loaded32(VRING_AT(1)), AMP_RSC_ADDR_ANY);
    assert_int_equal(board.starts, 1);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_LOADED);
}

static void test_embedded_no_space(void **state)
{
    (void)state;
    /* A shared region too small for two vrings and two buffers. */
    static const struct amp_mem_region small_regions[] = {
        { "flash", FLASH_DA, sizeof(flash), flash, AMP_MEM_EXEC },
        { "sram", SRAM_DA, sizeof(sram), sram, AMP_MEM_EXEC },
        { "shared", SHARED_DA, 1024, shared, AMP_MEM_SHARED },
    };
    static const struct amp_mem_map small_map = { small_regions, 3 };
    amp_rproc_init(&rp, &board_ops, &board, &small_map, &platform, NULL);
    load_ok();
    uint8_t before[RSC_SIZE];
    memcpy(before, flash + RSC_OFF, RSC_SIZE);
    assert_int_equal(amp_rproc_start(&rp), -AMP_ENOSPC);
    assert_memory_equal(before, flash + RSC_OFF, RSC_SIZE);  /* table untouched */
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_LOADED);
    assert_int_equal(board.starts, 0);

    /* No shared region at all. */
    static const struct amp_mem_map no_shared = { small_regions, 2 };
    amp_rproc_init(&rp, &board_ops, &board, &no_shared, &platform, NULL);
    assert_null(rp.shared);
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), -AMP_ENOSPC);
}

static void test_embedded_table_corrupted_by_remote(void **state)
{
    (void)state;
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(amp_rproc_stop(&rp), 0);
    /* The last run scribbled on its table: offset[0] now points past it. */
    flash[RSC_OFF + 16] = 0xF0;
    assert_int_equal(amp_rproc_start(&rp), -AMP_EBADMSG);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_STOPPED);
    /* A vdev claiming 3 vrings (still inside the table): not rpmsg's shape. */
    flash[RSC_OFF + 16] = VDEV_AT;
    flash[RSC_OFF + VDEV_AT + 25] = 3;
    assert_int_equal(amp_rproc_start(&rp), -AMP_EBADMSG);
    flash[RSC_OFF + VDEV_AT + 25] = 2;
    /* Mismatched ring sizes. */
    flash[RSC_OFF + VRING_AT(1) + 8] = 32;
    assert_int_equal(amp_rproc_start(&rp), -AMP_EBADMSG);
    flash[RSC_OFF + VRING_AT(1) + 8] = VRING_NUM;
    assert_int_equal(amp_rproc_start(&rp), 0);
}

static void test_embedded_trace_unreachable(void **state)
{
    (void)state;
    load_ok();
    /* Trace da (at 92 + 4) outside the map: booting goes on without it. */
    flash[RSC_OFF + 96 + 3] = 0x70;
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_null(rp.trace);
    assert_int_equal(rp.trace_len, 0);
}

/* ---- MicroPython model: firmware already in place, board-built table. ---- */

static void test_host_table_model(void **state)
{
    (void)state;
    assert_int_equal(amp_rproc_set_entry(&rp, SHARED_DA), -AMP_ERANGE);  /* not executable */
    assert_int_equal(amp_rproc_set_entry(&rp, 0x20000000u), -AMP_ERANGE);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_OFFLINE);
    assert_int_equal(amp_rproc_set_entry(&rp, FLASH_DA + 1), 0);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_LOADED);
    assert_false(rp.has_rsc);

    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(board.host_tables, 1);
    assert_int_equal(board.last_entry, FLASH_DA + 1);
    assert_null(rp.trace);
    assert_int_equal(amp_rproc_stop(&rp), 0);

    /* The board's table fails: nothing is started. */
    board.host_table_ret = -AMP_EIO;
    assert_int_equal(amp_rproc_start(&rp), -AMP_EIO);
    assert_int_equal(board.starts, 1);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_STOPPED);

    /* Loading an image with a table after set_entry switches models. */
    board.host_table_ret = 0;
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(board.host_tables, 2);
    assert_int_equal(loaded32(VRING_AT(0)), SHARED_DA);
}

static void test_image_without_table_uses_host_table(void **state)
{
    (void)state;
    build_firmware(AMP_RSC_ADDR_ANY, AMP_RSC_ADDR_ANY, false);
    load_ok();
    assert_false(rp.has_rsc);
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(board.host_tables, 1);
}

/* ---- A real host rpmsg device driven by the life cycle. ---- */

static void test_real_rpmsg_linux_model(void **state)
{
    (void)state;
    struct amp_rpmsg_device *dev = new_device();
    amp_rproc_init(&rp, &board_ops, &board, &map, &platform, dev);
    board.dev = dev;
    load_ok();
    assert_int_equal(amp_rproc_start(&rp), 0);

    /* The device was up, and DRIVER_OK set, before the core was released. */
    assert_true(board.saw_ready_at_start);
    uint8_t driver_ok = AMP_VIRTIO_STATUS_ACKNOWLEDGE | AMP_VIRTIO_STATUS_DRIVER |
                        AMP_VIRTIO_STATUS_FEATURES_OK | AMP_VIRTIO_STATUS_DRIVER_OK;
    assert_int_equal(board.status_at_start, driver_ok);
    assert_int_equal(loaded32(VDEV_AT + 16), 1u << AMP_VIRTIO_RPMSG_F_NS);  /* gfeatures */
    assert_true(notifies > 0);

    /* Physical addressing over the whole shared region; buffers after the rings. */
    assert_int_equal(dev->cfg.addr_mode, AMP_ADDR_PHYS);
    assert_ptr_equal(dev->cfg.shm, shared);
    assert_int_equal(dev->cfg.shm_pa, SHARED_DA);
    assert_int_equal(dev->cfg.shm_size, SHARED_SIZE);
    assert_ptr_equal(dev->cfg.vring[0], shared);
    assert_ptr_equal(dev->cfg.vring[1], shared + ((VRING_BYTES + 15u) & ~15u));
    assert_int_equal(dev->cfg.vring_num, VRING_NUM);
    uint8_t *pool = dev->cfg.buf_pool;
    assert_true(pool >= (uint8_t *)dev->cfg.vring[1] + VRING_BYTES);
    assert_int_equal(((uintptr_t)pool - (uintptr_t)shared) % 64, 0);
    /* 2 * num buffers would need 16 KiB: capped by the space left. */
    size_t room = (size_t)(shared + SHARED_SIZE - pool);
    assert_int_equal(dev->cfg.buf_count, room / 512);
    assert_true(dev->cfg.buf_count < 2 * VRING_NUM);
    assert_int_equal(dev->buf_size, 512);
    /* The first receive descriptor holds the physical address of buffer 0. */
    struct amp_vring_desc *desc = dev->cfg.vring[0];
    assert_int_equal(desc[0].addr, SHARED_DA + (uint64_t)(pool - shared));

    /* Crash: the device goes down; restart: up again. */
    board.reported = AMP_RPROC_CRASHED;
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_CRASHED);
    assert_false(dev->ready);
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_true(dev->ready);
    assert_int_equal(amp_rproc_stop(&rp), 0);
    assert_false(dev->ready);
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_true(dev->ready);

    /* A failed boot leaves the device down. */
    assert_int_equal(amp_rproc_stop(&rp), 0);
    board.start_ret = -AMP_EIO;
    assert_int_equal(amp_rproc_start(&rp), -AMP_EIO);
    assert_false(dev->ready);
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_STOPPED);

    /* A configurable buffer size. */
    board.start_ret = 0;
    rp.buf_size = 256;
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_int_equal(dev->buf_size, 256);
    assert_int_equal(dev->cfg.buf_count, 2 * VRING_NUM);
    assert_int_equal(amp_rproc_shutdown(&rp), 0);
    assert_false(dev->ready);
    amp_rpmsg_deinit(dev);
}

static void test_real_rpmsg_host_table_model(void **state)
{
    (void)state;
    struct amp_rpmsg_device *dev = new_device();
    amp_rproc_init(&rp, &board_ops, &board, &map, &platform, dev);
    board.dev = dev;
    assert_int_equal(amp_rproc_set_entry(&rp, FLASH_DA + 1), 0);
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_true(board.saw_ready_at_start);
    assert_int_equal(dev->cfg.addr_mode, AMP_ADDR_OFFSET);
    assert_ptr_equal(dev->cfg.buf_pool, shared + HOST_POOL_OFF);
    /* DRIVER_OK in the board's own table at the start of shared memory. */
    assert_int_equal(shared[20 + 24] & AMP_VIRTIO_STATUS_DRIVER_OK, AMP_VIRTIO_STATUS_DRIVER_OK);
    board.reported = AMP_RPROC_CRASHED;
    assert_int_equal(amp_rproc_state(&rp), AMP_RPROC_CRASHED);
    assert_false(dev->ready);
    assert_int_equal(amp_rproc_start(&rp), 0);
    assert_true(dev->ready);
    assert_int_equal(board.host_tables, 2);
    assert_int_equal(amp_rproc_shutdown(&rp), 0);
    amp_rpmsg_deinit(dev);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(amp_rproc_load(NULL, image, image_size, 0, NULL), -AMP_EINVAL);
    assert_int_equal(amp_rproc_set_entry(NULL, FLASH_DA), -AMP_EINVAL);
    assert_int_equal(amp_rproc_start(NULL), -AMP_EINVAL);
    assert_int_equal(amp_rproc_stop(NULL), -AMP_EINVAL);
    assert_int_equal(amp_rproc_shutdown(NULL), -AMP_EINVAL);
    assert_int_equal(amp_rproc_state(NULL), AMP_RPROC_OFFLINE);
    amp_rproc_init(NULL, &board_ops, &board, &map, &platform, NULL);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_init),
        TEST(test_lifecycle_restart),
        TEST(test_busy_while_running),
        TEST(test_crash_noticed_by_start_and_load),
        TEST(test_stop_when_not_running),
        TEST(test_stop_failure_keeps_running),
        TEST(test_start_failure_keeps_state),
        TEST(test_load_failure_keeps_previous),
        TEST(test_state_strings),
        TEST(test_embedded_vrings_written_back),
        TEST(test_embedded_fixed_vrings),
        TEST(test_embedded_no_space),
        TEST(test_embedded_table_corrupted_by_remote),
        TEST(test_embedded_trace_unreachable),
        TEST(test_host_table_model),
        TEST(test_image_without_table_uses_host_table),
        TEST(test_real_rpmsg_linux_model),
        TEST(test_real_rpmsg_host_table_model),
        TEST(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
