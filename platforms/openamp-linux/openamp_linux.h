/*
 * openamp_linux.h - a host platform for OpenAMP's Linux process convention
 * (the "linux" machine OpenAMP's demos run on without hardware), so either
 * of our rpmsg roles talks to an OpenAMP Linux application out of the box.
 * Linux only; docs/openamp-linux.md.
 *
 * The convention (reference.md section 7):
 * - one POSIX shared-memory file, "openamp.shm", 512 KiB; every address in
 *   the resource table and the descriptors is an offset into it;
 * - the remote writes the table at offset 0: one rpmsg vdev, vring 0 at
 *   0x4000 and vring 1 at 0x8000 (notifyids 1 and 2), 256 entries, align
 *   0x1000, name service offered; the host's buffers start at 0x10000
 *   (0x40000 bytes: 512 buffers of 512 bytes, half each way);
 * - the remote listens on the UNIX stream socket /tmp/openamp.event.0 and
 *   the host connects to it; a kick is one byte of value 1 either way, with
 *   no queue id.
 */
#ifndef AMP_OPENAMP_LINUX_H
#define AMP_OPENAMP_LINUX_H

#include "amp/platform.h"
#include "amp/rpmsg.h"

#define AMP_OL_SHM_NAME     "openamp.shm"
#define AMP_OL_SHM_SIZE     0x80000u
#define AMP_OL_SOCKET_PATH  "/tmp/openamp.event.0"
#define AMP_OL_VRING0_OFF   0x4000u
#define AMP_OL_VRING1_OFF   0x8000u
#define AMP_OL_VRING_NUM    256u
#define AMP_OL_VRING_ALIGN  0x1000u
#define AMP_OL_POOL_OFF     0x10000u
#define AMP_OL_POOL_SIZE    0x40000u
#define AMP_OL_BUF_SIZE     512u

struct amp_ol_options {
    const char *shm_name;       /* NULL = AMP_OL_SHM_NAME (shm_open name) */
    const char *socket_path;    /* NULL = AMP_OL_SOCKET_PATH */
    /* How long amp_ol_open waits for the peer: the remote to accept, the
     * host to find the socket (OpenAMP's host retries for about 50 s). */
    int32_t connect_timeout_ms; /* 0 = 10000; AMP_WAIT_FOREVER = no limit */
    bool unlink_shm_on_close;   /* remove the shm file at close (OpenAMP leaves it) */
};

struct amp_ol;

/*
 * Connect as `role` (AMP_RPMSG_REMOTE or AMP_RPMSG_HOST). Remote: create
 * the shm file, write the table at offset 0, listen on the socket and
 * accept the host. Host: connect to the socket (retrying until the
 * timeout), then map the shm file the remote made. Returns 0 or a negative
 * amp error with `errmsg` saying why.
 */
int amp_ol_open(struct amp_ol **out, const struct amp_rpmsg_role_ops *role,
                const struct amp_ol_options *opt, char *errmsg, size_t errlen);

/*
 * Bring the rpmsg device up. Host: reads and checks the remote's table,
 * lays out the rings and buffers, sets DRIVER_OK. Remote: waits up to
 * timeout_ms for the host's DRIVER_OK. The device belongs to `ol`.
 */
int amp_ol_rpmsg(struct amp_ol *ol, struct amp_rpmsg_device **dev, int32_t timeout_ms,
                 char *errmsg, size_t errlen);

/* The platform the device uses: notify writes a byte, wait polls the socket
 * (-AMP_ENODEV once the peer closed it). */
const struct amp_platform *amp_ol_platform(struct amp_ol *ol);
/* The socket, readable when the peer kicked or left (for poll/select). */
int amp_ol_fd(struct amp_ol *ol);
/* Shared memory as this process sees it, and its size. */
void *amp_ol_shm(struct amp_ol *ol, size_t *size);

/* Tear the device down, close the socket (the remote unlinks its path),
 * unmap. NULL is a no-op. */
void amp_ol_close(struct amp_ol *ol);

#endif /* AMP_OPENAMP_LINUX_H */
