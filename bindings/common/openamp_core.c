/*
 * openamp_core.c - the shared layer beneath the `openamp` modules (see
 * openamp_core.h): board, lock, receive thread, queues, bookkeeping.
 */
#include "openamp_core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum { CMD_STOP = 's', CMD_START = 'b' };

struct opc_state opc = {
    .wait_mode = -1,
    .remove_flash = -1,
    .cpu = INT_MIN,
    .ctl = { -1, -1 },
    .reply = { -1, -1 },
};

/* Set in the receive thread: it has no interpreter to release. */
static __thread bool in_rx_thread;
/* This thread holds the board mutex (opc.lock_depth is then its count);
 * thread-local, so asking needs no shared read. */
static __thread bool lock_held_here;

static bool lock_mine(void);
static int core_wait(void *ctx, int32_t timeout_ms);

/* ---- Errors ---- */

/* Formats: only %s %.*s %c %d %u %x %ld %lu %lx (with width/zero fill). MicroPython
 * links its own vsnprintf, which has no %z, %ll or %j. */
int opc_fail(struct opc_err *e, enum opc_exc kind, int err, const char *fmt, ...)
{
    if (!e)
        return -1;
    e->kind = kind;
    e->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_pending(struct opc_err *e)
{
    e->kind = OPC_EXC_PENDING;
    e->err = 0;
    e->msg[0] = '\0';
    return -1;
}

/* ---- The interpreter ---- */

static void *interp_release(void)
{
    if (in_rx_thread || !opc.ops->release_interp)
        return NULL;
    return opc.ops->release_interp();
}

static void interp_acquire(void *token)
{
    if (!in_rx_thread && opc.ops->acquire_interp)
        opc.ops->acquire_interp(token);
}

static bool main_thread(void)
{
    return !in_rx_thread && (!opc.ops->is_main_thread || opc.ops->is_main_thread());
}

static uint32_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* ---- The board lock: re-entrant for its owner ---- */

static bool lock_mine(void)
{
    return lock_held_here;
}

static void lock_take(void)
{
    if (lock_mine()) {
        opc.lock_depth++;
        return;
    }
    if (pthread_mutex_trylock(&opc.mutex) != 0) {
        /* Let the interpreter run: the holder may need it to finish. */
        void *t = interp_release();
        pthread_mutex_lock(&opc.mutex);
        interp_acquire(t);
    }
    lock_held_here = true;
    opc.lock_depth = 1;
}

static void lock_give(void)
{
    if (--opc.lock_depth > 0)
        return;
    lock_held_here = false;
    pthread_mutex_unlock(&opc.mutex);
}

void opc_leave(void)
{
    lock_give();
}

bool opc_is_open(void)
{
    return opc.phase == OPC_OPEN;
}

int opc_init(const struct opc_ops *ops)
{
    if (opc.ops)
        return 0;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&opc.event, &ca) != 0 || pthread_mutex_init(&opc.mutex, NULL) != 0)
        return -1;
    pthread_condattr_destroy(&ca);
    opc.ops = ops;
    return 0;
}

/* ---- Configuration ---- */

static int parse_wait_mode(const char *s, int *out)
{
    if (!strcmp(s, "blocking"))
        *out = AMP_SIM_WAIT_BLOCKING;
    else if (!strcmp(s, "polled"))
        *out = AMP_SIM_WAIT_POLLED;
    else if (!strcmp(s, "adaptive"))
        *out = AMP_SIM_WAIT_ADAPTIVE;
    else
        return -1;
    return 0;
}

int opc_configure(const struct opc_settings *s, struct opc_err *e)
{
    if (s->board && strcmp(s->board, OPC_BOARD_DEFAULT) != 0)
        return opc_fail(e, OPC_EXC_VALUE, 0, "configure(): unknown board '%.100s'; the only "
                        "board is '" OPC_BOARD_DEFAULT "'", s->board);
    if (s->name && !amp_sim_name_ok(s->name))
        return opc_fail(e, OPC_EXC_VALUE, 0, "configure(): board name '%.100s' is invalid: "
                        "use 1-%d of A-Z a-z 0-9 - _ . (not starting with '.')", s->name,
                        AMP_SIM_NAME_MAX);
    int wait_mode = -1;
    if (s->wait_mode && parse_wait_mode(s->wait_mode, &wait_mode) != 0)
        return opc_fail(e, OPC_EXC_VALUE, 0, "configure(): wait_mode '%.100s' is unknown: use "
                        "'blocking', 'polled' or 'adaptive'", s->wait_mode);
    if (s->simcore && (!*s->simcore || strlen(s->simcore) >= sizeof opc.simcore))
        return opc_fail(e, OPC_EXC_VALUE, 0, "configure(): simcore must be a non-empty path");
    if (s->cpu != INT_MIN && (s->cpu < -1 || s->cpu > 4096))
        return opc_fail(e, OPC_EXC_VALUE, 0, "configure(): cpu must be a CPU number or -1, "
                        "not %ld", s->cpu);
    if (opc.phase != OPC_UNUSED)
        return opc_fail(e, OPC_EXC_RUNTIME, 0, "openamp.configure() must come before the first "
                        "Endpoint, RemoteProc or new_service_callback(): the board is already "
                        "open");
    if (s->name)
        snprintf(opc.board_name, sizeof opc.board_name, "%s", s->name);
    if (s->simcore)
        snprintf(opc.simcore, sizeof opc.simcore, "%s", s->simcore);
    if (wait_mode >= 0)
        opc.wait_mode = wait_mode;
    if (s->remove_flash >= 0)
        opc.remove_flash = s->remove_flash;
    if (s->cpu != INT_MIN)
        opc.cpu = (int)s->cpu;
    return 0;
}

static int env_flag(const char *var, int *out, struct opc_err *e)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return 0;
    if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
        !strcasecmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") ||
             !strcasecmp(v, "off"))
        *out = 0;
    else
        return opc_fail(e, OPC_EXC_VALUE, 0, "environment variable %s=%.100s: use 1 or 0", var,
                        v);
    return 0;
}

