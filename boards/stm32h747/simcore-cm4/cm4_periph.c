/*
 * Devices of the emulated Cortex-M4, at their real addresses:
 *   System control space 0xE000E000 (ARMv7-M ARM B3.2-B3.4): SysTick, NVIC, SCB.
 *   HSEM 0x58026400 (RM0399 section 11), the doorbells: the host frees
 *     semaphore 0 to ring us, we free semaphore 1 to ring it.
 *   RCC 0x58024400 (RM0399 section 8): registers read back what was written;
 *     ready flags follow their enable bits (the oscillators "start" at once).
 * Anything else in those windows is not modelled: the access stops the core.
 */
#include <string.h>
#include <unistd.h>

#include "cm4.h"

/* ---- Interrupt lines and pending state ---- */

void cm4_irq_lines(struct cm4 *c)
{
    /* HSEM2 is level sensitive: asserted while C2MISR != 0. The NVIC latches
     * it as pending unless the handler is active (re-pended at its return). */
    if ((c->c2isr & c->c2ier) && !c->active[EXC_IRQ0 + IRQ_HSEM2])
        c->nvic_pending[IRQ_HSEM2 / 32] |= 1u << (IRQ_HSEM2 % 32);
}

/* Something may now be pending and enabled: let the run loop decide. */
static void pending_changed(struct cm4 *c)
{
    cm4_irq_lines(c);
    bool any = false;
    for (unsigned i = 0; i < NVIC_WORDS && !any; i++)
        any = (c->nvic_pending[i] & c->nvic_enabled[i]) != 0;
    for (int e = EXC_NMI; e < EXC_IRQ0 && !any; e++)
        any = c->sys_pending[e];
    if (any)
        cm4_want_loop(c);
}

/* ---- SysTick (B3.3): CLKSOURCE 1 = processor clock, 0 = HCLK/8 (RM0399). ---- */

#define ST_ENABLE    0x1u
#define ST_TICKINT   0x2u
#define ST_CLKSOURCE 0x4u
#define ST_COUNTFLAG 0x10000u

static uint64_t systick_hz(const struct cm4 *c)
{
    return (c->st_csr & ST_CLKSOURCE) ? CM4_CPU_HZ : CM4_CPU_HZ / 8;
}

/* Clocks counted since st_base_ns (none while disabled: the count holds). */
static uint64_t systick_cycles(const struct cm4 *c, uint64_t now)
{
    if (!(c->st_csr & ST_ENABLE))
        return 0;
    uint64_t ns = now > c->st_base_ns ? now - c->st_base_ns : 0;
    return (uint64_t)((unsigned __int128)ns * systick_hz(c) / 1000000000u);
}

/*
 * From CVR = v0, after n clocks (B3.3.1): it counts down to 0, reloads RVR
 * on the next clock, and so on; RVR = 0 stops it at 0. Each 1 -> 0
 * transition sets COUNTFLAG and pends the exception.
 */
static uint64_t systick_zeros(const struct cm4 *c, uint64_t n)
{
    uint64_t v0 = c->st_base_cvr, period = (uint64_t)c->st_rvr + 1;
    if (n < v0 || (v0 == 0 && c->st_rvr == 0))
        return 0;
    if (c->st_rvr == 0)
        return 1;
    return (v0 > 0) + (n - v0) / period;
}

static uint32_t systick_value(const struct cm4 *c, uint64_t n)
{
    uint64_t v0 = c->st_base_cvr, period = (uint64_t)c->st_rvr + 1;
    if (n <= v0)
        return (uint32_t)(v0 - n);
    if (c->st_rvr == 0)
        return 0;
    return (uint32_t)(c->st_rvr - (n - v0 - 1) % period);
}

uint64_t cm4_systick_update(struct cm4 *c, uint64_t now)
{
    if (!(c->st_csr & ST_ENABLE))
        return 0;
    uint64_t zeros = systick_zeros(c, systick_cycles(c, now));
    if (zeros > c->st_zeros) {
        c->st_countflag = true;
        if (c->st_csr & ST_TICKINT)
            c->sys_pending[EXC_SYSTICK] = true;
        c->st_zeros = zeros;
    }
    /* The clock count of the next transition to 0. */
    uint64_t v0 = c->st_base_cvr, period = (uint64_t)c->st_rvr + 1, next;
    if (c->st_rvr == 0)
        next = zeros == 0 && v0 > 0 ? v0 : 0;
    else
        next = v0 > 0 ? v0 + zeros * period : (zeros + 1) * period;
    if (!next)
        return 0;
    uint64_t hz = systick_hz(c);
    return c->st_base_ns +
           (uint64_t)(((unsigned __int128)next * 1000000000u + hz - 1) / hz);
}

