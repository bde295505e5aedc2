/*
 * Private state of the simulated board sim-h747 (host side, Linux only).
 * Split over board.c (memory, platform ops, host table), core.c (the core
 * process) and files.c (loading, trace, locating amp-simcore).
 */
#ifndef AMP_SIM_INTERNAL_H
#define AMP_SIM_INTERNAL_H

#include <limits.h>
#include <stdarg.h>
#include <sys/types.h>

#include "amp/sim.h"

#define SIM_REGIONS 3
enum { SIM_FLASH = 0, SIM_SRAM = 1, SIM_SHARED = 2 };

/* Descriptor numbers the core process receives (see ../simcore/simcore.c). */
#define SIM_FD_DOORBELL_TO_CORE 3
#define SIM_FD_DOORBELL_TO_HOST 4
#define SIM_FD_FLASH 5
#define SIM_FD_SRAM 6
#define SIM_FD_SHARED 7
/* Where the core writes why it stopped (amp-simcore-cm4; optional). */
#define SIM_FD_REASON 8

/* The kind of core process, chosen from the firmware's ELF machine. */
enum sim_core_type {
    SIM_CORE_UNKNOWN = 0,  /* nothing loaded by this board: look at flash */
    SIM_CORE_NATIVE,       /* EM_X86_64: amp-simcore, the firmware runs natively */
    SIM_CORE_CM4,          /* EM_ARM: amp-simcore-cm4, an emulated Cortex-M4 */
};
#define SIM_CRASH_REASON_MAX 320

struct amp_sim_board {
    char name[AMP_SIM_NAME_MAX + 1];
    char flash_shm[AMP_SIM_NAME_MAX + 16];    /* shm_open name: /amp-<name>-flash */
    char simcore[PATH_MAX];
    enum amp_sim_wait_mode wait_mode;
    bool remove_flash_on_close;
    int cpu;

    int mem_fd[SIM_REGIONS];
    void *mem[SIM_REGIONS];
    struct amp_mem_region regions[SIM_REGIONS];
    struct amp_mem_map map;

    int to_core_fd;       /* eventfd: host rings the core */
    int to_host_fd;       /* eventfd: the core rings us */
    int notify_fd;        /* epoll over to_host_fd and the core's pidfd */

    pid_t pid;            /* running core, or -1 */
    int pidfd;            /* its pidfd, or -1 */
    bool core_died;       /* the core ended on its own (not by stop) */
    int core_code;        /* how it ended: CLD_EXITED, CLD_KILLED, CLD_DUMPED; 0 unknown */
    int core_status;      /* exit status or signal number, when known */
    unsigned polls;       /* polled-mode waits since the last death check */
    enum sim_core_type core_type;
    uint64_t elf_entry;   /* entry of the last ELF loaded (M4: boot from its vector table) */
    int reason_fd;        /* read end of the core's reason pipe, or -1 */
    char crash_reason[SIM_CRASH_REASON_MAX];

    bool external_host;   /* the board boots firmware only (amp_sim_options) */
    bool map_at_da;       /* regions mapped here at their device addresses */
    bool has_layout;      /* host set-up uses `layout`, not the host-built table */
    struct amp_sim_layout layout;

    struct amp_platform platform;
    const struct amp_platform *rpmsg_platform;  /* what rpmsg and rproc use */
    struct amp_rproc rproc;
    struct amp_rpmsg_device rpmsg;
};

/* board.c */
void sim_errmsg(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* layout.c: the host config for board->layout (checked when it was set). */
void sim_layout_config(struct amp_sim_board *board, struct amp_rpmsg_config *cfg);

/* core.c */
extern const struct amp_rproc_board_ops sim_board_ops;
int sim_host_table(void *ctx, struct amp_rpmsg_config *cfg);
/* Reap the core if it ended on its own. True if no core is running now. */
bool sim_core_check(struct amp_sim_board *board);
void sim_core_kill(struct amp_sim_board *board);

#endif /* AMP_SIM_INTERNAL_H */
