/*
 * ompy_mcu.h - what opc_mcu.c (the shared layer's interface on a
 * microcontroller) needs from the board and from the interpreter.
 */
#ifndef OMPY_MCU_H
#define OMPY_MCU_H

#include <limits.h>
#include <stddef.h>

/* newlib has no PATH_MAX; the shared header sizes the hosted layer's
 * amp-simcore path with it, which a microcontroller never uses. */
#ifndef PATH_MAX
#define PATH_MAX 8
#endif
/* Ring buffers an endpoint without a callback may hold: the 64 receive
 * buffers of MicroPython's SRAM4 layout (saves 2 KiB per Endpoint). */
#ifndef OPC_HELD_MAX
#define OPC_HELD_MAX 64
#endif
#include "openamp_core.h"

#ifndef OMPY_REMOTE
#define OMPY_REMOTE 0      /* 1: this core is the rpmsg remote (MICROPY_PY_OPENAMP_MODE=1) */
#endif

struct ompy_mcu_board {
    struct amp_rpmsg_device *dev;
    struct amp_rproc *rproc;              /* host role; NULL on the remote */
    const struct amp_platform *platform;  /* the board's own doorbell, wait and clock */
};

/* The platform the rpmsg device uses: the board's own ops with `wait`
 * replaced by opc_mcu's interruptible wait (set by the caller). */
struct ompy_mcu_platform {
    struct amp_platform platform;
    struct amp_platform_ops ops;
    int (*wait)(void *ctx, int32_t timeout_ms);
};

/* Fill w->platform from the board's platform `raw` (a copy of its ops). */
static inline const struct amp_platform *ompy_mcu_wrap(struct ompy_mcu_platform *w,
                                                       const struct amp_platform *raw)
{
    w->ops = *raw->ops;
    w->ops.wait = w->wait;
    w->platform = (struct amp_platform){ &w->ops, raw->ctx };
    return &w->platform;
}

/*
 * Board: set up doorbells and memory, the rpmsg device (host: laid out at
 * each start; remote: attached lazily, see ompy_mcu_remote_attach) and the
 * life cycle, with the board's platform wrapped into `wrapped` (above) for
 * the rpmsg device. 0, or a negative amp error with `why`.
 */
int ompy_mcu_board_open(struct ompy_mcu_board *b, struct ompy_mcu_platform *wrapped, char *why,
                        size_t len);
/* Remote role: try once to attach to the host's rings (never waits):
 * 0 once attached, -AMP_EAGAIN while the host has not set DRIVER_OK. */
int ompy_mcu_remote_attach(struct ompy_mcu_board *b);

/* The doorbell interrupt's board part (acknowledge it); the interpreter's
 * handler then schedules the delivery. */
void ompy_h747_irq(void);

/* MicroPython's SRAM4 layout is the core's (amp_rpmsg_h747_build_table and
 * amp_rpmsg_h747_config in amp/rpmsg.h). */
#define OMPY_H747_SRAM4_DA   AMP_H747_SRAM4_DA
#define OMPY_H747_SRAM4_SIZE AMP_H747_SRAM4_SIZE

/* Interpreter: read a firmware file from the VFS into memory (0, or -1 with
 * every field of `e` set), and free it. */
int ompy_mcu_read_file(const char *path, void **image, size_t *size, struct opc_err *e);
void ompy_mcu_free_file(void *image, size_t size);
/* Interpreter: its millisecond clock. */
uint32_t ompy_mcu_ticks_ms(void);

#endif /* OMPY_MCU_H */