/* Account for the count up to now and restart the reckoning from there,
 * before anything that changes how it counts (RVR, ENABLE, CLKSOURCE). */
static void systick_rebase(struct cm4 *c)
{
    uint64_t now = cm4_now_ns();
    cm4_systick_update(c, now);
    uint64_t n = systick_cycles(c, now);
    c->st_base_cvr = systick_value(c, n);
    /* The new base is the clock edge of the count (no drift from rounding). */
    c->st_base_ns += (uint64_t)((unsigned __int128)n * 1000000000u / systick_hz(c));
    if (!(c->st_csr & ST_ENABLE) || c->st_base_ns > now)
        c->st_base_ns = now;
    c->st_zeros = 0;
    cm4_want_loop(c);  /* the next wrap moved */
}

static uint32_t systick_cvr(struct cm4 *c)
{
    return systick_value(c, systick_cycles(c, cm4_now_ns()));
}

/* ---- Priorities: 4 bits implemented (RM0399: __NVIC_PRIO_BITS = 4). ---- */
#define PRIO_MASK 0xF0u

/* ---- System control space ---- */

#define CPUID_CM4_R0P1 0x410FC241u
#define AIRCR_VECTKEY  0x05FAu
#define CCR_RESET      0x00000200u  /* STKALIGN */

static int vect_active(const struct cm4 *c)
{
    return c->depth ? c->nest[c->depth - 1] : 0;
}

static uint32_t icsr_read(struct cm4 *c)
{
    /* A wrap is pending from the clock edge on, not from when the run loop
     * next looks (a clock read of CVR then ICSR relies on it). */
    bool was = c->sys_pending[EXC_SYSTICK];
    cm4_systick_update(c, cm4_now_ns());
    if (!was && c->sys_pending[EXC_SYSTICK])
        cm4_want_loop(c);
    uint32_t v = (uint32_t)vect_active(c);
    if (c->depth <= 1)
        v |= 1u << 11;  /* RETTOBASE */
    for (unsigned i = 0; i < NVIC_WORDS; i++)
        if (c->nvic_pending[i])
            v |= 1u << 22;  /* ISRPENDING */
    /* VECTPENDING: the highest-priority pending enabled exception. */
    v |= (uint32_t)cm4_best_pending(c) << 12;
    if (c->sys_pending[EXC_SYSTICK])
        v |= 1u << 26;
    if (c->sys_pending[EXC_PENDSV])
        v |= 1u << 28;
    if (c->sys_pending[EXC_NMI])
        v |= 1u << 31;
    return v;
}

static void icsr_write(struct cm4 *c, uint32_t v)
{
    if (v & (1u << 31))
        c->sys_pending[EXC_NMI] = true;
    if (v & (1u << 28))
        c->sys_pending[EXC_PENDSV] = true;
    if (v & (1u << 27))
        c->sys_pending[EXC_PENDSV] = false;
    if (v & (1u << 26))
        c->sys_pending[EXC_SYSTICK] = true;
    if (v & (1u << 25))
        c->sys_pending[EXC_SYSTICK] = false;
    pending_changed(c);
}

static void scs_bad(struct cm4 *c, const char *dir, uint64_t off)
{
    c->fault_in_block = true;
    cm4_fault(c, "%s 0x%08x (no system register modelled there)", dir,
              (unsigned)(SCS_BASE + off));
}

static uint32_t nvic_word(const uint32_t *w, uint64_t off, uint64_t base)
{
    unsigned i = (unsigned)((off - base) / 4);
    return i < NVIC_WORDS ? w[i] : 0;
}

