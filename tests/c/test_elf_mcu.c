/*
 * test_elf_mcu.c - the loader as the MicroPython module builds it for the
 * STM32H747's M7 (bindings/micropython/openamp/micropython.mk): ELF32 only
 * (AMP_ELF_64=0, 32-bit offsets and sizes) and no section headers read
 * (AMP_ELF_RSC=0). ELF32 images load as with the full loader, every
 * program-header and segment check still refuses without writing, ELF64 is
 * BAD_CLASS, and neither a resource table nor broken section headers matter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AMP_ELF_64 0
#define AMP_ELF_RSC 0
#include "../../src/remoteproc/elf.c"   /* before cmocka.h: both have a fail() */

#include <cmocka.h>

#include "amp/rsc.h"
#include "elf_builder.h"

#define FLASH_DA 0x08100000u
#define SRAM_DA  0x10000000u
#define TOP_DA   0xFFFFF000u   /* the last 4 KiB below 4 GiB */
#define FILL 0xA5

static _Alignas(64) uint8_t flash[0x2000];
static _Alignas(64) uint8_t sram[0x1000];
static _Alignas(64) uint8_t top[0x1000];

static const struct amp_mem_region regions[] = {
    { "flash", FLASH_DA, sizeof(flash), flash, AMP_MEM_EXEC },
    { "sram", SRAM_DA, sizeof(sram), sram, AMP_MEM_EXEC },
    { "top", TOP_DA, sizeof(top), top, AMP_MEM_EXEC },
};
static const struct amp_mem_map board = { regions, 3 };

static uint8_t text[512];

static void fill_board(void)
{
    memset(flash, FILL, sizeof(flash));
    memset(sram, FILL, sizeof(sram));
    memset(top, FILL, sizeof(top));
}

static bool untouched(void)
{
    for (size_t i = 0; i < sizeof(flash); i++)
        if (flash[i] != FILL)
            return false;
    for (size_t i = 0; i < sizeof(sram); i++)
        if (sram[i] != FILL)
            return false;
    for (size_t i = 0; i < sizeof(top); i++)
        if (top[i] != FILL)
            return false;
    return true;
}

/* .text in flash holding a resource table, .bss in SRAM. */
static struct elfb firmware(bool is64)
{
    for (unsigned i = 0; i < sizeof(text); i++)
        text[i] = (uint8_t)(i * 5 + 3);
    const struct amp_rsc_layout layout = {
        .features = 1, .vring_da = { AMP_RSC_ADDR_ANY, AMP_RSC_ADDR_ANY },
        .vring_notifyid = { 0, 1 }, .vring_num = 16, .vring_align = 16,
    };
    size_t rsc_size = amp_rsc_build_size(&layout);
    assert_int_equal(amp_rsc_build(text + 0x80, rsc_size, &layout), 0);
    struct elfb b = {
        .is64 = is64, .machine = ELFB_EM_ARM, .entry = FLASH_DA + 1,
        .seg = {
            { .paddr = FLASH_DA, .vaddr = FLASH_DA, .data = text, .filesz = sizeof(text),
              .memsz = sizeof(text) },
            { .paddr = SRAM_DA, .vaddr = SRAM_DA, .filesz = 0, .memsz = 64 },
        },
        .nseg = 2,
        .sec = { { .name = ".resource_table", .seg = 0, .seg_off = 0x80, .size = rsc_size } },
        .nsec = 1,
    };
    return b;
}

static uint8_t *build(const struct elfb *b, size_t *size, struct elfb_layout *lay)
{
    static uint8_t scratch[4096];
    *size = elfb_build(b, scratch, sizeof(scratch), lay);
    assert_true(*size > 0);
    uint8_t *img = malloc(*size);   /* exactly sized: ASan sees an overread */
    assert_non_null(img);
    memcpy(img, scratch, *size);
    return img;
}

static void refused(const uint8_t *img, size_t size, enum amp_elf_problem problem)
{
    struct amp_elf_error err;
    fill_board();
    assert_true(amp_elf_load(img, size, &board, ELFB_EM_ARM, NULL, &err) < 0);
    assert_int_equal(err.problem, problem);
    assert_true(untouched());
}

static void test_elf32_loads_table_not_read(void **state)
{
    (void)state;
    struct elfb b = firmware(false);
    struct elfb_layout lay;
    size_t size;
    uint8_t *img = build(&b, &size, &lay);
    struct amp_elf_info info;
    struct amp_elf_error err;
    fill_board();
    assert_int_equal(amp_elf_load(img, size, &board, ELFB_EM_ARM, &info, &err), 0);
    assert_int_equal(err.problem, AMP_ELF_OK);
    assert_int_equal(info.entry, FLASH_DA + 1);
    assert_int_equal(info.segments, 2);
    assert_false(info.is_64);
    assert_int_equal(info.rsc_size, 0);   /* the table is there, and not looked for */
    assert_null(info.rsc_va);
    assert_memory_equal(flash, text, sizeof(text));
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(sram[i], 0);
    assert_int_equal(sram[64], FILL);
    free(img);
}

