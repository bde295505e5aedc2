/*
 * What the block hook did, without a call before every block (unicorn
 * 2.0.x only; docs/performance.md, "No hook before every block"):
 *
 * 1. Events (a doorbell, a tick, a device change, a fault a device model
 *    found): cpu_exit() makes the next block start go back to the
 *    emulator's loop (QEMU checks for it before a block's first
 *    instruction), and the loop calls cpu_exec again, which we wrap: the
 *    run loop's checks run there, with the pc exact. Safe from any thread:
 *    cpu_exit only stores flags. Unicorn also checks after every guest
 *    load and store (check_exit_request) and then restarts the block from
 *    its first instruction, running again what it already did (a push
 *    twice); we translate without those checks, so a block is only ever
 *    left between instructions. Nothing here needs them: our memory hooks
 *    never stop the emulator (a fault ends the process, or the run at the
 *    next block).
 * 2. PRIMASK, FAULTMASK and BASEPRI change only in helper_v7m_msr (MSR,
 *    CPSIE/CPSID), which we wrap: a masked pending exception is looked at
 *    again after each (the block ends there anyway).
 * 3. Code outside flash: gen_intermediate_code, which we wrap, sees every
 *    block as it is translated, before it runs.
 * 4. The pc of a memory fault: 2.0.1 keeps it only in the translated
 *    code's tables. From inside a memory hook, the return address into the
 *    translated code is on our stack (the unwinder stops right after it);
 *    cpu_restore_state turns it into the exact guest pc, as QEMU does for
 *    a guest-visible fault.
 *
 * Like uc_pages.c, by symbol precedence: Debian's library reaches all these
 * through its PLT or GOT (checked with objdump: no direct call). Any other
 * version of unicorn gets its own functions and the block hook
 * (uc_boundary_install says false).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <unicorn/unicorn.h>

#include "cm4.h"

typedef int exec_fn(void *uc, void *cpu);
typedef void msr_fn(void *env, uint32_t reg, uint32_t val);
typedef void translate_fn(void *cpu, void *tb, int max_insns);
typedef bool restore_fn(void *cpu, uintptr_t host_pc, bool will_exit);
typedef void exit_fn(void *cpu);
typedef void check_fn(void *tcg_ctx);

int cpu_exec_arm(void *uc, void *cpu);
void helper_v7m_msr_arm(void *env, uint32_t reg, uint32_t val);
void gen_intermediate_code_arm(void *cpu, void *tb, int max_insns);
void check_exit_request_arm(void *tcg_ctx);

static exec_fn *real_exec;
static msr_fn *real_msr;
static translate_fn *real_translate;
static restore_fn *real_restore;
static exit_fn *real_exit;
static check_fn *real_check;
static bool installed;
static _Atomic(void *) the_cpu;  /* the emulated CPU, once it first ran */
static const struct uc_boundary_ops *ops;
static void *ops_ctx;

static void *next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

bool uc_boundary_install(const struct uc_boundary_ops *o, void *ctx)
{
    if (!uc_is_2_0())
        return false;
    real_exec = (exec_fn *)next("cpu_exec_arm");
    real_msr = (msr_fn *)next("helper_v7m_msr_arm");
    real_translate = (translate_fn *)next("gen_intermediate_code_arm");
    real_restore = (restore_fn *)next("cpu_restore_state_arm");
    real_exit = (exit_fn *)next("cpu_exit");
    real_check = (check_fn *)next("check_exit_request_arm");
    if (!real_exec || !real_msr || !real_translate || !real_restore || !real_exit ||
        !real_check)
        return false;
    ops = o;
    ops_ctx = ctx;
    installed = true;
    return true;
}

void uc_boundary_kick(void)
{
    void *cpu = atomic_load(&the_cpu);
    if (installed && cpu)
        real_exit(cpu);
}

int cpu_exec_arm(void *uc, void *cpu)
{
    if (!real_exec)
        real_exec = (exec_fn *)next("cpu_exec_arm");
    if (installed) {
        /* Published before the first look at the events: a waker that
         * raised one before it could see the cpu is seen here. */
        atomic_store(&the_cpu, cpu);
        ops->at_boundary(ops_ctx);
    }
    return real_exec(uc, cpu);
}

void helper_v7m_msr_arm(void *env, uint32_t reg, uint32_t val)
{
    if (!real_msr)
        real_msr = (msr_fn *)next("helper_v7m_msr_arm");
    real_msr(env, reg, val);
    if (installed)
        ops->mask_changed(ops_ctx);
}

void gen_intermediate_code_arm(void *cpu, void *tb, int max_insns)
{
    if (!real_translate)
        real_translate = (translate_fn *)next("gen_intermediate_code_arm");
    if (installed) {
        uint32_t pc;  /* TranslationBlock starts with its target_ulong pc (qemu 5.0) */
        __builtin_memcpy(&pc, tb, sizeof pc);
        ops->translating(ops_ctx, pc);
    }
    real_translate(cpu, tb, max_insns);
}

void check_exit_request_arm(void *tcg_ctx)
{
    if (installed)
        return;
    if (!real_check)
        real_check = (check_fn *)next("check_exit_request_arm");
    real_check(tcg_ctx);
}

bool uc_boundary_exact_pc(void)
{
    void *cpu = atomic_load(&the_cpu);
    if (!installed || !cpu)
        return false;
    void *frames[32];
    int n = backtrace(frames, 32);
    /* Inside the emulator, the last frame the unwinder can name is the
     * translated code's call into the helper that called us. */
    for (int i = n - 1; i >= 0; i--)
        if (real_restore(cpu, (uintptr_t)frames[i], false))
            return true;
    return false;
}