/* Fill in what configure() left unset from OPENAMP_* variables. */
static int apply_environment(struct opc_err *e)
{
    const char *board = getenv("OPENAMP_BOARD");
    if (board && *board && strcmp(board, OPC_BOARD_DEFAULT) != 0)
        return opc_fail(e, OPC_EXC_VALUE, 0, "environment variable OPENAMP_BOARD=%.100s: unknown "
                        "board; the only board is '" OPC_BOARD_DEFAULT "'", board);
    if (!opc.board_name[0]) {
        const char *name = getenv("OPENAMP_SIM_NAME");
        if (name && *name) {
            if (strlen(name) > AMP_SIM_NAME_MAX)
                return opc_fail(e, OPC_EXC_VALUE, 0, "environment variable OPENAMP_SIM_NAME is "
                                "longer than %d characters", AMP_SIM_NAME_MAX);
            snprintf(opc.board_name, sizeof opc.board_name, "%s", name);
        }
    }
    if (opc.wait_mode < 0) {
        const char *mode = getenv("OPENAMP_SIM_WAIT");
        opc.wait_mode = AMP_SIM_WAIT_BLOCKING;
        if (mode && *mode && parse_wait_mode(mode, &opc.wait_mode) != 0)
            return opc_fail(e, OPC_EXC_VALUE, 0, "environment variable OPENAMP_SIM_WAIT=%.100s: "
                            "use blocking, polled or adaptive", mode);
    }
    if (opc.remove_flash < 0) {
        opc.remove_flash = 0;
        if (env_flag("OPENAMP_SIM_REMOVE_FLASH", &opc.remove_flash, e) < 0)
            return -1;
    }
    if (opc.cpu == INT_MIN) {
        const char *cpu = getenv("OPENAMP_SIM_CPU");
        opc.cpu = -1;
        if (cpu && *cpu) {
            char *end;
            errno = 0;
            long v = strtol(cpu, &end, 10);
            if (errno || *end || v < -1 || v > 4096)
                return opc_fail(e, OPC_EXC_VALUE, 0, "environment variable OPENAMP_SIM_CPU="
                                "%.100s: use a CPU number, or -1", cpu);
            opc.cpu = (int)v;
        }
    }
    return 0;
}

/* ---- Argument rules ---- */

int opc_check_name(const char *utf8, size_t len, char out[AMP_RPMSG_NAME_LEN],
                   struct opc_err *e)
{
    if (len > AMP_RPMSG_NAME_LEN - 1)
        return opc_fail(e, OPC_EXC_VALUE, 0, "Endpoint name '%.*s' is %lu bytes long in UTF-8; "
                        "an RPMsg name holds at most %d", (int)(len > 64 ? 64 : len), utf8,
                        (unsigned long)len,
                        AMP_RPMSG_NAME_LEN - 1);
    if (memchr(utf8, '\0', len))
        return opc_fail(e, OPC_EXC_VALUE, 0, "Endpoint name must not contain NUL characters");
    memset(out, 0, AMP_RPMSG_NAME_LEN);
    memcpy(out, utf8, len);
    return 0;
}

int opc_check_addr(long long v, bool overflow, const char *what, uint32_t *out,
                   struct opc_err *e)
{
    if (overflow || v < -1 || v > (long long)AMP_RPMSG_ADDR_ANY)
        return opc_fail(e, OPC_EXC_VALUE, 0, "%s must be an address from 0 to 0xFFFFFFFF, or -1 "
                        "for ENDPOINT_ADDR_ANY, not %s", what,
                        overflow ? "a number that large" : "that value");
    *out = v == -1 ? AMP_RPMSG_ADDR_ANY : (uint32_t)v;
    return 0;
}

int opc_check_timeout(long long v, bool overflow, int32_t *out, struct opc_err *e)
{
    if (overflow || v < -1 || v > INT32_MAX)
        return opc_fail(e, OPC_EXC_VALUE, 0, "timeout must be -1 (wait forever), 0 (try once) or "
                        "a number of milliseconds up to %d, not %ld", INT32_MAX,
                        overflow ? LONG_MAX : (long)v);
    *out = (int32_t)v;
    return 0;
}

int opc_check_entry(long long v, bool overflow, uint64_t *out, struct opc_err *e)
{
    if (overflow || v < 0 || v > 0xFFFFFFFFLL)
        return opc_fail(e, OPC_EXC_VALUE, 0, "RemoteProc entry address must be from 0 to "
                        "0xFFFFFFFF, not %ld", overflow ? LONG_MAX : (long)v);
    *out = (uint64_t)v;
    return 0;
}

/* ---- The platform the rpmsg device sees: the board's, with our wait ---- */

static void p_notify(void *ctx, uint32_t queue_id)
{
    (void)ctx;
    opc.board_platform->ops->notify(opc.board_platform->ctx, queue_id);
}

static uint32_t p_time_ms(void *ctx)
{
    (void)ctx;
    return opc.board_platform->ops->time_ms(opc.board_platform->ctx);
}

static void *p_da_to_va(void *ctx, uint64_t da, size_t len)
{
    (void)ctx;
    const struct amp_platform *in = opc.board_platform;
    return in->ops->da_to_va ? in->ops->da_to_va(in->ctx, da, len) : NULL;
}

static void p_cache_flush(void *ctx, const void *addr, size_t len)
{
    (void)ctx;
    amp_cache_flush(opc.board_platform, addr, len);
}

static void p_cache_invalidate(void *ctx, void *addr, size_t len)
{
    (void)ctx;
    amp_cache_invalidate(opc.board_platform, addr, len);
}

static void build_platform(void)
{
    opc.platform_ops = (struct amp_platform_ops){
        .notify = p_notify,
        .wait = core_wait,
        .time_ms = p_time_ms,
        .cache_flush = p_cache_flush,
        .cache_invalidate = p_cache_invalidate,
        .da_to_va = p_da_to_va,
    };
    opc.platform = (struct amp_platform){ &opc.platform_ops, NULL };
}

/* ---- Receive queues (board lock held) ---- */

static void q_copy_in(struct opc_ept *e, uint32_t at, const void *src, uint32_t n)
{
    at %= OPC_RXQ_BYTES;
    uint32_t first = OPC_RXQ_BYTES - at < n ? OPC_RXQ_BYTES - at : n;
    memcpy(e->q + at, src, first);
    memcpy(e->q, (const uint8_t *)src + first, n - first);
}

static void q_copy_out(const struct opc_ept *e, uint32_t at, void *dst, uint32_t n)
{
    at %= OPC_RXQ_BYTES;
    uint32_t first = OPC_RXQ_BYTES - at < n ? OPC_RXQ_BYTES - at : n;
    memcpy(dst, e->q + at, first);
    memcpy((uint8_t *)dst + first, e->q, n - first);
}

static bool q_put(struct opc_ept *e, uint32_t src, const void *data, uint32_t len)
{
    uint32_t need = 8u + len;
    if (!e->q || e->q_used + need > OPC_RXQ_BYTES)
        return false;
    uint32_t hdr[2] = { src, len };
    uint32_t at = e->q_head + e->q_used;
    q_copy_in(e, at, hdr, sizeof hdr);
    q_copy_in(e, at + 8u, data, len);
    e->q_used += need;
    e->q_count++;
    return true;
}

static void event_fd_set(struct opc_ept *e, bool readable)
{
    if (e->event_fd < 0 || e->fd_readable == readable)
        return;
    e->fd_readable = readable;
    uint64_t v = 1;
    if (readable)
        (void)!write(e->event_fd, &v, sizeof v);
    else
        (void)!read(e->event_fd, &v, sizeof v);   /* non-blocking: clears it */
}

/* Board lock held. */
static uint32_t pending(const struct opc_ept *e)
{
    return e->q_count + e->held_count;
}