static void test_elf64_is_bad_class(void **state)
{
    (void)state;
    struct elfb b = firmware(true);
    struct elfb_layout lay;
    size_t size;
    uint8_t *img = build(&b, &size, &lay);
    refused(img, size, AMP_ELF_BAD_CLASS);
    assert_int_equal(amp_elf_load(img, size, &board, ELFB_EM_ARM, NULL, NULL), -AMP_ENOEXEC);
    assert_string_equal(amp_elf_problem_str(AMP_ELF_BAD_CLASS), "not an ELF32 file");
    free(img);
}

static void test_section_headers_ignored(void **state)
{
    (void)state;
    struct elfb b = firmware(false);
    struct elfb_layout lay;
    size_t size;
    uint8_t *img = build(&b, &size, &lay);
    /* Past the end of the file, and a string table index out of range. */
    elfb_patch(img, &lay, false, ELFB_EH_SHOFF, 0, 0xFFFFFFF0u);
    elfb_patch(img, &lay, false, ELFB_EH_SHSTRNDX, 0, 0xFFFF);
    fill_board();
    assert_int_equal(amp_elf_load(img, size, &board, ELFB_EM_ARM, NULL, NULL), 0);
    free(img);
}

static void test_segment_checks_still_refuse(void **state)
{
    (void)state;
    struct elfb b = firmware(false);
    struct elfb_layout lay;
    size_t size;
    uint8_t *img = build(&b, &size, &lay);
    elfb_patch(img, &lay, false, ELFB_EH_PHOFF, 0, 0xFFFFFFF0u);
    refused(img, size, AMP_ELF_BAD_PHDRS);
    free(img);

    img = build(&b, &size, &lay);
    elfb_patch(img, &lay, false, ELFB_PH_OFFSET, 0, 0xFFFFFFF0u);   /* 32-bit: no wrap */
    refused(img, size, AMP_ELF_SEG_FILE_RANGE);
    free(img);

    img = build(&b, &size, &lay);
    elfb_patch(img, &lay, false, ELFB_PH_MEMSZ, 0, 8);   /* filesz > memsz */
    refused(img, size, AMP_ELF_SEG_FILE_RANGE);
    free(img);

    img = build(&b, &size, &lay);
    elfb_patch(img, &lay, false, ELFB_PH_PADDR, 1, FLASH_DA + 0x100);   /* onto .text */
    refused(img, size, AMP_ELF_SEG_OVERLAP);
    free(img);

    img = build(&b, &size, &lay);
    elfb_patch(img, &lay, false, ELFB_EH_ENTRY, 0, SRAM_DA + 0x800);
    refused(img, size, AMP_ELF_ENTRY_OUTSIDE);
    free(img);

    /* The last bytes below 4 GiB: fits; one more crosses 4 GiB. */
    b.seg[1] = (struct elfb_seg){ .paddr = TOP_DA, .vaddr = TOP_DA, .memsz = sizeof(top) };
    img = build(&b, &size, &lay);
    fill_board();
    assert_int_equal(amp_elf_load(img, size, &board, ELFB_EM_ARM, NULL, NULL), 0);
    free(img);
    b.seg[1].paddr = TOP_DA + 0x10;
    img = build(&b, &size, &lay);
    refused(img, size, AMP_ELF_SEG_OUTSIDE_MAP);
    free(img);
}

/* Every truncation and every byte flipped: never an overread (ASan), and a
 * refused image never writes. */
static void test_truncations_and_flips(void **state)
{
    (void)state;
    struct elfb b = firmware(false);
    struct elfb_layout lay;
    size_t size;
    uint8_t *img = build(&b, &size, &lay);
    for (size_t len = 0; len < lay.seg_off[0] + sizeof(text); len++) {   /* .text cut short */
        uint8_t *part = malloc(len ? len : 1);
        memcpy(part, img, len);
        fill_board();
        assert_true(amp_elf_load(part, len, &board, ELFB_EM_ARM, NULL, NULL) < 0);
        assert_true(untouched());
        free(part);
    }
    for (size_t i = 0; i < size; i++) {
        img[i] ^= 0xFF;
        fill_board();
        struct amp_elf_error err;
        if (amp_elf_load(img, size, &board, 0, NULL, &err) < 0)
            assert_true(untouched());
        else
            assert_int_equal(err.problem, AMP_ELF_OK);
        img[i] ^= 0xFF;
    }
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf32_loads_table_not_read),
        cmocka_unit_test(test_elf64_is_bad_class),
        cmocka_unit_test(test_section_headers_ignored),
        cmocka_unit_test(test_segment_checks_still_refuse),
        cmocka_unit_test(test_truncations_and_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
