/*
 * amp info FW.elf: what a firmware file holds, read-only. The board's own
 * loader (amp_elf_load, into scratch memory shaped like the board) checks
 * it; the program headers, the sections and the resource table are then
 * decoded here, every offset and length checked against the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amp/rsc.h"
#include "cli.h"

const char help_info[] =
    "usage: amp info FW.elf\n"
    "\n"
    "Show what a firmware file holds: its machine and entry point, each loadable\n"
    "segment with the board region it lands in (flash, sram, shared), and its\n"
    "resource table decoded (vdev, vrings, trace buffer, carveouts), then whether\n"
    "sim-h747's loader accepts it. Nothing is run; no board is opened.\n"
    "\n"
    "exit codes: 0 the file loads on the board, 1 it does not (the reason is\n"
    "printed) or cannot be read, 2 bad command line.\n";

#define MAX_FILE (64u << 20)

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

struct elf {
    const uint8_t *img;
    size_t size;
    bool is64;
};

/* Field at `off` of a header at `base`, 32- or 64-bit wide by class. */
static uint64_t word(const struct elf *e, size_t base, size_t off32, size_t off64)
{
    return e->is64 ? le64(e->img + base + off64) : le32(e->img + base + off32);
}

static bool in_file(const struct elf *e, uint64_t off, uint64_t len)
{
    return off <= e->size && len <= e->size - off;
}

static const char *machine_name(uint16_t m)
{
    switch (m) {
    case 3: return "x86 (i386)";
    case 40: return "ARM (32-bit, e.g. Cortex-M)";
    case 62: return "x86-64";
    case 183: return "AArch64";
    case 243: return "RISC-V";
    default: return "unknown";
    }
}

/* The board's memory map, in scratch memory (what amp_elf_load writes into). */
struct scratch {
    struct amp_mem_region r[3];
    struct amp_mem_map map;
};

static int scratch_init(struct scratch *s)
{
    static const struct { const char *name; uint64_t da, size; uint32_t flags; } layout[3] = {
        { "flash", AMP_SIM_FLASH_DA, AMP_SIM_FLASH_SIZE, AMP_MEM_EXEC },
        { "sram", AMP_SIM_SRAM_DA, AMP_SIM_SRAM_SIZE, AMP_MEM_EXEC },
        { "shared", AMP_SIM_SHARED_DA, AMP_SIM_SHARED_SIZE, AMP_MEM_SHARED },
    };
    for (int i = 0; i < 3; i++) {
        s->r[i] = (struct amp_mem_region){ layout[i].name, layout[i].da, layout[i].size,
                                           calloc(1, layout[i].size), layout[i].flags };
        if (!s->r[i].va)
            return -1;
    }
    s->map = (struct amp_mem_map){ s->r, 3 };
    return 0;
}

static void scratch_free(struct scratch *s)
{
    for (int i = 0; i < 3; i++)
        free(s->r[i].va);
}

static const char *region_of(const struct scratch *s, uint64_t da, uint64_t len)
{
    const struct amp_mem_region *r = amp_mem_find(&s->map, da, len ? len : 1);
    return r ? r->name : "outside the board's memory";
}

static void print_segments(const struct elf *e, const struct scratch *s)
{
    uint64_t phoff = word(e, 0, 28, 32);
    uint16_t phentsize = le16(e->img + (e->is64 ? 54 : 42));
    uint16_t phnum = le16(e->img + (e->is64 ? 56 : 44));
    size_t min = e->is64 ? 56 : 32;
    if (phnum == 0 || phentsize < min || !in_file(e, phoff, (uint64_t)phnum * phentsize)) {
        printf("segments:  none readable\n");
        return;
    }
    printf("segments:\n   #  %-10s %-10s %-10s %-9s %-9s %-5s %s\n", "load at", "runs at",
           "file off", "filesz", "memsz", "flags", "region");
    for (unsigned i = 0; i < phnum; i++) {
        size_t b = (size_t)(phoff + (uint64_t)i * phentsize);
        if (le32(e->img + b) != 1)  /* PT_LOAD only */
            continue;
        uint32_t flags = le32(e->img + b + (e->is64 ? 4 : 24));
        uint64_t off = word(e, b, 4, 8), vaddr = word(e, b, 8, 16), paddr = word(e, b, 12, 24);
        uint64_t filesz = word(e, b, 16, 32), memsz = word(e, b, 20, 40);
        printf("  %2u  0x%08llx 0x%08llx 0x%08llx 0x%-7llx 0x%-7llx %c%c%c   %s\n", i,
               (unsigned long long)paddr, (unsigned long long)vaddr, (unsigned long long)off,
               (unsigned long long)filesz, (unsigned long long)memsz, flags & 4 ? 'R' : '-',
               flags & 2 ? 'W' : '-', flags & 1 ? 'X' : '-', region_of(s, paddr, memsz));
    }
}

static void print_features(uint32_t f)
{
    printf("0x%x", f);
    if (f & (1u << AMP_VIRTIO_RPMSG_F_NS))
        printf(" (name service)");
}

static void print_addr(uint32_t a)
{
    if (a == AMP_RSC_ADDR_ANY)
        printf("ANY (the host places it)");
    else
        printf("0x%08x", a);
}

