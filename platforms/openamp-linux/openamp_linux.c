/*
 * OpenAMP's Linux process convention (openamp_linux.h): shm file, table at
 * offset 0, one-byte kicks on a UNIX stream socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "amp/rsc.h"
#include "openamp_linux.h"

#define DEFAULT_CONNECT_MS 10000
#define RETRY_MS 20
/* The table must end before the first vring. */
#define TABLE_MAX AMP_OL_VRING0_OFF

struct amp_ol {
    const struct amp_rpmsg_role_ops *role;
    char shm_name[256];
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    bool unlink_shm;
    int sock;
    int listen_sock;       /* remote, until the host connected */
    uint8_t *shm;
    struct amp_platform platform;
    struct amp_rpmsg_device dev;
    bool dev_up;
    bool peer_gone;
};

static void errmsg_set(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errmsg_set(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(buf, len, fmt, ap) < 0)
        buf[0] = '\0';
    va_end(ap);
}

static uint32_t ol_time_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* A kick is one byte of value 1; the queue is not named (the peer scans both rings). */
static void ol_notify(void *ctx, uint32_t queue_id)
{
    struct amp_ol *ol = ctx;
    (void)queue_id;
    const char one = 1;
    ssize_t n;
    do
        n = send(ol->sock, &one, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the socket is full of kicks the peer has not read; one more adds nothing. */
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        ol->peer_gone = true;
}

/* Drain every pending kick. False if the peer closed the socket. */
static bool drain(struct amp_ol *ol)
{
    char buf[64];
    for (;;) {
        ssize_t n = recv(ol->sock, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n == 0)
            return false;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

static int ol_wait(void *ctx, int32_t timeout_ms)
{
    struct amp_ol *ol = ctx;
    if (ol->peer_gone)
        return -AMP_ENODEV;
    struct pollfd pfd = { .fd = ol->sock, .events = POLLIN };
    int rc = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -AMP_EIO;
    if (rc == 0)
        return -AMP_ETIMEDOUT;
    if (!drain(ol) || (pfd.revents & (POLLHUP | POLLERR))) {
        ol->peer_gone = true;
        return -AMP_ENODEV;
    }
    return 0;
}

static const struct amp_platform_ops ol_ops = {
    .notify = ol_notify,
    .wait = ol_wait,
    .time_ms = ol_time_ms,
};

static int map_shm(struct amp_ol *ol, bool create, char *errmsg, size_t errlen)
{
    int fd = shm_open(ol->shm_name, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0) {
        errmsg_set(errmsg, errlen, "shm %s: %s%s", ol->shm_name, strerror(errno),
                   create ? "" : " (has the remote started?)");
        return errno == ENOENT ? -AMP_ENOENT : -AMP_EIO;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -AMP_EIO;
    } else if ((uint64_t)st.st_size < AMP_OL_SHM_SIZE) {
        /* OpenAMP's side grows the file to its size too; never shrink a bigger one. */
        if (ftruncate(fd, AMP_OL_SHM_SIZE) != 0)
            rc = -AMP_EIO;
    }
    if (rc == 0) {
        void *p = mmap(NULL, AMP_OL_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            rc = -AMP_EIO;
        else
            ol->shm = p;
    }
    if (rc)
        errmsg_set(errmsg, errlen, "shm %s: cannot size or map: %s", ol->shm_name,
                   strerror(errno));
    close(fd);
    return rc;
}

/* The remote's table: what OpenAMP's Linux demos write. */
static int write_table(struct amp_ol *ol)
{
    const struct amp_rsc_layout layout = {
        .features = 1u << AMP_VIRTIO_RPMSG_F_NS,
        .vdev_notifyid = 0,
        .vring_da = { AMP_OL_VRING0_OFF, AMP_OL_VRING1_OFF },
        .vring_notifyid = { 1, 2 },
        .vring_num = AMP_OL_VRING_NUM,
        .vring_align = AMP_OL_VRING_ALIGN,
    };
    /* Stale rings of an earlier run must not look like a live host. */
    memset(ol->shm, 0, AMP_OL_POOL_OFF);
    return amp_rsc_build(ol->shm, TABLE_MAX, &layout);
}

static int socket_addr(struct amp_ol *ol, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, ol->socket_path, strlen(ol->socket_path) + 1);
    return 0;
}

static int remote_listen(struct amp_ol *ol, int32_t timeout_ms, char *errmsg, size_t errlen)
{
    struct sockaddr_un sa;
    socket_addr(ol, &sa);
    ol->listen_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ol->listen_sock < 0) {
        errmsg_set(errmsg, errlen, "socket: %s", strerror(errno));
        return -AMP_EIO;
    }
    unlink(ol->socket_path);  /* a dead run's socket file */
    if (bind(ol->listen_sock, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(ol->listen_sock, 1) != 0) {
        errmsg_set(errmsg, errlen, "listen on %s: %s", ol->socket_path, strerror(errno));
        return -AMP_EIO;
    }
    struct pollfd pfd = { .fd = ol->listen_sock, .events = POLLIN };
    int rc;
    do
        rc = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0) {
        errmsg_set(errmsg, errlen, "no host connected to %s within %d ms", ol->socket_path,
                   (int)timeout_ms);
        return -AMP_ETIMEDOUT;
    }
    ol->sock = accept4(ol->listen_sock, NULL, NULL, SOCK_CLOEXEC);
    if (ol->sock < 0) {
        errmsg_set(errmsg, errlen, "accept on %s: %s", ol->socket_path, strerror(errno));
        return -AMP_EIO;
    }
    close(ol->listen_sock);
    ol->listen_sock = -1;
    return 0;
}

static int host_connect(struct amp_ol *ol, int32_t timeout_ms, char *errmsg, size_t errlen)
{
    struct sockaddr_un sa;
    socket_addr(ol, &sa);
    uint32_t start = ol_time_ms(NULL);
    for (;;) {
        ol->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (ol->sock < 0) {
            errmsg_set(errmsg, errlen, "socket: %s", strerror(errno));
            return -AMP_EIO;
        }
        if (connect(ol->sock, (struct sockaddr *)&sa, sizeof sa) == 0)
            return 0;
        int e = errno;
        close(ol->sock);
        ol->sock = -1;
        if (e != ENOENT && e != ECONNREFUSED) {
            errmsg_set(errmsg, errlen, "connect to %s: %s", ol->socket_path, strerror(e));
            return -AMP_EIO;
        }
        if (timeout_ms >= 0 && ol_time_ms(NULL) - start >= (uint32_t)timeout_ms) {
            errmsg_set(errmsg, errlen, "no remote listening on %s within %d ms",
                       ol->socket_path, (int)timeout_ms);
            return -AMP_ETIMEDOUT;
        }
        usleep(RETRY_MS * 1000);
    }
}

int amp_ol_open(struct amp_ol **out, const struct amp_rpmsg_role_ops *role,
                const struct amp_ol_options *opt, char *errmsg, size_t errlen)
{
    errmsg_set(errmsg, errlen, "%s", "");
    if (!out || (role != AMP_RPMSG_HOST && role != AMP_RPMSG_REMOTE)) {
        errmsg_set(errmsg, errlen, "amp_ol_open: no place for it, or a role that is neither "
                   "AMP_RPMSG_HOST nor AMP_RPMSG_REMOTE");
        return -AMP_EINVAL;
    }
    *out = NULL;
    const char *shm_name = opt && opt->shm_name ? opt->shm_name : AMP_OL_SHM_NAME;
    const char *path = opt && opt->socket_path ? opt->socket_path : AMP_OL_SOCKET_PATH;
    int32_t timeout = opt && opt->connect_timeout_ms ? opt->connect_timeout_ms
                                                     : DEFAULT_CONNECT_MS;
    struct amp_ol *ol = calloc(1, sizeof *ol);
    if (!ol) {
        errmsg_set(errmsg, errlen, "out of memory");
        return -AMP_ENOSPC;
    }
    ol->sock = ol->listen_sock = -1;
    ol->role = role;
    ol->unlink_shm = opt && opt->unlink_shm_on_close;
    if (strlen(shm_name) >= sizeof ol->shm_name || strlen(path) >= sizeof ol->socket_path ||
        !*shm_name || !*path) {
        errmsg_set(errmsg, errlen, "shm name or socket path empty or too long (at most %zu bytes)",
                   sizeof ol->socket_path - 1);
        free(ol);
        return -AMP_EINVAL;
    }
    memcpy(ol->shm_name, shm_name, strlen(shm_name) + 1);
    memcpy(ol->socket_path, path, strlen(path) + 1);
    ol->platform = (struct amp_platform){ &ol_ops, ol };

    int rc;
    if (role == AMP_RPMSG_REMOTE) {
        rc = map_shm(ol, true, errmsg, errlen);
        if (rc == 0 && (rc = write_table(ol)) != 0)
            errmsg_set(errmsg, errlen, "cannot write the resource table: %s", amp_strerror(rc));
        if (rc == 0)
            rc = remote_listen(ol, timeout, errmsg, errlen);
    } else {
        /* The remote writes the table before it listens: connect first. */
        rc = host_connect(ol, timeout, errmsg, errlen);
        if (rc == 0)
            rc = map_shm(ol, false, errmsg, errlen);
    }
    if (rc) {
        amp_ol_close(ol);
        return rc;
    }
    *out = ol;
    return 0;
}

/* The rings from the table at offset 0, read from shared memory and checked
 * again whichever side wrote it (the peer can write it any time). */
static int table_config(struct amp_ol *ol, struct amp_rpmsg_config *cfg, char *errmsg,
                        size_t errlen)
{
    struct amp_rsc_table tbl;
    memset(cfg, 0, sizeof *cfg);
    cfg->role = ol->role;
    cfg->addr_mode = AMP_ADDR_PHYS;   /* "physical" = offset into the file */
    cfg->shm = ol->shm;
    cfg->shm_pa = 0;
    cfg->shm_size = AMP_OL_SHM_SIZE;
    cfg->platform = &ol->platform;
    int rc = amp_rsc_parse(&tbl, ol->shm, TABLE_MAX);
    if (rc == 0)
        rc = amp_rpmsg_config_from_rsc(cfg, &tbl);
    if (rc)
        errmsg_set(errmsg, errlen, "shm %s: no valid resource table with an rpmsg vdev whose "
                   "vrings fit at offset 0: %s", ol->shm_name, amp_strerror(rc));
    if (rc || ol->role != AMP_RPMSG_HOST)
        return rc;
    /* The host's buffers, where OpenAMP's host puts them. */
    cfg->buf_pool = ol->shm + AMP_OL_POOL_OFF;
    cfg->buf_size = AMP_OL_BUF_SIZE;
    cfg->buf_count = AMP_OL_POOL_SIZE / AMP_OL_BUF_SIZE;
    if (cfg->buf_count > 2u * cfg->vring_num)
        cfg->buf_count = 2u * cfg->vring_num;
    cfg->rx_buf_count = cfg->buf_count / 2;
    cfg->features = 1u << AMP_VIRTIO_RPMSG_F_NS;
    return 0;
}

int amp_ol_rpmsg(struct amp_ol *ol, struct amp_rpmsg_device **dev, int32_t timeout_ms,
                 char *errmsg, size_t errlen)
{
    errmsg_set(errmsg, errlen, "%s", "");
    if (!ol || !dev)
        return -AMP_EINVAL;
    if (!ol->dev_up) {
        struct amp_rpmsg_config cfg;
        int rc = table_config(ol, &cfg, errmsg, errlen);
        if (rc)
            return rc;
        rc = ol->role == AMP_RPMSG_HOST ? amp_rpmsg_init(&ol->dev, &cfg)
                                        : amp_rpmsg_wait_ready(&ol->dev, &cfg, timeout_ms);
        if (rc) {
            errmsg_set(errmsg, errlen, "rpmsg %s: %s", ol->role == AMP_RPMSG_HOST ? "host set-up"
                       : "waiting for the host's DRIVER_OK", amp_strerror(rc));
            return rc;
        }
        ol->dev_up = true;
        /* Tell the remote the rings are up (OpenAMP's remote polls the status anyway). */
        if (ol->role == AMP_RPMSG_HOST)
            ol_notify(ol, 0);
    }
    *dev = &ol->dev;
    return 0;
}

const struct amp_platform *amp_ol_platform(struct amp_ol *ol)
{
    return ol ? &ol->platform : NULL;
}

int amp_ol_fd(struct amp_ol *ol)
{
    return ol ? ol->sock : -1;
}

void *amp_ol_shm(struct amp_ol *ol, size_t *size)
{
    if (size)
        *size = ol ? AMP_OL_SHM_SIZE : 0;
    return ol ? ol->shm : NULL;
}

void amp_ol_close(struct amp_ol *ol)
{
    if (!ol)
        return;
    if (ol->dev_up) {
        amp_rpmsg_deinit(&ol->dev);  /* announces NS destroy while the peer listens */
        ol->dev_up = false;
    }
    if (ol->sock >= 0)
        close(ol->sock);
    if (ol->listen_sock >= 0)
        close(ol->listen_sock);
    if (ol->role == AMP_RPMSG_REMOTE)
        unlink(ol->socket_path);
    if (ol->shm)
        munmap(ol->shm, AMP_OL_SHM_SIZE);
    if (ol->unlink_shm)
        shm_unlink(ol->shm_name);
    free(ol);
}
