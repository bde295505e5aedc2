/*
 * Two fixes for guest stores in unicorn 2.0.x, where every store to RAM
 * leaves the translated code for notdirty_write (docs/performance.md):
 *
 * 1. notdirty_write -> page_collection_lock / page_collection_unlock pay
 *    two mallocs and two frees (a GLib tree) per store, to collect the
 *    pages whose locks it would take; 2.0.x takes no page locks (compiled
 *    out, single-threaded TCG), so the collection is never used. unicorn
 *    2.1.0 made the pair return NULL and do nothing (upstream PR #1838,
 *    "Ignore page_collection_lock"); these definitions give 2.0.x the same.
 *
 * 2. tlb_set_page_with_attrs marks every RAM page TLB_NOTDIRTY (its
 *    cpu_physical_memory_is_clean() is stubbed to true) and nothing clears
 *    it, so stores never take the inline fast path. After the real one we
 *    call tlb_set_dirty, which clears TLB_NOTDIRTY only on an entry that
 *    has nothing else (plain RAM: not MMIO, not read-only). notdirty_write
 *    is also what invalidates translated code a store overwrites, so this
 *    stops for good once guest code runs outside flash (code in RAM,
 *    uc_pages_code_outside_flash): the TLB is flushed and refilled the
 *    slow, correct way.
 *
 * 3. DMB and DSB translate to tcg_gen_mb, which emits nothing unless the
 *    TB is compiled for parallel CPUs (CF_PARALLEL): one emulated CPU
 *    needs no barrier. But the other side of the rings is another process
 *    on another host CPU, and x86 lets a later load pass an earlier store
 *    (lost wake-ups in the vring protocol). tcg_gen_mb_arm here always
 *    emits the barrier op, which the x86 backend makes a `lock orl` inline
 *    in the translated code (no hook, no helper call).
 *
 * They replace libunicorn's because Debian's build calls all of them
 * through its PLT (checked with objdump: no direct call). Any other unicorn
 * version gets its own behaviour back, untouched.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>

#include <unicorn/unicorn.h>

#include "cm4.h"

struct page_collection;
typedef struct page_collection *lock_fn(void *uc, uint64_t start, uint64_t end);
typedef void unlock_fn(struct page_collection *set);
/* qemu 5.0 include/exec/exec-all.h for a 32-bit target: target_ulong is 32
 * bits, hwaddr 64, MemTxAttrs a 32-bit struct passed in a register. */
typedef void set_page_fn(void *cpu, uint32_t vaddr, uint64_t paddr, uint32_t attrs, int prot,
                         int mmu_idx, uint32_t size);
typedef void set_dirty_fn(void *cpu, uint32_t vaddr);
typedef void flush_fn(void *cpu);
typedef void mb_fn(void *tcg_ctx, int mb_type);
typedef void op1_fn(void *tcg_ctx, int opc, uintptr_t arg);

struct page_collection *page_collection_lock_arm(void *uc, uint64_t start, uint64_t end);
void page_collection_unlock_arm(struct page_collection *set);
void tlb_set_page_with_attrs_arm(void *cpu, uint32_t vaddr, uint64_t paddr, uint32_t attrs,
                                 int prot, int mmu_idx, uint32_t size);
void tcg_gen_mb_arm(void *tcg_ctx, int mb_type);

#define PAGE_WRITE 0x0002  /* qemu include/exec/cpu-all.h */
#define INDEX_op_mb 4      /* qemu tcg/tcg-opc.h; what 2.0.1's tcg_gen_mb_arm passes */

/* 1: unicorn 2.0.x; -1: another version, forward. */
static int which;
static lock_fn *real_lock;
static unlock_fn *real_unlock;
static set_page_fn *real_set_page;
static set_dirty_fn *real_set_dirty;
static flush_fn *real_flush;
static mb_fn *real_mb;
static op1_fn *real_op1;
static bool fast_stores;        /* 2.0.x, tlb_set_dirty found, no code outside flash yet */
static void *the_cpu;

static int version(void)
{
    if (which == 0) {
        real_set_page = (set_page_fn *)dlsym(RTLD_NEXT, "tlb_set_page_with_attrs_arm");
        real_mb = (mb_fn *)dlsym(RTLD_NEXT, "tcg_gen_mb_arm");
        if (uc_is_2_0()) {
            which = 1;
            real_set_dirty = (set_dirty_fn *)dlsym(RTLD_NEXT, "tlb_set_dirty_arm");
            real_flush = (flush_fn *)dlsym(RTLD_NEXT, "tlb_flush_arm");
            fast_stores = real_set_dirty && real_flush;
            real_op1 = (op1_fn *)dlsym(RTLD_NEXT, "tcg_gen_op1_arm");
        } else {
            real_lock = (lock_fn *)dlsym(RTLD_NEXT, "page_collection_lock_arm");
            real_unlock = (unlock_fn *)dlsym(RTLD_NEXT, "page_collection_unlock_arm");
            which = -1;
        }
    }
    return which;
}

struct page_collection *page_collection_lock_arm(void *uc, uint64_t start, uint64_t end)
{
    if (version() > 0 || !real_lock)
        return NULL;
    return real_lock(uc, start, end);
}

void page_collection_unlock_arm(struct page_collection *set)
{
    if (version() < 0 && real_unlock)
        real_unlock(set);
}

void tlb_set_page_with_attrs_arm(void *cpu, uint32_t vaddr, uint64_t paddr, uint32_t attrs,
                                 int prot, int mmu_idx, uint32_t size)
{
    version();
    real_set_page(cpu, vaddr, paddr, attrs, prot, mmu_idx, size);
    if (fast_stores && (prot & PAGE_WRITE)) {
        the_cpu = cpu;
        real_set_dirty(cpu, vaddr);
    }
}

void uc_pages_code_outside_flash(void)
{
    if (!fast_stores)
        return;
    fast_stores = false;
    if (the_cpu)
        real_flush(the_cpu);  /* no entry keeps the fast path */
}

void tcg_gen_mb_arm(void *tcg_ctx, int mb_type)
{
    if (version() > 0 && real_op1)
        real_op1(tcg_ctx, INDEX_op_mb, (uintptr_t)(unsigned)mb_type);
    else if (real_mb)
        real_mb(tcg_ctx, mb_type);
}

bool uc_pages_inline_barriers(void)
{
    return version() > 0 && real_op1;
}
