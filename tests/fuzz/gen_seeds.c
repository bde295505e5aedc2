/*
 * Writes the seed corpora of the fuzz targets (make fuzz-seeds):
 *   gen_seeds <dir>   ->  <dir>/{elf,rsc,rpmsg,ns}/seed-*
 * Small valid inputs of each kind, so the fuzzers start deep in the code
 * rather than at the first magic-number check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "amp/rsc.h"
#include "elf_builder.h"
#include "fuzz_ops.h"
#include "loopback.h"

static const char *out_dir;

static void put_file(const char *target, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/seed-%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* ---- Resource tables ---- */

/* The embedded table of the SDK (amp_fw.h): a vdev with ANY vrings, a trace. */
static size_t linux_table(uint8_t *out, uint32_t vring_da, uint32_t num)
{
    uint32_t words[] = {
        1, 2, 0, 0, 24, 24 + 68,
        /* vdev */ AMP_RSC_VDEV, AMP_VIRTIO_ID_RPMSG, 0, 1u << AMP_VIRTIO_RPMSG_F_NS, 0, 0,
        0x00000200u /* status 0, 2 vrings */,
        vring_da, 16, num, 0, 0,
        vring_da == AMP_RSC_ADDR_ANY ? vring_da : vring_da + 0x1000, 16, num, 1, 0,
        /* trace */ AMP_RSC_TRACE, 0x10001000u, 256, 0, 0x63617274, 0x75625f65, 0x66, 0, 0, 0,
        0, 0,
    };
    memcpy(out, words, sizeof words);
    return sizeof words;
}

static void rsc_seeds(void)
{
    _Alignas(8) uint8_t tbl[1024];
    uint8_t buf[1100];
    /* MicroPython's table, as the loopback tests build it. */
    static struct lb_pair lb;
    lb_setup(&lb, AMP_ADDR_OFFSET, 0, 1u << AMP_VIRTIO_RPMSG_F_NS);
    size_t n = lb.table.size;
    /* No hostile writes. */
    buf[0] = 0;
    memcpy(buf + 1, lb.mem, n);
    put_file("rsc", "host-table", buf, n + 1);
    /* DRIVER_OK set, so the remote attaches, and two hostile writes. */
    amp_rsc_find_rpmsg_vdev(&lb.table)->status = AMP_VIRTIO_STATUS_DRIVER_OK;
    uint8_t w[] = { 2, 0x30, 0, 0x07, 0x10, 0, 0xff };
    memcpy(buf, w, sizeof w);
    memcpy(buf + sizeof w, lb.mem, n);
    put_file("rsc", "host-table-ok", buf, n + sizeof w);
    n = linux_table(tbl, AMP_RSC_ADDR_ANY, 16);
    buf[0] = 0;
    memcpy(buf + 1, tbl, n);
    put_file("rsc", "embedded", buf, n + 1);
    /* A carveout, a devmem, a vendor entry. */
    uint32_t words[] = { 1, 3, 0, 0, 28, 28 + 56, 28 + 112,
                         AMP_RSC_CARVEOUT, 0x10000000u, 0x10000000u, 0x1000, 0, 0, 0x67726170,
                         0, 0, 0, 0, 0, 0, 0,
                         AMP_RSC_DEVMEM, 0x40000000u, 0x40000000u, 0x100, 0, 0, 0x676d6564,
                         0, 0, 0, 0, 0, 0, 0,
                         200, 1, 2, 3 };
    buf[0] = 0;
    memcpy(buf + 1, words, sizeof words);
    put_file("rsc", "entries", buf, sizeof words + 1);
}

/* ---- ELF files ---- */

static void elf_seed(const char *name, const struct elfb *b)
{
    static uint8_t img[16384];
    struct elfb_layout lay;
    size_t n = elfb_build(b, img, sizeof img, &lay);
    if (!n)
        exit(1);
    put_file("elf", name, img, n);
}

