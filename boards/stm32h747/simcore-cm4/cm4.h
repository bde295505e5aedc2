/*
 * The emulated Cortex-M4 core of sim-h747 (amp-simcore-cm4), private state.
 * cm4core.c: the process, the run loop, exception entry/return, faults.
 * cm4_periph.c: the memory-mapped devices firmware on the STM32H747's M4
 * touches: NVIC, SCB, SysTick (ARMv7-M ARM, B3), HSEM and RCC (RM0399).
 */
#ifndef AMP_SIM_CM4_H
#define AMP_SIM_CM4_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <unicorn/unicorn.h>

/* Exception numbers (ARMv7-M B1.5.2). */
#define EXC_NMI       2
#define EXC_HARDFAULT 3
#define EXC_SVCALL    11
#define EXC_PENDSV    14
#define EXC_SYSTICK   15
#define EXC_IRQ0      16
/* STM32H747 CM4: 150 interrupt lines; HSEM2 is the HSEM's line to this core. */
#define CM4_IRQ_COUNT 150
#define CM4_EXC_COUNT (EXC_IRQ0 + CM4_IRQ_COUNT)
#define IRQ_HSEM2     126
#define NVIC_WORDS    ((CM4_IRQ_COUNT + 31) / 32)

/* The reset clock: HSI 64 MHz (RM0399 8.5.2) until the host changes it. */
#define CM4_CPU_HZ 64000000ull

/* Peripheral windows. */
#define SCS_BASE   0xE000E000u
#define SCS_SIZE   0x1000u
#define HSEM_BASE  0x58026400u
#define HSEM_SIZE  0x400u
#define RCC_BASE   0x58024400u
#define RCC_SIZE   0x400u
/* HSEM COREID of each core (RM0399 11.3.3): CPU1 (M7) = 3, CPU2 (M4) = 1. */
#define HSEM_COREID_CM7 3u
#define HSEM_COREID_CM4 1u

enum cm4_stop {
    STOP_NONE = 0,   /* uc_emu_stop from the waker: look at the events */
    STOP_SLEEP,      /* WFE, SLEEPONEXIT (pc: where to go on); WFI ends a run with no reason */
    STOP_FAULT,      /* the core stops: crash_reason says why */
    STOP_EVENT,      /* a device needs the run loop (pending changed, SysTick reprogrammed) */
};

struct cm4 {
    uc_engine *uc;
    int doorbell_in, doorbell_out, reason_fd;
    int timer_fd, waker_epoll;

    /* What made emulation stop, set from hooks. */
    enum cm4_stop stop;
    uint32_t block_pc, block_size; /* the translated block running (block hook only) */
    bool fault_in_block;         /* the pc register is stale (a hook inside a block) */
    bool code_outside_flash;     /* a block in RAM was translated or ran (uc_pages.c) */
    char crash[320];

    int masked_exc;              /* pending, masked by PRIMASK/BASEPRI when the run began */
    atomic_int want_stop;        /* look at the events before the next block (cm4_want_loop) */
    atomic_uint fired;           /* from the waker: 1 doorbell, 2 timer */

    /* NVIC and system exceptions. */
    uint32_t nvic_enabled[NVIC_WORDS];
    uint32_t nvic_pending[NVIC_WORDS];
    uint8_t prio[CM4_EXC_COUNT];      /* configurable priorities (IPR, SHPR) */
    bool sys_pending[EXC_IRQ0];       /* NMI, SVCall, PendSV, SysTick */
    bool active[CM4_EXC_COUNT];
    int nest[CM4_EXC_COUNT];          /* stack of active exceptions (nesting order) */
    int depth;
    uint32_t vtor, scr, ccr, aircr_prigroup, shcsr, cpacr;
    bool thread_psp;                  /* thread mode ran on PSP when the outermost exception came */

    /* SysTick (ARMv7-M B3.3), counted from CLOCK_MONOTONIC: the counter
     * held st_base_cvr at st_base_ns and counts on from there. */
    uint32_t st_csr, st_rvr;
    uint64_t st_base_ns;
    uint32_t st_base_cvr;
    uint64_t st_zeros;                /* 1 -> 0 transitions accounted since st_base_ns */
    bool st_countflag;

    /* HSEM (RM0399 11). */
    uint32_t hsem[32];                /* LOCK | COREID | PROCID */
    uint32_t c1ier, c1isr, c2ier, c2isr, hsem_keyr;

    /* RCC: reads return what was written, from the reset values. */
    uint32_t rcc[RCC_SIZE / 4];
};

/* cm4_periph.c */
void cm4_periph_reset(struct cm4 *c);
int cm4_periph_map(struct cm4 *c);
/* Bring SysTick up to now (wraps -> COUNTFLAG, pending); 0 or the next wrap (ns). */
uint64_t cm4_systick_update(struct cm4 *c, uint64_t now);
/* The host freed HSEM `id` (a doorbell). */
void cm4_hsem_host_free(struct cm4 *c, unsigned id);
/* Re-evaluate level-sensitive interrupt lines into the NVIC's pending bits. */
void cm4_irq_lines(struct cm4 *c);

/* cm4core.c */
uint64_t cm4_now_ns(void);
void cm4_fault(struct cm4 *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cm4_want_loop(struct cm4 *c);
void cm4_arm_timer(struct cm4 *c, uint64_t deadline_ns);
uint32_t cm4_reg(struct cm4 *c, int reg);
/* The pending enabled exception that would be taken next (0: none). */
int cm4_best_pending(struct cm4 *c);
void cm4_doorbell_to_host(struct cm4 *c);

/* The unicorn whose internals uc_pages.c and uc_boundary.c replace (2.0.x, Debian's). */
static inline bool uc_is_2_0(void)
{
    return (uc_version(NULL, NULL) >> 16) == 0x0200u;
}

/* uc_pages.c: guest code ran outside flash; stores must again invalidate
 * the translated code they overwrite. */
void uc_pages_code_outside_flash(void);
/* DMB/DSB are host barriers in the translated code (else: hook them). */
bool uc_pages_inline_barriers(void);

/* uc_boundary.c: the run loop's checks without a hook before every block. */
struct uc_boundary_ops {
    void (*at_boundary)(void *ctx);              /* emulation (re)starts at the pc */
    void (*mask_changed)(void *ctx);             /* MSR / CPS wrote a mask register */
    void (*translating)(void *ctx, uint32_t pc); /* a block at pc is about to be translated */
};
/* True on unicorn 2.0.x: the ops are called from now on, no block hook is needed. */
bool uc_boundary_install(const struct uc_boundary_ops *ops, void *ctx);
/* Have the emulator come back to its loop before the next block (any thread). */
void uc_boundary_kick(void);
/* From a hook inside a block: make the pc register exact; false if unknown. */
bool uc_boundary_exact_pc(void);

#endif /* AMP_SIM_CM4_H */