static uint64_t scs_read(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    struct cm4 *c = user;
    (void)uc;
    /* Byte-addressable priority registers. */
    if (off >= 0x400 && off < 0x400 + CM4_IRQ_COUNT) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size && off + i < 0x400 + CM4_IRQ_COUNT; i++)
            v |= (uint64_t)c->prio[EXC_IRQ0 + off - 0x400 + i] << (8 * i);
        return v;
    }
    if (off >= 0xD18 && off < 0xD24) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size && off + i < 0xD24; i++)
            v |= (uint64_t)c->prio[4 + off - 0xD18 + i] << (8 * i);
        return v;
    }
    if (size != 4 || (off & 3)) {
        scs_bad(c, "read (not a word) from", off);
        return 0;
    }
    switch (off) {
    case 0x004: return NVIC_WORDS - 1;        /* ICTR */
    case 0x008: return 0;                     /* ACTLR */
    case 0x010: {                             /* SYST_CSR: COUNTFLAG clears on read */
        cm4_systick_update(c, cm4_now_ns());
        uint32_t v = c->st_csr | (c->st_countflag ? ST_COUNTFLAG : 0);
        c->st_countflag = false;
        return v;
    }
    case 0x014: return c->st_rvr;
    case 0x018: return systick_cvr(c);
    case 0x01C: return 0x40000000u | (CM4_CPU_HZ / 8 / 100 - 1); /* CALIB: SKEW, 10 ms */
    case 0xD00: return CPUID_CM4_R0P1;
    case 0xD04: return icsr_read(c);
    case 0xD08: return c->vtor;
    case 0xD0C: return (0xFA05u << 16) | (c->aircr_prigroup << 8);
    case 0xD10: return c->scr;
    case 0xD14: return c->ccr;
    case 0xD24: return c->shcsr;
    case 0xD28: case 0xD2C: case 0xD30: return 0;  /* CFSR, HFSR, DFSR: no fault recorded */
    case 0xD88: return c->cpacr;
    }
    if (off >= 0x100 && off < 0x100 + 4 * NVIC_WORDS)
        return nvic_word(c->nvic_enabled, off, 0x100);
    if (off >= 0x180 && off < 0x180 + 4 * NVIC_WORDS)
        return nvic_word(c->nvic_enabled, off, 0x180);
    if (off >= 0x200 && off < 0x200 + 4 * NVIC_WORDS)
        return nvic_word(c->nvic_pending, off, 0x200);
    if (off >= 0x280 && off < 0x280 + 4 * NVIC_WORDS)
        return nvic_word(c->nvic_pending, off, 0x280);
    if (off >= 0x300 && off < 0x300 + 4 * NVIC_WORDS) {
        uint32_t v = 0, base = (uint32_t)(off - 0x300) * 8;
        for (unsigned b = 0; b < 32 && base + b < CM4_IRQ_COUNT; b++)
            if (c->active[EXC_IRQ0 + base + b])
                v |= 1u << b;
        return v;
    }
    scs_bad(c, "read from", off);
    return 0;
}

