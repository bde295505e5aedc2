/* vring layout, common to both sides. */
#include "vring_internal.h"

size_t amp_vring_size(uint32_t num, uint32_t align)
{
    return vring_used_offset(num, align) + 6u + 8u * num;
}
