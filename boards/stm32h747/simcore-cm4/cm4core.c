/*
 * amp-simcore-cm4 - the sim-h747 remote core as an emulated Cortex-M4
 * (unicorn), for firmware built for the real chip (EM_ARM, Thumb-2).
 *
 * Started by the host library exactly like amp-simcore, with
 *   3 doorbell host->core (eventfd): the M7 freeing HSEM 0
 *   4 doorbell core->host (eventfd): we free HSEM 1
 *   5 flash, 6 sram, 7 shared: the board's memory files, mapped into the
 *     emulator at 0x08100000, 0x10000000, 0x38000000 (no copy)
 *   8 (optional) where the crash reason goes, one line, before we exit
 * Usage: amp-simcore-cm4 <boot address> [<host pid>]
 * The core boots like the chip: initial MSP and reset vector from the
 * vector table at the boot address (BOOT_CM4_ADD0).
 *
 * Unicorn has no NVIC and no M-profile exception model: exception entry,
 * return and sleep are done here, in hooks and where the emulator comes
 * back to its loop between blocks (uc_boundary.c; see
 * docs/board-sim-h747.md, "Emulated Cortex-M4", for what that cannot do).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cm4.h"
#include "../core_args.h"

#define FD_DOORBELL_IN  3
#define FD_DOORBELL_OUT 4
#define FD_REASON       8
/* Exit status of a core that stopped on a fault (the host sees a crash). */
#define EXIT_FAULT 70

struct region {
    const char *name;
    int fd;
    uint32_t da, size;
    uint32_t perms;
    uint8_t *host;
};

static struct region regions[] = {
    { "flash", 5, 0x08100000u, 0x00100000u, UC_PROT_READ | UC_PROT_EXEC, NULL },
    { "sram", 6, 0x10000000u, 0x00048000u, UC_PROT_ALL, NULL },
    { "shared", 7, 0x38000000u, 0x00010000u, UC_PROT_ALL, NULL },
};
#define NREGIONS (sizeof regions / sizeof regions[0])

static struct cm4 core;

uint64_t cm4_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "amp-simcore-cm4: %s: %s\n", what, detail);
    return 127;
}

/* Host pointer for [da, da+len) in board memory, or NULL. */
static uint8_t *mem_ptr(uint32_t da, uint32_t len)
{
    for (size_t i = 0; i < NREGIONS; i++)
        if (da >= regions[i].da && len <= regions[i].size &&
            da - regions[i].da <= regions[i].size - len)
            return regions[i].host + (da - regions[i].da);
    return NULL;
}

