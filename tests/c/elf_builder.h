/*
 * elf_builder.h - build small ELF32/ELF64 little-endian executables in
 * memory, for the loader and remoteproc tests, and patch single fields to
 * make them hostile. Written from the ELF specification's field layout.
 *
 * File layout: ELF header | program headers | segment bytes (8-aligned) |
 * section-name strings | section headers (null, the caller's, .shstrtab).
 */
#ifndef ELF_BUILDER_H
#define ELF_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ELFB_MAX_SEGS 8
#define ELFB_MAX_SECS 6

#define ELFB_PT_LOAD 1u
#define ELFB_ET_EXEC 2u
#define ELFB_ET_DYN 3u
#define ELFB_EM_ARM 40u
#define ELFB_EM_X86_64 62u
#define ELFB_SHT_PROGBITS 1u
#define ELFB_SHT_STRTAB 3u
#define ELFB_SHT_NOBITS 8u

struct elfb_seg {
    uint32_t type;            /* 0 means PT_LOAD */
    uint64_t paddr, vaddr;
    const void *data;         /* filesz bytes, or NULL for zeros */
    uint64_t filesz, memsz;
};

struct elfb_sec {
    const char *name;
    unsigned seg;             /* segment whose file bytes hold the section */
    uint64_t seg_off;
    uint64_t size;
    uint32_t type;            /* 0 means PROGBITS */
};

struct elfb {
    bool is64;
    uint16_t machine;
    uint16_t type;            /* 0 means ET_EXEC */
    uint64_t entry;
    struct elfb_seg seg[ELFB_MAX_SEGS];
    unsigned nseg;
    struct elfb_sec sec[ELFB_MAX_SECS];
    unsigned nsec;
};

/* Where the builder put things, so a test can corrupt exactly one of them. */
struct elfb_layout {
    size_t size;
    size_t phoff;
    size_t seg_off[ELFB_MAX_SEGS];
    size_t strtab_off, strtab_size;
    size_t shoff;
    unsigned shnum, shstrndx;
};

/* Fields a test may patch. */
enum elfb_field {
    ELFB_EH_TYPE, ELFB_EH_MACHINE, ELFB_EH_VERSION, ELFB_EH_ENTRY, ELFB_EH_PHOFF, ELFB_EH_SHOFF,
    ELFB_EH_PHENTSIZE, ELFB_EH_PHNUM, ELFB_EH_SHENTSIZE, ELFB_EH_SHNUM, ELFB_EH_SHSTRNDX,
    ELFB_PH_TYPE, ELFB_PH_OFFSET, ELFB_PH_VADDR, ELFB_PH_PADDR, ELFB_PH_FILESZ, ELFB_PH_MEMSZ,
    ELFB_SH_NAME, ELFB_SH_TYPE, ELFB_SH_ADDR, ELFB_SH_OFFSET, ELFB_SH_SIZE,
};

