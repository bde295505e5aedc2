/*
 * test_elf.c - the ELF loader and the memory map: a valid image lands where
 * it should; every kind of hostile image is refused with the right problem
 * and without a single byte written to board memory. Every test runs for
 * ELF32 and ELF64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "amp/remoteproc.h"
#include "amp/rsc.h"
#include "elf_builder.h"

/* ---- A small board: flash, two adjacent SRAM banks, shared memory. ---- */
#define FLASH_DA  0x08100000u
#define SRAM_DA   0x10000000u
#define SRAM2_DA  0x10001000u
#define SHARED_DA 0x38000000u
#define FILL 0xA5

static _Alignas(64) uint8_t flash[0x2000];
static _Alignas(64) uint8_t sram[0x1000];
static _Alignas(64) uint8_t sram2[0x1000];
static _Alignas(64) uint8_t shared[0x1000];

static const struct amp_mem_region regions[] = {
    { "flash", FLASH_DA, sizeof(flash), flash, AMP_MEM_EXEC },
    { "sram", SRAM_DA, sizeof(sram), sram, AMP_MEM_EXEC },
    { "sram2", SRAM2_DA, sizeof(sram2), sram2, AMP_MEM_EXEC },
    { "shared", SHARED_DA, sizeof(shared), shared, AMP_MEM_SHARED },
};
static const struct amp_mem_map map = { regions, 4 };

static void fill_board(void)
{
    memset(flash, FILL, sizeof(flash));
    memset(sram, FILL, sizeof(sram));
    memset(sram2, FILL, sizeof(sram2));
    memset(shared, FILL, sizeof(shared));
}

static bool all_fill(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != FILL)
            return false;
    return true;
}

static bool board_untouched(void)
{
    return all_fill(flash, sizeof(flash)) && all_fill(sram, sizeof(sram)) &&
           all_fill(sram2, sizeof(sram2)) && all_fill(shared, sizeof(shared));
}

/* ---- A typical firmware image. ---- */
#define TEXT_SIZE 512u
#define RSC_OFF   0x80u          /* .resource_table inside .text */
#define DATA_LMA  (FLASH_DA + 0x400u)
#define DATA_SIZE 64u
#define BSS_DA    (SRAM_DA + 0x100u)
#define BSS_SIZE  128u
#define ENTRY     (FLASH_DA + 0x11u)   /* Thumb: bit 0 set */
#define RSC_SIZE  140u

static uint8_t text[TEXT_SIZE];
static uint8_t data[DATA_SIZE];

/* Segments: 0 .text (flash), 1 .data (LMA flash, VMA sram), 2 .bss (sram). */
static struct elfb firmware(bool is64)
{
    for (unsigned i = 0; i < TEXT_SIZE; i++)
        text[i] = (uint8_t)(i * 7 + 1);
    for (unsigned i = 0; i < DATA_SIZE; i++)
        data[i] = (uint8_t)(0xD0 + i);
    /* Linux-model table: vrings ANY, trace in sram. */
    const struct amp_rsc_layout layout = {
        .features = 1, .vring_da = { AMP_RSC_ADDR_ANY, AMP_RSC_ADDR_ANY },
        .vring_notifyid = { 0, 1 }, .vring_num = 16, .vring_align = 16,
        .trace_da = SRAM_DA + 0x800, .trace_len = 64,
    };
    assert_int_equal(amp_rsc_build_size(&layout), RSC_SIZE);
    assert_int_equal(amp_rsc_build(text + RSC_OFF, RSC_SIZE, &layout), 0);

    struct elfb b = {
        .is64 = is64, .machine = ELFB_EM_ARM, .entry = ENTRY,
        .seg = {
            { .paddr = FLASH_DA, .vaddr = FLASH_DA, .data = text, .filesz = TEXT_SIZE,
              .memsz = TEXT_SIZE },
            { .paddr = DATA_LMA, .vaddr = SRAM_DA, .data = data, .filesz = DATA_SIZE,
              .memsz = DATA_SIZE },
            { .paddr = BSS_DA, .vaddr = BSS_DA, .filesz = 0, .memsz = BSS_SIZE },
        },
        .nseg = 3,
        .sec = {
            { .name = ".text", .seg = 0, .seg_off = 0, .size = TEXT_SIZE },
            { .name = ".resource_table", .seg = 0, .seg_off = RSC_OFF, .size = RSC_SIZE },
            { .name = ".data", .seg = 1, .seg_off = 0, .size = DATA_SIZE },
        },
        .nsec = 3,
    };
    return b;
}