static void print_rsc(const struct amp_elf_info *info, const struct scratch *s)
{
    if (!info->rsc_size) {
        printf("resource table: none (the host builds MicroPython's table in shared memory,\n"
               "                descriptors hold offsets from 0x38000400)\n");
        return;
    }
    struct amp_rsc_table tbl;
    if (amp_rsc_parse(&tbl, info->rsc_va, (size_t)info->rsc_size) != 0) {
        printf("resource table: at 0x%08llx, invalid\n", (unsigned long long)info->rsc_da);
        return;
    }
    printf("resource table: at 0x%08llx (%s), %llu bytes, version %u, %u entries\n",
           (unsigned long long)info->rsc_da, region_of(s, info->rsc_da, info->rsc_size),
           (unsigned long long)info->rsc_size, tbl.hdr->ver, tbl.num);
    for (uint32_t i = 0; i < tbl.num; i++) {
        uint32_t type;
        void *ent = amp_rsc_entry(&tbl, i, &type);
        if (!ent)
            break;
        printf("  [%u] ", i);
        if (type == AMP_RSC_VDEV) {
            const struct amp_rsc_vdev *v = ent;
            printf("VDEV    id %u%s, notifyid %u, features ", v->id,
                   v->id == AMP_VIRTIO_ID_RPMSG ? " (rpmsg)" : "", v->notifyid);
            print_features(v->dfeatures);
            printf(", status 0x%x, config %u bytes\n", v->status, v->config_len);
            for (unsigned k = 0; k < v->num_of_vrings; k++) {
                const struct amp_rsc_vdev_vring *r = &v->vring[k];
                printf("        vring %u: %u entries, align %u, notifyid %u, da ", k, r->num,
                       r->align, r->notifyid);
                print_addr(r->da);
                printf("\n");
            }
        } else if (type == AMP_RSC_TRACE) {
            const struct amp_rsc_trace *t = ent;
            printf("TRACE   \"%.*s\" at 0x%08x, %u bytes (%s)\n", AMP_RSC_NAME_LEN, t->name, t->da,
                   t->len, region_of(s, t->da, t->len));
        } else if (type == AMP_RSC_CARVEOUT || type == AMP_RSC_DEVMEM) {
            const struct amp_rsc_carveout *c = ent;
            printf("%-7s \"%.*s\" da ", type == AMP_RSC_CARVEOUT ? "CARVEOUT" : "DEVMEM",
                   AMP_RSC_NAME_LEN, c->name);
            print_addr(c->da);
            printf(", pa 0x%08x, %u bytes, flags 0x%x\n", c->pa, c->len, c->flags);
        } else if (type >= AMP_RSC_VENDOR_START && type < AMP_RSC_VENDOR_END) {
            printf("vendor type %u\n", type);
        } else {
            printf("unknown type %u\n", type);
        }
    }
}

static int read_file(const char *path, uint8_t **out, size_t *size)
{
    /* Non-blocking: a FIFO is refused below instead of hanging the open (issue 8.2). */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return cli_fail(EXIT_FAIL, "info", "%s: %s", path, strerror(errno));
    struct stat st;
    FILE *f = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !(f = fdopen(fd, "rb"))) {
        close(fd);
        return cli_fail(EXIT_FAIL, "info", "%s: not a regular file", path);
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > MAX_FILE) {
        fclose(f);
        return cli_fail(EXIT_FAIL, "info", "%s: %s", path,
                        st.st_size <= 0 ? "file is empty" : "too large for firmware");
    }
    uint8_t *buf = malloc((size_t)st.st_size);
    size_t got = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        return cli_fail(EXIT_FAIL, "info", "%s: cannot read it", path);
    }
    *out = buf;
    *size = got;
    return EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_fail(EXIT_USAGE, "info", "usage: amp info FW.elf");
    const char *path = argv[1];
    uint8_t *img = NULL;
    size_t size = 0;
    int rc = read_file(path, &img, &size);
    if (rc)
        return rc;
    struct elf e = { img, size, false };
    if (size < 52 || memcmp(img, "\177ELF", 4) != 0 || (img[4] != 1 && img[4] != 2) ||
        (img[4] == 2 && size < 64)) {
        free(img);
        return cli_fail(EXIT_FAIL, "info", "%s: not an ELF file", path);
    }
    e.is64 = img[4] == 2;
    uint16_t machine = le16(img + 18);
    printf("file:      %s (%zu bytes)\n", path, size);
    printf("machine:   %s (e_machine %u), ELF%d %s-endian\n", machine_name(machine), machine,
           e.is64 ? 64 : 32, img[5] == 1 ? "little" : "big");
    if (img[5] != 1) {
        free(img);
        printf("board:     sim-h747 cannot load it: not little-endian\n");
        return EXIT_FAIL;
    }

    struct scratch s;
    if (scratch_init(&s) != 0) {
        scratch_free(&s);
        free(img);
        return cli_fail(EXIT_FAIL, "info", "out of memory");
    }
    uint64_t entry = word(&e, 0, 24, 24);
    printf("entry:     0x%08llx (%s)\n", (unsigned long long)entry, region_of(&s, entry, 1));
    print_segments(&e, &s);

    struct amp_elf_info info;
    struct amp_elf_error err = { .problem = AMP_ELF_OK, .segment = -1 };
    rc = amp_elf_load(img, size, &s.map, 0, &info, &err);
    if (rc == 0) {
        print_rsc(&info, &s);
        printf("board:     sim-h747's loader accepts it (%u segments)\n", info.segments);
    } else {
        printf("board:     sim-h747 cannot load it: %s", amp_elf_problem_str(err.problem));
        if (err.segment >= 0)
            printf(" (segment %d)", err.segment);
        if (err.addr || err.size)
            printf(" at 0x%llx, size 0x%llx", (unsigned long long)err.addr,
                   (unsigned long long)err.size);
        printf("\n");
    }
    scratch_free(&s);
    free(img);
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
