/*
 * The board under hosts other than its own: a foreign (OpenAMP-like) host
 * driving sim-h747 in MicroPython's order, our host in that order, a
 * host-chosen layout without a resource table (rpmsg-lite's), shared memory
 * at its device address, and the trace after a host zeroed it. Real
 * firmware (build/firmware/) on amp-simcore.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "amp/sim.h"
#include "firmware_dir.h"
#include "foreign_host.h"

#define TIMEOUT_MS 5000
#define MSGS 500u

static char fw_dir[PATH_MAX];
static unsigned board_seq;
static struct amp_sim_board *open_board;   /* closed by the teardown if a test fails */

static struct amp_sim_board *board_open(const char *tag, bool external, bool at_da)
{
    char name[64], err[256];
    snprintf(name, sizeof name, "tsimh-interop%d-%s-%u", (int)getpid(), tag, board_seq++);
    struct amp_sim_options opt = {
        .name = name,
        .remove_flash_on_close = true,
        .external_host = external,
        .map_at_device_address = at_da,
    };
    struct amp_sim_board *board = NULL;
    int rc = amp_sim_open(&board, &opt, err, sizeof err);
    if (rc)
        print_error("amp_sim_open: %s\n", err);
    assert_int_equal(rc, 0);
    open_board = board;
    return board;
}

static void board_close(struct amp_sim_board *board)
{
    amp_sim_close(board);
    open_board = NULL;
}

static void load(struct amp_sim_board *board, const char *fw)
{
    char path[PATH_MAX + 64], err[512];
    snprintf(path, sizeof path, "%s/%s", fw_dir, fw);
    int rc = amp_sim_load_file(board, path, err, sizeof err);
    if (rc)
        print_error("load: %s\n", err);
    assert_int_equal(rc, 0);
}

/* ---- A foreign host on the board, in MicroPython's order. ---- */

struct peer {
    struct fh host;
    const char *service;
    uint32_t remote_addr;
    bool bound;
    uint8_t expect[496];
    uint32_t expect_len;
    unsigned echoed, mismatched;
};

static void peer_rx(struct fh *h, uint32_t src, uint32_t dst, const uint8_t *data, uint32_t len,
                    void *priv)
{
    (void)h;
    struct peer *p = priv;
    if (dst == AMP_RPMSG_NS_ADDR) {
        if (len == 40 && strcmp((const char *)data, p->service) == 0) {
            p->remote_addr = fh_rd32(data + 32);
            p->bound = true;
        }
        return;
    }
    if (src == p->remote_addr && len == p->expect_len && memcmp(data, p->expect, len) == 0)
        p->echoed++;
    else
        p->mismatched++;
}

/* Poll the foreign host until cond or the timeout, sleeping on the doorbell between. */
static bool peer_until(struct amp_sim_board *board, struct peer *p, bool (*cond)(struct peer *),
                       unsigned arg_unused)
{
    (void)arg_unused;
    const struct amp_platform *plat = amp_sim_platform(board);
    uint32_t start = plat->ops->time_ms(plat->ctx);
    for (;;) {
        fh_poll(&p->host, peer_rx, p);
        if (cond(p))
            return true;
        if (plat->ops->time_ms(plat->ctx) - start > TIMEOUT_MS)
            return false;
        /* Our remote may not ring (NO_NOTIFY, NO_INTERRUPT): never sleep long. */
        plat->ops->wait(plat->ctx, 5);
    }
}

static bool is_bound(struct peer *p)
{
    return p->bound;
}

static unsigned want_echoes;
static bool enough_echoes(struct peer *p)
{
    return p->echoed + p->mismatched >= want_echoes;
}

static void peer_exchange(struct amp_sim_board *board, struct peer *p, unsigned count)
{
    const struct amp_platform *plat = amp_sim_platform(board);
    static const uint32_t lens[] = { 1, 496, 17, 300, 496, 2, 40 };
    for (unsigned i = 0; i < count; i++) {
        p->expect_len = lens[i % 7];
        for (uint32_t b = 0; b < p->expect_len; b++)
            p->expect[b] = (uint8_t)(i + 7 * b);
        int sent;
        while ((sent = fh_send(&p->host, 0x400, p->remote_addr, p->expect, p->expect_len)) < 0)
            plat->ops->wait(plat->ctx, 5);
        plat->ops->notify(plat->ctx, 1);
        want_echoes = i + 1;
        assert_true(peer_until(board, p, enough_echoes, 0));
    }
}

