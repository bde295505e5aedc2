/*
 * mem.c - the board's memory map: which region holds a device address
 * range, and where this side sees it.
 *
 * Ranges come from files and from the peer, so every test is written as
 * "offset inside, length fits in what is left" - never as a sum that could
 * wrap.
 */
#include "amp/remoteproc.h"

/* Is [da, da+len) wholly inside `region`? An empty range must still start inside. */
static bool region_holds(const struct amp_mem_region *region, uint64_t da, uint64_t len)
{
    if (da < region->da)
        return false;
    uint64_t off = da - region->da;
    return off < region->size && len <= region->size - off;
}

const struct amp_mem_region *amp_mem_find(const struct amp_mem_map *map, uint64_t da,
                                          uint64_t len)
{
    if (!map || !map->regions)
        return NULL;
    for (unsigned i = 0; i < map->count; i++) {
        if (region_holds(&map->regions[i], da, len))
            return &map->regions[i];
    }
    return NULL;
}

void *amp_mem_da_to_va(const struct amp_mem_map *map, uint64_t da, uint64_t len)
{
    const struct amp_mem_region *region = amp_mem_find(map, da, len);
    if (!region || !region->va)
        return NULL;
    /* On a 32-bit host a region may be larger than a pointer can span:
     * the whole range must be addressable before we hand out a pointer. */
    uint64_t off = da - region->da;
    uint64_t end = off + len; /* cannot wrap: both lie inside the region */
    if ((uint64_t)(size_t)end != end)
        return NULL;
    return (uint8_t *)region->va + (size_t)off;
}