static bool ram_ptr_ok(uint32_t da, uint32_t len)
{
    uint8_t *p = mem_ptr(da, len);
    return p && !(da >= regions[0].da && da - regions[0].da < regions[0].size);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t cm4_reg(struct cm4 *c, int reg)
{
    uint32_t v = 0;
    uc_reg_read(c->uc, reg, &v);
    return v;
}

static void set_reg(struct cm4 *c, int reg, uint32_t v)
{
    uc_reg_write(c->uc, reg, &v);
}

static int ipsr(const struct cm4 *c)
{
    return c->depth ? c->nest[c->depth - 1] : 0;
}

static const char *exc_name(int e)
{
    static const char *const names[EXC_IRQ0] = {
        "thread", "reset", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault",
        "exception 7", "exception 8", "exception 9", "exception 10", "SVCall", "DebugMonitor",
        "exception 13", "PendSV", "SysTick",
    };
    return e < EXC_IRQ0 ? names[e] : "IRQ";
}

/* ---- Faults: the core stops, the host gets one line. ---- */

void cm4_fault(struct cm4 *c, const char *fmt, ...)
{
    if (c->stop == STOP_FAULT)
        return;  /* the first fault is the one to report */
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    uint32_t xpsr = (cm4_reg(c, UC_ARM_REG_XPSR) & 0xF80F0000u) | (1u << 24) | (uint32_t)ipsr(c);
    char where[48] = "";
    if (c->depth) {
        int e = ipsr(c);
        if (e >= EXC_IRQ0)
            snprintf(where, sizeof where, " in IRQ %d", e - EXC_IRQ0);
        else
            snprintf(where, sizeof where, " in %s", exc_name(e));
    }
    char at[64];
    /* Inside a block the pc is stale: the exact one if unicorn can tell
     * (uc_boundary.c), else the block's range (block hook). */
    if (!c->fault_in_block || uc_boundary_exact_pc())
        snprintf(at, sizeof at, "at pc 0x%08x", cm4_reg(c, UC_ARM_REG_PC));
    else if (c->block_size)
        snprintf(at, sizeof at, "at pc 0x%08x..0x%08x", c->block_pc,
                 c->block_pc + c->block_size - 2);
    else
        snprintf(at, sizeof at, "at an unknown pc after 0x%08x", cm4_reg(c, UC_ARM_REG_PC));
    snprintf(c->crash, sizeof c->crash, "%s %s%s (lr 0x%08x, sp 0x%08x, xPSR 0x%08x)", what, at,
             where, cm4_reg(c, UC_ARM_REG_LR), cm4_reg(c, UC_ARM_REG_SP), xpsr);
    c->stop = STOP_FAULT;
    cm4_want_loop(c);
}

static _Noreturn void die(struct cm4 *c)
{
    char line[sizeof c->crash + 2];
    int n = snprintf(line, sizeof line, "%s\n", c->crash);
    if (c->reason_fd >= 0 && n > 0) {
        ssize_t w = write(c->reason_fd, line, (size_t)n);
        (void)w;
    }
    fprintf(stderr, "amp-simcore-cm4: %s", line);
    _exit(EXIT_FAULT);
}

/*
 * Have the run loop look at the devices soon. Unicorn 2.0.1 checks for a
 * stop request after every memory access inside a block and then resumes
 * at the START of that block, re-running what it already did; so nothing
 * calls uc_emu_stop asynchronously (not the waker thread, not MMIO
 * callbacks). They raise this flag, which is looked at before a block's
 * first instruction: on unicorn 2.0.x where the block asks the emulator's
 * loop to (uc_boundary_kick), elsewhere in the block hook before every block.
 */
static void want_stop(struct cm4 *c)
{
    atomic_store(&c->want_stop, 1);
    uc_boundary_kick();
}

void cm4_want_loop(struct cm4 *c)
{
    if (c->stop == STOP_NONE)
        c->stop = STOP_EVENT;
    want_stop(c);
}

void cm4_doorbell_to_host(struct cm4 *c)
{
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(c->doorbell_out, &one, sizeof one);
    while (n < 0 && errno == EINTR);
}

void cm4_arm_timer(struct cm4 *c, uint64_t deadline_ns)
{
    struct itimerspec its = { { 0, 0 }, { 0, 0 } };
    if (deadline_ns) {
        its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000u);
        its.it_value.tv_nsec = (long)(deadline_ns % 1000000000u);
    }
    timerfd_settime(c->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* ---- Hooks ---- */

static bool exc_return_value(uint64_t addr)
{
    return addr >= 0xFFFFFFE0u && addr <= 0xFFFFFFFFu;
}

static const char *access_name(uc_mem_type type)
{
    switch (type) {
    case UC_MEM_READ_UNMAPPED: case UC_MEM_READ_PROT: return "read from";
    case UC_MEM_WRITE_UNMAPPED: case UC_MEM_WRITE_PROT: return "write to";
    default: return "instruction fetch from";
    }
}

static bool on_bad_access(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                          int64_t value, void *user)
{
    struct cm4 *c = user;
    (void)uc;
    (void)size;
    (void)value;
    if ((type == UC_MEM_FETCH_UNMAPPED || type == UC_MEM_FETCH_PROT) &&
        exc_return_value(addr)) {
        cm4_fault(c, "branch to EXC_RETURN value 0x%08" PRIx64 " outside an exception handler",
                  addr | 1u);
        die(c);
    }
    c->fault_in_block = true;
    if (type == UC_MEM_WRITE_PROT && addr >= regions[0].da &&
        addr - regions[0].da < regions[0].size)
        cm4_fault(c, "write to flash at 0x%08" PRIx64
                  " (flash is programmed through its interface, not by stores)", addr);
    else if (type == UC_MEM_WRITE_UNMAPPED && addr < regions[1].da && addr >= 0x0C000000u)
        cm4_fault(c, "write to 0x%08" PRIx64 " just below SRAM (stack overflow?)", addr);
    else
        cm4_fault(c, "%s 0x%08" PRIx64 " (no memory or peripheral modelled there)",
                  access_name(type), addr);
    die(c);
}

static uint16_t half_at(uint32_t da)
{
    const uint8_t *p = mem_ptr(da, 2);
    return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

static bool takes(struct cm4 *c, int e, bool with_primask);
static void sleep_until_event(struct cm4 *c);
static bool exception_entry(struct cm4 *c, int e, uint32_t return_pc);
static bool exception_return(struct cm4 *c, uint32_t value, bool *to_thread);
static void take_events(struct cm4 *c, bool read_all);

/*
 * Take the best pending exception if it preempts, from inside a hook: the
 * registers and pc are written there and unicorn goes on at the handler
 * without leaving uc_emu_start (each start costs ~12 us in 2.0.1: it
 * retranslates the first block), so an interrupt costs no restart.
 */
static void preempt_in_hook(struct cm4 *c, uint32_t return_pc)
{
    int e = cm4_best_pending(c);
    if (takes(c, e, true)) {
        if (!exception_entry(c, e, return_pc))
            die(c);
        e = cm4_best_pending(c);
    }
    c->masked_exc = takes(c, e, false) ? e : 0;
}

/* WFE, SLEEPONEXIT: sleep right here in the hook, then go on at resume_pc
 * (or the handler of what woke us). */
static void sleep_in_hook(struct cm4 *c, uint32_t resume_pc)
{
    sleep_until_event(c);
    preempt_in_hook(c, resume_pc);
}

/*
 * Memory barriers. Single-threaded TCG drops DMB/DSB, but the host side is
 * another process on another CPU: x86 may let a later load pass an earlier
 * store, which loses wake-ups in the vring protocol (arm notifications,
 * re-check the ring). On unicorn 2.0.x uc_pages.c has TCG emit them as
 * host barriers wherever they run; elsewhere a code hook on each barrier
 * in flash fences for it (not for barriers run from RAM).
 */
static void on_barrier(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    (void)uc;
    (void)addr;
    (void)size;
    (void)user;
    atomic_thread_fence(memory_order_seq_cst);
}

static int hook_barriers(struct cm4 *c)
{
    const struct region *f = &regions[0];
    unsigned n = 0;
    for (uint32_t off = 0; off + 4 <= f->size; off += 2) {
        uint16_t h1 = (uint16_t)(f->host[off] | f->host[off + 1] << 8);
        uint16_t h2 = (uint16_t)(f->host[off + 2] | f->host[off + 3] << 8);
        /* DSB 0xF3BF 0x8F4x, DMB 0xF3BF 0x8F5x (ARMv7-M A7.7.33, A7.7.34) */
        if (h1 != 0xF3BF || (h2 & 0xFFE0u) != 0x8F40u)
            continue;
        uc_hook h;
        uint64_t a = f->da + off;
        if (uc_hook_add(c->uc, &h, UC_HOOK_CODE, (void *)on_barrier, c, a, a) != UC_ERR_OK ||
            ++n > 4096)
            return -1;
    }
    return 0;
}

static void code_at(struct cm4 *c, uint32_t pc)
{
    if (pc - regions[0].da >= regions[0].size && !c->code_outside_flash) {
        c->code_outside_flash = true;  /* code in RAM: stores may overwrite it */
        uc_pages_code_outside_flash();
    }
}

/*
 * Before a block's first instruction (pc): stop on a device model's fault,
 * sleep for SLEEPONEXIT, take what is pending.
 */
static void at_boundary(struct cm4 *c, uint32_t pc)
{
    if (c->stop == STOP_FAULT)
        die(c);  /* found by a device model, which cannot stop the core itself */
    if (c->stop == STOP_SLEEP) {  /* SLEEPONEXIT, decided at the exception return */
        c->stop = STOP_NONE;
        sleep_in_hook(c, pc);
        return;
    }
    bool unmasked = c->masked_exc && takes(c, c->masked_exc, true);
    if (!unmasked && !atomic_load_explicit(&c->want_stop, memory_order_relaxed))
        return;
    /* A doorbell, a tick, a device change, or cpsie / msr basepri (they end a
     * block): the block has not started, so it is where the handler returns. */
    if (c->stop == STOP_EVENT)
        c->stop = STOP_NONE;
    take_events(c, false);
    preempt_in_hook(c, pc);
}

/*
 * Without uc_boundary.c, a hook before every block. Unicorn leaves the pc
 * stale inside a block (it is synced at block exits, and only precisely
 * for exceptions the instructions raise), so memory faults are reported
 * with the block they happened in, tracked here.
 */
static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    struct cm4 *c = user;
    (void)uc;
    c->block_pc = (uint32_t)addr;
    c->block_size = size;
    code_at(c, (uint32_t)addr);
    at_boundary(c, (uint32_t)addr);
}

static void boundary_at(void *ctx)
{
    struct cm4 *c = ctx;
    at_boundary(c, cm4_reg(c, UC_ARM_REG_PC));
}

/* PRIMASK, FAULTMASK or BASEPRI written: what they held back may now go. */
static void boundary_mask_changed(void *ctx)
{
    struct cm4 *c = ctx;
    if (c->masked_exc)
        want_stop(c);
}

static void boundary_translating(void *ctx, uint32_t pc)
{
    code_at(ctx, pc);
}

static const struct uc_boundary_ops boundary_ops = {
    .at_boundary = boundary_at,
    .mask_changed = boundary_mask_changed,
    .translating = boundary_translating,
};

static void on_intr(uc_engine *uc, uint32_t intno, void *user)
{
    struct cm4 *c = user;
    uint32_t pc = cm4_reg(c, UC_ARM_REG_PC);
    switch (intno) {
    case 2: /* EXCP_SWI: pc is after the SVC, which is taken at once */
        c->sys_pending[EXC_SVCALL] = true;
        if (!takes(c, EXC_SVCALL, true)) {
            cm4_fault(c, "SVC at a priority that cannot take SVCall (escalates to HardFault)");
            die(c);
        }
        preempt_in_hook(c, pc);
        return;
    case 3: /* EXCP_PREFETCH_ABORT */
    case 8: /* EXCP_EXCEPTION_EXIT */
        if (exc_return_value(pc)) {
            bool to_thread = false;
            if (!exception_return(c, pc, &to_thread))
                die(c);
            if (to_thread && (c->scr & 2u)) {  /* SLEEPONEXIT */
                c->stop = STOP_SLEEP;
                want_stop(c);
                return;
            }
            preempt_in_hook(c, cm4_reg(c, UC_ARM_REG_PC));  /* tail-chaining */
            return;
        }
        cm4_fault(c, "instruction fetch from 0x%08x (not executable)", pc);
        break;
    case 4: /* EXCP_DATA_ABORT */
        cm4_fault(c, "bus fault");
        break;
    case 7: /* EXCP_BKPT */
        cm4_fault(c, "bkpt #%u", half_at(pc) & 0xFFu);
        break;
    case 17: /* EXCP_NOCP */
        cm4_fault(c, "floating-point instruction with the FPU disabled (CPACR)");
        break;
    case 22: /* EXCP_UNALIGNED */
        cm4_fault(c, "unaligned access");
        break;
    default:
        cm4_fault(c, "processor exception %u", intno);
        break;
    }
    (void)uc;
    die(c);
}

static bool on_invalid_insn(uc_engine *uc, void *user)
{
    struct cm4 *c = user;
    size_t mode = 0;
    uc_query(uc, UC_QUERY_MODE, &mode);
    uint32_t pc = cm4_reg(c, UC_ARM_REG_PC);
    if (!(mode & UC_MODE_THUMB)) {
        cm4_fault(c, "branch to 0x%08x without the Thumb bit (INVSTATE)", pc);
        die(c);
    }
    /* QEMU reports YIELD and WFE it does not implement this way, pc after them. */
    uint16_t prev = half_at(pc - 2);
    if (prev == 0xBF10) /* YIELD: a hint, nothing to do */
        return true;
    if (prev == 0xBF20 || (half_at(pc - 4) == 0xF3AF && prev == 0x8002)) {
        sleep_in_hook(c, pc);  /* WFE, as WFI (no event register modelled) */
        return true;
    }
    uint16_t insn = half_at(pc);
    if ((insn & 0xF800) >= 0xE800)
        cm4_fault(c, "undefined instruction 0x%04x%04x", insn, half_at(pc + 2));
    else
        cm4_fault(c, "undefined instruction 0x%04x", insn);
    die(c);
}

/* ---- Exceptions (ARMv7-M B1.5.6 entry, B1.5.8 return) ---- */

static int group_prio(const struct cm4 *c, int e)
{
    if (e == EXC_NMI)
        return -2;
    uint8_t p = c->prio[e];
    unsigned mask = 0xFFu & ~((2u << c->aircr_prigroup) - 1u);
    return (int)(p & mask);
}

static int exec_prio(struct cm4 *c, bool with_primask)
{
    int pri = 256;
    for (int i = 0; i < c->depth; i++) {
        int g = group_prio(c, c->nest[i]);
        if (g < pri)
            pri = g;
    }
    uint32_t basepri = cm4_reg(c, UC_ARM_REG_BASEPRI) & 0xF0u;
    if (basepri && (int)basepri < pri)
        pri = (int)basepri;
    if (with_primask && (cm4_reg(c, UC_ARM_REG_PRIMASK) & 1u) && pri > 0)
        pri = 0;
    if (with_primask && (cm4_reg(c, UC_ARM_REG_FAULTMASK) & 1u) && pri > -1)
        pri = -1;
    return pri;
}

/* The pending exception that would be taken next (0: none), by priority then number. */
int cm4_best_pending(struct cm4 *c)
{
    int best = 0, best_pri = 1000;
    for (int e = EXC_NMI; e < EXC_IRQ0; e++)
        if (c->sys_pending[e] && group_prio(c, e) < best_pri) {
            best = e;
            best_pri = group_prio(c, e);
        }
    for (unsigned w = 0; w < NVIC_WORDS; w++) {
        uint32_t bits = c->nvic_pending[w] & c->nvic_enabled[w];
        while (bits) {
            int e = EXC_IRQ0 + (int)(w * 32 + (unsigned)__builtin_ctz(bits));
            bits &= bits - 1;
            if (e < CM4_EXC_COUNT && group_prio(c, e) < best_pri) {
                best = e;
                best_pri = group_prio(c, e);
            }
        }
    }
    return best;
}

static bool takes(struct cm4 *c, int e, bool with_primask)
{
    return e && group_prio(c, e) < exec_prio(c, with_primask);
}

static void clear_pending(struct cm4 *c, int e)
{
    if (e < EXC_IRQ0)
        c->sys_pending[e] = false;
    else
        c->nvic_pending[(e - EXC_IRQ0) / 32] &= ~(1u << ((e - EXC_IRQ0) % 32));
}

/* Push the basic frame and branch to the handler. Returns false on a fault. */
static bool exception_entry(struct cm4 *c, int e, uint32_t return_pc)
{
    uint32_t control = cm4_reg(c, UC_ARM_REG_CONTROL);
    if (control & 4u) {
        cm4_fault(c, "exception entry with FP context active (CONTROL.FPCA): the extended "
                  "frame is not modelled, build with -mfloat-abi=soft");
        return false;
    }
    bool from_thread = c->depth == 0;
    bool psp = from_thread && (control & 2u);
    uint32_t sp = cm4_reg(c, UC_ARM_REG_SP);
    bool align = (sp & 4u) != 0;  /* CCR.STKALIGN is 1 */
    uint32_t frame = (sp - 0x20u) & ~4u;
    uint8_t *p = ram_ptr_ok(frame, 0x20) ? mem_ptr(frame, 0x20) : NULL;
    if (!p) {
        cm4_fault(c, "exception entry (%s): stack at 0x%08x is outside RAM (stack overflow?)",
                  e >= EXC_IRQ0 ? "IRQ" : exc_name(e), frame);
        return false;
    }
    static const int regs[6] = { UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3,
                                 UC_ARM_REG_R12, UC_ARM_REG_LR };
    for (int i = 0; i < 6; i++)
        wr32(p + 4 * i, cm4_reg(c, regs[i]));
    wr32(p + 24, return_pc & ~1u);
    uint32_t xpsr = (cm4_reg(c, UC_ARM_REG_XPSR) & 0xF80F0000u) | (1u << 24) |
                    (uint32_t)ipsr(c) | (align ? 1u << 9 : 0);
    wr32(p + 28, xpsr);

    if (psp) {
        set_reg(c, UC_ARM_REG_PSP, frame);
        set_reg(c, UC_ARM_REG_CONTROL, control & ~2u);  /* handlers run on MSP */
    } else {
        set_reg(c, UC_ARM_REG_SP, frame);
    }
    if (from_thread)
        c->thread_psp = psp;
    set_reg(c, UC_ARM_REG_LR, from_thread ? (psp ? 0xFFFFFFFDu : 0xFFFFFFF9u) : 0xFFFFFFF1u);

    uint8_t *vec = mem_ptr(c->vtor + 4u * (uint32_t)e, 4);
    uint32_t handler = vec ? rd32(vec) : 0;
    clear_pending(c, e);
    c->active[e] = true;
    c->nest[c->depth++] = e;
    if (!vec || !(handler & 1u) || !mem_ptr(handler & ~1u, 2)) {
        cm4_fault(c, "vector %d (%s) at 0x%08x is 0x%08x: not a Thumb address in memory "
                  "(VTOR 0x%08x)", e, e >= EXC_IRQ0 ? "IRQ" : exc_name(e),
                  c->vtor + 4u * (uint32_t)e, handler, c->vtor);
        return false;
    }
    set_reg(c, UC_ARM_REG_PC, handler);
    return true;
}

/* Returns false on a fault; *to_thread says whether thread mode resumes. */
static bool exception_return(struct cm4 *c, uint32_t value, bool *to_thread)
{
    value |= 1u;
    if (c->depth == 0) {
        cm4_fault(c, "branch to EXC_RETURN value 0x%08x in thread mode", value);
        return false;
    }
    if (value != 0xFFFFFFF1u && value != 0xFFFFFFF9u && value != 0xFFFFFFFDu) {
        cm4_fault(c, "EXC_RETURN 0x%08x is not modelled (FP frames need -mfloat-abi=soft)",
                  value);
        return false;
    }
    bool thread = value != 0xFFFFFFF1u;
    if (thread != (c->depth == 1)) {
        cm4_fault(c, "EXC_RETURN 0x%08x does not match the nesting (INVPC)", value);
        return false;
    }
    uint32_t sp = value == 0xFFFFFFFDu ? cm4_reg(c, UC_ARM_REG_PSP) : cm4_reg(c, UC_ARM_REG_SP);
    uint8_t *p = ram_ptr_ok(sp, 0x20) ? mem_ptr(sp, 0x20) : NULL;
    if (!p) {
        cm4_fault(c, "exception return: stack at 0x%08x is outside RAM", sp);
        return false;
    }
    int e = c->nest[--c->depth];
    c->active[e] = false;
    static const int regs[6] = { UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3,
                                 UC_ARM_REG_R12, UC_ARM_REG_LR };
    for (int i = 0; i < 6; i++)
        set_reg(c, regs[i], rd32(p + 4 * i));
    uint32_t pc = rd32(p + 24), xpsr = rd32(p + 28);
    sp += 0x20u + ((xpsr >> 9) & 1u) * 4u;
    set_reg(c, UC_ARM_REG_XPSR_NZCVQG, xpsr);
    if (value == 0xFFFFFFFDu) {
        set_reg(c, UC_ARM_REG_PSP, sp);
        set_reg(c, UC_ARM_REG_CONTROL, cm4_reg(c, UC_ARM_REG_CONTROL) | 2u);
    } else {
        set_reg(c, UC_ARM_REG_SP, sp);
    }
    if (!(xpsr & (1u << 24))) {
        cm4_fault(c, "exception return to 0x%08x with the stacked Thumb bit clear (INVSTATE)",
                  pc);
        return false;
    }
    set_reg(c, UC_ARM_REG_PC, pc | 1u);
    *to_thread = thread;
    cm4_irq_lines(c);
    return true;
}

/* ---- Events: doorbells and SysTick ---- */

static uint64_t armed_deadline;  /* what timer_fd is set to (0: disarmed) */

static void set_timer(struct cm4 *c, uint64_t deadline)
{
    if (deadline != armed_deadline) {
        cm4_arm_timer(c, deadline);
        armed_deadline = deadline;
    }
}

static void drain(int fd)
{
    uint64_t count;
    ssize_t n = read(fd, &count, sizeof count);
    (void)n;
}

/* Look at doorbells and SysTick. The waker says which descriptors fired, so
 * an idle loop makes no system calls for them. */
static void take_events(struct cm4 *c, bool read_all)
{
    atomic_store(&c->want_stop, 0);
    unsigned fired = atomic_exchange(&c->fired, 0) | (read_all ? 3u : 0u);
    if (fired & 1u) {
        uint64_t count;
        if (read(c->doorbell_in, &count, sizeof count) == (ssize_t)sizeof count)
            cm4_hsem_host_free(c, 0);
    }
    if (fired & 2u)
        drain(c->timer_fd);
    set_timer(c, cm4_systick_update(c, cm4_now_ns()));
    cm4_irq_lines(c);
}

/* The waker thread turns a doorbell or a SysTick deadline into a stop of
 * the running emulator at its next block (see cm4_want_loop). */
static void *waker(void *arg)
{
    struct cm4 *c = arg;
    for (;;) {
        struct epoll_event ev[2];
        int n = epoll_wait(c->waker_epoll, ev, 2, -1);
        unsigned fired = 0;
        for (int i = 0; i < n; i++)
            fired |= ev[i].data.fd == c->doorbell_in ? 1u : 2u;
        if (fired) {
            atomic_fetch_or(&c->fired, fired);
            want_stop(c);
        }
    }
    return NULL;
}

static int start_waker(struct cm4 *c)
{
    c->waker_epoll = epoll_create1(EPOLL_CLOEXEC);
    if (c->waker_epoll < 0)
        return -1;
    int fds[2] = { c->doorbell_in, c->timer_fd };
    for (int i = 0; i < 2; i++) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = fds[i] };
        if (epoll_ctl(c->waker_epoll, EPOLL_CTL_ADD, fds[i], &ev) != 0)
            return -1;
    }
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, NULL, waker, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc == 0 ? 0 : -1;
}

