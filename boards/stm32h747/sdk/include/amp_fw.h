/*
 * amp_fw.h - firmware SDK for the simulated board sim-h747.
 *
 * One API for both core types of the board, freestanding, linked at the
 * board's device addresses like MCU firmware:
 *   - Cortex-M4 (Thumb-2, arm-none-eabi): the real chip's image, run by the
 *     emulated core; the SDK's cm4/ (vector table, start-up, HSEM/SysTick HAL,
 *     cm4/stm32h747-m4.ld).
 *   - native x86-64 (sim-h747.ld), the fast path for benchmarks:
 *
 *   flash   0x08100000  1 MiB    .text, .rodata, load image of .data
 *   sram    0x10000000  288 KiB  [.amp_trace] .resource_table .data .bss, stack at the top
 *   shared  0x38000000  64 KiB   resource table (host-built), vrings, buffers
 *
 * Native core: the doorbells are the eventfds amp-simcore hands over
 * (3 in, 4 out), reached through raw system calls (no libc). Cortex-M4: the
 * doorbells are HSEM 0 (host -> us) and HSEM 1 (us -> host), time is SysTick.
 * See docs/board-sim-h747.md.
 */
#ifndef AMP_FW_H
#define AMP_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "amp/platform.h"
#include "amp/rpmsg.h"
#include "amp/rsc.h"

/* ---- Board memory map (device addresses = addresses the firmware uses). ---- */
#define AMP_FW_FLASH_DA     0x08100000u
#define AMP_FW_FLASH_SIZE   0x00100000u
#define AMP_FW_SRAM_DA      0x10000000u
#define AMP_FW_SRAM_SIZE    0x00048000u
#define AMP_FW_SHARED_DA    0x38000000u
#define AMP_FW_SHARED_SIZE  0x00010000u

/* The host-built table (MicroPython's layout) and the region its descriptors
 * are offsets into. */
#define AMP_FW_HOST_RSC_DA     AMP_FW_SHARED_DA
#define AMP_FW_HOST_RSC_SIZE   0x400u
#define AMP_FW_HOST_SHM_DA     0x38000400u
#define AMP_FW_HOST_SHM_SIZE   0xFC00u
#define AMP_FW_HOST_TRACE_DA   0x38000380u
#define AMP_FW_HOST_TRACE_LEN  128u

/*
 * A trace buffer of a firmware-embedded table: declare it with
 * AMP_FW_TRACE_AREA and put AMP_FW_TRACE_DA in the table. On x86-64 it must
 * be at a link-time constant address (32-bit pointers cannot be computed in
 * an x86-64 initializer), so the linker script puts .amp_trace first in
 * SRAM; on the M4 it is the array's address (SRAM starts with the stack).
 */
#define AMP_FW_TRACE_AREA(len) \
    char amp_fw_trace_area[len] __attribute__((section(".amp_trace"), used, aligned(16)))
#if defined(__arm__)
extern char amp_fw_trace_area[];
#define AMP_FW_TRACE_DA ((uint32_t)(uintptr_t)amp_fw_trace_area)
#else
#define AMP_FW_TRACE_DA AMP_FW_SRAM_DA
/* Doorbell descriptors set up by amp-simcore. */
#define AMP_FW_FD_DOORBELL_IN  3
#define AMP_FW_FD_DOORBELL_OUT 4
#endif

/* Every firmware defines it; crt0 calls it and exits with its return value. */
int main(void);

/* ---- HAL ---- */
/* Ring the host's doorbell. */
void amp_fw_doorbell_raise(void);
/* Consume a pending doorbell without sleeping: true if one was pending. */
bool amp_fw_doorbell_take(void);
/* Sleep until the host rings (0) or timeout_ms passes (-AMP_ETIMEDOUT);
 * AMP_WAIT_FOREVER waits without limit, 0 just checks. */
int amp_fw_doorbell_wait(int32_t timeout_ms);

uint32_t amp_fw_time_ms(void);
uint64_t amp_fw_time_ns(void);
/* A spin-wait hint (pause / nop). */
void amp_fw_cpu_relax(void);

/*
 * Trace buffer: text the host reads with amp_sim_read_trace(). Writes go to
 * the TRACE entry of the table in use (found at start-up), else to the
 * host-built table's buffer. Text that does not fit is dropped; the buffer
 * is always NUL-terminated.
 */