struct image {
    uint8_t *bytes;
    size_t size;
    struct elfb_layout lay;
    bool is64;
};

static struct image build(const struct elfb *b)
{
    static uint8_t scratch[8192];
    struct image img = { .is64 = b->is64 };
    img.size = elfb_build(b, scratch, sizeof(scratch), &img.lay);
    assert_true(img.size > 0);
    /* Exactly sized on the heap, so ASan sees any read past the end. */
    img.bytes = malloc(img.size);
    assert_non_null(img.bytes);
    memcpy(img.bytes, scratch, img.size);
    return img;
}

/* Load a hostile image: expect `problem` and an untouched board. */
static struct amp_elf_error expect_refused(const uint8_t *bytes, size_t size, uint16_t machine,
                                           enum amp_elf_problem problem)
{
    struct amp_elf_info info;
    struct amp_elf_error err;
    fill_board();
    int ret = amp_elf_load(bytes, size, &map, machine, &info, &err);
    assert_true(ret < 0);
    assert_int_equal(err.problem, problem);
    assert_true(board_untouched());
    assert_string_not_equal(amp_elf_problem_str(problem), "unknown problem");
    return err;
}

static struct amp_elf_error refuse_image(struct image *img, enum amp_elf_problem problem)
{
    struct amp_elf_error err = expect_refused(img->bytes, img->size, ELFB_EM_ARM, problem);
    free(img->bytes);
    img->bytes = NULL;
    return err;
}

/* ---- Valid images. ---- */

static void test_valid_load(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    struct amp_elf_info info;
    struct amp_elf_error err;

    fill_board();
    assert_int_equal(amp_elf_load(img.bytes, img.size, &map, ELFB_EM_ARM, &info, &err), 0);
    assert_int_equal(err.problem, AMP_ELF_OK);
    assert_int_equal(info.entry, ENTRY);
    assert_int_equal(info.segments, 3);
    assert_int_equal(info.is_64, is64);
    assert_int_equal(info.rsc_da, FLASH_DA + RSC_OFF);
    assert_int_equal(info.rsc_size, RSC_SIZE);
    assert_ptr_equal(info.rsc_va, flash + RSC_OFF);

    /* .text and .data's load image in flash, bss zeroed, nothing else touched. */
    assert_memory_equal(flash, text, TEXT_SIZE);
    assert_true(all_fill(flash + TEXT_SIZE, 0x400 - TEXT_SIZE));
    assert_memory_equal(flash + 0x400, data, DATA_SIZE);
    assert_true(all_fill(flash + 0x400 + DATA_SIZE, sizeof(flash) - 0x400 - DATA_SIZE));
    assert_true(all_fill(sram, 0x100));  /* .data's VMA: the firmware copies it there */
    for (unsigned i = 0; i < BSS_SIZE; i++)
        assert_int_equal(sram[0x100 + i], 0);
    assert_true(all_fill(sram + 0x100 + BSS_SIZE, sizeof(sram) - 0x100 - BSS_SIZE));
    assert_true(all_fill(sram2, sizeof(sram2)));
    assert_true(all_fill(shared, sizeof(shared)));

    /* The loaded table parses. */
    struct amp_rsc_table tbl;
    assert_int_equal(amp_rsc_parse(&tbl, info.rsc_va, (size_t)info.rsc_size), 0);
    assert_non_null(amp_rsc_find_rpmsg_vdev(&tbl));
    free(img.bytes);
}

static void test_valid_any_machine_no_table_null_outputs(bool is64)
{
    struct elfb b = firmware(is64);
    b.nsec = 1;  /* only .text: no resource table */
    struct image img = build(&b);
    struct amp_elf_info info;

    fill_board();
    assert_int_equal(amp_elf_load(img.bytes, img.size, &map, 0, &info, NULL), 0);
    assert_int_equal(info.rsc_size, 0);
    assert_null(info.rsc_va);
    assert_int_equal(amp_elf_load(img.bytes, img.size, &map, 0, NULL, NULL), 0);
    free(img.bytes);
}

