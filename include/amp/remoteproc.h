/*
 * amp/remoteproc.h - remote processor life cycle and the ELF loader.
 *
 * A board describes its remote core's memory map (device addresses and
 * where this side sees them) and provides start/stop/state ops. The loader
 * places an ELF image into that memory; the life cycle ties the image, the
 * resource table and the host's rpmsg device together so that a core can be
 * started, stopped and started again.
 *
 * Like the layers below, this allocates nothing and calls no OS: reading a
 * file into memory is the caller's job (see the host library).
 */
#ifndef AMP_REMOTEPROC_H
#define AMP_REMOTEPROC_H

#include "amp/platform.h"
#include "amp/rsc.h"
#include "amp/rpmsg.h"

/* ---- Memory map. ---- */
#define AMP_MEM_EXEC   0x1u   /* code may be placed here (flash, RAM) */
#define AMP_MEM_SHARED 0x2u   /* shared with the host: vrings, buffers, tables */

struct amp_mem_region {
    const char *name;     /* "flash", "sram", "shared" */
    uint64_t da;          /* device address: where the remote core sees it */
    uint64_t size;
    void *va;             /* where this side sees it */
    uint32_t flags;
};

struct amp_mem_map {
    const struct amp_mem_region *regions;
    unsigned count;
};

/* Local pointer for [da, da+len) if it lies wholly inside one region, else NULL. */
void *amp_mem_da_to_va(const struct amp_mem_map *map, uint64_t da, uint64_t len);
const struct amp_mem_region *amp_mem_find(const struct amp_mem_map *map, uint64_t da,
                                          uint64_t len);

/* ---- ELF loader. ---- */

/* What went wrong, for the caller to turn into a message. */
enum amp_elf_problem {
    AMP_ELF_OK = 0,
    AMP_ELF_EMPTY,            /* file has no bytes */
    AMP_ELF_TRUNCATED,        /* shorter than an ELF header */
    AMP_ELF_BAD_MAGIC,
    AMP_ELF_BAD_CLASS,        /* neither ELF32 nor ELF64 */
    AMP_ELF_BAD_ENDIAN,       /* not little-endian */
    AMP_ELF_BAD_MACHINE,      /* not the machine the board expects */
    AMP_ELF_BAD_TYPE,         /* not ET_EXEC */
    AMP_ELF_BAD_VERSION,
    AMP_ELF_BAD_PHDRS,        /* program header table outside the file / bad entsize */
    AMP_ELF_BAD_SHDRS,        /* section header table outside the file / bad entsize */
    AMP_ELF_SEG_FILE_RANGE,   /* segment's file bytes outside the file, or filesz > memsz */
    AMP_ELF_SEG_OUTSIDE_MAP,  /* segment not wholly inside one memory region */
    AMP_ELF_SEG_OVERLAP,      /* two segments share device addresses */
    AMP_ELF_NO_SEGMENTS,
    AMP_ELF_BAD_RSC_TABLE,    /* .resource_table outside the file/segments, or invalid */
    AMP_ELF_ENTRY_OUTSIDE,    /* entry point not inside a loaded executable segment */
    AMP_ELF_PROBLEM_COUNT
};

struct amp_elf_error {
    enum amp_elf_problem problem;
    int segment;              /* program header index, or -1 */
    uint64_t addr;            /* device address involved, if any */
    uint64_t size;
};

/* Fixed description of a problem, e.g. "segment lies outside the memory map". */
const char *amp_elf_problem_str(enum amp_elf_problem problem);

struct amp_elf_info {
    uint64_t entry;
    uint64_t rsc_da;          /* device address of .resource_table, if any */
    uint64_t rsc_size;        /* 0: the image has no resource table */
    void *rsc_va;             /* its loaded copy, in board memory */
    unsigned segments;        /* PT_LOAD segments placed */
    bool is_64;
};

/* Most program headers an image may have (keeps the all-pairs overlap check small). */
#define AMP_ELF_MAX_PHDRS 64u

/*
 * Check `image` completely, then copy each PT_LOAD segment to its load
 * address (p_paddr) through `map` and zero its bss. Nothing is written
 * unless every check passes. `machine` is the e_machine the board runs
 * (0: any). The entry must lie in a loaded segment in an AMP_MEM_EXEC
 * region. A `.resource_table` section must lie in a segment's file bytes;
 * rsc_da/rsc_va then name its loaded copy (4-byte aligned, validated).
 * Returns 0, or a negative error with *err (may be NULL) saying what and
 * where: -AMP_ENOEXEC (not an executable for this board), -AMP_EBADMSG
 * (malformed headers, segments or resource table), -AMP_ERANGE (segment
 * or entry outside the memory map), -AMP_EINVAL (bad arguments). *info may
 * be NULL; it is filled only on success.
 */
int amp_elf_load(const void *image, size_t size, const struct amp_mem_map *map,
                 uint16_t machine, struct amp_elf_info *info, struct amp_elf_error *err);

