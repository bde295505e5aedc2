/*
 * elf.c - load an ELF32/ELF64 little-endian executable into board memory.
 *
 * The image is hostile until proven otherwise. The loader works in two
 * passes: the first checks the header, every program and section header,
 * every segment's place in the file and in the memory map, segment overlap,
 * the resource table and the entry point; the second copies. Nothing is
 * written to board memory unless the first pass found no problem.
 *
 * Headers are copied out of the image with memcpy before their fields are
 * read, so a header at an odd file offset is not a misaligned access.
 *
 * Segments are placed at p_paddr, the load address (LMA): that is where
 * the bytes must be in memory when the core comes out of reset. For code
 * it equals p_vaddr; for initialised data that runs from RAM, p_paddr is
 * the copy in flash that the firmware's startup code moves to p_vaddr.
 */
#include "amp/remoteproc.h"

/* AMP_ELF_64=0: ELF32 only, for a host whose remote cores are all 32-bit
 * (the STM32H747's M7 loading the M4); an ELF64 image is then BAD_CLASS. */
#ifndef AMP_ELF_64
#define AMP_ELF_64 1
#endif
/* AMP_ELF_RSC=0: no section headers read, hence no .resource_table looked
 * for (info->rsc_size 0), for a host that never uses a firmware's table. */
#ifndef AMP_ELF_RSC
#define AMP_ELF_RSC 1
#endif
/* File offsets, sizes and addresses as read: every ELF32 field fits 32 bits,
 * and 32-bit arithmetic is half the code on a 32-bit core. */
#if AMP_ELF_64
typedef uint64_t elf_word;
#else
typedef uint32_t elf_word;
#endif

/* ---- ELF wire structs: only what the loader reads. ---- */
#define ELF_NIDENT     16
#define ELF_CLASS_OFF  4
#define ELF_DATA_OFF   5
#define ELF_VERSION_OFF 6
#define ELF_CLASS32    1u
#define ELF_CLASS64    2u
#define ELF_DATA_LSB   1u
#define ELF_VERSION_CURRENT 1u
#define ELF_TYPE_EXEC  2u
#define ELF_PT_LOAD    1u
#define ELF_SHT_NULL   0u
#define ELF_SHT_NOBITS 8u
#define ELF_SHN_UNDEF  0u
#define ELF_PN_XNUM    0xffffu  /* "real count elsewhere": extended numbering */

static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };
#if AMP_ELF_RSC
static const char rsc_section_name[] = ".resource_table";
#endif

struct elf32_ehdr {
    uint8_t e_ident[ELF_NIDENT];
    uint16_t e_type;
    uint16_t e_machine;
    uint32_t e_version;
    uint32_t e_entry;
    uint32_t e_phoff;
    uint32_t e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize;
    uint16_t e_phentsize;
    uint16_t e_phnum;
    uint16_t e_shentsize;
    uint16_t e_shnum;
    uint16_t e_shstrndx;
};

struct elf64_ehdr {
    uint8_t e_ident[ELF_NIDENT];
    uint16_t e_type;
    uint16_t e_machine;
    uint32_t e_version;
    uint64_t e_entry;
    uint64_t e_phoff;
    uint64_t e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize;
    uint16_t e_phentsize;
    uint16_t e_phnum;
    uint16_t e_shentsize;
    uint16_t e_shnum;
    uint16_t e_shstrndx;
};

struct elf32_phdr {
    uint32_t p_type;
    uint32_t p_offset;
    uint32_t p_vaddr;
    uint32_t p_paddr;
    uint32_t p_filesz;
    uint32_t p_memsz;
    uint32_t p_flags;
    uint32_t p_align;
};

struct elf64_phdr {
    uint32_t p_type;
    uint32_t p_flags;
    uint64_t p_offset;
    uint64_t p_vaddr;
    uint64_t p_paddr;
    uint64_t p_filesz;
    uint64_t p_memsz;
    uint64_t p_align;
};

struct elf32_shdr {
    uint32_t sh_name;
    uint32_t sh_type;
    uint32_t sh_flags;
    uint32_t sh_addr;
    uint32_t sh_offset;
    uint32_t sh_size;
    uint32_t sh_link;
    uint32_t sh_info;
    uint32_t sh_addralign;
    uint32_t sh_entsize;
};