uint32_t opc_ept_pending(const struct opc_ept *e)
{
    if (!opc_is_open())
        return 0;
    lock_take();
    uint32_t n = pending(e);
    lock_give();
    return n;
}

/* Move held ring buffers into the queue while there is room: returned to
 * the remote as they go. */
static void q_refill(struct opc_ept *e)
{
    while (e->held_count) {
        unsigned i = e->held_head;
        if (!q_put(e, e->held[i].src, e->held[i].data, e->held[i].len))
            break;
        if (opc.dev && opc.dev->ready)
            (void)amp_rpmsg_release_rx_buffer(opc.dev, e->held[i].data);
        e->held_head = (e->held_head + 1u) % OPC_HELD_MAX;
        e->held_count--;
    }
}

/* Take the oldest message: its length, copied to buf (OPC_MSG_MAX). */
static uint32_t q_get(struct opc_ept *e, void *buf, uint32_t *src)
{
    q_refill(e);   /* a held message may be the only one */
    uint32_t hdr[2];
    q_copy_out(e, e->q_head, hdr, sizeof hdr);
    uint32_t len = hdr[1];
    q_copy_out(e, e->q_head + 8u, buf, len);
    e->q_head = (e->q_head + 8u + len) % OPC_RXQ_BYTES;
    e->q_used -= 8u + len;
    e->q_count--;
    *src = hdr[0];
    q_refill(e);
    if (!pending(e) && opc.dev && opc.dev->ready)
        event_fd_set(e, false);
    return len;
}

/* The rings went away (core stopped, crashed, restarting): held buffers
 * with them, and the services the remote offered. */
static void forget_held(void)
{
    opc.nservices = 0;   /* the remote offers nothing any more */
    for (struct opc_ept *e = opc.epts; e; e = e->next) {
        e->lost += e->held_count;
        e->held_count = 0;
    }
}

/* Descriptors: readable with messages, and while the core is gone (so a
 * waiter wakes and recv() says why). */
static void update_fds(void)
{
    bool gone = !opc.dev || !opc.dev->ready;
    for (struct opc_ept *e = opc.epts; e; e = e->next)
        event_fd_set(e, gone || pending(e));
}

/* A message for an endpoint (board lock held; receive thread, or a thread
 * pumping for itself). Never calls the interpreter. */
static int ept_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                  void *priv)
{
    (void)ept;
    struct opc_ept *e = priv;
    if (len > OPC_MSG_MAX)
        return -AMP_EMSGSIZE;   /* cannot happen on this board: counted in rx_dropped */
    bool was_empty = !pending(e);
    int rc = AMP_RPMSG_RELEASE;
    if (e->held_count || !q_put(e, src, data, (uint32_t)len)) {
        if (e->held_count == OPC_HELD_MAX)
            return -AMP_ENOBUFS;   /* OPC_HELD_MAX below the ring's buffers: a port's error */
        unsigned i = (e->held_head + e->held_count) % OPC_HELD_MAX;
        e->held[i].data = data;
        e->held[i].len = (uint32_t)len;
        e->held[i].src = src;
        e->held_count++;
        rc = AMP_RPMSG_HOLD;   /* back-pressure: the remote gets it back later */
    }
    e->received++;
    if (was_empty)
        event_fd_set(e, true);
    if (e->has_callback)
        opc.want_schedule = true;
    return rc;
}

/* ---- Services remembered ---- */

const struct opc_service *opc_service_find(const char *name)
{
    for (unsigned i = 0; i < opc.nservices; i++)
        if (!strncmp(opc.services[i].name, name, AMP_RPMSG_NAME_LEN))
            return &opc.services[i];
    return NULL;
}

static void service_forget(const char *name)
{
    for (unsigned i = 0; i < opc.nservices; i++) {
        if (!strncmp(opc.services[i].name, name, AMP_RPMSG_NAME_LEN)) {
            memmove(&opc.services[i], &opc.services[i + 1],
                    (opc.nservices - i - 1) * sizeof opc.services[0]);
            opc.nservices--;
            return;
        }
    }
}

static void service_remember(const char *name, uint32_t addr, bool heard)
{
    service_forget(name);
    if (opc.nservices == OPC_SERVICES) {   /* drop the oldest */
        memmove(&opc.services[0], &opc.services[1],
                (OPC_SERVICES - 1) * sizeof opc.services[0]);
        opc.nservices--;
    }
    struct opc_service *s = &opc.services[opc.nservices++];
    memset(s->name, 0, sizeof s->name);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->addr = addr;
    s->heard = heard;
}

void opc_set_ns_callback(bool set)
{
    opc.ns_callback = set;
    /* A new callback hears what was announced before it. */
    for (unsigned i = 0; i < opc.nservices; i++)
        opc.services[i].heard = !set;
    if (set && opc.nservices)
        opc.want_schedule = true;
}

void opc_kick(void)
{
    if (opc.phase == OPC_OPEN && opc.want_schedule && opc.ops->schedule)
        (void)opc.ops->schedule();   /* a failure: the next receive round asks again */
}

/* The remote announced or withdrew a name no local endpoint has. */
static void on_ns(struct amp_rpmsg_device *dev, const char *name, uint32_t addr, uint32_t flags,
                  void *priv)
{
    (void)dev;
    (void)priv;
    if (flags == AMP_RPMSG_NS_DESTROY) {
        service_forget(name);
        return;
    }
    service_remember(name, addr, !opc.ns_callback);
    if (opc.ns_callback)
        opc.want_schedule = true;
}

/* The remote withdrew the service an endpoint of ours was bound to. */
static void on_unbind(struct amp_rpmsg_endpoint *ept, void *priv)
{
    (void)priv;
    if (opc.dev && opc.dev->ready)
        service_forget(ept->name);
}

/* ---- One receive round (board lock held) ---- */

static void pump(void)
{
    amp_sim_ack(opc.board);
    (void)amp_rproc_state(opc.rproc);   /* a crash resets the device */
    if (!opc.dev->ready) {
        forget_held();
        update_fds();
    } else {
        int rc = amp_rpmsg_poll(opc.dev);
        if (rc == -AMP_EBADMSG && !opc.ring_error_reported) {
            opc.ring_error_reported = true;
            opc.ring_error = rc;
            opc.want_schedule = true;
        }
    }
    opc.event_seq++;
    pthread_cond_broadcast(&opc.event);
}

/* ---- Waiting ---- */

