/*
 * Building an rpmsg configuration from a resource table's vdev entry. Kept
 * apart from the data path: firmware with a fixed layout does not need it.
 */
#include "rpmsg_internal.h"

int amp_rpmsg_config_from_vdev(struct amp_rpmsg_config *cfg, struct amp_rsc_vdev *vdev,
                               size_t vdev_size)
{
    if (!cfg || !vdev || vdev_size < sizeof(*vdev) + 2 * sizeof(struct amp_rsc_vdev_vring) ||
        AMP_READ_ONCE(vdev->num_of_vrings) < 2)
        return -AMP_EINVAL;
    for (unsigned i = 0; i < 2; i++) {
        /* The table may sit in shared memory: each field is read once, into a copy. */
        struct amp_rsc_vdev_vring vring[1] = { {
            .da = AMP_READ_ONCE(vdev->vring[i].da),
            .align = AMP_READ_ONCE(vdev->vring[i].align),
            .num = AMP_READ_ONCE(vdev->vring[i].num),
            .notifyid = AMP_READ_ONCE(vdev->vring[i].notifyid),
        } };
        uint32_t num = amp_le32(vring->num), align = amp_le32(vring->align);
        if (num == 0 || num > AMP_RPMSG_MAX_VRING_NUM || (num & (num - 1)) || align < 4 ||
            align > 4096 || (align & (align - 1)))
            return -AMP_EBADMSG;
        if (i == 1 && num != cfg->vring_num)
            return -AMP_EBADMSG;   /* both directions share one size here */
        cfg->vring_num = (uint16_t)num;
        cfg->vring_align = align;
        /* vrings are located by their device address, which is a physical
         * address in both conventions; they must lie inside the region. */
        uint64_t da = amp_le32(vring->da);
        uint64_t off = da - cfg->shm_pa;
        size_t size = amp_vring_size(num, align);
        if (da < cfg->shm_pa || off > cfg->shm_size || size > cfg->shm_size - off)
            return -AMP_ERANGE;
        cfg->vring[i] = (uint8_t *)cfg->shm + off;
        cfg->vring_notifyid[i] = amp_le32(vring->notifyid);
    }
    cfg->vdev = vdev;
    return 0;
}

int amp_rpmsg_config_from_rsc(struct amp_rpmsg_config *cfg, const struct amp_rsc_table *tbl)
{
    if (!tbl || !tbl->hdr)
        return -AMP_EINVAL;
    struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(tbl);
    if (!vdev)
        return -AMP_ENOENT;
    size_t used = (size_t)((uint8_t *)vdev - (uint8_t *)tbl->hdr);
    return amp_rpmsg_config_from_vdev(cfg, vdev, tbl->size - used);
}