static void test_foreign_host_micropython_order(void **state)
{
    (void)state;
    struct amp_sim_board *board = board_open("mpy", true, true);
    /* Mapped at its device address: the host keeps device addresses as pointers. */
    uint8_t *shared = (uint8_t *)(uintptr_t)AMP_SIM_SHARED_DA;
    assert_ptr_equal(amp_mem_da_to_va(amp_sim_mem_map(board), AMP_SIM_SHARED_DA, 1), shared);
    /* The region's fd shows the same bytes elsewhere. */
    int fd = amp_sim_region_fd(board, "shared");
    assert_true(fd >= 0);
    uint8_t *alias = mmap(NULL, AMP_SIM_SHARED_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(alias != MAP_FAILED);
    assert_int_equal(amp_sim_region_fd(board, "dram"), -AMP_ENOENT);

    /* First Endpoint(): the host writes table, rings and buffers, DRIVER_OK. */
    const struct amp_rsc_layout layout = {
        .features = 1u << AMP_VIRTIO_RPMSG_F_NS,
        .vring_da = { 0x38001400, 0x38000400 },
        .vring_notifyid = { 0, 1 },
        .vring_num = 64,
        .vring_align = 32,
        .trace_da = 0x38000380,
        .trace_len = 128,
    };
    assert_int_equal(amp_rsc_build(shared, 0x380, &layout), 0);
    struct amp_rsc_table tbl;
    assert_int_equal(amp_rsc_parse(&tbl, shared, 0x380), 0);
    struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(&tbl);
    assert_non_null(vdev);
    static struct peer peer;
    struct peer *p = &peer;
    memset(p, 0, sizeof *p);
    p->service = "vuart-channel";
    /* Descriptors: offsets from 0x38000400; 64 receive and 46 transmit buffers. */
    fh_init(&p->host, FH_OPENAMP, shared + 0x1400, shared + 0x400, 64, 32, shared + 0x400, 0,
            0xFC00, shared + 0x2400, 512, 46);
    vdev->gfeatures = vdev->dfeatures;
    vdev->status = AMP_VIRTIO_STATUS_DRIVER_OK;
    assert_int_equal(alias[0x2C + 0], shared[0x2C]);

    /* Then RemoteProc(...).start(): the board must leave all of it alone. */
    load(board, "virtual_uart.elf");
    assert_int_equal(amp_rproc_start(amp_sim_rproc(board)), 0);
    assert_int_equal(vdev->status, AMP_VIRTIO_STATUS_DRIVER_OK);
    bool bound = peer_until(board, p, is_bound, 0);
    if (!bound) {
        char trace[256];
        amp_sim_read_trace(board, trace, sizeof trace);
        print_error("no NS announcement; trace: %s\n", trace);
    }
    assert_true(bound);
    peer_exchange(board, p, MSGS);
    printf("foreign host on sim-h747: sent %u, echoed %u, mismatched %u, truncated %u, "
           "short used.len %u, errors %u\n", MSGS, p->echoed, p->mismatched, p->host.truncated,
           p->host.short_used_len, p->host.errors);
    assert_int_equal(p->host.errors, 0);
    assert_int_equal(p->host.truncated, 0);
    assert_int_equal(p->mismatched, 0);
    assert_int_equal(p->echoed, MSGS);

    /* MicroPython's host zeroes shared memory, trace included; the firmware's
     * later text must still be readable. */
    char trace[256];
    assert_true(amp_sim_read_trace(board, trace, sizeof trace) > 0);
    assert_non_null(strstr(trace, "virtual_uart: up"));
    size_t up = strlen("virtual_uart: up\n");
    memset(shared + 0x380, 0, up);
    memcpy(shared + 0x380 + up, "later\n", 7);
    assert_int_equal(amp_sim_read_trace(board, trace, sizeof trace), 6);
    assert_string_equal(trace, "later\n");

    munmap(alias, AMP_SIM_SHARED_SIZE);
    board_close(board);
}

/* A second board cannot have the same device addresses in this process. */
static void test_map_at_device_address_taken(void **state)
{
    (void)state;
    struct amp_sim_board *a = board_open("da1", true, true);
    char name[64], err[256];
    snprintf(name, sizeof name, "tsimh-interop%d-da2", (int)getpid());
    struct amp_sim_options opt = { .name = name, .remove_flash_on_close = true,
                                   .map_at_device_address = true };
    struct amp_sim_board *b = NULL;
    assert_int_equal(amp_sim_open(&b, &opt, err, sizeof err), -AMP_EADDRINUSE);
    assert_null(b);
    assert_non_null(strstr(err, "0x08100000"));
    assert_non_null(strstr(err, "taken"));
    /* Without the option the second board opens anywhere. */
    opt.map_at_device_address = false;
    assert_int_equal(amp_sim_open(&b, &opt, err, sizeof err), 0);
    amp_sim_close(b);
    board_close(a);
}

/* ---- Our own host in MicroPython's order, with restarts. ---- */

struct echo_log {
    unsigned count;
    size_t len;
    uint8_t last[512];
};

static int log_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    (void)src;
    struct echo_log *log = priv;
    log->count++;
    log->len = len;
    memcpy(log->last, data, len < sizeof log->last ? len : sizeof log->last);
    return AMP_RPMSG_RELEASE;
}

