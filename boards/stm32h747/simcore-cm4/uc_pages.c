/*
 * unicorn 2.0.x pays two mallocs and two frees (a GLib tree) on every guest
 * store: notdirty_write -> page_collection_lock / page_collection_unlock
 * collect the pages whose locks it would take, but 2.0.x takes no page
 * locks (compiled out, single-threaded TCG), so the collection is never
 * used. unicorn 2.1.0 made the pair return NULL and do nothing (upstream
 * PR #1838, "Ignore page_collection_lock"); these definitions give 2.0.x
 * the same. They replace libunicorn's because Debian's build calls both
 * through its PLT everywhere (checked with objdump: no direct call). Any
 * other unicorn version gets its own functions back, untouched.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdint.h>

#include <unicorn/unicorn.h>

struct page_collection;
typedef struct page_collection *lock_fn(void *uc, uint64_t start, uint64_t end);
typedef void unlock_fn(struct page_collection *set);

struct page_collection *page_collection_lock_arm(void *uc, uint64_t start, uint64_t end);
void page_collection_unlock_arm(struct page_collection *set);

/* 1: unicorn 2.0.x, do nothing; -1: another version, forward. */
static int which;
static lock_fn *real_lock;
static unlock_fn *real_unlock;

static int version(void)
{
    if (which == 0) {
        if ((uc_version(NULL, NULL) >> 16) == 0x0200u) {
            which = 1;
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