void amp_fw_trace(const char *text);
void amp_fw_trace_u32(uint32_t value);        /* decimal */
void amp_fw_trace_set_buffer(char *buf, uint32_t len);

/* "<what>: <error text>\n" to the trace buffer. */
void amp_fw_trace_error(const char *what, int err);

/* End the firmware (the host sees the core stop: reported as crashed). On
 * the M4 this is `bkpt` with the code in r0: a debugger stops there; without
 * one the chip escalates it to HardFault. */
_Noreturn void amp_fw_exit(int code);

/* ---- Platform ops for the core in the REMOTE role. ---- */
enum amp_fw_wait_mode {
    AMP_FW_WAIT_BLOCKING = 0,   /* sleep on the doorbell (ppoll / WFI) */
    AMP_FW_WAIT_POLLED,         /* never sleep: wait returns at once */
    AMP_FW_WAIT_ADAPTIVE,       /* spin a few microseconds, then sleep */
};
/* The firmware's platform (one per firmware; the mode may be changed later). */
const struct amp_platform *amp_fw_platform(enum amp_fw_wait_mode mode);

/*
 * Bring up rpmsg in the remote role: use the firmware's own .resource_table
 * if it carries a valid one (Linux's model: physical addresses in the
 * descriptors), else the host-built table at 0x38000000 (MicroPython's
 * model: offsets from 0x38000400). Then wait up to timeout_ms for the host
 * to set DRIVER_OK. Uses the current amp_fw_platform (blocking by default).
 * The device serves the name service (amp_rpmsg_enable_ns) whatever
 * endpoints the firmware makes.
 */
int amp_fw_rpmsg_start(struct amp_rpmsg_device *dev, int32_t timeout_ms);

/*
 * Serve the device: dispatch received messages, sleep (per the wait mode)
 * when there are none. Returns only on an error (traced): the host went
 * away or corrupted the rings.
 */
int amp_fw_rpmsg_run(struct amp_rpmsg_device *dev);

/* How long the helpers below wait for the host to boot us, and for a buffer. */
#define AMP_FW_BOOT_TIMEOUT_MS 10000
#define AMP_FW_SEND_TIMEOUT_MS 1000

/* An rx callback that sends every message back, unchanged, to its sender. */
int amp_fw_echo(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv);

/*
 * The whole life of a firmware with one service: trace "<tag>: up", start
 * rpmsg, create the endpoint `service` (announced to the host) with `rx`,
 * and serve until an error. Returns the value for main() to return.
 */
int amp_fw_serve(const char *tag, const char *service, amp_rpmsg_rx_cb rx);

/*
 * A ready-made embedded table: one rpmsg vdev with two vrings at address
 * ANY (the host allocates them) and a TRACE entry. Declare it with
 *   AMP_FW_RSC_TABLE(name, num, align, AMP_FW_TRACE_DA, trace_len);
 */
struct amp_fw_rsc_vdev2 {
    uint32_t type, id, notifyid, dfeatures, gfeatures, config_len;
    uint8_t status, num_of_vrings, reserved[2];
    struct amp_rsc_vdev_vring vring[2];
};
struct amp_fw_rsc_table {
    uint32_t ver, num, reserved[2];
    uint32_t offset[2];
    struct amp_fw_rsc_vdev2 vdev;
    struct amp_rsc_trace trace;
};
#define AMP_FW_RSC_TABLE(name_, num_, align_, trace_da_, trace_len_)                         \
    struct amp_fw_rsc_table name_ __attribute__((section(".resource_table"), used)) = {      \
        .ver = 1, .num = 2,                                                               \
        .offset = { offsetof(struct amp_fw_rsc_table, vdev),                              \
                    offsetof(struct amp_fw_rsc_table, trace) },                           \
        .vdev = { .type = AMP_RSC_VDEV, .id = AMP_VIRTIO_ID_RPMSG, .notifyid = 0,         \
                  .dfeatures = 1u << AMP_VIRTIO_RPMSG_F_NS, .num_of_vrings = 2,           \
                  .vring = { { AMP_RSC_ADDR_ANY, (align_), (num_), 0, 0 },                \
                             { AMP_RSC_ADDR_ANY, (align_), (num_), 1, 0 } } },            \
        .trace = { .type = AMP_RSC_TRACE, .da = (trace_da_), .len = (trace_len_),         \
                   .name = "trace_buf" },                                                 \
    }

#endif /* AMP_FW_H */
