/*
 * amp/sim.h - the simulated board "sim-h747", host side (Linux only).
 *
 * The board's remote core is a separate process that maps the board memory
 * at STM32H747's Cortex-M4 device addresses. Its kind follows the firmware's
 * ELF machine: EM_ARM (the real chip's Thumb-2 image) runs on an emulated
 * Cortex-M4 (amp-simcore-cm4, found next to amp-simcore); EM_X86_64 runs
 * natively in amp-simcore, jumping to the entry:
 *
 *   flash   0x08100000  1 MiB    persists across host runs (a file in /dev/shm)
 *   sram    0x10000000  288 KiB  fresh for each board instance
 *   shared  0x38000000  64 KiB   SRAM4: resource table + vrings + buffers
 *
 * Doorbells are eventfds; the core's death is seen through a pidfd, so a
 * wait never outlives a dead core. This is a host library: it may allocate
 * and call the OS. It implements the platform ops and the remoteproc board
 * ops of the layers below. A board is not thread-safe.
 *
 * The core process gets fixed descriptors: 3 doorbell host->core, 4 doorbell
 * core->host (eventfds), 5 flash, 6 sram, 7 shared (memory files), 8 a pipe
 * for its crash reason. Firmware conventions: docs/board-sim-h747.md.
 */
#ifndef AMP_SIM_H
#define AMP_SIM_H

#include "amp/platform.h"
#include "amp/remoteproc.h"
#include "amp/rpmsg.h"

#define AMP_SIM_FLASH_DA   0x08100000u
#define AMP_SIM_FLASH_SIZE 0x00100000u
#define AMP_SIM_SRAM_DA    0x10000000u
#define AMP_SIM_SRAM_SIZE  0x00048000u
#define AMP_SIM_SHARED_DA  0x38000000u
#define AMP_SIM_SHARED_SIZE 0x00010000u

/* How the host side waits for the core's doorbell. */
enum amp_sim_wait_mode {
    AMP_SIM_WAIT_BLOCKING = 0,  /* sleep in poll() on the eventfd */
    AMP_SIM_WAIT_POLLED,        /* spin, never sleep */
    AMP_SIM_WAIT_ADAPTIVE,      /* spin briefly, then sleep */
};

struct amp_sim_options {
    const char *name;           /* board instance name; NULL = "sim-h747" */
    const char *simcore_path;   /* helper program; NULL = find it (see amp_sim_find_simcore) */
    enum amp_sim_wait_mode wait_mode;
    bool remove_flash_on_close; /* delete the persistent flash file at close (tests) */
    bool pin_cpu;               /* pin the core process to `cpu` */
    int cpu;
    /*
     * Platform handed to the rpmsg device and the life cycle instead of the
     * board's own; NULL = amp_sim_platform(). A language binding puts a
     * wrapper here (e.g. a wait op that releases its interpreter lock and
     * delivers messages meanwhile) whose ops forward to amp_sim_platform().
     * It must outlive the board.
     */
    const struct amp_platform *rpmsg_platform;
    /*
     * false (the default, and what the Python module uses): the board is the
     * rpmsg host. amp_rproc_start() zeroes SRAM4, writes the host-built table
     * (or the layout of amp_sim_set_layout), lays out the rings and posts the
     * receive buffers before every boot, or honours a firmware's own table.
     *
     * true: the board only boots firmware. amp_rproc_start() never touches
     * shared memory, a table or the rings; they belong to whoever drives
     * rpmsg: another host stack writing the board memory itself (OpenAMP,
     * MicroPython's host code), or amp_sim_rpmsg(), which then sets the
     * device up when first called (MicroPython's order: shared memory at the
     * first Endpoint(), the core booted later) and again on the first call
     * after the core stopped or crashed. Shared memory starts zeroed.
     */
    bool external_host;
    /*
     * Map flash, SRAM and shared memory in this process at their device
     * addresses too (MAP_FIXED_NOREPLACE), so code that keeps device
     * addresses as pointers (MicroPython's) works unchanged. If any range is
     * already taken in this process, or the kernel refuses the address,
     * amp_sim_open() fails with -AMP_EADDRINUSE and says which region; it
     * never falls back silently. Only one such board per process.
     */
    bool map_at_device_address;
};

struct amp_sim_board;

/* Board instance names: 1 to 64 of [A-Za-z0-9._-], not starting with '.'
 * (they name files in /dev/shm). */
#define AMP_SIM_NAME_MAX 64
bool amp_sim_name_ok(const char *name);

/* Create or attach to the board's memory. Returns 0 or a negative amp error;
 * on failure `errmsg` (if not NULL) says why. */
int amp_sim_open(struct amp_sim_board **out, const struct amp_sim_options *opt,
                 char *errmsg, size_t errlen);
/* Stop the core, unmap, remove per-instance shm files. NULL is a no-op. */
void amp_sim_close(struct amp_sim_board *board);