static void elf_seeds(void)
{
    static const uint8_t code[32] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xeb, 0xfe };
    struct elfb b = { .is64 = true, .machine = ELFB_EM_X86_64, .entry = 0x08100000u, .nseg = 1 };
    b.seg[0] = (struct elfb_seg){ 0, 0x08100000u, 0x08100000u, code, sizeof code, sizeof code };
    elf_seed("code64", &b);

    /* ELF32 (Cortex-M) with code in flash and data + bss in SRAM. */
    struct elfb a = { .is64 = false, .machine = ELFB_EM_ARM, .entry = 0x08100001u, .nseg = 2 };
    a.seg[0] = (struct elfb_seg){ 0, 0x08100000u, 0x08100000u, code, sizeof code, sizeof code };
    a.seg[1] = (struct elfb_seg){ 0, 0x10000100u, 0x10000100u, code, 16, 256 };
    elf_seed("arm32", &a);

    /* A .resource_table in SRAM: the Linux model, vrings ANY or fixed in shared memory. */
    _Alignas(8) uint8_t tbl[512];
    for (int fixed = 0; fixed < 2; fixed++) {
        size_t n = linux_table(tbl, fixed ? 0x38000000u : AMP_RSC_ADDR_ANY, 16);
        struct elfb r = { .is64 = true, .machine = ELFB_EM_X86_64, .entry = 0x08100000u,
                          .nseg = 2, .nsec = 1 };
        r.seg[0] = (struct elfb_seg){ 0, 0x08100000u, 0x08100000u, code, sizeof code,
                                      sizeof code };
        r.seg[1] = (struct elfb_seg){ 0, 0x10000000u, 0x10000000u, tbl, n, n + 64 };
        r.sec[0] = (struct elfb_sec){ ".resource_table", 1, 0, n, 0 };
        elf_seed(fixed ? "rsc-fixed" : "rsc-any", &r);
    }
}

/* ---- rpmsg and name-service op sequences (tests/fuzz/fuzz_ops.h) ---- */

static void rpmsg_seeds(void)
{
    /* Config byte, then ops: traffic both ways, then hostile writes mixed in. */
    const uint8_t plain[] = {
        FZ_CFG_NS, FZ_OP_SEND_H, 0, 8, FZ_OP_POLL_R, FZ_OP_SEND_R, 0, 16, FZ_OP_POLL_H,
        FZ_OP_SEND_H, 1, 40, FZ_OP_SEND_H, 1, 200, FZ_OP_POLL_R, FZ_OP_POLL_H,
    };
    put_file("rpmsg", "plain", plain, sizeof plain);
    const uint8_t hostile[] = {
        FZ_CFG_NS | FZ_CFG_PHYS, FZ_OP_SEND_H, 0, 8, FZ_OP_WRITE, FZ_AREA_HDR_H2R, 12, 0, 2,
        0xff, 0xff, FZ_OP_POLL_R, FZ_OP_SEND_R, 0, 16, FZ_OP_WRITE, FZ_AREA_USED_R2H, 2, 0, 2,
        0x40, 0x00, FZ_OP_POLL_H, FZ_OP_WRITE, FZ_AREA_DESC_R2H, 8, 0, 4, 0, 0x10, 0, 0,
        FZ_OP_SEND_R, 0, 4, FZ_OP_POLL_H,
    };
    put_file("rpmsg", "hostile", hostile, sizeof hostile);
    const uint8_t zc[] = {
        FZ_CFG_EVENT_IDX | FZ_CFG_HOLD, FZ_OP_ZC_H, 0, 32, FZ_OP_POLL_R, FZ_OP_RELEASE_R,
        FZ_OP_ZC_R, 0, 32, FZ_OP_POLL_H, FZ_OP_RELEASE_H, FZ_OP_ARM, 0, FZ_OP_CORK, 1,
        FZ_OP_SEND_H, 0, 1, FZ_OP_CORK, 0, FZ_OP_RACE, FZ_AREA_AVAIL_H2R, 2, 0, 2, 9, 0,
        FZ_OP_SEND_H, 0, 3, FZ_OP_POLL_R, FZ_OP_REINIT, FZ_OP_POLL_R, FZ_OP_SEND_R, 0, 5,
        FZ_OP_POLL_H,
    };
    put_file("rpmsg", "zerocopy", zc, sizeof zc);

    /* Name service: NS create, a message on the bound endpoint, NS destroy. */
    uint8_t ns[128];
    size_t n = 0;
    ns[n++] = FZ_CFG_NS;
    ns[n++] = FZ_NS_CREATE_EPT;
    ns[n++] = 0;   /* name "svc0" on the host */
    ns[n++] = FZ_NS_ANNOUNCE;   /* the remote announces "svc0" at 0x400 */
    ns[n++] = 0;
    ns[n++] = 0;
    ns[n++] = 0x00;
    ns[n++] = 0x04;
    ns[n++] = FZ_NS_PUMP;
    ns[n++] = FZ_NS_SEND;
    ns[n++] = 0;
    ns[n++] = FZ_NS_ANNOUNCE;   /* destroy */
    ns[n++] = 0;
    ns[n++] = 1;
    ns[n++] = 0x00;
    ns[n++] = 0x04;
    ns[n++] = FZ_NS_PUMP;
    ns[n++] = FZ_NS_RAW;        /* a raw NS message: 40 bytes given */
    ns[n++] = 40;
    const char raw[40] = "other-service";
    memcpy(ns + n, raw, 40);
    n += 40;
    ns[n++] = FZ_NS_PUMP;
    put_file("ns", "create-destroy", ns, n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds <corpus dir>\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        perror(out_dir);
        return 1;
    }
    rsc_seeds();
    elf_seeds();
    rpmsg_seeds();
    return 0;
}