/* Serve dev until the endpoint is bound and `count` messages came back. */
static void serve_until(struct amp_sim_board *board, struct amp_rpmsg_device *dev,
                        struct amp_rpmsg_endpoint *ept, struct echo_log *log, unsigned count)
{
    const struct amp_platform *plat = amp_sim_platform(board);
    uint32_t start = plat->ops->time_ms(plat->ctx);
    while (!amp_rpmsg_ept_is_ready(ept) || log->count < count) {
        int rc = amp_rpmsg_poll(dev);
        assert_true(rc >= 0);
        if (plat->ops->time_ms(plat->ctx) - start > TIMEOUT_MS) {
            char trace[256];
            amp_sim_read_trace(board, trace, sizeof trace);
            fail_msg("timed out (bound %d, %u/%u echoes); trace: %s", amp_rpmsg_ept_is_ready(ept),
                     log->count, count, trace);
        }
        amp_rpmsg_wait(dev, 50);
    }
}

static void echo_round(struct amp_sim_board *board, struct amp_rpmsg_device *dev,
                       struct amp_rpmsg_endpoint *ept, struct echo_log *log, unsigned rounds)
{
    for (unsigned i = 0; i < rounds; i++) {
        uint8_t msg[496];
        size_t len = i % 2 ? sizeof msg : 1 + i % 13;
        for (size_t b = 0; b < len; b++)
            msg[b] = (uint8_t)(i ^ b);
        unsigned before = log->count;
        assert_int_equal(amp_rpmsg_send(ept, msg, len, TIMEOUT_MS), (int)len);
        serve_until(board, dev, ept, log, before + 1);
        assert_int_equal(log->len, len);
        assert_memory_equal(log->last, msg, len);
    }
}

static void test_our_host_micropython_order(void **state)
{
    (void)state;
    struct amp_sim_board *board = board_open("own", true, false);
    struct amp_rproc *rp = amp_sim_rproc(board);
    struct amp_rpmsg_device *dev;
    struct amp_rpmsg_endpoint ept;
    struct echo_log log = { 0 };
    load(board, "virtual_uart.elf");
    for (int run = 0; run < 2; run++) {
        /* Endpoint() first: the set-up happens here, not at start. */
        assert_int_equal(amp_sim_rpmsg(board, &dev), 0);
        assert_true(dev->ready);
        if (run == 0)
            assert_int_equal(amp_rpmsg_create_ept(&ept, dev, "vuart-channel", AMP_RPMSG_ADDR_ANY,
                                                  AMP_RPMSG_ADDR_ANY, log_rx, NULL, &log),
                             0);
        const uint8_t *shared = amp_mem_da_to_va(amp_sim_mem_map(board), AMP_SIM_SHARED_DA, 0x400);
        uint8_t before[0x400];
        memcpy(before, shared, sizeof before);
        assert_int_equal(amp_rproc_start(rp), 0);
        /* start() wrote nothing: the table is as the host left it. */
        assert_memory_equal(shared, before, 0x30);
        serve_until(board, dev, &ept, &log, log.count);
        echo_round(board, dev, &ept, &log, 50);
        assert_int_equal(amp_rproc_stop(rp), 0);
        assert_false(dev->ready);
    }
    amp_rpmsg_destroy_ept(&ept);
    board_close(board);
}

/* ---- A host-chosen layout without a resource table (rpmsg-lite's). ---- */