/* WFI: sleep until an exception could preempt (PRIMASK does not keep us
 * asleep). The timer is disarmed meanwhile (poll's timeout serves), so the
 * waker does not wake for ticks nobody needs it to stop. */
static void sleep_until_event(struct cm4 *c)
{
    for (;;) {
        take_events(c, false);
        if (takes(c, cm4_best_pending(c), false))
            return;
        uint64_t next = armed_deadline;
        set_timer(c, 0);
        struct pollfd pfd = { c->doorbell_in, POLLIN, 0 };
        struct timespec ts, *tsp = NULL;
        if (next) {
            uint64_t now = cm4_now_ns(), left = next > now ? next - now : 0;
            ts.tv_sec = (time_t)(left / 1000000000u);
            ts.tv_nsec = (long)(left % 1000000000u);
            tsp = &ts;
        }
        ppoll(&pfd, 1, tsp, NULL);
        if (pfd.revents)
            atomic_fetch_or(&c->fired, 1u);
    }
}

static bool is_wfi_before(uint32_t pc)
{
    return half_at(pc - 2) == 0xBF30 || (half_at(pc - 4) == 0xF3AF && half_at(pc - 2) == 0x8003);
}

/* ---- Start-up and the run loop ---- */

static int map_memory(struct cm4 *c)
{
    for (size_t i = 0; i < NREGIONS; i++) {
        struct region *r = &regions[i];
        struct stat st;
        if (fstat(r->fd, &st) != 0)
            return fail(r->name, strerror(errno));
        if (st.st_size < 0 || (uint64_t)st.st_size < r->size)
            return fail(r->name, "memory file smaller than the region");
        void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
        if (p == MAP_FAILED)
            return fail(r->name, strerror(errno));
        r->host = p;
        uc_err err = uc_mem_map_ptr(c->uc, r->da, r->size, r->perms, p);
        if (err != UC_ERR_OK)
            return fail(r->name, uc_strerror(err));
    }
    return 0;
}