static void test_valid_no_sections(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    struct amp_elf_info info;
    /* Stripped of section headers altogether. */
    elfb_patch(img.bytes, &img.lay, img.is64, ELFB_EH_SHNUM, 0, 0);
    elfb_patch(img.bytes, &img.lay, img.is64, ELFB_EH_SHOFF, 0, 0);
    elfb_patch(img.bytes, &img.lay, img.is64, ELFB_EH_SHSTRNDX, 0, 0);
    fill_board();
    assert_int_equal(amp_elf_load(img.bytes, img.size, &map, ELFB_EM_ARM, &info, NULL), 0);
    assert_int_equal(info.rsc_size, 0);
    free(img.bytes);
}

/* ---- The file itself. ---- */

static void test_empty(void **state)
{
    (void)state;
    uint8_t *one = calloc(1, 1);
    expect_refused(one, 0, 0, AMP_ELF_EMPTY);
    struct amp_elf_error err;
    assert_int_equal(amp_elf_load(one, 0, NULL, 0, NULL, &err), -AMP_EINVAL);
    free(one);
    assert_int_equal(amp_elf_load(NULL, 0, &map, 0, NULL, &err), -AMP_ENOEXEC);
    assert_int_equal(err.problem, AMP_ELF_EMPTY);
    assert_int_equal(amp_elf_load(NULL, 10, &map, 0, NULL, &err), -AMP_EINVAL);
}

static void test_truncated_header(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    /* Inside e_ident, and inside the rest of the header. */
    size_t cuts[] = { 3, 10, 16, 40, elfb_ehsize(img.is64) - 1 };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        uint8_t *part = malloc(cuts[i]);
        memcpy(part, img.bytes, cuts[i]);
        struct amp_elf_error err = expect_refused(part, cuts[i], ELFB_EM_ARM, AMP_ELF_TRUNCATED);
        (void)err;
        free(part);
    }
    free(img.bytes);
}

static void test_every_truncation_refused(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    /* Section headers come last, so every shorter file is broken somewhere. */
    for (size_t len = 0; len < img.size; len++) {
        uint8_t *part = malloc(len ? len : 1);
        memcpy(part, img.bytes, len);
        fill_board();
        struct amp_elf_error err;
        assert_true(amp_elf_load(part, len, &map, ELFB_EM_ARM, NULL, &err) < 0);
        assert_int_not_equal(err.problem, AMP_ELF_OK);
        assert_true(board_untouched());
        free(part);
    }
    free(img.bytes);
}

static void test_bad_magic(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    img.bytes[1] = 'X';
    struct amp_elf_error err = refuse_image(&img, AMP_ELF_BAD_MAGIC);
    assert_int_equal(err.segment, -1);
    /* A short text file is "not ELF", not "truncated". */
    expect_refused((const uint8_t *)"hi\n", 3, 0, AMP_ELF_BAD_MAGIC);
}

static void test_wrong_class(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    img.bytes[4] = 3;
    refuse_image(&img, AMP_ELF_BAD_CLASS);
}

static void test_big_endian(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    img.bytes[5] = 2;
    refuse_image(&img, AMP_ELF_BAD_ENDIAN);
}

static void test_bad_version(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    elfb_patch(img.bytes, &img.lay, img.is64, ELFB_EH_VERSION, 0, 2);
    refuse_image(&img, AMP_ELF_BAD_VERSION);
}

static void test_wrong_machine(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    struct amp_elf_error err = expect_refused(img.bytes, img.size, ELFB_EM_X86_64,
                                              AMP_ELF_BAD_MACHINE);
    (void)err;
    assert_int_equal(amp_elf_load(img.bytes, img.size, &map, ELFB_EM_X86_64, NULL, NULL),
                     -AMP_ENOEXEC);
    free(img.bytes);
}

static void test_not_exec(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    elfb_patch(img.bytes, &img.lay, img.is64, ELFB_EH_TYPE, 0, ELFB_ET_DYN);
    refuse_image(&img, AMP_ELF_BAD_TYPE);
}

/* ---- Header tables. ---- */