/* ---- Life cycle. ---- */
enum amp_rproc_state {
    AMP_RPROC_OFFLINE = 0,    /* nothing loaded */
    AMP_RPROC_LOADED,         /* image in memory, core not running */
    AMP_RPROC_RUNNING,
    AMP_RPROC_STOPPED,        /* halted by stop(); start() boots it again */
    AMP_RPROC_CRASHED,        /* the core died on its own; start() boots it again */
};
const char *amp_rproc_state_str(enum amp_rproc_state state);

struct amp_rproc_board_ops {
    /* Put the core in reset and release it at `entry`. */
    int (*start)(void *ctx, uint64_t entry);
    /* Halt the core at once. Safe when it is not running. */
    int (*stop)(void *ctx);
    /* Poll: AMP_RPROC_RUNNING, or AMP_RPROC_CRASHED once the core died
     * (any other answer: it stopped on its own). */
    enum amp_rproc_state (*state)(void *ctx);
    /*
     * Prepare the host-built table and rpmsg config for a firmware that has
     * no table of its own (MicroPython's model); also used to reset shared
     * memory before every boot. May be NULL if the board has no such table.
     */
    int (*host_table)(void *ctx, struct amp_rpmsg_config *cfg);
};

struct amp_rproc {
    const struct amp_rproc_board_ops *ops;
    void *ctx;
    struct amp_mem_map map;
    const struct amp_mem_region *shared;   /* where vrings/buffers go (Linux model) */
    const struct amp_platform *platform;   /* host side doorbell/time */
    struct amp_rpmsg_device *rpmsg;        /* host device re-initialised on each start, or NULL */
    enum amp_rproc_state state;
    uint64_t entry;
    struct amp_rsc_table rsc;              /* the firmware's embedded table, if any */
    bool has_rsc;
    void *trace;                           /* trace buffer, as this side sees it */
    uint32_t trace_len;
    uint32_t buf_size;                     /* rpmsg buffer size for the Linux model */
    /*
     * Another host stack owns rpmsg: start only releases the core. No table
     * write-back, no rings, no host_table op, no rpmsg init; shared memory is
     * left as it is. Stop and crash still reset `rpmsg` (its peer is gone).
     */
    bool external_host;
};

/*
 * Init: state OFFLINE; rp->shared is the first region flagged
 * AMP_MEM_SHARED (NULL if none); buf_size 0 (= 512); external_host false.
 * Set rp->buf_size or rp->external_host after init to change them.
 */
void amp_rproc_init(struct amp_rproc *rp, const struct amp_rproc_board_ops *ops, void *ctx,
                    const struct amp_mem_map *map, const struct amp_platform *platform,
                    struct amp_rpmsg_device *rpmsg);
/*
 * Load an image (state -> LOADED). Fails with -AMP_EBUSY while running.
 * A failed check writes nothing and leaves the state as it was.
 */
int amp_rproc_load(struct amp_rproc *rp, const void *image, size_t size, uint16_t machine,
                   struct amp_elf_error *err);
/* Use firmware already in board memory (state -> LOADED, no embedded
 * table). -AMP_ERANGE unless `entry` is in an AMP_MEM_EXEC region. */
int amp_rproc_set_entry(struct amp_rproc *rp, uint64_t entry);
/*
 * Boot: honour the embedded table (allocate ANY vrings in shared memory and
 * write them back) or use the board's host-built one, re-init the rpmsg
 * device, then release the core. Works again after stop or a crash.
 * With rp->external_host, only the last step (and the trace of an embedded
 * table, if it is still valid).
 *
 * Linux model (embedded table with an rpmsg vdev of 2 vrings): vrings whose
 * da is ANY are placed from the start of rp->shared (after any fixed vring
 * that lies there), each aligned to its `align`; da and pa are written back.
 * The buffer pool follows (64-byte aligned): min(2 * num, what fits)
 * buffers of rp->buf_size (0 = 512) bytes, descriptors holding physical
 * (device) addresses. vdev status and gfeatures are cleared before the
 * rpmsg host init. The shared region belongs to the host: firmware must not
 * load segments into it.
 *
 * Returns -AMP_EBUSY if running, -AMP_EINVAL if nothing is loaded
 * (OFFLINE), -AMP_EBADMSG for a table that became invalid or is not
 * rpmsg's shape, -AMP_ERANGE for a fixed vring outside the map or
 * misaligned, -AMP_ENOSPC if vrings and buffers do not fit, or the error of
 * the board's host_table or start op or of the rpmsg init; on failure the
 * state stays as it was and the table is untouched unless the failure came
 * after the write-back (rpmsg init, board start).
 */
int amp_rproc_start(struct amp_rproc *rp);
/* Halt a running (or crashed) core -> STOPPED; a no-op returning 0 otherwise. */
int amp_rproc_stop(struct amp_rproc *rp);
/* Stop, then forget the image (state -> OFFLINE). */
int amp_rproc_shutdown(struct amp_rproc *rp);
/*
 * Poll the board; notices a crash (or a core that stopped on its own:
 * STOPPED), resetting the rpmsg device, and returns the state.
 */
enum amp_rproc_state amp_rproc_state(struct amp_rproc *rp);

#endif /* AMP_REMOTEPROC_H */