/* The pieces the layers above use. All owned by the board. */
const struct amp_platform *amp_sim_platform(struct amp_sim_board *board);
struct amp_rproc *amp_sim_rproc(struct amp_sim_board *board);
/* The host rpmsg device, initialised lazily with the board's host-built table
 * (or layout). With external_host, see there. */
int amp_sim_rpmsg(struct amp_sim_board *board, struct amp_rpmsg_device **out);
const struct amp_mem_map *amp_sim_mem_map(struct amp_sim_board *board);

/*
 * The memory file behind a region: "flash", "sram" or "shared" (owned by
 * the board: dup it to keep it). Another process, or another mapping here,
 * can mmap it MAP_SHARED to see the same bytes. -AMP_ENOENT for another name.
 */
int amp_sim_region_fd(struct amp_sim_board *board, const char *region);

/*
 * A host-chosen layout with no resource table (rpmsg-lite's model: the
 * firmware knows the addresses from its own configuration), in device
 * addresses. Everything must lie inside shared memory, the rings and the
 * pool must not overlap, and the pool must hold buf_count buffers.
 */
struct amp_sim_layout {
    enum amp_rpmsg_addr_mode addr_mode;  /* what descriptors hold */
    uint32_t shm_da;              /* PHYS: the region buffers live in; OFFSET: offsets from here */
    uint32_t shm_size;
    uint32_t vring_da[2];         /* vring 0: remote -> host, vring 1: host -> remote */
    uint32_t vring_notifyid[2];
    uint16_t vring_num;           /* power of two, at most 256 */
    uint32_t vring_align;
    uint32_t pool_da;
    uint32_t buf_count;           /* both ways together */
    uint32_t rx_buf_count;        /* posted for receive; 0 = half */
    uint32_t buf_size;            /* bytes per buffer incl. header; 0 = 512 */
    uint32_t features;            /* in force, no table to agree them: e.g. 1 << F_NS */
    uint32_t trace_da, trace_len; /* the firmware's trace buffer (any board memory); 0 = none */
};

/*
 * rpmsg-lite's layout at shm_da (rpmsg_lite_remote_init's view): vring 0 at
 * shm_da, vring 1 vring_span bytes after it (the platform's VRING_SIZE; 0 =
 * the ring's size rounded up to `align`), then 2 * num buffers of buf_size
 * bytes, num for each direction; physical addresses, name service on.
 */
int amp_sim_layout_rpmsg_lite(struct amp_sim_layout *out, uint32_t shm_da, uint16_t num,
                              uint32_t align, uint32_t vring_span, uint32_t buf_size);

/*
 * Use `layout` instead of MicroPython's host-built table for the board's
 * own host set-up (amp_sim_rpmsg and every amp_rproc_start of a firmware
 * without a table); NULL goes back to the table. -AMP_EBUSY while a core
 * runs, -AMP_ERANGE / -AMP_EINVAL for a layout that does not fit (errmsg
 * says what). Takes effect at the next set-up.
 */
int amp_sim_set_layout(struct amp_sim_board *board, const struct amp_sim_layout *layout,
                       char *errmsg, size_t errlen);

/* Readable when the core rang our doorbell or died (for poll/select/asyncio).
 * Reading is done by amp_sim_ack(); the platform wait op does it itself. */
int amp_sim_notify_fd(struct amp_sim_board *board);
void amp_sim_ack(struct amp_sim_board *board);

/*
 * Load an ELF file into the board (remoteproc state -> LOADED). On failure
 * the message names the file and the problem (segment, address).
 */
int amp_sim_load_file(struct amp_sim_board *board, const char *path, char *errmsg,
                      size_t errlen);
/*
 * Copy the trace buffer's text into buf (NUL-terminated); returns its
 * length. The text is every non-NUL byte of the buffer, in order: a host
 * that zeroed the start of the buffer does not hide what the firmware
 * wrote after it.
 */
int amp_sim_read_trace(struct amp_sim_board *board, char *buf, size_t len);
/*
 * Why the core died on its own (state CRASHED), as one line of text. The
 * emulated Cortex-M4 says what and where, e.g. "write to 0x40021000 (no
 * memory or peripheral modelled there) at pc 0x081003a2..0x081003ac (lr
 * 0x0000000a, sp 0x10003f70, xPSR 0x41000000)"; the native core how it
 * ended: "killed by signal 11 (SIGSEGV)", "the firmware exited with status
 * 3" (amp-simcore also writes the fault address and pc of a fault to its
 * stderr). Returns the length written: 0 (empty text) if the core did not
 * crash.
 */
int amp_sim_crash_reason(struct amp_sim_board *board, char *buf, size_t len);
/* Process id of the running core, or -1. */
int amp_sim_core_pid(struct amp_sim_board *board);

/* Locate amp-simcore: $AMP_SIMCORE, next to the calling library or program,
 * ../bin/ (build tree), ../libexec/amp/ or ../../../libexec/amp/ (from
 * site-packages) from it, then the install directory. Returns 0 and the
 * path, or -AMP_ENOENT. */
int amp_sim_find_simcore(char *path, size_t len);

#endif /* AMP_SIM_H */