static void scs_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    struct cm4 *c = user;
    uint32_t v = (uint32_t)value;
    (void)uc;
    if (off >= 0x400 && off < 0x400 + CM4_IRQ_COUNT) {
        for (unsigned i = 0; i < size && off + i < 0x400 + CM4_IRQ_COUNT; i++)
            c->prio[EXC_IRQ0 + off - 0x400 + i] = (uint8_t)(value >> (8 * i)) & PRIO_MASK;
        pending_changed(c);
        return;
    }
    if (off >= 0xD18 && off < 0xD24) {
        for (unsigned i = 0; i < size && off + i < 0xD24; i++) {
            unsigned e = (unsigned)(4 + off - 0xD18 + i);
            /* Only SVCall, PendSV, SysTick (and the fault handlers) have one. */
            c->prio[e] = (uint8_t)(value >> (8 * i)) & PRIO_MASK;
        }
        pending_changed(c);
        return;
    }
    if (size != 4 || (off & 3)) {
        scs_bad(c, "write (not a word) to", off);
        return;
    }
    switch (off) {
    case 0x008: return;                        /* ACTLR: nothing to disable */
    case 0x010:                                /* enabling counts on from CVR */
        systick_rebase(c);
        c->st_csr = v & (ST_ENABLE | ST_TICKINT | ST_CLKSOURCE);
        return;
    case 0x014:                                /* loaded at the next wrap, not now */
        systick_rebase(c);
        c->st_rvr = v & 0x00FFFFFFu;
        return;
    case 0x018:
        /* Any write clears the counter and COUNTFLAG (it reloads at the next
         * clock); a pending SysTick stays pending (ICSR.PENDSTCLR clears it). */
        systick_rebase(c);
        c->st_base_cvr = 0;
        c->st_countflag = false;
        return;
    case 0xD04: icsr_write(c, v); return;
    case 0xD08: c->vtor = v & 0xFFFFFF80u; return;
    case 0xD0C:
        if ((v >> 16) != AIRCR_VECTKEY)
            return;                            /* ignored without the key, as on the chip */
        if (v & 0x4u) {
            cm4_fault(c, "system reset requested (AIRCR.SYSRESETREQ)");
            return;
        }
        c->aircr_prigroup = (v >> 8) & 7u;
        pending_changed(c);
        return;
    case 0xD10: c->scr = v & 0x16u; return;    /* SLEEPONEXIT, SLEEPDEEP, SEVONPEND */
    case 0xD14: c->ccr = (v & 0x31Bu) | CCR_RESET; return;
    case 0xD24: c->shcsr = v & 0x00070000u; return;  /* fault enables: kept, never used */
    case 0xD28: case 0xD2C: case 0xD30: return;      /* write-1-to-clear, nothing set */
    case 0xD88: c->cpacr = v & 0x00F00000u; return;
    case 0xF00:                                /* STIR */
        if ((v & 0x1FFu) < CM4_IRQ_COUNT) {
            c->nvic_pending[(v & 0x1FFu) / 32] |= 1u << ((v & 0x1FFu) % 32);
            pending_changed(c);
        }
        return;
    }
    for (unsigned i = 0; i < NVIC_WORDS; i++) {
        if (off == 0x100 + 4 * i) { c->nvic_enabled[i] |= v; pending_changed(c); return; }
        if (off == 0x180 + 4 * i) { c->nvic_enabled[i] &= ~v; return; }
        if (off == 0x200 + 4 * i) { c->nvic_pending[i] |= v; pending_changed(c); return; }
        if (off == 0x280 + 4 * i) { c->nvic_pending[i] &= ~v; pending_changed(c); return; }
    }
    scs_bad(c, "write to", off);
}

/* ---- HSEM (RM0399 11.4) ---- */

#define HSEM_LOCK   0x80000000u
#define HSEM_COREID(v) (((v) >> 8) & 0xFu)
#define HSEM_PROCID(v) ((v) & 0xFFu)

/* Semaphore `id` went from locked to free. */
static void hsem_freed(struct cm4 *c, unsigned id)
{
    c->hsem[id] = 0;
    c->c1isr |= 1u << id;
    c->c2isr |= 1u << id;
    if (id == 1)
        cm4_doorbell_to_host(c);  /* the host's HSEM1 interrupt */
    pending_changed(c);
}

void cm4_hsem_host_free(struct cm4 *c, unsigned id)
{
    /* The M7 took and released the semaphore: only the free event is visible. */
    c->c1isr |= 1u << id;
    c->c2isr |= 1u << id;
    cm4_irq_lines(c);
}

static void hsem_bad(struct cm4 *c, const char *dir, uint64_t off, uint32_t base)
{
    c->fault_in_block = true;
    cm4_fault(c, "%s 0x%08x (no peripheral modelled there)", dir, (unsigned)(base + off));
}

static uint64_t hsem_read(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    struct cm4 *c = user;
    (void)uc;
    if (size != 4 || (off & 3)) {
        hsem_bad(c, "read (not a word) from", off, HSEM_BASE);
        return 0;
    }
    if (off < 0x80)
        return c->hsem[off / 4];
    if (off < 0x100) {                         /* RLRx: 1-step lock, PROCID 0 */
        unsigned id = (unsigned)(off - 0x80) / 4;
        if (!(c->hsem[id] & HSEM_LOCK))
            c->hsem[id] = HSEM_LOCK | (HSEM_COREID_CM4 << 8);
        return c->hsem[id];
    }
    switch (off) {
    case 0x100: return c->c1ier;
    case 0x108: return c->c1isr;
    case 0x10C: return c->c1isr & c->c1ier;
    case 0x110: return c->c2ier;
    case 0x118: return c->c2isr;
    case 0x11C: return c->c2isr & c->c2ier;
    case 0x104: case 0x114: case 0x140: return 0;
    case 0x144: return c->hsem_keyr;
    }
    hsem_bad(c, "read from", off, HSEM_BASE);
    return 0;
}