static int setup(struct cm4 *c, uint32_t boot)
{
    c->doorbell_in = FD_DOORBELL_IN;
    c->doorbell_out = FD_DOORBELL_OUT;
    struct stat st;
    c->reason_fd = fstat(FD_REASON, &st) == 0 ? FD_REASON : -1;
    /* Not UC_MODE_MCLASS: unicorn 2.0.1 then ignores the model set below and
     * builds a Cortex-M33 (qemu/target/arm/cpu.c, arm_cpu_init), whose v8-M
     * stack-limit checks also cost a helper call per SP write. The M4 model
     * is M-profile by itself. */
    uc_err err = uc_open(UC_ARCH_ARM, UC_MODE_THUMB, &c->uc);
    if (err != UC_ERR_OK)
        return fail("unicorn", uc_strerror(err));
    err = uc_ctl_set_cpu_model(c->uc, UC_CPU_ARM_CORTEX_M4);
    if (err != UC_ERR_OK)
        return fail("unicorn: Cortex-M4", uc_strerror(err));
    int rc = map_memory(c);
    if (rc)
        return rc;
    /* The memory files stay mapped; only 3, 4 (and 8) stay open. */
    close_range(5, 7, 0);
    if (close_range(FD_REASON + 1, ~0u, 0) != 0)
        return fail("close_range", strerror(errno));
    cm4_periph_reset(c);
    if (cm4_periph_map(c) != 0)
        return fail("unicorn", "cannot map the peripherals");
    uc_hook h;
    if (uc_hook_add(c->uc, &h, UC_HOOK_MEM_INVALID, (void *)on_bad_access, c, 1, 0) ||
        uc_hook_add(c->uc, &h, UC_HOOK_INTR, (void *)on_intr, c, 1, 0) ||
        uc_hook_add(c->uc, &h, UC_HOOK_INSN_INVALID, (void *)on_invalid_insn, c, 1, 0) ||
        (!uc_boundary_install(&boundary_ops, c) &&
         uc_hook_add(c->uc, &h, UC_HOOK_BLOCK, (void *)on_block, c, 1, 0)) ||
        (!uc_pages_inline_barriers() && hook_barriers(c) != 0))
        return fail("unicorn", "cannot add hooks");
    c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (c->timer_fd < 0)
        return fail("timerfd", strerror(errno));

    /* Reset (B1.5.5): MSP and PC from the vector table at the boot address. */
    uint8_t *vt = mem_ptr(boot, 8);
    c->vtor = boot & 0xFFFFFF80u;
    if (!vt || (boot & 0x7Fu)) {
        snprintf(c->crash, sizeof c->crash,
                 "no vector table at boot address 0x%08x (must be 128-byte aligned in memory)",
                 boot);
        die(c);
    }
    uint32_t msp = rd32(vt), reset = rd32(vt + 4);
    if (!(reset & 1u) || !mem_ptr(reset & ~1u, 2) || !ram_ptr_ok(msp - 4, 4)) {
        snprintf(c->crash, sizeof c->crash,
                 "no vector table at boot address 0x%08x: initial SP 0x%08x, reset vector "
                 "0x%08x (erased flash, or not a Cortex-M image?)", boot, msp, reset);
        die(c);
    }
    set_reg(c, UC_ARM_REG_MSP, msp);
    set_reg(c, UC_ARM_REG_SP, msp);
    set_reg(c, UC_ARM_REG_PC, reset);
    if (start_waker(c) != 0)
        return fail("waker thread", strerror(errno));
    return 0;
}