struct elf64_shdr {
    uint32_t sh_name;
    uint32_t sh_type;
    uint64_t sh_flags;
    uint64_t sh_addr;
    uint64_t sh_offset;
    uint64_t sh_size;
    uint32_t sh_link;
    uint32_t sh_info;
    uint64_t sh_addralign;
    uint64_t sh_entsize;
};

_Static_assert(sizeof(struct elf32_ehdr) == 52, "ELF32 header is 52 bytes");
_Static_assert(offsetof(struct elf32_ehdr, e_phoff) == 28, "ELF32 e_phoff at 28");
_Static_assert(offsetof(struct elf32_ehdr, e_shstrndx) == 50, "ELF32 e_shstrndx at 50");
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header is 64 bytes");
_Static_assert(offsetof(struct elf64_ehdr, e_phoff) == 32, "ELF64 e_phoff at 32");
_Static_assert(offsetof(struct elf64_ehdr, e_shstrndx) == 62, "ELF64 e_shstrndx at 62");
_Static_assert(sizeof(struct elf32_phdr) == 32, "ELF32 phdr is 32 bytes");
_Static_assert(offsetof(struct elf32_phdr, p_paddr) == 12, "ELF32 p_paddr at 12");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 phdr is 56 bytes");
_Static_assert(offsetof(struct elf64_phdr, p_offset) == 8, "ELF64 p_offset at 8");
_Static_assert(offsetof(struct elf64_phdr, p_paddr) == 24, "ELF64 p_paddr at 24");
_Static_assert(sizeof(struct elf32_shdr) == 40, "ELF32 shdr is 40 bytes");
_Static_assert(offsetof(struct elf32_shdr, sh_offset) == 16, "ELF32 sh_offset at 16");
_Static_assert(sizeof(struct elf64_shdr) == 64, "ELF64 shdr is 64 bytes");
_Static_assert(offsetof(struct elf64_shdr, sh_offset) == 24, "ELF64 sh_offset at 24");

/* ---- One view of both classes, fields widened to 64 bits. ---- */
struct elf_file {
    const uint8_t *image;
    size_t size;
    bool is_64;   /* always false with AMP_ELF_64=0 */
    uint16_t type, machine;
    uint32_t version;
    elf_word entry, phoff, shoff;
    uint16_t phentsize, phnum, shentsize, shnum, shstrndx;
    /* The section-name string table, once checked (names are NUL-terminated
     * iff they start at or before the last NUL in it). */
    const uint8_t *strtab;
    elf_word strtab_size;
    bool has_names;
    elf_word strtab_last_nul;
};

struct elf_seg {
    uint32_t type;
    elf_word offset, paddr, filesz, memsz;
};

struct elf_sec {
    uint32_t name, type;
    elf_word addr, offset, size;
};

/* ---- Reporting. ---- */

static const char *const problem_text[AMP_ELF_PROBLEM_COUNT] = {
    [AMP_ELF_OK] = "no problem",
    [AMP_ELF_EMPTY] = "file is empty",
    [AMP_ELF_TRUNCATED] = "file too short for an ELF header",
    [AMP_ELF_BAD_MAGIC] = "not an ELF file",
    [AMP_ELF_BAD_CLASS] = AMP_ELF_64 ? "neither ELF32 nor ELF64" : "not an ELF32 file",
    [AMP_ELF_BAD_ENDIAN] = "not a little-endian ELF file",
    [AMP_ELF_BAD_MACHINE] = "built for another processor",
    [AMP_ELF_BAD_TYPE] = "not an executable (ET_EXEC)",
    [AMP_ELF_BAD_VERSION] = "unknown ELF version",
    [AMP_ELF_BAD_PHDRS] = "bad program header table",
    [AMP_ELF_BAD_SHDRS] = "bad section header table",
    [AMP_ELF_SEG_FILE_RANGE] = "segment's file bytes out of range",
    [AMP_ELF_SEG_OUTSIDE_MAP] = "segment lies outside the board memory map",
    [AMP_ELF_SEG_OVERLAP] = "segment overlaps another segment",
    [AMP_ELF_NO_SEGMENTS] = "no loadable segments",
    [AMP_ELF_BAD_RSC_TABLE] = "resource table is invalid or not loaded",
    [AMP_ELF_ENTRY_OUTSIDE] = "entry point outside the executable segments",
};

