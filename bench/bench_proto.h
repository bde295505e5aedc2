/*
 * bench_proto.h - the protocol between the benchmark host (bench/amp-bench.c)
 * and the benchmark firmware (firmware/bench.c). Both sides are x86-64 on
 * the simulated board, so the control messages are plain little-endian
 * structs.
 *
 * Endpoints:
 *   "bench-ctl"   announced by the firmware; control requests and replies.
 *   "bench-echo"  announced by the firmware; echoes every message (the
 *                 Python benchmark uses it).
 *   data          N endpoint pairs at fixed addresses, no name service:
 *                 host BENCH_HOST_EPT_BASE + i <-> firmware BENCH_FW_EPT_BASE + i.
 *                 They echo, or in sink mode count what they receive.
 */
#ifndef BENCH_PROTO_H
#define BENCH_PROTO_H

#include <stdint.h>

#define BENCH_CTL_NAME      "bench-ctl"
#define BENCH_ECHO_NAME     "bench-echo"
#define BENCH_HOST_EPT_BASE 0x2000u
#define BENCH_FW_EPT_BASE   0x3000u
#define BENCH_MAX_EPTS      256u
#define BENCH_EPT_SLOTS     1024u   /* endpoint table slots, each side */

/*
 * The word the raw cache-line ping-pong bounces: a line of SRAM4 that the
 * board's host-built layout leaves unused (between the end of vring 0 at
 * 0x38001aa6 and the buffer pool at 0x38002400), so it is the same kind of
 * memory, mapped the same way, as the rings.
 */
#define BENCH_RAW_SHM_DA    0x38002000u

/* How a side waits for the next message (both sides use the same loop). */
enum bench_wait {
    BENCH_WAIT_POLLED = 0,    /* never sleep; peer notifications disarmed */
    BENCH_WAIT_BLOCKING = 1,  /* sleep on the doorbell as soon as the ring is empty */
    BENCH_WAIT_ADAPTIVE = 2,  /* spin `spin` TSC ticks after the last message, then sleep */
};

enum bench_op {
    BENCH_OP_HELLO = 1,   /* -> reply; val[0] = number of data endpoints */
    BENCH_OP_MODE,        /* arg[0] = enum bench_wait, val[0] = spin budget in TSC ticks */
    BENCH_OP_EPTS,        /* arg[0] = number of data endpoint pairs (1..BENCH_MAX_EPTS),
                             val[0] = 1: find them through a table (amp_rpmsg_set_ept_table) */
    BENCH_OP_SINK,        /* data endpoints count instead of echoing; counters reset */
    BENCH_OP_COUNT,       /* back to echo; reply val[0] = messages, val[1] = bytes, status = seq errors */
    BENCH_OP_RAW_SHM,     /* arg[0] = round trips; val[0] = give-up time in TSC ticks */
    BENCH_OP_RAW_WAKE,    /* arg[0] = round trips */
    BENCH_OP_RAW_DONE,    /* firmware -> host after a raw test; status, val[0] = rounds done */
};

struct bench_msg {
    uint32_t op;
    int32_t status;       /* replies: 0 or a negative amp error */
    uint32_t arg[2];
    uint64_t val[2];
};
_Static_assert(sizeof(struct bench_msg) == 32, "bench_msg is 32 bytes");

#endif /* BENCH_PROTO_H */