static void test_phdrs_past_end(bool is64)
{
    struct elfb b = firmware(is64);
    uint64_t bad_phoff[] = { 0, 0xFFFFFFF0u, is64 ? 0xFFFFFFFFFFFFFFF0u : 0xFFFFFFFFu };
    struct image img = build(&b);
    bad_phoff[0] = img.size - elfb_phentsize(is64);  /* 1 of 3 headers fits */
    free(img.bytes);
    for (size_t i = 0; i < sizeof(bad_phoff) / sizeof(bad_phoff[0]); i++) {
        img = build(&b);
        elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_PHOFF, 0, bad_phoff[i]);
        refuse_image(&img, AMP_ELF_BAD_PHDRS);
    }
    /* phnum so large the table runs off the end. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_PHNUM, 0, 60);
    refuse_image(&img, AMP_ELF_BAD_PHDRS);
    /* Entries smaller than a program header, and absurd counts. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_PHENTSIZE, 0, elfb_phentsize(is64) - 1);
    refuse_image(&img, AMP_ELF_BAD_PHDRS);
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_PHNUM, 0, 0xFFFF);
    refuse_image(&img, AMP_ELF_BAD_PHDRS);
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_PHNUM, 0, 0);
    refuse_image(&img, AMP_ELF_NO_SEGMENTS);
}

static void test_shdrs_past_end(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_SHOFF, 0, img.size - 4);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_SHOFF, 0, is64 ? ~0ull : 0xFFFFFFFFu);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_SHNUM, 0, img.lay.shnum + 1);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_SHENTSIZE, 0, 8);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
}

static void test_bad_sections(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img;

    /* String table index out of range. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_SHSTRNDX, 0, img.lay.shnum);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
    /* A section whose bytes run past the end of the file. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_SH_SIZE, 1, img.size);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
    /* The string table itself past the end. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_SH_OFFSET, img.lay.shstrndx, img.size);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
    /* A name offset beyond the string table. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_SH_NAME, 2, img.lay.strtab_size + 5);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
    /* The last name loses its NUL: the table is one byte shorter. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_SH_SIZE, img.lay.shstrndx, img.lay.strtab_size - 1);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
    /* No NUL at all in the string table. */
    img = build(&b);
    memset(img.bytes + img.lay.strtab_off, 'x', img.lay.strtab_size);
    refuse_image(&img, AMP_ELF_BAD_SHDRS);
}

/* ---- Segments. ---- */

static void test_segment_file_range(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_OFFSET, 0, img.size - 16);
    struct amp_elf_error err = refuse_image(&img, AMP_ELF_SEG_FILE_RANGE);
    assert_int_equal(err.segment, 0);
    assert_int_equal(err.addr, FLASH_DA);
    /* An offset that would wrap around when added to filesz. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_OFFSET, 1, is64 ? ~0ull - 8 : 0xFFFFFFF8u);
    err = refuse_image(&img, AMP_ELF_SEG_FILE_RANGE);
    assert_int_equal(err.segment, 1);
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_FILESZ, 1, img.size);
    err = refuse_image(&img, AMP_ELF_SEG_FILE_RANGE);
    assert_int_equal(err.segment, 1);
}

static void test_filesz_over_memsz(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_MEMSZ, 1, DATA_SIZE - 1);
    struct amp_elf_error err = refuse_image(&img, AMP_ELF_SEG_FILE_RANGE);
    assert_int_equal(err.segment, 1);
    /* Even for a segment with no memory at all. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_MEMSZ, 1, 0);
    err = refuse_image(&img, AMP_ELF_SEG_FILE_RANGE);
    assert_int_equal(err.segment, 1);
}

static void test_segment_outside_map(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 2, 0x20000000u);
    struct amp_elf_error err = refuse_image(&img, AMP_ELF_SEG_OUTSIDE_MAP);
    assert_int_equal(err.segment, 2);
    assert_int_equal(err.addr, 0x20000000u);
    assert_int_equal(err.size, BSS_SIZE);
    /* Running off the end of a region, and wrapping the address space. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_MEMSZ, 0, sizeof(flash) + 1);
    err = refuse_image(&img, AMP_ELF_SEG_OUTSIDE_MAP);
    assert_int_equal(err.segment, 0);
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 2, is64 ? ~0ull - 0x40 : 0xFFFFFFC0u);
    refuse_image(&img, AMP_ELF_SEG_OUTSIDE_MAP);
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 2, SRAM_DA);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_MEMSZ, 2, is64 ? ~0ull : 0xFFFFFFFFu);
    refuse_image(&img, AMP_ELF_SEG_OUTSIDE_MAP);
}

static void test_segment_straddles_regions(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    /* The last 0x40 bytes of sram and the first 0x40 of sram2. */
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 2, SRAM2_DA - 0x40);
    struct amp_elf_error err = refuse_image(&img, AMP_ELF_SEG_OUTSIDE_MAP);
    assert_int_equal(err.segment, 2);
    assert_int_equal(err.addr, SRAM2_DA - 0x40);
}