const char *amp_elf_problem_str(enum amp_elf_problem problem)
{
    if ((unsigned)problem >= AMP_ELF_PROBLEM_COUNT)
        return "unknown problem";
    return problem_text[problem];
}

/* The error code a caller sees: "not for this board", "malformed", or "out of bounds". */
static int problem_errno(enum amp_elf_problem problem)
{
    switch (problem) {
    case AMP_ELF_OK:
        return 0;
    case AMP_ELF_BAD_PHDRS:
    case AMP_ELF_BAD_SHDRS:
    case AMP_ELF_SEG_FILE_RANGE:
    case AMP_ELF_SEG_OVERLAP:
    case AMP_ELF_BAD_RSC_TABLE:
        return -AMP_EBADMSG;
    case AMP_ELF_SEG_OUTSIDE_MAP:
    case AMP_ELF_ENTRY_OUTSIDE:
        return -AMP_ERANGE;
    default:
        return -AMP_ENOEXEC;
    }
}

static int fail(struct amp_elf_error *err, enum amp_elf_problem problem, int segment,
                uint64_t addr, uint64_t size)
{
    err->problem = problem;
    err->segment = segment;
    err->addr = addr;
    err->size = size;
    return problem_errno(problem);
}

/* ---- Bounds. ---- */

/* [off, off+len) inside a buffer of `size` bytes, written so nothing can wrap. */
static bool range_in(elf_word off, elf_word len, elf_word size)
{
    return off <= size && len <= size - off;
}

/* Do [a, a+alen) and [b, b+blen) share a byte? Non-empty ranges; no sums. */
static bool ranges_overlap(elf_word a, elf_word alen, elf_word b, elf_word blen)
{
    return a <= b ? b - a < alen : a - b < blen;
}

/* ---- Reading headers (all bounds checked by the caller first). ---- */

static enum amp_elf_problem read_header(struct elf_file *f, uint16_t machine)
{
    const uint8_t *id = f->image;

    if (f->size == 0)
        return AMP_ELF_EMPTY;
    /* Judge the magic on what there is: a short text file is "not ELF". */
    size_t magic_len = f->size < sizeof(elf_magic) ? f->size : sizeof(elf_magic);
    if (__builtin_memcmp(id, elf_magic, magic_len) != 0)
        return AMP_ELF_BAD_MAGIC;
    if (f->size < ELF_NIDENT)
        return AMP_ELF_TRUNCATED;
    if (id[ELF_CLASS_OFF] != ELF_CLASS32 && (!AMP_ELF_64 || id[ELF_CLASS_OFF] != ELF_CLASS64))
        return AMP_ELF_BAD_CLASS;
    if (id[ELF_DATA_OFF] != ELF_DATA_LSB)
        return AMP_ELF_BAD_ENDIAN;
    if (id[ELF_VERSION_OFF] != ELF_VERSION_CURRENT)
        return AMP_ELF_BAD_VERSION;

    f->is_64 = AMP_ELF_64 && id[ELF_CLASS_OFF] == ELF_CLASS64;
#if AMP_ELF_64
    if (f->is_64) {
        struct elf64_ehdr h;
        if (f->size < sizeof(h))
            return AMP_ELF_TRUNCATED;
        __builtin_memcpy(&h, f->image, sizeof(h));
        f->type = amp_le16(h.e_type);
        f->machine = amp_le16(h.e_machine);
        f->version = amp_le32(h.e_version);
        f->entry = amp_le64(h.e_entry);
        f->phoff = amp_le64(h.e_phoff);
        f->shoff = amp_le64(h.e_shoff);
        f->phentsize = amp_le16(h.e_phentsize);
        f->phnum = amp_le16(h.e_phnum);
        f->shentsize = amp_le16(h.e_shentsize);
        f->shnum = amp_le16(h.e_shnum);
        f->shstrndx = amp_le16(h.e_shstrndx);
    } else
#endif
    {
        struct elf32_ehdr h;
        if (f->size < sizeof(h))
            return AMP_ELF_TRUNCATED;
        __builtin_memcpy(&h, f->image, sizeof(h));
        f->type = amp_le16(h.e_type);
        f->machine = amp_le16(h.e_machine);
        f->version = amp_le32(h.e_version);
        f->entry = amp_le32(h.e_entry);
        f->phoff = amp_le32(h.e_phoff);
        f->shoff = amp_le32(h.e_shoff);
        f->phentsize = amp_le16(h.e_phentsize);
        f->phnum = amp_le16(h.e_phnum);
        f->shentsize = amp_le16(h.e_shentsize);
        f->shnum = amp_le16(h.e_shnum);
        f->shstrndx = amp_le16(h.e_shstrndx);
    }