static void deadline_ts(struct timespec *ts, int32_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/*
 * Sleep until the next receive round (or ms passes), with neither the board
 * lock nor the interpreter; the caller holds the lock exactly once. Without
 * a receive thread to do it, or when the lock cannot be let go (held deeper
 * up the stack), sleep on the doorbell and do the round here.
 */
static int wait_round(int32_t ms)
{
    if (opc.rx_running && lock_mine() && opc.lock_depth == 1) {
        uint64_t seq = opc.event_seq;
        void *t = interp_release();
        opc.lock_depth = 0;
        lock_held_here = false;
        opc.blocked++;
        struct timespec ts;
        if (ms >= 0)
            deadline_ts(&ts, ms);
        int rc = 0;
        while (opc.event_seq == seq && rc != ETIMEDOUT)
            rc = ms < 0 ? pthread_cond_wait(&opc.event, &opc.mutex)
                        : pthread_cond_timedwait(&opc.event, &opc.mutex, &ts);
        opc.blocked--;
        pthread_mutex_unlock(&opc.mutex);
        interp_acquire(t);
        lock_take();
        return 0;
    }
    struct pollfd pfd = { .fd = amp_sim_notify_fd(opc.board), .events = POLLIN };
    void *t = interp_release();
    int n = poll(&pfd, 1, ms);
    interp_acquire(t);
    if (n > 0)
        pump();
    return 0;
}

/* In a main-thread wait: signals, then callbacks queued meanwhile. */
static int wait_extras(void)
{
    if (!main_thread())
        return 0;
    if (opc.ops->check_signals && opc.ops->check_signals() < 0)
        return -1;
    if (!opc.delivering && opc.want_schedule) {
        /* Other endpoints' callbacks run while this thread waits. */
        int depth = opc.lock_depth;
        if (depth == 1) {
            lock_give();
            int rc = opc_deliver();
            lock_take();
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

/*
 * The rpmsg device's platform wait: inside amp_rpmsg_send* when no transmit
 * buffer is free (the core has asked the remote to ring when one comes
 * back). 0 to look again, -AMP_ETIMEDOUT, -AMP_ENODEV (the core went away),
 * -AMP_EIO (interrupted: the interpreter's exception is set).
 */
static int core_wait(void *ctx, int32_t timeout_ms)
{
    (void)ctx;
    uint32_t start = now_ms();
    bool main = main_thread();
    for (;;) {
        int32_t left = timeout_ms;
        if (timeout_ms > 0) {
            uint32_t gone = now_ms() - start;
            if (gone >= (uint32_t)timeout_ms)
                return -AMP_ETIMEDOUT;
            left = (int32_t)((uint32_t)timeout_ms - gone);
        }
        if (main && (left < 0 || left > OPC_SIGNAL_SLICE_MS))
            left = OPC_SIGNAL_SLICE_MS;
        uint64_t seq = opc.event_seq;
        if (opc.wait_mode == AMP_SIM_WAIT_POLLED && !in_rx_thread) {
            /* Spin: do the round here, letting others in briefly. */
            pump();
            struct timespec ts = { 0, 50 * 1000 };
            bool mine = lock_mine() && opc.lock_depth == 1;
            if (mine)
                lock_give();
            void *t = interp_release();
            nanosleep(&ts, NULL);
            interp_acquire(t);
            if (mine)
                lock_take();
        } else {
            wait_round(left);
        }
        if (!opc.dev->ready)
            return -AMP_ENODEV;
        if (wait_extras() < 0)
            return -AMP_EIO;
        if (!opc.dev->ready)
            return -AMP_ENODEV;
        if (opc.event_seq != seq)
            return 0;   /* something happened: the caller looks again */
        if (timeout_ms == 0)
            return -AMP_ETIMEDOUT;
    }
}

/* ---- The receive thread ---- */

/* Move all n bytes through a pipe (write if out, else read): 0 or -1. */
static int pipe_all(int fd, void *buf, size_t n, bool out)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = out ? write(fd, (const char *)buf + done, n - done)
                        : read(fd, (char *)buf + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        done += (size_t)k;
    }
    return 0;
}

static void rx_answer_start(void)
{
    int rc = amp_rproc_start(opc.rproc);
    (void)pipe_all(opc.reply[1], &rc, sizeof rc, true);
}

/* A command from the control pipe: false for stop. */
static bool rx_command(void)
{
    char cmd;
    ssize_t got = read(opc.ctl[0], &cmd, 1);
    if (got == 1 && cmd == CMD_STOP)
        return false;
    if (got == 1 && cmd == CMD_START) {
        /*
         * The core process is started from this thread, which lives as
         * long as the board: the core dies with the thread that forked it
         * (PR_SET_PDEATHSIG), so a short-lived interpreter thread must not
         * be the one. The caller holds the board lock and waits for us.
         */
        rx_answer_start();
    }
    return true;
}

/* Take the board lock, answering commands meanwhile (start() holds the lock
 * while it waits for this thread). False for stop. */
static bool rx_lock(void)
{
    while (pthread_mutex_trylock(&opc.mutex) != 0) {
        struct pollfd pfd = { .fd = opc.ctl[0], .events = POLLIN };
        if (poll(&pfd, 1, 1) > 0 && (pfd.revents & POLLIN) && !rx_command())
            return false;
    }
    lock_held_here = true;
    opc.lock_depth = 1;
    return true;
}

static void *rx_main(void *arg)
{
    (void)arg;
    in_rx_thread = true;
    int notify_fd = amp_sim_notify_fd(opc.board);
    bool retry = false;
    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = opc.ctl[0], .events = POLLIN },
            { .fd = notify_fd, .events = POLLIN },
        };
        int n = poll(pfd, 2, retry ? 1 : -1);
        if (n < 0 && errno != EINTR) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };   /* do not spin */
            nanosleep(&ts, NULL);
            continue;
        }
        if (n > 0 && (pfd[0].revents & POLLIN) && !rx_command())
            return NULL;
        bool schedule = false;
        if (n > 0 && (pfd[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            if (!rx_lock())
                return NULL;
            if (opc.phase == OPC_OPEN && opc.dev)
                pump();
            schedule = opc.want_schedule;
            lock_give();
        }
        if (schedule || retry)
            retry = !opc.ops->schedule();
    }
}

static int write_byte(int fd, char c)
{
    ssize_t n;
    do
        n = write(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

static int start_rx_thread(struct opc_err *e)
{
    if (pipe2(opc.ctl, O_CLOEXEC) != 0 || pipe2(opc.reply, O_CLOEXEC) != 0)
        return opc_fail(e, OPC_EXC_OS, errno, "openamp: cannot create a pipe: %s",
                        strerror(errno));
    /* The thread takes no signals: they belong to the interpreter's thread. */
    sigset_t all, old;
    sigfillset(&all);
    int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc == 0) {
        rc = pthread_create(&opc.rx_thread, NULL, rx_main, NULL);
        int rc2 = pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc == 0)
            rc = rc2;
    }
    if (rc != 0)
        return opc_fail(e, OPC_EXC_OS, rc, "openamp: cannot start the receive thread: %s",
                        strerror(rc));
    opc.rx_running = true;
    return 0;
}