static void test_overlapping_segments(bool is64)
{
    struct elfb b = firmware(is64);
    /* .bss placed over the end of .text. */
    struct image img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 2, FLASH_DA + TEXT_SIZE - 1);
    struct amp_elf_error err = refuse_image(&img, AMP_ELF_SEG_OVERLAP);
    assert_int_equal(err.segment, 2);
    /* .data starting before .text and reaching into it. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 0, FLASH_DA + 0x800);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 1, FLASH_DA + 0x800 - DATA_SIZE + 1);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_ENTRY, 0, FLASH_DA + 0x801);
    err = refuse_image(&img, AMP_ELF_SEG_OVERLAP);
    assert_int_equal(err.segment, 1);
    /* Identical ranges. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 1, FLASH_DA);
    err = refuse_image(&img, AMP_ELF_SEG_OVERLAP);
    assert_int_equal(err.segment, 1);
    /* Adjacent is fine. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 1, FLASH_DA + TEXT_SIZE);
    fill_board();
    assert_int_equal(amp_elf_load(img.bytes, img.size, &map, 0, NULL, NULL), 0);
    free(img.bytes);
}

/* A board that shows one memory at two device addresses (like an MCU's
 * flash alias at 0): segments must not meet in local memory either. */
static void test_overlap_through_alias(bool is64)
{
    const struct amp_mem_region alias_regions[] = {
        regions[0], regions[1],
        { "flash-alias", 0x00000000u, sizeof(flash), flash, AMP_MEM_EXEC },
    };
    const struct amp_mem_map alias_map = { alias_regions, 3 };
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    struct amp_elf_error err;

    elfb_patch(img.bytes, &img.lay, is64, ELFB_PH_PADDR, 1, 0x00000000u + TEXT_SIZE - 8);
    fill_board();
    assert_true(amp_elf_load(img.bytes, img.size, &alias_map, 0, NULL, &err) < 0);
    assert_int_equal(err.problem, AMP_ELF_SEG_OVERLAP);
    assert_int_equal(err.segment, 1);
    assert_true(board_untouched());
    free(img.bytes);
}

static void test_non_load_segments_ignored(bool is64)
{
    struct elfb b = firmware(is64);
    /* A PT_NOTE-like header pointing anywhere is not loaded and not checked
     * against the map. */
    b.seg[3] = (struct elfb_seg){ .type = 4, .paddr = 0x90000000u, .filesz = 8, .memsz = 8 };
    b.nseg = 4;
    struct image img = build(&b);
    struct amp_elf_info info;
    fill_board();
    assert_int_equal(amp_elf_load(img.bytes, img.size, &map, 0, &info, NULL), 0);
    assert_int_equal(info.segments, 3);
    free(img.bytes);
}

/* ---- Resource table and entry point. ---- */

static size_t rsc_file_off(const struct image *img)
{
    return img->lay.seg_off[0] + RSC_OFF;
}

static void test_rsc_offsets_past_end(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    /* offset[1] (the trace entry) far past the table's end. */
    elfb_put(img.bytes + rsc_file_off(&img) + 20, 0x1000, 4);
    struct amp_elf_error err = refuse_image(&img, AMP_ELF_BAD_RSC_TABLE);
    assert_int_equal(err.addr, FLASH_DA + RSC_OFF);
    /* The last entry's fixed part crossing the end of the section. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_SH_SIZE, 2, RSC_SIZE - 1);
    refuse_image(&img, AMP_ELF_BAD_RSC_TABLE);
    /* Wrong version. */
    img = build(&b);
    elfb_put(img.bytes + rsc_file_off(&img), 2, 4);
    refuse_image(&img, AMP_ELF_BAD_RSC_TABLE);
}