static _Noreturn void run(struct cm4 *c)
{
    bool sleeping = false;
    take_events(c, true);  /* a doorbell rung before the waker ran */
    for (;;) {
        take_events(c, false);
        if (sleeping) {
            sleep_until_event(c);
            sleeping = false;
        }
        c->stop = STOP_NONE;
        /* Pending but masked (PRIMASK, BASEPRI): the block hook watches for
         * the unmasking. */
        preempt_in_hook(c, cm4_reg(c, UC_ARM_REG_PC));
        if (c->stop == STOP_FAULT)
            die(c);
        uc_err err = uc_emu_start(c->uc, cm4_reg(c, UC_ARM_REG_PC) | 1u, 0, 0, 0);
        switch (c->stop) {
        case STOP_FAULT:
            die(c);
        case STOP_SLEEP:  /* WFE, or SLEEPONEXIT; pc is where to go on */
            sleeping = true;
            continue;
        case STOP_NONE:
        case STOP_EVENT:
            /* WFI halts the emulator: it returns with the pc after it (the
             * next uc_emu_start un-halts). Nothing else ends a run without a
             * reason: a device event flagged in the WFI's block (a SysTick
             * write just before it) is looked at by the sleep, not lost. */
            if (err == UC_ERR_OK && is_wfi_before(cm4_reg(c, UC_ARM_REG_PC))) {
                sleeping = true;
                continue;
            }
            break;
        }
        if (err != UC_ERR_OK) {
            cm4_fault(c, "emulator stopped: %s", uc_strerror(err));
            die(c);
        }
    }
}

int main(int argc, char **argv)
{
    unsigned long long boot;
    int rc = core_args(argc, argv, "amp-simcore-cm4", "bad boot address", 0xFFFFFFFFull, &boot);
    if (rc)
        return rc;
    rc = setup(&core, (uint32_t)boot);
    if (rc)
        return rc;
    run(&core);
}