/* Lock held (depth 1): released while joining, as the thread may want it. */
static void stop_rx_thread(void)
{
    if (opc.rx_running) {
        int depth = opc.lock_depth;
        opc.lock_depth = 0;
        lock_held_here = false;
        pthread_mutex_unlock(&opc.mutex);
        void *t = interp_release();
        int rc = write_byte(opc.ctl[1], CMD_STOP);
        if (rc == 0)
            rc = pthread_join(opc.rx_thread, NULL);
        interp_acquire(t);
        lock_take();
        opc.lock_depth = depth;
        if (rc == 0)
            opc.rx_running = false;
    }
    for (int i = 0; i < 2; i++) {
        if (!opc.rx_running && opc.ctl[i] >= 0) {
            close(opc.ctl[i]);
            opc.ctl[i] = -1;
        }
        if (!opc.rx_running && opc.reply[i] >= 0) {
            close(opc.reply[i]);
            opc.reply[i] = -1;
        }
    }
}

/* ---- Opening and closing ---- */

static int open_error(int rc, const char *msg, struct opc_err *e)
{
    const char *name = opc.board_name[0] ? opc.board_name : OPC_BOARD_DEFAULT;
    int err = rc == -AMP_ENOENT ? ENOENT : rc == -AMP_EBUSY ? EBUSY
            : rc == -AMP_EINVAL ? EINVAL : rc == -AMP_ENOSPC ? ENOMEM : EIO;
    const char *why = msg && *msg ? msg : amp_strerror(rc);
    const char *hint = rc == -AMP_EBUSY ? " (choose another board name with "
                                          "openamp.configure(name=...) or OPENAMP_SIM_NAME)" : "";
    return opc_fail(e, rc == -AMP_EINVAL ? OPC_EXC_VALUE : OPC_EXC_OS, err,
                    "openamp: cannot open the simulated board %s: %s%s", name, why, hint);
}

/*
 * In a child forked from a process with an open board: the board, its core
 * and its lock belong to the parent. Only plain stores: this also runs
 * between fork and exec of the core process itself.
 */
static void atfork_child(void)
{
    if (opc.phase == OPC_OPEN) {
        opc.phase = OPC_CLOSED;
        opc.forked = true;
        opc.rx_running = false;
    }
}

/* Lock held. */
static int board_open(struct opc_err *e)
{
    if (apply_environment(e) < 0)
        return -1;
    build_platform();
    struct amp_sim_options opt = {
        .name = opc.board_name[0] ? opc.board_name : NULL,
        .simcore_path = opc.simcore[0] ? opc.simcore : NULL,
        .wait_mode = (enum amp_sim_wait_mode)opc.wait_mode,
        .remove_flash_on_close = opc.remove_flash == 1,
        .pin_cpu = opc.cpu >= 0,
        .cpu = opc.cpu,
        .rpmsg_platform = &opc.platform,
    };
    char msg[300] = "";
    int rc = amp_sim_open(&opc.board, &opt, msg, sizeof msg);
    if (rc != 0) {
        opc.board = NULL;
        return open_error(rc, msg, e);
    }
    opc.board_platform = amp_sim_platform(opc.board);
    rc = amp_sim_rpmsg(opc.board, &opc.dev);
    if (rc != 0) {
        amp_sim_close(opc.board);
        opc.board = NULL;
        return open_error(rc, "cannot set up the rpmsg device", e);
    }
    opc.rproc = amp_sim_rproc(opc.board);
    /* No core runs yet: not ready until the first start (endpoints made
     * meanwhile are announced then). */
    amp_rpmsg_reset(opc.dev);
    amp_rpmsg_set_ns_callback(opc.dev, on_ns, NULL);
    if (!opc.atfork_registered) {
        int err = pthread_atfork(NULL, NULL, atfork_child);
        if (err != 0) {
            amp_sim_close(opc.board);
            opc.board = NULL;
            return opc_fail(e, OPC_EXC_OS, err, "openamp: pthread_atfork: %s", strerror(err));
        }
        opc.atfork_registered = true;
    }
    if (start_rx_thread(e) < 0) {
        stop_rx_thread();
        amp_sim_close(opc.board);
        opc.board = NULL;
        return -1;
    }
    opc.phase = OPC_OPEN;
    return 0;
}

int opc_enter(struct opc_err *e)
{
    if (opc.phase == OPC_CLOSED)
        return opc_fail(e, OPC_EXC_RUNTIME, 0, "%s",
                        opc.forked ? "openamp: this process was forked from the one that "
                                     "opened the board; only that process can use it"
                                   : "openamp: the board was closed (the interpreter is "
                                     "exiting)");
    lock_take();
    if (opc.phase == OPC_OPEN)
        return 0;
    if (opc.phase == OPC_UNUSED && board_open(e) == 0)
        return 0;
    if (opc.phase == OPC_CLOSED)
        opc_fail(e, OPC_EXC_RUNTIME, 0, "openamp: the board was closed");
    lock_give();
    return -1;
}

void opc_close(void)
{
    if (opc.phase != OPC_OPEN)
        return;
    lock_take();
    (void)amp_rproc_shutdown(opc.rproc);
    opc.rproc_owner = NULL;
    forget_held();
    stop_rx_thread();
    /* A thread still asleep in a wait would wake up to a freed board. */
    if (opc.blocked == 0 && !opc.rx_running) {
        amp_sim_close(opc.board);
        opc.board = NULL;
        opc.dev = NULL;
        opc.rproc = NULL;
    }
    opc.phase = OPC_CLOSED;
    opc.event_seq++;
    pthread_cond_broadcast(&opc.event);   /* waiters look again and see it closed */
    opc.ns_callback = false;
    opc.nservices = 0;
    /* Endpoints still alive become inert. */
    for (struct opc_ept *e = opc.epts; e; e = e->next)
        e->ept.dev = NULL;
    lock_give();
}

/* ---- Delivery: callbacks in the main thread ---- */

/* The next endpoint with a message for its callback, one per endpoint per
 * round so a busy endpoint cannot starve the others. */
static struct opc_ept *next_to_deliver(void)
{
    for (int pass = 0; pass < 2; pass++) {
        for (struct opc_ept *e = opc.epts; e; e = e->next)
            if (e->has_callback && pending(e) && e->round != opc.round) {
                e->round = opc.round;
                return e;
            }
        opc.round++;
    }
    return NULL;
}

