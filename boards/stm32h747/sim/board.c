/*
 * The sim-h747 board, host side: its memory (shared-memory files mapped
 * here at any address and in the core at the device addresses), the
 * doorbells, the host platform ops, and MicroPython's host-built table.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim_internal.h"

#define DEFAULT_NAME "sim-h747"
/* Polled waits between two checks that the core is still alive. */
#define POLLED_DEATH_CHECK 256u
/* Adaptive waits spin this long before sleeping. */
#define ADAPTIVE_SPIN_NS 20000

void sim_errmsg(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0)
        buf[0] = '\0';
}

/* ---- Doorbells and platform ops ---- */

/* Consume the core's doorbell without sleeping: true if it had rung. */
static bool doorbell_take(struct amp_sim_board *board)
{
    uint64_t count;
    ssize_t n;
    do
        n = read(board->to_host_fd, &count, sizeof count);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof count;
}

static void sim_notify(void *ctx, uint32_t queue_id)
{
    struct amp_sim_board *board = ctx;
    uint64_t one = 1;
    ssize_t n;
    (void)queue_id;
    do
        n = write(board->to_core_fd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    /* Only a counter at its maximum could refuse, and the core drains it. */
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t sim_time_ms(void *ctx)
{
    (void)ctx;
    return (uint32_t)(now_ns() / 1000000u);
}

/* Sleep on the doorbell and the core's pidfd together: a dead core wakes us. */
static int wait_blocking(struct amp_sim_board *board, int32_t timeout_ms)
{
    struct pollfd pfd[2] = {
        { .fd = board->to_host_fd, .events = POLLIN },
        { .fd = board->pidfd, .events = POLLIN },
    };
    int rc = poll(pfd, 2, timeout_ms < 0 ? -1 : timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -AMP_EIO;   /* a signal: callers re-check */
    if (rc == 0)
        return -AMP_ETIMEDOUT;
    if (doorbell_take(board))
        return 0;
    if (pfd[1].revents && sim_core_check(board))
        return -AMP_ENODEV;
    return 0;
}

static int sim_wait(void *ctx, int32_t timeout_ms)
{
    struct amp_sim_board *board = ctx;

    if (board->pid <= 0) {
        doorbell_take(board);
        return -AMP_ENODEV;
    }
    switch (board->wait_mode) {
    case AMP_SIM_WAIT_POLLED:
        /* The caller spins on the rings; look for a dead core now and then. */
        if (++board->polls >= POLLED_DEATH_CHECK) {
            board->polls = 0;
            if (sim_core_check(board))
                return -AMP_ENODEV;
        }
        return 0;
    case AMP_SIM_WAIT_ADAPTIVE: {
        uint64_t start = now_ns();
        do {
            if (doorbell_take(board))
                return 0;
            __builtin_ia32_pause();
        } while (now_ns() - start < ADAPTIVE_SPIN_NS);
        return wait_blocking(board, timeout_ms);
    }
    case AMP_SIM_WAIT_BLOCKING:
    default:
        return wait_blocking(board, timeout_ms);
    }
}

static void *sim_da_to_va(void *ctx, uint64_t da, size_t len)
{
    struct amp_sim_board *board = ctx;
    return amp_mem_da_to_va(&board->map, da, len);
}

static const struct amp_platform_ops sim_platform_ops = {
    .notify = sim_notify,
    .wait = sim_wait,
    .time_ms = sim_time_ms,
    .da_to_va = sim_da_to_va,
};

int amp_sim_notify_fd(struct amp_sim_board *board)
{
    return board ? board->notify_fd : -1;
}

void amp_sim_ack(struct amp_sim_board *board)
{
    if (!board)
        return;
    doorbell_take(board);
    /* A dead core's pidfd stays readable: reap it so the fd goes quiet. */
    sim_core_check(board);
}

/* ---- The host-built resource table (MicroPython's model) ---- */

int sim_host_table(void *ctx, struct amp_rpmsg_config *cfg)
{
    struct amp_sim_board *board = ctx;
    uint8_t *shared = board->mem[SIM_SHARED];

    /* A fresh shared region for every boot: nothing stale for the new core,
     * no doorbell of an earlier run; the set-up's own rings follow. */
    memset(shared, 0, AMP_SIM_SHARED_SIZE);
    uint64_t junk;
    while (read(board->to_core_fd, &junk, sizeof junk) > 0)
        ;
    if (board->has_layout) {
        sim_layout_config(board, cfg);  /* no table: the firmware knows the layout */
        /* No status byte either: like rpmsg-lite's master, ring once as the
         * link-up its remote waits for. No core runs yet; the doorbell stays
         * pending until it boots and looks. */
        sim_notify(board, cfg->vring_notifyid[0]);
        return 0;
    }
    /* MicroPython's layout, as the core writes it for every host. */
    int rc = amp_rpmsg_h747_build_table(shared);
    if (rc == 0)
        rc = amp_rpmsg_h747_config(shared, AMP_RPMSG_HOST, board->rpmsg_platform, cfg);
    return rc;
}

int amp_sim_rpmsg(struct amp_sim_board *board, struct amp_rpmsg_device **out)
{
    if (!board || !out)
        return -AMP_EINVAL;
    /* Set up once; after that the life cycle re-initialises it on each start.
     * Booting only (external_host): set up now, before the core boots, and
     * again once a stopped or crashed core took the rings with it. */
    bool set_up = !board->rpmsg.role || (board->external_host && !board->rpmsg.ready);
    if (set_up) {
        /* Never rebuild shared memory under a running core. */
        if (amp_rproc_state(&board->rproc) == AMP_RPROC_RUNNING)
            return -AMP_EBUSY;
        struct amp_rpmsg_config cfg;
        int rc = sim_host_table(board, &cfg);
        if (rc < 0)
            return rc;
        rc = amp_rpmsg_init(&board->rpmsg, &cfg);
        if (rc < 0)
            return rc;
    }
    *out = &board->rpmsg;
    return 0;
}

const struct amp_platform *amp_sim_platform(struct amp_sim_board *board)
{
    return board ? &board->platform : NULL;
}

struct amp_rproc *amp_sim_rproc(struct amp_sim_board *board)
{
    return board ? &board->rproc : NULL;
}

const struct amp_mem_map *amp_sim_mem_map(struct amp_sim_board *board)
{
    return board ? &board->map : NULL;
}

/* ---- Open and close ---- */

bool amp_sim_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > AMP_SIM_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static const uint64_t region_da[SIM_REGIONS] = { AMP_SIM_FLASH_DA, AMP_SIM_SRAM_DA,
                                                  AMP_SIM_SHARED_DA };

/* Map a region's file here: anywhere, or at its device address if asked. */
static int map_region(struct amp_sim_board *board, int idx, const char *what, size_t size,
                      char *errmsg, size_t errlen)
{
    void *want = board->map_at_da ? (void *)(uintptr_t)region_da[idx] : NULL;
    int flags = MAP_SHARED | (board->map_at_da ? MAP_FIXED_NOREPLACE : 0);
    void *p = mmap(want, size, PROT_READ | PROT_WRITE, flags, board->mem_fd[idx], 0);
    if (p != MAP_FAILED && want && p != want) {
        /* A kernel without MAP_FIXED_NOREPLACE took the address as a hint. */
        munmap(p, size);
        p = MAP_FAILED;
        errno = EEXIST;
    }
    if (p == MAP_FAILED) {
        int e = errno;
        if (want) {
            sim_errmsg(errmsg, errlen,
                       "board %s: %s: cannot map at its device address 0x%08lx: %s", board->name,
                       what, (unsigned long)region_da[idx],
                       e == EEXIST ? "the range is taken in this process" : strerror(e));
            return -AMP_EADDRINUSE;
        }
        sim_errmsg(errmsg, errlen, "board %s: %s: cannot map: %s", board->name, what,
                   strerror(e));
        return -AMP_EIO;
    }
    board->mem[idx] = p;
    return 0;
}

/* The persistent flash: erased (0xFF) when first created, like real flash. */
static int open_flash(struct amp_sim_board *board, char *errmsg, size_t errlen)
{
    int fd = shm_open(board->flash_shm, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        sim_errmsg(errmsg, errlen, "board %s: cannot open flash /dev/shm%s: %s", board->name,
                   board->flash_shm, strerror(errno));
        return -AMP_EIO;
    }
    board->mem_fd[SIM_FLASH] = fd;
    /* One host per board: two would boot two cores on one flash. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        sim_errmsg(errmsg, errlen, "board %s: %s", board->name,
                   e == EWOULDBLOCK ? "in use by another process" : strerror(e));
        return e == EWOULDBLOCK ? -AMP_EBUSY : -AMP_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sim_errmsg(errmsg, errlen, "board %s: flash: %s", board->name, strerror(errno));
        return -AMP_EIO;
    }
    bool fresh = st.st_size == 0;
    if (st.st_size != AMP_SIM_FLASH_SIZE && ftruncate(fd, AMP_SIM_FLASH_SIZE) != 0) {
        sim_errmsg(errmsg, errlen, "board %s: flash: cannot size: %s", board->name,
                   strerror(errno));
        return -AMP_EIO;
    }
    int rc = map_region(board, SIM_FLASH, "flash", AMP_SIM_FLASH_SIZE, errmsg, errlen);
    if (rc)
        return rc;
    if (fresh)
        memset(board->mem[SIM_FLASH], 0xFF, AMP_SIM_FLASH_SIZE);
    return 0;
}

/* Per-instance memory: an anonymous memfd, gone with its last user. */
static int open_ram(struct amp_sim_board *board, int idx, const char *what, size_t size,
                    char *errmsg, size_t errlen)
{
    char label[AMP_SIM_NAME_MAX + 16];
    snprintf(label, sizeof label, "amp-%s-%s", board->name, what);
    int fd = memfd_create(label, MFD_CLOEXEC);
    if (fd < 0) {
        sim_errmsg(errmsg, errlen, "board %s: %s: memfd_create: %s", board->name, what,
                   strerror(errno));
        return -AMP_EIO;
    }
    board->mem_fd[idx] = fd;
    if (ftruncate(fd, (off_t)size) != 0) {
        sim_errmsg(errmsg, errlen, "board %s: %s: cannot size: %s", board->name, what,
                   strerror(errno));
        return -AMP_EIO;
    }
    return map_region(board, idx, what, size, errmsg, errlen);
}

static int open_doorbells(struct amp_sim_board *board, char *errmsg, size_t errlen)
{
    board->to_core_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    board->to_host_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    board->notify_fd = epoll_create1(EPOLL_CLOEXEC);
    if (board->to_core_fd < 0 || board->to_host_fd < 0 || board->notify_fd < 0) {
        sim_errmsg(errmsg, errlen, "board %s: doorbells: %s", board->name, strerror(errno));
        return -AMP_EIO;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = board->to_host_fd };
    if (epoll_ctl(board->notify_fd, EPOLL_CTL_ADD, board->to_host_fd, &ev) != 0) {
        sim_errmsg(errmsg, errlen, "board %s: epoll: %s", board->name, strerror(errno));
        return -AMP_EIO;
    }
    return 0;
}

static const size_t region_size[SIM_REGIONS] = {
    AMP_SIM_FLASH_SIZE, AMP_SIM_SRAM_SIZE, AMP_SIM_SHARED_SIZE,
};

static void release(struct amp_sim_board *board)
{
    if (board->rproc.ops)
        amp_rproc_stop(&board->rproc);
    sim_core_kill(board);
    if (board->rpmsg.role) {
        /* Not ready first, so no announcement goes to a dead core; then
         * detach any endpoints the caller left registered. */
        amp_rpmsg_reset(&board->rpmsg);
        amp_rpmsg_deinit(&board->rpmsg);
    }
    for (int i = 0; i < SIM_REGIONS; i++) {
        if (board->mem[i])
            munmap(board->mem[i], region_size[i]);
        if (board->mem_fd[i] >= 0)
            close(board->mem_fd[i]);
    }
    if (board->to_core_fd >= 0)
        close(board->to_core_fd);
    if (board->to_host_fd >= 0)
        close(board->to_host_fd);
    if (board->notify_fd >= 0)
        close(board->notify_fd);
    free(board);
}

int amp_sim_open(struct amp_sim_board **out, const struct amp_sim_options *opt, char *errmsg,
                 size_t errlen)
{
    sim_errmsg(errmsg, errlen, "%s", "");
    if (!out) {
        sim_errmsg(errmsg, errlen, "amp_sim_open: no place for the board");
        return -AMP_EINVAL;
    }
    *out = NULL;
    const char *name = opt && opt->name ? opt->name : DEFAULT_NAME;
    if (!amp_sim_name_ok(name)) {
        sim_errmsg(errmsg, errlen,
                   "board name '%.80s' is invalid: use 1-%d of A-Z a-z 0-9 - _ . (not first)",
                   name, AMP_SIM_NAME_MAX);
        return -AMP_EINVAL;
    }
    enum amp_sim_wait_mode mode = opt ? opt->wait_mode : AMP_SIM_WAIT_BLOCKING;
    if (mode != AMP_SIM_WAIT_BLOCKING && mode != AMP_SIM_WAIT_POLLED &&
        mode != AMP_SIM_WAIT_ADAPTIVE) {
        sim_errmsg(errmsg, errlen, "board %s: unknown wait mode %d", name, (int)mode);
        return -AMP_EINVAL;
    }

    struct amp_sim_board *board = calloc(1, sizeof *board);
    if (!board) {
        sim_errmsg(errmsg, errlen, "board %s: out of memory", name);
        return -AMP_ENOSPC;
    }
    for (int i = 0; i < SIM_REGIONS; i++)
        board->mem_fd[i] = -1;
    board->to_core_fd = board->to_host_fd = board->notify_fd = -1;
    board->pid = -1;
    board->pidfd = -1;
    board->reason_fd = -1;
    snprintf(board->name, sizeof board->name, "%s", name);
    snprintf(board->flash_shm, sizeof board->flash_shm, "/amp-%s-flash", name);
    board->wait_mode = mode;
    board->remove_flash_on_close = opt && opt->remove_flash_on_close;
    board->cpu = opt && opt->pin_cpu ? opt->cpu : -1;
    board->external_host = opt && opt->external_host;
    board->map_at_da = opt && opt->map_at_device_address;

    int rc;
    if (opt && opt->simcore_path) {
        if (strlen(opt->simcore_path) >= sizeof board->simcore) {
            sim_errmsg(errmsg, errlen, "board %s: amp-simcore path too long", name);
            rc = -AMP_EINVAL;
            goto fail;
        }
        snprintf(board->simcore, sizeof board->simcore, "%s", opt->simcore_path);
    } else if (amp_sim_find_simcore(board->simcore, sizeof board->simcore) != 0) {
        sim_errmsg(errmsg, errlen,
                   "board %s: cannot find the helper program amp-simcore "
                   "(build it, or set AMP_SIMCORE to its path)", name);
        rc = -AMP_ENOENT;
        goto fail;
    }
    if (access(board->simcore, X_OK) != 0) {
        sim_errmsg(errmsg, errlen, "board %s: amp-simcore '%s': %s", name, board->simcore,
                   strerror(errno));
        rc = -AMP_ENOENT;
        goto fail;
    }

    rc = open_flash(board, errmsg, errlen);
    if (rc == 0)
        rc = open_ram(board, SIM_SRAM, "sram", AMP_SIM_SRAM_SIZE, errmsg, errlen);
    if (rc == 0)
        rc = open_ram(board, SIM_SHARED, "shared", AMP_SIM_SHARED_SIZE, errmsg, errlen);
    if (rc == 0)
        rc = open_doorbells(board, errmsg, errlen);
    if (rc != 0)
        goto fail;

    static const char *const names[SIM_REGIONS] = { "flash", "sram", "shared" };
    static const uint32_t flags[SIM_REGIONS] = { AMP_MEM_EXEC, AMP_MEM_EXEC, AMP_MEM_SHARED };
    for (int i = 0; i < SIM_REGIONS; i++)
        board->regions[i] = (struct amp_mem_region){ names[i], region_da[i], region_size[i],
                                                     board->mem[i], flags[i] };
    board->map = (struct amp_mem_map){ board->regions, SIM_REGIONS };
    board->platform = (struct amp_platform){ &sim_platform_ops, board };
    board->rpmsg_platform = opt && opt->rpmsg_platform ? opt->rpmsg_platform : &board->platform;
    amp_rproc_init(&board->rproc, &sim_board_ops, board, &board->map, board->rpmsg_platform,
                   &board->rpmsg);
    board->rproc.shared = &board->regions[SIM_SHARED];
    board->rproc.external_host = board->external_host;
    *out = board;
    return 0;

fail:
    release(board);
    return rc;
}

void amp_sim_close(struct amp_sim_board *board)
{
    if (!board)
        return;
    if (board->remove_flash_on_close && board->mem_fd[SIM_FLASH] >= 0)
        shm_unlink(board->flash_shm);
    release(board);
}

int amp_sim_region_fd(struct amp_sim_board *board, const char *region)
{
    if (!board || !region)
        return -AMP_EINVAL;
    for (int i = 0; i < SIM_REGIONS; i++)
        if (strcmp(region, board->regions[i].name) == 0)
            return board->mem_fd[i];
    return -AMP_ENOENT;
}