static void test_table_less_layout(void **state)
{
    (void)state;
    struct amp_sim_board *board = board_open("lite", false, false);
    struct amp_sim_layout l;
    char err[256];
    assert_int_equal(amp_sim_layout_rpmsg_lite(&l, AMP_SIM_SHARED_DA, 32, 16, 0x400, 512), 0);
    assert_int_equal(l.vring_da[1], AMP_SIM_SHARED_DA + 0x400);
    assert_int_equal(l.pool_da, AMP_SIM_SHARED_DA + 0x800);
    l.trace_da = AMP_SIM_SRAM_DA;
    l.trace_len = 256;
    /* A layout that does not fit is refused, saying what. */
    struct amp_sim_layout big = l;
    big.buf_count = 512;
    big.shm_size = AMP_SIM_SHARED_SIZE;
    assert_int_equal(amp_sim_set_layout(board, &big, err, sizeof err), -AMP_ERANGE);
    assert_non_null(strstr(err, "pool"));
    big = l;
    big.vring_da[1] = l.vring_da[0] + 0x100;
    assert_int_equal(amp_sim_set_layout(board, &big, err, sizeof err), -AMP_ERANGE);
    assert_non_null(strstr(err, "overlap"));
    assert_int_equal(amp_sim_set_layout(board, &l, err, sizeof err), 0);

    struct amp_rpmsg_device *dev;
    struct amp_rpmsg_endpoint ept;
    struct echo_log log = { 0 };
    assert_int_equal(amp_sim_rpmsg(board, &dev), 0);
    assert_null(dev->cfg.vdev);
    assert_int_equal(amp_rpmsg_create_ept(&ept, dev, "lite-echo", AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, log_rx, NULL, &log),
                     0);
    /* The native image: its trace area is first in SRAM, as l.trace_da says
     * (the M4 image keeps its stack there). */
    load(board, "lite_echo-x86_64.elf");
    struct amp_rproc *rp = amp_sim_rproc(board);
    for (int run = 0; run < 2; run++) {
        assert_int_equal(amp_rproc_start(rp), 0);
        serve_until(board, dev, &ept, &log, log.count);
        echo_round(board, dev, &ept, &log, 50);
        char trace[256];
        assert_true(amp_sim_read_trace(board, trace, sizeof trace) > 0);
        assert_non_null(strstr(trace, "lite_echo: up"));
        assert_int_equal(amp_rproc_stop(rp), 0);
    }
    amp_rpmsg_destroy_ept(&ept);
    board_close(board);
}

/*
 * OpenAMP v2023.10's ELF loader (MicroPython's RemoteProc("fw.elf")) fails
 * on a program header with nothing to load (e.g. PT_GNU_STACK): every
 * firmware the SDK links has only PT_LOAD headers, none empty.
 */
/*
 * The M4 SDK (boards/stm32h747/sdk/cm4/stm32h747-m4.ld): the linker adds a PT_ARM_EXIDX,
 * which OpenAMP's loader skips while it looks for the next PT_LOAD; what
 * it cannot take is an empty PT_LOAD (a firmware without a resource
 * table's segment) or any header after the last PT_LOAD.
 */
static void check_m4_headers(FILE *f, const char *name)
{
    Elf32_Ehdr eh;
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    assert_int_equal(fread(&eh, sizeof eh, 1, f), 1);
    assert_true(eh.e_phnum > 0);
    unsigned loads = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf32_Phdr ph;
        long at = (long)(eh.e_phoff + (uint32_t)i * eh.e_phentsize);
        assert_int_equal(fseek(f, at, SEEK_SET), 0);
        assert_int_equal(fread(&ph, sizeof ph, 1, f), 1);
        if (ph.p_type == PT_LOAD && ph.p_memsz == 0)
            fail_msg("%s: program header %u: an empty PT_LOAD", name, i);
        if (ph.p_type != PT_LOAD && i == eh.e_phnum - 1u)
            fail_msg("%s: program header %u (type %#x) after the last PT_LOAD", name, i,
                     (unsigned)ph.p_type);
        loads += ph.p_type == PT_LOAD;
    }
    assert_true(loads >= 2);
}

static void test_firmware_headers_load_under_openamp(void **state)
{
    (void)state;
    DIR *dir = opendir(fw_dir);
    assert_non_null(dir);
    unsigned checked = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".elf") != 0)
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", fw_dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        Elf64_Ehdr eh;
        assert_int_equal(fread(&eh, sizeof eh, 1, f), 1);
        if (eh.e_ident[EI_CLASS] == ELFCLASS32 && eh.e_machine == EM_ARM) {
            check_m4_headers(f, e->d_name);
            fclose(f);
            checked++;
            continue;
        }
        if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
            fclose(f);  /* another core type's firmware: not an SDK's linker script */
            continue;
        }
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            long at = (long)(eh.e_phoff + (uint64_t)i * eh.e_phentsize);
            assert_int_equal(fseek(f, at, SEEK_SET), 0);
            assert_int_equal(fread(&ph, sizeof ph, 1, f), 1);
            if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
                fail_msg("%s: program header %u: type %u, memsz %lu", e->d_name, i,
                         (unsigned)ph.p_type, (unsigned long)ph.p_memsz);
        }
        fclose(f);
        checked++;
    }
    closedir(dir);
    assert_true(checked >= 8);   /* firmware/ built for both core types */
}

static int teardown(void **state)
{
    (void)state;
    if (open_board)
        board_close(open_board);
    return 0;
}

int main(void)
{
    if (test_firmware_dir(fw_dir, sizeof fw_dir) != 0)
        return 1;

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_foreign_host_micropython_order, teardown),
        cmocka_unit_test_teardown(test_map_at_device_address_taken, teardown),
        cmocka_unit_test_teardown(test_our_host_micropython_order, teardown),
        cmocka_unit_test_teardown(test_table_less_layout, teardown),
        cmocka_unit_test(test_firmware_headers_load_under_openamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