int opc_deliver(void)
{
    if (opc.phase != OPC_OPEN || opc.delivering)
        return 0;
    lock_take();
    opc.delivering = true;
    opc.want_schedule = false;
    uint8_t buf[OPC_MSG_MAX];
    char name[AMP_RPMSG_NAME_LEN];
    int rc = 0;
    while (rc == 0 && opc.phase == OPC_OPEN) {
        if (opc.ring_error) {
            char msg[200];
            snprintf(msg, sizeof msg, "openamp: the remote core corrupted the receive ring "
                     "(%s); no more messages can be received until it is restarted",
                     amp_strerror(opc.ring_error));
            opc.ring_error = 0;
            lock_give();
            if (opc.ops->warn)
                opc.ops->warn(msg);
            lock_take();
            continue;
        }
        struct opc_service *svc = NULL;
        for (unsigned i = 0; opc.ns_callback && i < opc.nservices && !svc; i++)
            if (!opc.services[i].heard) {
                svc = &opc.services[i];
                svc->heard = true;
                /* Only names no local endpoint has, as for a fresh announcement. */
                for (struct opc_ept *e = opc.epts; e && svc; e = e->next)
                    if (!strncmp(e->name, svc->name, AMP_RPMSG_NAME_LEN))
                        svc = NULL;
            }
        if (svc) {
            memcpy(name, svc->name, sizeof name);
            uint32_t addr = svc->addr;
            lock_give();
            rc = opc.ops->on_service(addr, name);
            lock_take();
            continue;
        }
        struct opc_ept *e = next_to_deliver();
        if (!e)
            break;
        uint32_t src;
        uint32_t len = q_get(e, buf, &src);
        void *owner = e->owner;
        opc.ops->ref(owner);
        lock_give();
        rc = opc.ops->on_message(owner, src, buf, len);
        opc.ops->unref(owner);   /* may finalise it: it takes the lock itself */
        lock_take();
    }
    opc.delivering = false;
    if (rc < 0) {
        /* A round ended early (Ctrl-C in a callback): what is left is
         * delivered by the next one, whether or not more arrives. */
        for (struct opc_ept *e = opc.epts; e; e = e->next)
            if (e->has_callback && pending(e))
                opc.want_schedule = true;
    }
    lock_give();
    if (rc < 0)
        opc_kick();
    return rc < 0 ? -1 : 0;
}

/* ---- Endpoints ---- */

int opc_not_running_error(const char *what, struct opc_err *e)
{
    enum amp_rproc_state st = amp_rproc_state(opc.rproc);
    switch (st) {
    case AMP_RPROC_CRASHED: {
        char why[200];   /* the emulated M4 names what, pc, lr, sp, xPSR */
        opc_crash_reason(why, sizeof why);
        return opc_fail(e, OPC_EXC_OS, ENODEV, "%s: the remote core is gone: it crashed or "
                        "exited%s%s%s. Restart it with RemoteProc.start()", what,
                        why[0] ? " (" : "", why, why[0] ? ")" : "");
    }
    case AMP_RPROC_STOPPED:
        return opc_fail(e, OPC_EXC_OS, ENOTCONN, "%s: the remote core is stopped. Start it "
                        "again with RemoteProc.start()", what);
    case AMP_RPROC_RUNNING:
        return opc_fail(e, OPC_EXC_OS, ENOTCONN, "%s: the remote core was restarted "
                        "meanwhile; wait until is_ready() is True and send again", what);
    default:
        return opc_fail(e, OPC_EXC_OS, ENOTCONN, "%s: the remote core is not running. Load "
                        "and start it with openamp.RemoteProc(...).start()", what);
    }
}

static void unlink_ept(struct opc_ept *ept)
{
    for (struct opc_ept **link = &opc.epts; *link; link = &(*link)->next)
        if (*link == ept) {
            *link = ept->next;
            break;
        }
    ept->next = NULL;
}

/* Make sure a transmit buffer is free for an announcement. */
static int reserve_tx(int32_t timeout_ms)
{
    uint32_t size;
    int err = 0;
    void *buf = amp_rpmsg_get_tx_buffer(opc.dev, &size, timeout_ms, &err);
    if (!buf)
        return err ? err : -AMP_EIO;
    /* Back to the device's spare list: the next send takes it first. */
    return amp_rpmsg_release_tx_buffer(opc.dev, buf);
}

static int create_error(const struct opc_ept *ept, int rc, uint32_t src, struct opc_err *e)
{
    switch (rc) {
    case -AMP_EADDRINUSE:
        return opc_fail(e, OPC_EXC_OS, EADDRINUSE, "endpoint '%s': address %lu is already in "
                        "use by another endpoint; choose another src or leave it "
                        "ENDPOINT_ADDR_ANY", ept->name, (unsigned long)src);
    case -AMP_EADDRNOTAVAIL:
        return opc_fail(e, OPC_EXC_OS, EADDRNOTAVAIL, "endpoint '%s': no free endpoint address "
                        "left; deinit() some endpoints", ept->name);
    case -AMP_ENOBUFS:
    case -AMP_ETIMEDOUT:
        return opc_fail(e, OPC_EXC_OS, ETIMEDOUT, "endpoint '%s': no free RPMsg buffer to "
                        "announce it within %d ms; the remote core is not consuming messages "
                        "(is it stopped or stuck?)", ept->name, OPC_ANNOUNCE_TIMEOUT_MS);
    case -AMP_ENODEV:
    case -AMP_ENOTCONN:
        return opc_not_running_error("Endpoint", e);
    case -AMP_EIO:
        if (e->kind == OPC_EXC_PENDING)
            return -1;
        /* fall through */
    default:
        return opc_fail(e, OPC_EXC_OS, EIO, "endpoint '%s': cannot create it: %s", ept->name,
                        amp_strerror(rc));
    }
}

static void q_free(struct opc_ept *ept)
{
    if (opc.ops->free)
        opc.ops->free(ept->q);
    else
        free(ept->q);
    ept->q = NULL;
}

int opc_ept_create(struct opc_ept *ept, void *owner, const char *name, bool has_callback,
                   uint32_t src, uint32_t dest, struct opc_err *e)
{
    memset(ept, 0, sizeof *ept);
    ept->event_fd = -1;
    ept->owner = owner;
    ept->has_callback = has_callback;
    snprintf(ept->name, sizeof ept->name, "%s", name);
    ept->q = opc.ops->alloc ? opc.ops->alloc(OPC_RXQ_BYTES) : malloc(OPC_RXQ_BYTES);
    if (!ept->q)
        return opc_fail(e, OPC_EXC_NOMEM, 0, "endpoint '%s': no memory for its receive queue",
                        name);
    e->kind = OPC_OK;
    int rc = 0;
    /* A live device announces the endpoint at once, without waiting: make
     * sure a buffer is free for it. */
    if (name[0] && dest == AMP_RPMSG_ADDR_ANY && opc.dev->ready && opc.dev->ns_enabled) {
        rc = reserve_tx(OPC_ANNOUNCE_TIMEOUT_MS);
        if (rc == -AMP_EIO && main_thread())
            fail_pending(e);
    }
    if (rc == 0)
        rc = amp_rpmsg_create_ept(&ept->ept, opc.dev, name, src, dest, ept_rx, on_unbind, ept);
    if (rc == 0 && name[0] && dest == AMP_RPMSG_ADDR_ANY) {
        /* The remote announced this name before we had an endpoint for it. */
        const struct opc_service *svc = opc_service_find(name);
        if (svc && opc.dev->ready) {
            ept->ept.dest_addr = svc->addr;
            ept->ept.dest_dynamic = true;
        }
    }
    if (rc != 0) {
        q_free(ept);
        ept->ept.dev = NULL;
        return create_error(ept, rc, src, e);
    }
    ept->next = opc.epts;
    opc.epts = ept;
    return 0;
}