static void test_rsc_not_in_loaded_segment(bool is64)
{
    struct elfb b = firmware(is64);
    /* Section bytes in the file but in no segment (the string table's place). */
    struct image img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_SH_OFFSET, 2, img.lay.strtab_off);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_SH_SIZE, 2, img.lay.strtab_size);
    refuse_image(&img, AMP_ELF_BAD_RSC_TABLE);
    /* Straddling the end of .text's file bytes. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_SH_OFFSET, 2, img.lay.seg_off[0] + TEXT_SIZE - 64);
    refuse_image(&img, AMP_ELF_BAD_RSC_TABLE);
    /* NOBITS: no bytes to load. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_SH_TYPE, 2, ELFB_SHT_NOBITS);
    refuse_image(&img, AMP_ELF_BAD_RSC_TABLE);
    /* A sound table whose loaded copy would be misaligned. */
    memmove(text + RSC_OFF + 2, text + RSC_OFF, RSC_SIZE);
    b.sec[1].seg_off = RSC_OFF + 2;
    img = build(&b);
    assert_int_equal(amp_rsc_check(img.bytes + rsc_file_off(&img) + 2, RSC_SIZE), 0);
    refuse_image(&img, AMP_ELF_BAD_RSC_TABLE);
}

static void test_entry_outside(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_ENTRY, 0, 0x20000000u);
    struct amp_elf_error err = refuse_image(&img, AMP_ELF_ENTRY_OUTSIDE);
    assert_int_equal(err.addr, 0x20000000u);
    /* Inside the map but in no segment. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_ENTRY, 0, FLASH_DA + 0x1000);
    refuse_image(&img, AMP_ELF_ENTRY_OUTSIDE);
    /* One past the end of .text. */
    img = build(&b);
    elfb_patch(img.bytes, &img.lay, is64, ELFB_EH_ENTRY, 0, FLASH_DA + TEXT_SIZE);
    refuse_image(&img, AMP_ELF_ENTRY_OUTSIDE);
    /* Inside a loaded segment, but in memory that is not executable. */
    b.seg[3] = (struct elfb_seg){ .paddr = SHARED_DA, .vaddr = SHARED_DA, .filesz = 0,
                                  .memsz = 64 };
    b.nseg = 4;
    b.entry = SHARED_DA + 8;
    img = build(&b);
    refuse_image(&img, AMP_ELF_ENTRY_OUTSIDE);
}

/* Flip every byte of a valid image in turn: never a crash or an overread
 * (ASan), and a refused image never writes. */
static void test_byte_flips(bool is64)
{
    struct elfb b = firmware(is64);
    struct image img = build(&b);
    for (size_t i = 0; i < img.size; i++) {
        img.bytes[i] ^= 0xFF;
        fill_board();
        struct amp_elf_error err;
        int ret = amp_elf_load(img.bytes, img.size, &map, 0, NULL, &err);
        if (ret < 0)
            assert_true(board_untouched());
        else
            assert_int_equal(err.problem, AMP_ELF_OK);
        img.bytes[i] ^= 0xFF;
    }
    free(img.bytes);
}

static void test_problem_strings(void **state)
{
    (void)state;
    for (int p = 0; p < AMP_ELF_PROBLEM_COUNT; p++) {
        const char *s = amp_elf_problem_str((enum amp_elf_problem)p);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown problem");
        for (int q = 0; q < p; q++)
            assert_string_not_equal(s, amp_elf_problem_str((enum amp_elf_problem)q));
    }
    assert_string_equal(amp_elf_problem_str(AMP_ELF_PROBLEM_COUNT), "unknown problem");
    assert_string_equal(amp_elf_problem_str((enum amp_elf_problem)-1), "unknown problem");
}

/* ---- Memory map. ---- */