    if (f->version != ELF_VERSION_CURRENT)
        return AMP_ELF_BAD_VERSION;
    if (machine != 0 && f->machine != machine)
        return AMP_ELF_BAD_MACHINE;
    if (f->type != ELF_TYPE_EXEC)
        return AMP_ELF_BAD_TYPE;
    return AMP_ELF_OK;
}

static void read_seg(const struct elf_file *f, unsigned index, struct elf_seg *seg)
{
    const uint8_t *p = f->image + (size_t)f->phoff + (size_t)index * f->phentsize;

#if AMP_ELF_64
    if (f->is_64) {
        struct elf64_phdr ph;
        __builtin_memcpy(&ph, p, sizeof(ph));
        seg->type = amp_le32(ph.p_type);
        seg->offset = amp_le64(ph.p_offset);
        seg->paddr = amp_le64(ph.p_paddr);
        seg->filesz = amp_le64(ph.p_filesz);
        seg->memsz = amp_le64(ph.p_memsz);
    } else
#endif
    {
        struct elf32_phdr ph;
        __builtin_memcpy(&ph, p, sizeof(ph));
        seg->type = amp_le32(ph.p_type);
        seg->offset = amp_le32(ph.p_offset);
        seg->paddr = amp_le32(ph.p_paddr);
        seg->filesz = amp_le32(ph.p_filesz);
        seg->memsz = amp_le32(ph.p_memsz);
    }
}

#if AMP_ELF_RSC
static void read_sec(const struct elf_file *f, unsigned index, struct elf_sec *sec)
{
    const uint8_t *p = f->image + (size_t)f->shoff + (size_t)index * f->shentsize;

#if AMP_ELF_64
    if (f->is_64) {
        struct elf64_shdr sh;
        __builtin_memcpy(&sh, p, sizeof(sh));
        sec->name = amp_le32(sh.sh_name);
        sec->type = amp_le32(sh.sh_type);
        sec->addr = amp_le64(sh.sh_addr);
        sec->offset = amp_le64(sh.sh_offset);
        sec->size = amp_le64(sh.sh_size);
    } else
#endif
    {
        struct elf32_shdr sh;
        __builtin_memcpy(&sh, p, sizeof(sh));
        sec->name = amp_le32(sh.sh_name);
        sec->type = amp_le32(sh.sh_type);
        sec->addr = amp_le32(sh.sh_addr);
        sec->offset = amp_le32(sh.sh_offset);
        sec->size = amp_le32(sh.sh_size);
    }
}
#endif

/* A segment the loader places: PT_LOAD with memory to fill. */
static bool is_loaded(const struct elf_seg *seg)
{
    return seg->type == ELF_PT_LOAD && seg->memsz > 0;
}

#if AMP_ELF_RSC
/* Sections whose bytes live in the file (NOBITS and the null entry have none). */
static bool has_file_bytes(const struct elf_sec *sec)
{
    return sec->type != ELF_SHT_NULL && sec->type != ELF_SHT_NOBITS;
}
#endif

/* ---- Pass 1: checks. ---- */

static enum amp_elf_problem check_phdr_table(const struct elf_file *f)
{
    size_t entsize =
        AMP_ELF_64 && f->is_64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);

    if (f->phnum == 0)
        return AMP_ELF_NO_SEGMENTS;
    /* The cap bounds the all-pairs overlap check; firmware has a handful. */
    if (f->phnum == ELF_PN_XNUM || f->phnum > AMP_ELF_MAX_PHDRS || f->phentsize < entsize)
        return AMP_ELF_BAD_PHDRS;
    if (!range_in(f->phoff, (elf_word)f->phnum * f->phentsize, f->size))
        return AMP_ELF_BAD_PHDRS;
    return AMP_ELF_OK;
}

#if AMP_ELF_RSC
/* Check the section header table, every section's file range, and every name. */
static enum amp_elf_problem check_shdr_table(struct elf_file *f)
{
    size_t entsize =
        AMP_ELF_64 && f->is_64 ? sizeof(struct elf64_shdr) : sizeof(struct elf32_shdr);