static void ept_release(struct opc_ept *ept)
{
    unlink_ept(ept);
    /* Held buffers go back to the remote: nobody will read them now. */
    for (uint32_t i = 0; i < ept->held_count && opc.dev && opc.dev->ready; i++)
        (void)amp_rpmsg_release_rx_buffer(
            opc.dev, ept->held[(ept->held_head + i) % OPC_HELD_MAX].data);
    ept->held_count = 0;
    q_free(ept);
    ept->q_count = ept->q_used = 0;
    if (ept->event_fd >= 0) {
        close(ept->event_fd);
        ept->event_fd = -1;
    }
}

int opc_ept_deinit(struct opc_ept *ept, struct opc_err *e)
{
    e->kind = OPC_OK;
    if (!ept->ept.dev) {
        if (ept->q)
            ept_release(ept);   /* the board closed under it */
        return 0;
    }
    if (ept->deiniting)
        return 0;
    if (ept->sending) {
        ept->deinit_pending = true;
        return 0;
    }
    ept->deiniting = true;
    int rc = 0;
    /* The remote still offers the service this endpoint was bound to: a new
     * endpoint under the name binds to it again. */
    if (ept->ept.dest_dynamic && ept->ept.announced && ept->ept.dest_addr != AMP_RPMSG_ADDR_ANY &&
        opc.dev->ready && ept->name[0])
        service_remember(ept->name, ept->ept.dest_addr, true);
    if (ept->ept.announced && ept->ept.dev->ready)
        rc = reserve_tx(OPC_ANNOUNCE_TIMEOUT_MS);
    if (ept->ept.dev)
        (void)amp_rpmsg_destroy_ept(&ept->ept);
    ept->deiniting = false;
    ept->deinit_pending = false;
    ept_release(ept);
    if (rc == -AMP_EIO && main_thread())
        return fail_pending(e);
    return 0;
}

bool opc_ept_usable(const struct opc_ept *ept)
{
    return ept->ept.dev && !ept->deiniting && !ept->deinit_pending && opc_is_open();
}

bool opc_ept_is_ready(const struct opc_ept *ept)
{
    if (!opc_is_open())
        return false;
    lock_take();
    bool ready = opc_ept_usable(ept) && amp_rpmsg_ept_is_ready(&ept->ept);
    lock_give();
    return ready;
}

static int deinit_error(const struct opc_ept *ept, struct opc_err *e)
{
    return opc_fail(e, OPC_EXC_OS, ENOTCONN, "endpoint '%s' was deinitialised; create a new "
                    "Endpoint to talk again", ept->name);
}

static int send_error(const struct opc_ept *ept, int rc, int32_t timeout, struct opc_err *e)
{
    switch (rc) {
    case -AMP_ENOBUFS:
        return opc_fail(e, OPC_EXC_OS, ETIMEDOUT, "endpoint '%s': no free RPMsg buffer right now "
                        "(timeout=0 tries once); the remote core has not consumed the earlier "
                        "messages yet. Retry later, or pass a timeout in milliseconds",
                        ept->name);
    case -AMP_ETIMEDOUT:
        return opc_fail(e, OPC_EXC_OS, ETIMEDOUT, "endpoint '%s': no free RPMsg buffer within "
                        "%d ms; the remote core is not consuming messages (is it stopped or "
                        "stuck?)", ept->name, (int)timeout);
    case -AMP_ENODEV:
    case -AMP_ENOTCONN:
        return opc_not_running_error("send", e);
    case -AMP_EMSGSIZE:
        return opc_fail(e, OPC_EXC_VALUE, 0, "endpoint '%s': the message does not fit the "
                        "remote's buffers", ept->name);
    case -AMP_EIO:
        if (main_thread())
            return fail_pending(e);
        /* fall through */
    default:
        return opc_fail(e, OPC_EXC_OS, EIO, "endpoint '%s': send failed: %s", ept->name,
                        amp_strerror(rc));
    }
}

int opc_ept_send(struct opc_ept *ept, const void *data, size_t len, uint32_t src, uint32_t dest,
                 int32_t timeout_ms, struct opc_err *e)
{
    e->kind = OPC_OK;
    if (!opc_ept_usable(ept))
        return deinit_error(ept, e);
    uint32_t max = amp_rpmsg_max_payload(opc.dev);
    if (len > max)
        return opc_fail(e, OPC_EXC_VALUE, 0, "payload of %lu bytes exceeds the %lu-byte maximum "
                        "of one RPMsg buffer; split it into smaller messages", (unsigned long)len,
                        (unsigned long)max);
    /* A core that died since the last round: say so rather than send into
     * rings nobody reads. */
    (void)amp_rproc_state(opc.rproc);
    uint32_t s = src == AMP_RPMSG_ADDR_ANY ? ept->ept.addr : src;
    uint32_t d = dest == AMP_RPMSG_ADDR_ANY ? ept->ept.dest_addr : dest;
    if (!opc.dev->ready)
        return opc_not_running_error("send", e);
    if (d == AMP_RPMSG_ADDR_ANY)
        return opc_fail(e, OPC_EXC_OS, ENOTCONN, "endpoint '%s' is not ready: it has no "
                        "destination address yet (the remote has neither announced '%s' nor "
                        "sent to it). Wait until is_ready() is True, or pass dest=", ept->name,
                        ept->name);
    ept->sending++;
    int rc = amp_rpmsg_send_offchannel(&ept->ept, s, d, data, len, timeout_ms);
    ept->sending--;
    int result = rc >= 0 ? rc : send_error(ept, rc, timeout_ms, e);
    if (ept->deinit_pending && !ept->sending) {
        /* deinit() was called from a callback while we waited. */
        struct opc_err e2;
        if (opc_ept_deinit(ept, &e2) < 0 && result >= 0) {
            *e = e2;
            result = -1;
        }
    }
    return result;
}

int opc_ept_recv(struct opc_ept *ept, void *buf, uint32_t *src, int32_t timeout_ms,
                 struct opc_err *e)
{
    e->kind = OPC_OK;
    uint32_t start = now_ms();
    bool main = main_thread();
    for (;;) {
        if (!opc_ept_usable(ept))
            return deinit_error(ept, e);
        if (pending(ept))
            return (int)q_get(ept, buf, src);
        (void)amp_rproc_state(opc.rproc);
        if (!opc.dev->ready)
            return opc_not_running_error("recv", e);
        if (timeout_ms == 0)
            return opc_fail(e, OPC_EXC_OS, ETIMEDOUT, "endpoint '%s': no message waiting "
                            "(timeout=0 looks once)", ept->name);
        int32_t left = timeout_ms;
        if (timeout_ms > 0) {
            uint32_t gone = now_ms() - start;
            if (gone >= (uint32_t)timeout_ms)
                return opc_fail(e, OPC_EXC_OS, ETIMEDOUT, "endpoint '%s': no message within "
                                "%d ms", ept->name, (int)timeout_ms);
            left = (int32_t)((uint32_t)timeout_ms - gone);
        }
        if (main && (left < 0 || left > OPC_SIGNAL_SLICE_MS))
            left = OPC_SIGNAL_SLICE_MS;
        wait_round(left);
        if (wait_extras() < 0)
            return fail_pending(e);
    }
}