static inline void elfb_put(uint8_t *p, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t elfb_get(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Offset (from the start of its header) and width of a field, per class. */
static inline void elfb_field_place(enum elfb_field f, bool is64, size_t *off, unsigned *width)
{
    /* ELF32 offset, ELF64 offset, ELF32 width, ELF64 width */
    static const uint8_t table[][4] = {
        [ELFB_EH_TYPE] = { 16, 16, 2, 2 },      [ELFB_EH_MACHINE] = { 18, 18, 2, 2 },
        [ELFB_EH_VERSION] = { 20, 20, 4, 4 },   [ELFB_EH_ENTRY] = { 24, 24, 4, 8 },
        [ELFB_EH_PHOFF] = { 28, 32, 4, 8 },     [ELFB_EH_SHOFF] = { 32, 40, 4, 8 },
        [ELFB_EH_PHENTSIZE] = { 42, 54, 2, 2 }, [ELFB_EH_PHNUM] = { 44, 56, 2, 2 },
        [ELFB_EH_SHENTSIZE] = { 46, 58, 2, 2 }, [ELFB_EH_SHNUM] = { 48, 60, 2, 2 },
        [ELFB_EH_SHSTRNDX] = { 50, 62, 2, 2 },
        [ELFB_PH_TYPE] = { 0, 0, 4, 4 },        [ELFB_PH_OFFSET] = { 4, 8, 4, 8 },
        [ELFB_PH_VADDR] = { 8, 16, 4, 8 },      [ELFB_PH_PADDR] = { 12, 24, 4, 8 },
        [ELFB_PH_FILESZ] = { 16, 32, 4, 8 },    [ELFB_PH_MEMSZ] = { 20, 40, 4, 8 },
        [ELFB_SH_NAME] = { 0, 0, 4, 4 },        [ELFB_SH_TYPE] = { 4, 4, 4, 4 },
        [ELFB_SH_ADDR] = { 12, 16, 4, 8 },      [ELFB_SH_OFFSET] = { 16, 24, 4, 8 },
        [ELFB_SH_SIZE] = { 20, 32, 4, 8 },
    };
    *off = table[f][is64 ? 1 : 0];
    *width = table[f][is64 ? 3 : 2];
}

static inline size_t elfb_ehsize(bool is64) { return is64 ? 64 : 52; }
static inline size_t elfb_phentsize(bool is64) { return is64 ? 56 : 32; }
static inline size_t elfb_shentsize(bool is64) { return is64 ? 64 : 40; }

/* Byte offset in the file of field `f` of header `index` (ignored for the ELF header). */
static inline size_t elfb_field_offset(const struct elfb_layout *lay, bool is64, enum elfb_field f,
                                       unsigned index, unsigned *width)
{
    size_t off;
    elfb_field_place(f, is64, &off, width);
    if (f >= ELFB_SH_NAME)
        return lay->shoff + index * elfb_shentsize(is64) + off;
    if (f >= ELFB_PH_TYPE)
        return lay->phoff + index * elfb_phentsize(is64) + off;
    return off;
}

static inline void elfb_patch(uint8_t *img, const struct elfb_layout *lay, bool is64,
                              enum elfb_field f, unsigned index, uint64_t value)
{
    unsigned width;
    size_t off = elfb_field_offset(lay, is64, f, index, &width);
    elfb_put(img + off, value, width);
}

static inline uint64_t elfb_read(const uint8_t *img, const struct elfb_layout *lay, bool is64,
                                 enum elfb_field f, unsigned index)
{
    unsigned width;
    size_t off = elfb_field_offset(lay, is64, f, index, &width);
    return elfb_get(img + off, width);
}

static inline size_t elfb_align8(size_t v)
{
    return (v + 7) & ~(size_t)7;
}

/* Write the image into out[cap]; returns its size, or 0 if cap is too small. */
static inline size_t elfb_build(const struct elfb *b, uint8_t *out, size_t cap,
                                struct elfb_layout *lay)
{
    bool is64 = b->is64;
    size_t pos;

    memset(lay, 0, sizeof(*lay));
    lay->phoff = elfb_ehsize(is64);
    pos = lay->phoff + b->nseg * elfb_phentsize(is64);
    for (unsigned i = 0; i < b->nseg; i++) {
        pos = elfb_align8(pos);
        lay->seg_off[i] = pos;
        pos += (size_t)b->seg[i].filesz;
    }
    /* Names: "\0" name1 "\0" ... ".shstrtab\0" */
    lay->strtab_off = pos;
    size_t strsize = 1;
    for (unsigned i = 0; i < b->nsec; i++)
        strsize += strlen(b->sec[i].name) + 1;
    strsize += sizeof(".shstrtab");
    lay->strtab_size = strsize;
    pos += strsize;
    lay->shoff = elfb_align8(pos);
    lay->shnum = b->nsec + 2;
    lay->shstrndx = b->nsec + 1;
    lay->size = lay->shoff + lay->shnum * elfb_shentsize(is64);
    if (lay->size > cap)
        return 0;
    memset(out, 0, lay->size);

    /* ELF header. */
    static const uint8_t magic[4] = { 0x7f, 'E', 'L', 'F' };
    memcpy(out, magic, 4);
    out[4] = is64 ? 2 : 1;   /* class */
    out[5] = 1;              /* little-endian */
    out[6] = 1;              /* version */
    elfb_patch(out, lay, is64, ELFB_EH_TYPE, 0, b->type ? b->type : ELFB_ET_EXEC);
    elfb_patch(out, lay, is64, ELFB_EH_MACHINE, 0, b->machine);
    elfb_patch(out, lay, is64, ELFB_EH_VERSION, 0, 1);
    elfb_patch(out, lay, is64, ELFB_EH_ENTRY, 0, b->entry);
    elfb_patch(out, lay, is64, ELFB_EH_PHOFF, 0, lay->phoff);
    elfb_patch(out, lay, is64, ELFB_EH_SHOFF, 0, lay->shoff);
    elfb_put(out + (is64 ? 52 : 40), elfb_ehsize(is64), 2);
    elfb_patch(out, lay, is64, ELFB_EH_PHENTSIZE, 0, elfb_phentsize(is64));
    elfb_patch(out, lay, is64, ELFB_EH_PHNUM, 0, b->nseg);
    elfb_patch(out, lay, is64, ELFB_EH_SHENTSIZE, 0, elfb_shentsize(is64));
    elfb_patch(out, lay, is64, ELFB_EH_SHNUM, 0, lay->shnum);
    elfb_patch(out, lay, is64, ELFB_EH_SHSTRNDX, 0, lay->shstrndx);

    /* Program headers and segment bytes. */
    for (unsigned i = 0; i < b->nseg; i++) {
        const struct elfb_seg *s = &b->seg[i];
        elfb_patch(out, lay, is64, ELFB_PH_TYPE, i, s->type ? s->type : ELFB_PT_LOAD);
        elfb_patch(out, lay, is64, ELFB_PH_OFFSET, i, lay->seg_off[i]);
        elfb_patch(out, lay, is64, ELFB_PH_VADDR, i, s->vaddr);
        elfb_patch(out, lay, is64, ELFB_PH_PADDR, i, s->paddr);
        elfb_patch(out, lay, is64, ELFB_PH_FILESZ, i, s->filesz);
        elfb_patch(out, lay, is64, ELFB_PH_MEMSZ, i, s->memsz);
        if (s->data)
            memcpy(out + lay->seg_off[i], s->data, (size_t)s->filesz);
    }

    /* Section names, then section headers. */
    size_t name = 1;
    for (unsigned i = 0; i < b->nsec; i++) {
        const struct elfb_sec *s = &b->sec[i];
        size_t len = strlen(s->name) + 1;
        memcpy(out + lay->strtab_off + name, s->name, len);
        unsigned idx = i + 1;
        elfb_patch(out, lay, is64, ELFB_SH_NAME, idx, name);
        elfb_patch(out, lay, is64, ELFB_SH_TYPE, idx, s->type ? s->type : ELFB_SHT_PROGBITS);
        elfb_patch(out, lay, is64, ELFB_SH_ADDR, idx, b->seg[s->seg].vaddr + s->seg_off);
        elfb_patch(out, lay, is64, ELFB_SH_OFFSET, idx, lay->seg_off[s->seg] + s->seg_off);
        elfb_patch(out, lay, is64, ELFB_SH_SIZE, idx, s->size);
        name += len;
    }
    memcpy(out + lay->strtab_off + name, ".shstrtab", sizeof(".shstrtab"));
    elfb_patch(out, lay, is64, ELFB_SH_NAME, lay->shstrndx, name);
    elfb_patch(out, lay, is64, ELFB_SH_TYPE, lay->shstrndx, ELFB_SHT_STRTAB);
    elfb_patch(out, lay, is64, ELFB_SH_OFFSET, lay->shstrndx, lay->strtab_off);
    elfb_patch(out, lay, is64, ELFB_SH_SIZE, lay->shstrndx, lay->strtab_size);
    return lay->size;
}

#endif /* ELF_BUILDER_H */