static void hsem_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    struct cm4 *c = user;
    uint32_t v = (uint32_t)value;
    (void)uc;
    if (size != 4 || (off & 3)) {
        hsem_bad(c, "write (not a word) to", off, HSEM_BASE);
        return;
    }
    if (off < 0x80) {                          /* Rx: 2-step lock, or free by the owner */
        unsigned id = (unsigned)off / 4;
        uint32_t cur = c->hsem[id];
        if (HSEM_COREID(v) != HSEM_COREID_CM4)
            return;                            /* another core's COREID: ignored */
        if (v & HSEM_LOCK) {
            if (!(cur & HSEM_LOCK))
                c->hsem[id] = HSEM_LOCK | (HSEM_COREID_CM4 << 8) | HSEM_PROCID(v);
        } else if ((cur & HSEM_LOCK) && HSEM_COREID(cur) == HSEM_COREID_CM4 &&
                   HSEM_PROCID(cur) == HSEM_PROCID(v)) {
            hsem_freed(c, id);
        }
        return;
    }
    if (off < 0x100)
        return;                                /* RLRx are read-only */
    switch (off) {
    case 0x100: c->c1ier = v; return;
    case 0x104: c->c1isr &= ~v; return;
    case 0x110: c->c2ier = v; pending_changed(c); return;
    case 0x114: c->c2isr &= ~v; return;
    case 0x108: case 0x10C: case 0x118: case 0x11C: return;
    case 0x140:                                /* CR: free all of a core's with the key */
        if ((v >> 16) == (c->hsem_keyr >> 16))
            for (unsigned id = 0; id < 32; id++)
                if ((c->hsem[id] & HSEM_LOCK) && HSEM_COREID(c->hsem[id]) == HSEM_COREID(v))
                    hsem_freed(c, id);
        return;
    case 0x144: c->hsem_keyr = v & 0xFFFF0000u; return;
    }
    hsem_bad(c, "write to", off, HSEM_BASE);
}

/* ---- RCC (RM0399 8.7) ---- */

#define RCC_CR   0x000u
#define RCC_CFGR 0x010u

static uint32_t rcc_value(const struct cm4 *c, uint64_t off)
{
    uint32_t v = c->rcc[off / 4];
    if (off == RCC_CR) {
        /* HSIRDY, CSIRDY, HSI48RDY, HSERDY, PLLxRDY follow their ON bits;
         * D1CKRDY, D2CKRDY: both domains run. */
        static const uint8_t on[] = { 0, 7, 12, 16, 24, 26, 28 };
        static const uint8_t rdy[] = { 2, 8, 13, 17, 25, 27, 29 };
        for (unsigned i = 0; i < sizeof on; i++) {
            v &= ~(1u << rdy[i]);
            if (v & (1u << on[i]))
                v |= 1u << rdy[i];
        }
        v |= (1u << 14) | (1u << 15);
    } else if (off == RCC_CFGR) {
        v = (v & ~0x38u) | ((v & 7u) << 3);    /* SWS follows SW */
    }
    return v;
}

static uint64_t rcc_read(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    struct cm4 *c = user;
    (void)uc;
    if (size != 4 || (off & 3)) {
        hsem_bad(c, "read (not a word) from", off, RCC_BASE);
        return 0;
    }
    return rcc_value(c, off);
}

static void rcc_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    struct cm4 *c = user;
    (void)uc;
    if (size != 4 || (off & 3)) {
        hsem_bad(c, "write (not a word) to", off, RCC_BASE);
        return;
    }
    c->rcc[off / 4] = (uint32_t)value;
}

void cm4_periph_reset(struct cm4 *c)
{
    memset(c->prio, 0, sizeof c->prio);
    c->ccr = CCR_RESET;
    c->rcc[RCC_CR / 4] = 0x00000025u;          /* HSION, HSIRDY, HSIDIVF */
}

int cm4_periph_map(struct cm4 *c)
{
    if (uc_mmio_map(c->uc, SCS_BASE, SCS_SIZE, scs_read, c, scs_write, c) != UC_ERR_OK)
        return -1;
    if (uc_mmio_map(c->uc, HSEM_BASE, HSEM_SIZE, hsem_read, c, hsem_write, c) != UC_ERR_OK)
        return -1;
    if (uc_mmio_map(c->uc, RCC_BASE, RCC_SIZE, rcc_read, c, rcc_write, c) != UC_ERR_OK)
        return -1;
    return 0;
}