    if (f->shnum == 0)
        return AMP_ELF_OK;  /* no sections, hence no resource table */
    if (f->shentsize < entsize || !range_in(f->shoff, (elf_word)f->shnum * f->shentsize, f->size))
        return AMP_ELF_BAD_SHDRS;

    for (unsigned i = 0; i < f->shnum; i++) {
        struct elf_sec sec;
        read_sec(f, i, &sec);
        if (has_file_bytes(&sec) && !range_in(sec.offset, sec.size, f->size))
            return AMP_ELF_BAD_SHDRS;
    }

    if (f->shstrndx == ELF_SHN_UNDEF)
        return AMP_ELF_OK;  /* sections without names: nothing can be found by name */
    if (f->shstrndx >= f->shnum)
        return AMP_ELF_BAD_SHDRS;
    struct elf_sec strsec;
    read_sec(f, f->shstrndx, &strsec);
    if (!has_file_bytes(&strsec) || strsec.size == 0)
        return AMP_ELF_BAD_SHDRS;
    f->strtab = f->image + (size_t)strsec.offset;
    f->strtab_size = strsec.size;
    /* One scan finds the last NUL; then each name's check is O(1). */
    elf_word last_nul = strsec.size;
    for (elf_word i = strsec.size; i-- > 0;) {
        if (f->strtab[i] == 0) {
            last_nul = i;
            break;
        }
    }
    if (last_nul == strsec.size)
        return AMP_ELF_BAD_SHDRS;
    f->strtab_last_nul = last_nul;
    f->has_names = true;

    for (unsigned i = 0; i < f->shnum; i++) {
        struct elf_sec sec;
        read_sec(f, i, &sec);
        if (sec.type != ELF_SHT_NULL && sec.name > f->strtab_last_nul)
            return AMP_ELF_BAD_SHDRS;
    }
    return AMP_ELF_OK;
}
#endif

/* Check every segment: file range, size, place in the map, overlap with the others. */
static int check_segments(const struct elf_file *f, const struct amp_mem_map *map,
                          unsigned *loaded, struct amp_elf_error *err)
{
    *loaded = 0;
    for (unsigned i = 0; i < f->phnum; i++) {
        struct elf_seg seg;
        read_seg(f, i, &seg);
        if (seg.type != ELF_PT_LOAD)
            continue;
        if (!range_in(seg.offset, seg.filesz, f->size) || seg.filesz > seg.memsz)
            return fail(err, AMP_ELF_SEG_FILE_RANGE, (int)i, seg.paddr, seg.filesz);
        if (seg.memsz == 0)
            continue;
        void *va = amp_mem_da_to_va(map, seg.paddr, seg.memsz);
        if (!va)
            return fail(err, AMP_ELF_SEG_OUTSIDE_MAP, (int)i, seg.paddr, seg.memsz);

        for (unsigned j = 0; j < i; j++) {
            struct elf_seg other;
            read_seg(f, j, &other);
            if (!is_loaded(&other))
                continue;
            /* Compare where the bytes land on this side too: a board may map
             * one memory at two device addresses (aliases). */
            uintptr_t other_va = (uintptr_t)amp_mem_da_to_va(map, other.paddr, other.memsz);
            if (ranges_overlap(seg.paddr, seg.memsz, other.paddr, other.memsz) ||
                ranges_overlap((uintptr_t)va, seg.memsz, other_va, other.memsz))
                return fail(err, AMP_ELF_SEG_OVERLAP, (int)i, seg.paddr, seg.memsz);
        }
        (*loaded)++;
    }
    if (*loaded == 0)
        return fail(err, AMP_ELF_NO_SEGMENTS, -1, 0, 0);
    return 0;
}

/* The entry point must be inside a loaded segment in executable memory. */
static int check_entry(const struct elf_file *f, const struct amp_mem_map *map,
                       struct amp_elf_error *err)
{
    for (unsigned i = 0; i < f->phnum; i++) {
        struct elf_seg seg;
        read_seg(f, i, &seg);
        if (!is_loaded(&seg) || f->entry < seg.paddr || f->entry - seg.paddr >= seg.memsz)
            continue;
        const struct amp_mem_region *region = amp_mem_find(map, seg.paddr, seg.memsz);
        if (region && (region->flags & AMP_MEM_EXEC))
            return 0;
    }
    return fail(err, AMP_ELF_ENTRY_OUTSIDE, -1, f->entry, 0);
}