static void test_mem_map(void **state)
{
    (void)state;
    assert_ptr_equal(amp_mem_da_to_va(&map, FLASH_DA, sizeof(flash)), flash);
    assert_ptr_equal(amp_mem_da_to_va(&map, SRAM_DA + 0x10, 0x20), sram + 0x10);
    assert_ptr_equal(amp_mem_da_to_va(&map, SRAM2_DA + 0xFFF, 1), sram2 + 0xFFF);
    assert_null(amp_mem_da_to_va(&map, SRAM2_DA + 0xFFF, 2));
    assert_null(amp_mem_da_to_va(&map, SRAM_DA + 0xFF0, 0x20));  /* straddles */
    assert_null(amp_mem_da_to_va(&map, FLASH_DA - 1, 2));
    assert_null(amp_mem_da_to_va(&map, FLASH_DA + sizeof(flash), 0));
    assert_null(amp_mem_da_to_va(&map, ~0ull, 2));
    assert_null(amp_mem_da_to_va(&map, FLASH_DA + 1, ~0ull));
    assert_null(amp_mem_da_to_va(NULL, FLASH_DA, 1));
    assert_ptr_equal(amp_mem_find(&map, SHARED_DA, 1), &regions[3]);
    assert_null(amp_mem_find(&map, 0, 1));

    /* A region at the very top of the address space. */
    static uint8_t top[16];
    const struct amp_mem_region top_region[] = {
        { "top", ~0ull - 15, 16, top, 0 },
        { "unmapped", 0x1000, 16, NULL, 0 },
    };
    const struct amp_mem_map top_map = { top_region, 2 };
    assert_ptr_equal(amp_mem_da_to_va(&top_map, ~0ull - 15, 16), top);
    assert_ptr_equal(amp_mem_da_to_va(&top_map, ~0ull, 1), top + 15);
    assert_null(amp_mem_da_to_va(&top_map, ~0ull, 2));
    assert_null(amp_mem_da_to_va(&top_map, 0x1000, 1));  /* no local mapping */
    assert_non_null(amp_mem_find(&top_map, 0x1000, 1));
}

/* Each class-independent test runs as fn_elf32 and fn_elf64. */
#define CLASSES(fn) \
    static void fn##_elf32(void **state) { (void)state; fn(false); } \
    static void fn##_elf64(void **state) { (void)state; fn(true); }
#define BOTH(fn) cmocka_unit_test(fn##_elf32), cmocka_unit_test(fn##_elf64)
CLASSES(test_valid_load)
CLASSES(test_valid_any_machine_no_table_null_outputs)
CLASSES(test_valid_no_sections)
CLASSES(test_truncated_header)
CLASSES(test_every_truncation_refused)
CLASSES(test_bad_magic)
CLASSES(test_wrong_class)
CLASSES(test_big_endian)
CLASSES(test_bad_version)
CLASSES(test_wrong_machine)
CLASSES(test_not_exec)
CLASSES(test_phdrs_past_end)
CLASSES(test_shdrs_past_end)
CLASSES(test_bad_sections)
CLASSES(test_segment_file_range)
CLASSES(test_filesz_over_memsz)
CLASSES(test_segment_outside_map)
CLASSES(test_segment_straddles_regions)
CLASSES(test_overlapping_segments)
CLASSES(test_overlap_through_alias)
CLASSES(test_non_load_segments_ignored)
CLASSES(test_rsc_offsets_past_end)
CLASSES(test_rsc_not_in_loaded_segment)
CLASSES(test_entry_outside)
CLASSES(test_byte_flips)


int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_valid_load),
        BOTH(test_valid_any_machine_no_table_null_outputs),
        BOTH(test_valid_no_sections),
        cmocka_unit_test(test_empty),
        BOTH(test_truncated_header),
        BOTH(test_every_truncation_refused),
        BOTH(test_bad_magic),
        BOTH(test_wrong_class),
        BOTH(test_big_endian),
        BOTH(test_bad_version),
        BOTH(test_wrong_machine),
        BOTH(test_not_exec),
        BOTH(test_phdrs_past_end),
        BOTH(test_shdrs_past_end),
        BOTH(test_bad_sections),
        BOTH(test_segment_file_range),
        BOTH(test_filesz_over_memsz),
        BOTH(test_segment_outside_map),
        BOTH(test_segment_straddles_regions),
        BOTH(test_overlapping_segments),
        BOTH(test_overlap_through_alias),
        BOTH(test_non_load_segments_ignored),
        BOTH(test_rsc_offsets_past_end),
        BOTH(test_rsc_not_in_loaded_segment),
        BOTH(test_entry_outside),
        BOTH(test_byte_flips),
        cmocka_unit_test(test_problem_strings),
        cmocka_unit_test(test_mem_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