int opc_ept_fileno(struct opc_ept *ept, struct opc_err *e)
{
    if (!opc_ept_usable(ept))
        return deinit_error(ept, e);
    if (ept->event_fd < 0) {
        ept->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (ept->event_fd < 0)
            return opc_fail(e, OPC_EXC_OS, errno, "endpoint '%s': cannot create its descriptor: "
                            "%s", ept->name, strerror(errno));
        ept->fd_readable = false;
        update_fds();
    }
    return ept->event_fd;
}

/* ---- Remote core life cycle ---- */

bool opc_rproc_owns(const void *owner)
{
    return opc_is_open() && opc.rproc_owner == owner;
}

void opc_rproc_forget(const void *owner)
{
    if (opc.rproc_owner == owner)
        opc.rproc_owner = NULL;
}

static int busy_error(struct opc_err *e)
{
    return opc_fail(e, OPC_EXC_RUNTIME, 0, "the remote core is running; stop() or shutdown() "
                    "the RemoteProc that started it before loading other firmware");
}

int opc_rproc_load_file(const void *owner, const char *path, const char *display,
                        struct opc_err *e)
{
    char msg[300] = "";
    int rc = amp_sim_load_file(opc.board, path, msg, sizeof msg);
    if (rc == -AMP_EBUSY)
        return busy_error(e);
    if (rc == -AMP_ENOENT)
        return opc_fail(e, OPC_EXC_OS, ENOENT, "%s: firmware file not found", display);
    if (rc == -AMP_ENOEXEC || rc == -AMP_EBADMSG || rc == -AMP_ERANGE || rc == -AMP_EINVAL)
        return opc_fail(e, OPC_EXC_VALUE, 0, "not a firmware image for this board: %s", msg);
    if (rc != 0)
        return opc_fail(e, OPC_EXC_OS, EIO, "cannot load the firmware: %s",
                        msg[0] ? msg : amp_strerror(rc));
    opc.rproc_owner = owner;
    return 0;
}

int opc_rproc_load_entry(const void *owner, uint64_t entry, struct opc_err *e)
{
    int rc = amp_rproc_set_entry(opc.rproc, entry);
    if (rc == -AMP_EBUSY)
        return busy_error(e);
    if (rc == -AMP_ERANGE) {
        const struct amp_mem_map *map = amp_sim_mem_map(opc.board);
        char where[200] = "";
        size_t n = 0;
        for (unsigned i = 0; i < map->count && n < sizeof where; i++) {
            const struct amp_mem_region *r = &map->regions[i];
            if (!(r->flags & AMP_MEM_EXEC))
                continue;
            n += (size_t)snprintf(where + n, sizeof where - n, "%s%s 0x%08lx-0x%08lx",
                                  n ? ", " : "", r->name, (unsigned long)r->da,
                                  (unsigned long)(r->da + r->size - 1));
        }
        return opc_fail(e, OPC_EXC_VALUE, 0, "entry address 0x%lx is not in the remote core's "
                        "executable memory (%s)", (unsigned long)entry, where);
    }
    if (rc != 0)
        return opc_fail(e, OPC_EXC_OS, EIO, "cannot use entry address 0x%lx: %s",
                        (unsigned long)entry, amp_strerror(rc));
    opc.rproc_owner = owner;
    return 0;
}

/* Ask the receive thread to start the core and wait for its answer. */
static int start_core(void)
{
    int rc = -AMP_EIO;
    void *t = interp_release();
    if (write_byte(opc.ctl[1], CMD_START) == 0 && pipe_all(opc.reply[0], &rc, sizeof rc, false))
        rc = -AMP_EIO;
    interp_acquire(t);
    return rc;
}

int opc_rproc_start(const void *owner, int (*reload)(const void *owner, struct opc_err *e),
                    struct opc_err *e)
{
    enum amp_rproc_state state = amp_rproc_state(opc.rproc);
    if (state == AMP_RPROC_RUNNING)
        return opc_fail(e, OPC_EXC_RUNTIME, 0, "%s", opc.rproc_owner == owner
                        ? "the remote core is already running; call stop() first to restart it"
                        : "the remote core is running another RemoteProc's firmware; stop() "
                          "that one first");
    /* Another RemoteProc loaded its image since, or shutdown() forgot ours. */
    if ((opc.rproc_owner != owner || state == AMP_RPROC_OFFLINE) && reload(owner, e) < 0)
        return -1;
    opc.ring_error_reported = false;
    opc.crash_signal = opc.crash_status = 0;
    forget_held();
    int rc = start_core();
    update_fds();
    switch (rc) {
    case 0:
        return 0;
    case -AMP_ENOENT:
        return opc_fail(e, OPC_EXC_OS, ENOENT, "cannot start the remote core: the helper "
                        "program amp-simcore is missing (rebuild, or set AMP_SIMCORE to its "
                        "path)");
    case -AMP_EBADMSG:
        return opc_fail(e, OPC_EXC_VALUE, 0, "cannot start the remote core: the firmware's "
                        "resource table is invalid");
    case -AMP_ENOSPC:
        return opc_fail(e, OPC_EXC_VALUE, 0, "cannot start the remote core: the vrings and "
                        "buffers the firmware asks for do not fit in shared memory");
    default:
        return opc_fail(e, OPC_EXC_OS, EIO, "cannot start the remote core: %s",
                        amp_strerror(rc));
    }
}

int opc_rproc_stop(const void *owner, struct opc_err *e)
{
    if (opc.rproc_owner != owner)
        return 0;
    int rc = amp_rproc_stop(opc.rproc);
    forget_held();
    update_fds();
    if (rc < 0)
        return opc_fail(e, OPC_EXC_OS, EIO, "cannot stop the remote core: %s", amp_strerror(rc));
    return 0;
}

int opc_rproc_shutdown(const void *owner, struct opc_err *e)
{
    if (opc.rproc_owner != owner)
        return 0;
    int rc = amp_rproc_shutdown(opc.rproc);
    opc.rproc_owner = NULL;
    forget_held();
    update_fds();
    if (rc < 0)
        return opc_fail(e, OPC_EXC_OS, EIO, "cannot shut the remote core down: %s",
                        amp_strerror(rc));
    return 0;
}

const char *opc_rproc_state(const void *owner)
{
    if (!opc_rproc_owns(owner))
        return "offline";
    return amp_rproc_state_str(amp_rproc_state(opc.rproc));
}

void opc_crash_reason(char *buf, size_t len)
{
    buf[0] = '\0';
    if (opc.board && amp_rproc_state(opc.rproc) == AMP_RPROC_CRASHED)
        (void)amp_sim_crash_reason(opc.board, buf, len);   /* the board says why */
}

int opc_trace(char *buf, size_t len)
{
    return amp_sim_read_trace(opc.board, buf, len);
}