#if AMP_ELF_RSC
static bool section_named(const struct elf_file *f, const struct elf_sec *sec, const char *name,
                          size_t name_size)
{
    /* sec->name <= strtab_last_nul < strtab_size was checked for every section. */
    return f->strtab_size - sec->name >= name_size &&
           __builtin_memcmp(f->strtab + sec->name, name, name_size) == 0;
}

/*
 * Find .resource_table, the segment whose file bytes hold it, and so its
 * loaded copy; validate its contents while it is still in the image.
 */
static int check_rsc_table(const struct elf_file *f, const struct amp_mem_map *map,
                           struct amp_elf_info *info, struct amp_elf_error *err)
{
    if (!f->has_names)
        return 0;
    for (unsigned i = 0; i < f->shnum; i++) {
        struct elf_sec sec;
        read_sec(f, i, &sec);
        if (sec.type == ELF_SHT_NULL ||
            !section_named(f, &sec, rsc_section_name, sizeof(rsc_section_name)))
            continue;
        if (!has_file_bytes(&sec))
            return fail(err, AMP_ELF_BAD_RSC_TABLE, -1, sec.addr, sec.size);

        for (unsigned s = 0; s < f->phnum; s++) {
            struct elf_seg seg;
            read_seg(f, s, &seg);
            if (!is_loaded(&seg) || sec.offset < seg.offset ||
                !range_in(sec.offset - seg.offset, sec.size, seg.filesz))
                continue;
            uint64_t da = (uint64_t)seg.paddr + (sec.offset - seg.offset);
            void *va = amp_mem_da_to_va(map, da, sec.size);
            /* The host reads and writes the loaded copy through struct pointers. */
            if (!va || ((uintptr_t)va & 3u) != 0 ||
                amp_rsc_check(f->image + (size_t)sec.offset, (size_t)sec.size) < 0)
                return fail(err, AMP_ELF_BAD_RSC_TABLE, (int)s, da, sec.size);
            info->rsc_da = da;
            info->rsc_size = sec.size;
            info->rsc_va = va;
            return 0;
        }
        return fail(err, AMP_ELF_BAD_RSC_TABLE, -1, sec.addr, sec.size);
    }
    return 0;  /* no table: the board's host-built one will be used */
}
#endif

/* ---- Pass 2: copy. ---- */

static void copy_segments(const struct elf_file *f, const struct amp_mem_map *map)
{
    for (unsigned i = 0; i < f->phnum; i++) {
        struct elf_seg seg;
        read_seg(f, i, &seg);
        if (!is_loaded(&seg))
            continue;
        uint8_t *va = amp_mem_da_to_va(map, seg.paddr, seg.memsz);
        __builtin_memcpy(va, f->image + (size_t)seg.offset, (size_t)seg.filesz);
        __builtin_memset(va + (size_t)seg.filesz, 0, (size_t)(seg.memsz - seg.filesz));
    }
}

int amp_elf_load(const void *image, size_t size, const struct amp_mem_map *map,
                 uint16_t machine, struct amp_elf_info *info, struct amp_elf_error *err)
{
    struct amp_elf_error local_err;
    struct amp_elf_info found = { 0 };
    struct elf_file f = { .image = image, .size = size };
    enum amp_elf_problem problem;
    int ret;

    if (!err)
        err = &local_err;
    fail(err, AMP_ELF_OK, -1, 0, 0);
    if (info)
        *info = found;
    if (!map || (!image && size != 0))
        return -AMP_EINVAL;

    problem = read_header(&f, machine);
    if (problem == AMP_ELF_OK)
        problem = check_phdr_table(&f);
#if AMP_ELF_RSC
    if (problem == AMP_ELF_OK)
        problem = check_shdr_table(&f);
#endif
    if (problem != AMP_ELF_OK)
        return fail(err, problem, -1, 0, 0);

    ret = check_segments(&f, map, &found.segments, err);
    if (ret == 0)
        ret = check_entry(&f, map, err);
#if AMP_ELF_RSC
    if (ret == 0)
        ret = check_rsc_table(&f, map, &found, err);
#endif
    if (ret < 0)
        return ret;

    copy_segments(&f, map);
    found.entry = f.entry;
    found.is_64 = f.is_64;
    if (info)
        *info = found;
    return 0;
}
