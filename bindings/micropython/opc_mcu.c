/*
 * opc_mcu.c - the shared layer's interface (bindings/common/openamp_core.h)
 * for a microcontroller host: MicroPython's stm32 port on the STM32H747's
 * M7, or the M4 as the remote (OMPY_REMOTE). No threads, no OS, no
 * allocation: the doorbell interrupt only schedules (ops->schedule),
 * opc_deliver() drains the ring from the scheduler, and a message for an
 * endpoint without a callback stays in its ring buffer (held, zero-copy)
 * until recv() copies it out - the remote sees fewer free buffers, nothing
 * is dropped. The board itself (memory, doorbells, boot) is ompy_mcu_board.
 */
#include "ompy_mcu.h"   /* before openamp_core.h */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EIO_ 5
#define EADDRINUSE_ 98
#define EADDRNOTAVAIL_ 99
#define ENOTCONN_ 107
#define ETIMEDOUT_ 110
#define EOPNOTSUPP_ 95
#define WAIT_SLICE_MS 10   /* a wait looks for Ctrl-C this often */

struct opc_state opc;
static struct ompy_mcu_board board;
static struct ompy_mcu_platform platform;   /* the board's, with our wait */
static bool polling;
static bool stop_round;

/* Bytes of a name up to its NUL, at most AMP_RPMSG_NAME_LEN - 1 (MicroPython's
 * bare-metal libc has no strnlen). */
static size_t name_len(const char *name)
{
    size_t n = 0;
    while (n < AMP_RPMSG_NAME_LEN - 1 && name[n])
        n++;
    return n;
}

/* ---- Errors and argument rules ----
 * Texts are short (MicroPython's style); an OSError's errno names the
 * core's error instead of a text (MicroPython prints "[Errno 19] ENODEV"). */

/* The core's error as an errno (MicroPython's numbers, which are Linux's). */
static int os_errno(int rc)
{
    static const uint8_t map[AMP_ERRNO_MAX] = {
        [AMP_EINVAL] = 22, [AMP_ENOBUFS] = 105, [AMP_ETIMEDOUT] = ETIMEDOUT_,
        [AMP_EMSGSIZE] = 90, [AMP_ENOTCONN] = ENOTCONN_, [AMP_EADDRINUSE] = EADDRINUSE_,
        [AMP_EADDRNOTAVAIL] = EADDRNOTAVAIL_, [AMP_ENOENT] = 2, [AMP_EBADMSG] = 74,
        [AMP_ERANGE] = 34, [AMP_EAGAIN] = 11, [AMP_ENODEV] = 19, [AMP_EBUSY] = 16,
        [AMP_ENOEXEC] = 8, [AMP_EIO] = EIO_, [AMP_ENOSPC] = 28, [AMP_ENOTSUP] = EOPNOTSUPP_,
    };
    unsigned n = (unsigned)-rc;
    return n < AMP_ERRNO_MAX && map[n] ? map[n] : EIO_;
}

int opc_fail(struct opc_err *e, enum opc_exc kind, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->kind = kind;
    e->err = err;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int pending(struct opc_err *e)
{
    e->kind = OPC_EXC_PENDING;
    e->msg[0] = '\0';
    return -1;
}

int opc_check_name(const char *utf8, size_t len, char out[AMP_RPMSG_NAME_LEN], struct opc_err *e)
{
    if (len > AMP_RPMSG_NAME_LEN - 1)
        return opc_fail(e, OPC_EXC_VALUE, 0, "name is %u bytes; max %d", (unsigned)len,
                        AMP_RPMSG_NAME_LEN - 1);
    for (size_t i = 0; i < len; i++)
        if (!utf8[i])
            return opc_fail(e, OPC_EXC_VALUE, 0, "name has a NUL");
    memset(out, 0, AMP_RPMSG_NAME_LEN);
    memcpy(out, utf8, len);
    return 0;
}

int opc_check_addr(long long v, bool overflow, const char *what, uint32_t *out, struct opc_err *e)
{
    if (overflow || v < -1 || v > (long long)AMP_RPMSG_ADDR_ANY)
        return opc_fail(e, OPC_EXC_VALUE, 0, "%s must be 0..0xFFFFFFFF or -1", what);
    *out = v == -1 ? AMP_RPMSG_ADDR_ANY : (uint32_t)v;
    return 0;
}

int opc_check_timeout(long long v, bool overflow, int32_t *out, struct opc_err *e)
{
    if (overflow || v < -1 || v > INT32_MAX)
        return opc_fail(e, OPC_EXC_VALUE, 0, "timeout must be -1, 0 or ms");
    *out = (int32_t)v;
    return 0;
}

int opc_check_entry(long long v, bool overflow, uint64_t *out, struct opc_err *e)
{
    if (overflow || v < 0 || v > 0xFFFFFFFFLL)
        return opc_fail(e, OPC_EXC_VALUE, 0, "entry must be 0..0xFFFFFFFF");
    *out = (uint64_t)v;
    return 0;
}

/* ---- Remembered announcements ---- */

const struct opc_service *opc_service_find(const char *name)
{
    for (unsigned i = 0; i < opc.nservices; i++)
        if (!strncmp(opc.services[i].name, name, AMP_RPMSG_NAME_LEN))
            return &opc.services[i];
    return NULL;
}

static void service_forget(const char *name)
{
    const struct opc_service *s = opc_service_find(name);
    if (!s)
        return;
    unsigned i = (unsigned)(s - opc.services);
    memmove(&opc.services[i], &opc.services[i + 1], (opc.nservices - i - 1) * sizeof *s);
    opc.nservices--;
}

static void service_remember(const char *name, uint32_t addr)
{
    service_forget(name);
    if (opc.nservices == OPC_SERVICES) {   /* drop the oldest */
        memmove(&opc.services[0], &opc.services[1], (OPC_SERVICES - 1) * sizeof opc.services[0]);
        opc.nservices--;
    }
    struct opc_service *s = &opc.services[opc.nservices++];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, name_len(name));
    s->addr = addr;
}

void opc_set_ns_callback(bool set)
{
    opc.ns_callback = set;
    for (unsigned i = 0; i < opc.nservices; i++)
        opc.services[i].heard = false;   /* a new callback hears them all */
    if (set && opc.nservices && opc.ops->schedule)
        (void)opc.ops->schedule();
}

/* ---- Receiving ---- */

static int ept_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    struct opc_ept *e = priv;
    if (e->has_callback) {
        if (!stop_round && opc.ops->on_message(e->owner, src, data, len) < 0)
            stop_round = true;   /* KeyboardInterrupt: the rest after it */
        return AMP_RPMSG_RELEASE;
    }
    if (e->held_count == OPC_HELD_MAX)
        return AMP_RPMSG_RELEASE;   /* cannot happen: fewer ring buffers than slots */
    uint32_t at = (e->held_head + e->held_count) % OPC_HELD_MAX;
    e->held[at].data = data;
    e->held[at].len = (uint32_t)len;
    e->held[at].src = src;
    e->held_count++;
    e->received++;
    return AMP_RPMSG_HOLD;
}

static void on_unbind(struct amp_rpmsg_endpoint *ept, void *priv)
{
    (void)ept;
    struct opc_ept *e = priv;
    e->lost += e->held_count;   /* the rings they were in are gone */
    e->held_count = 0;
}

static void on_ns(struct amp_rpmsg_device *dev, const char *name, uint32_t addr, uint32_t flags,
                  void *priv)
{
    (void)dev;
    (void)priv;
    if (flags == AMP_RPMSG_NS_DESTROY)
        service_forget(name);
    else
        service_remember(name, addr);
}

static void poll_once(void)
{
    if (polling)
        return;
    #if OMPY_REMOTE
    if (ompy_mcu_remote_attach(&board) < 0)
        return;   /* the host is not there yet: look again next time */
    #else
    (void)amp_rproc_state(board.rproc);   /* a crash resets the device */
    #endif
    if (!board.dev->ready)
        return;
    polling = true;
    (void)amp_rpmsg_poll(board.dev);
    polling = false;
}

int opc_deliver(void)
{
    if (opc.phase != OPC_OPEN || polling)
        return 0;
    stop_round = false;
    poll_once();
    for (unsigned i = 0; i < opc.nservices && !stop_round && opc.ns_callback; i++) {
        struct opc_service *s = &opc.services[i];
        bool taken = false;
        for (struct opc_ept *e = opc.epts; e && !taken; e = e->next)
            taken = !strncmp(e->name, s->name, AMP_RPMSG_NAME_LEN);
        if (s->heard || taken)
            continue;
        s->heard = true;
        if (opc.ops->on_service(s->addr, s->name) < 0)
            stop_round = true;
    }
    if (board.dev->ready)
        amp_rpmsg_arm(board.dev);
    return stop_round ? -1 : 0;
}

/*
 * The wait the core blocks in (a send that finds no buffer): the board's,
 * in slices, looking for Ctrl-C between them, and draining the receive
 * ring so a remote that waits for our buffers never deadlocks us.
 */
static int mcu_wait(void *ctx, int32_t timeout_ms)
{
    (void)ctx;
    const struct amp_platform *in = board.platform;
    struct amp_deadline dl;
    amp_deadline_start(&dl, in, timeout_ms);
    for (;;) {
        if (opc.ops->check_signals && opc.ops->check_signals() < 0)
            return -AMP_EIO;
        int32_t left = amp_deadline_left(&dl, in);
        if (left == 0 && timeout_ms != 0)
            return -AMP_ETIMEDOUT;
        int32_t slice = left < 0 || left > WAIT_SLICE_MS ? WAIT_SLICE_MS : left;
        int rc = in->ops->wait(in->ctx, slice);
        if (rc == 0) {
            poll_once();
            return board.dev->ready ? 0 : -AMP_ENODEV;
        }
        if (rc != -AMP_ETIMEDOUT || timeout_ms == 0)
            return rc;
    }
}

/* ---- The board: opened on first use ---- */

int opc_init(const struct opc_ops *ops)
{
    opc.ops = ops;
    return 0;
}

int opc_configure(const struct opc_settings *s, struct opc_err *e)
{
    (void)s;
    e->kind = OPC_OK;
    return 0;
}

bool opc_is_open(void)
{
    return opc.phase == OPC_OPEN;
}

int opc_enter(struct opc_err *e)
{
    e->kind = OPC_OK;
    if (opc.phase == OPC_OPEN)
        return 0;
    platform.wait = mcu_wait;
    char why[120];
    why[0] = '\0';
    int rc = ompy_mcu_board_open(&board, &platform, why, sizeof why);
    if (rc < 0)
        return opc_fail(e, OPC_EXC_OS, os_errno(rc), "rpmsg set-up: %s",
                        why[0] ? why : "failed");
    amp_rpmsg_set_ns_callback(board.dev, on_ns, NULL);
    opc.dev = board.dev;
    opc.rproc = board.rproc;
    opc.phase = OPC_OPEN;
    return 0;
}

void opc_leave(void)
{
}

void opc_close(void)
{
    if (opc.phase != OPC_OPEN)
        return;
    #if !OMPY_REMOTE
    (void)amp_rproc_shutdown(board.rproc);
    #endif
    opc.rproc_owner = NULL;
    opc.phase = OPC_CLOSED;
}

int opc_not_running_error(const char *what, struct opc_err *e)
{
    #if OMPY_REMOTE
    return opc_fail(e, OPC_EXC_OS, ENOTCONN_, "%s: host not ready", what);
    #else
    enum amp_rproc_state st = amp_rproc_state(board.rproc);
    return opc_fail(e, OPC_EXC_OS, ENOTCONN_, "%s: remote core %s", what,
                    st == AMP_RPROC_CRASHED ? "crashed"
                    : st == AMP_RPROC_STOPPED ? "stopped" : "not running");
    #endif
}

/* ---- Endpoints ---- */

int opc_ept_create(struct opc_ept *ept, void *owner, const char *name, bool has_callback,
                   uint32_t src, uint32_t dest, struct opc_err *e)
{
    memset(ept, 0, sizeof *ept);
    ept->owner = owner;
    ept->has_callback = has_callback;
    ept->event_fd = -1;
    memcpy(ept->name, name, name_len(name));
    int rc = amp_rpmsg_create_ept(&ept->ept, board.dev, ept->name, src, dest, ept_rx, on_unbind,
                                  ept);
    if (rc == -AMP_EADDRINUSE)
        return opc_fail(e, OPC_EXC_OS, EADDRINUSE_, "'%s': address %lu in use", ept->name,
                        (unsigned long)src);
    if (rc == -AMP_EADDRNOTAVAIL)
        return opc_fail(e, OPC_EXC_OS, EADDRNOTAVAIL_, "'%s': no free address", ept->name);
    if (rc < 0)
        return opc_fail(e, OPC_EXC_OS, os_errno(rc), "'%s': create failed", ept->name);
    /* The remote announced this name before we had an endpoint for it. */
    const struct opc_service *s = name[0] && dest == AMP_RPMSG_ADDR_ANY ? opc_service_find(name)
                                                                       : NULL;
    if (s && board.dev->ready) {
        ept->ept.dest_addr = s->addr;
        ept->ept.dest_dynamic = true;
    }
    ept->next = opc.epts;
    opc.epts = ept;
    return 0;
}

bool opc_ept_usable(const struct opc_ept *ept)
{
    return ept->ept.dev != NULL;
}

bool opc_ept_is_ready(const struct opc_ept *ept)
{
    return opc_ept_usable(ept) && amp_rpmsg_ept_is_ready(&ept->ept);
}

uint32_t opc_ept_pending(const struct opc_ept *ept)
{
    return ept->held_count;
}

static void release_held(struct opc_ept *ept)
{
    while (ept->held_count) {
        if (board.dev->ready)
            (void)amp_rpmsg_release_rx_buffer(board.dev, ept->held[ept->held_head].data);
        ept->held_head = (ept->held_head + 1) % OPC_HELD_MAX;
        ept->held_count--;
    }
}

int opc_ept_deinit(struct opc_ept *ept, struct opc_err *e)
{
    e->kind = OPC_OK;
    if (!opc_ept_usable(ept))
        return 0;
    release_held(ept);
    (void)amp_rpmsg_destroy_ept(&ept->ept);
    for (struct opc_ept **p = &opc.epts; *p; p = &(*p)->next) {
        if (*p == ept) {
            *p = ept->next;
            break;
        }
    }
    ept->ept.dev = NULL;
    return 0;
}

int opc_ept_send(struct opc_ept *ept, const void *data, size_t len, uint32_t src, uint32_t dest,
                 int32_t timeout_ms, struct opc_err *e)
{
    e->kind = OPC_OK;
    if (!opc_ept_usable(ept))
        return opc_fail(e, OPC_EXC_OS, ENOTCONN_, "'%s' deinitialised", ept->name);
    uint32_t max = amp_rpmsg_max_payload(board.dev);
    if (len > max)
        return opc_fail(e, OPC_EXC_VALUE, 0, "payload %lu > %lu bytes", (unsigned long)len,
                        (unsigned long)max);
    #if !OMPY_REMOTE
    (void)amp_rproc_state(board.rproc);
    #endif
    if (!board.dev->ready)
        return opc_not_running_error("send", e);
    uint32_t s = src == AMP_RPMSG_ADDR_ANY ? ept->ept.addr : src;
    uint32_t d = dest == AMP_RPMSG_ADDR_ANY ? ept->ept.dest_addr : dest;
    if (d == AMP_RPMSG_ADDR_ANY)
        return opc_fail(e, OPC_EXC_OS, ENOTCONN_, "'%s' not ready: no dest", ept->name);
    int rc = amp_rpmsg_send_offchannel(&ept->ept, s, d, data, len, timeout_ms);
    if (rc >= 0)
        return rc;
    switch (rc) {
    case -AMP_EIO:
        return pending(e);
    case -AMP_ENOBUFS:
        return opc_fail(e, OPC_EXC_OS, ETIMEDOUT_, "'%s': no free buffer", ept->name);
    case -AMP_ETIMEDOUT:
        return opc_fail(e, OPC_EXC_OS, ETIMEDOUT_, "'%s': no free buffer in %ld ms", ept->name,
                        (long)timeout_ms);
    case -AMP_ENODEV:
    case -AMP_ENOTCONN:
        return opc_not_running_error("send", e);
    default:
        return opc_fail(e, OPC_EXC_OS, os_errno(rc), "'%s': send failed", ept->name);
    }
}

int opc_ept_recv(struct opc_ept *ept, void *buf, uint32_t *src, int32_t timeout_ms,
                 struct opc_err *e)
{
    e->kind = OPC_OK;
    const struct amp_platform *p = board.platform;
    struct amp_deadline dl;
    amp_deadline_start(&dl, p, timeout_ms);
    for (;;) {
        if (!opc_ept_usable(ept))
            return opc_fail(e, OPC_EXC_OS, ENOTCONN_, "'%s' deinitialised", ept->name);
        poll_once();
        if (ept->held_count) {
            uint32_t at = ept->held_head;
            uint32_t n = ept->held[at].len;
            memcpy(buf, ept->held[at].data, n);
            *src = ept->held[at].src;
            (void)amp_rpmsg_release_rx_buffer(board.dev, ept->held[at].data);
            ept->held_head = (at + 1) % OPC_HELD_MAX;
            ept->held_count--;
            return (int)n;
        }
        if (!board.dev->ready && timeout_ms != 0)
            return opc_not_running_error("recv", e);
        int32_t left = amp_deadline_left(&dl, p);
        if (left == 0)
            return opc_fail(e, OPC_EXC_OS, ETIMEDOUT_, "'%s': no message in %ld ms", ept->name,
                            (long)timeout_ms);
        if (opc.ops->check_signals && opc.ops->check_signals() < 0)
            return pending(e);
        /* A message that came after the poll rings no doorbell: arm says
         * so, and it is taken now, not after a whole slice asleep. */
        if (board.dev->ready && amp_rpmsg_arm(board.dev))
            continue;
        (void)p->ops->wait(p->ctx, left < 0 || left > WAIT_SLICE_MS ? WAIT_SLICE_MS : left);
    }
}

/* ---- Life cycle (host role only) ---- */
#if !OMPY_REMOTE

static int rproc_error(int rc, const char *what, struct opc_err *e)
{
    if (rc == -AMP_ENOTSUP)
        return opc_fail(e, OPC_EXC_OS, EOPNOTSUPP_, "%s: the M7 cannot halt the M4 (RM0399)",
                        what);
    if (rc == -AMP_EBUSY)
        return opc_fail(e, OPC_EXC_RUNTIME, 0, "%s: remote core running", what);
    if (rc == -AMP_ERANGE || rc == -AMP_ENOEXEC || rc == -AMP_EBADMSG)
        return opc_fail(e, OPC_EXC_VALUE, 0, "%s: not for the M4's memory", what);
    return opc_fail(e, OPC_EXC_OS, os_errno(rc), "%s failed", what);
}

int opc_rproc_load_file(const void *owner, const char *path, const char *display,
                        struct opc_err *e)
{
    (void)display;
    void *image;
    size_t size;
    if (ompy_mcu_read_file(path, &image, &size, e) < 0)
        return -1;
    struct amp_elf_error err;
    int rc = amp_rproc_load(board.rproc, image, size, 40 /* EM_ARM */, &err);
    ompy_mcu_free_file(image, size);   /* on every path: no leak */
    if (rc < 0)
        return opc_fail(e, rc == -AMP_EBUSY ? OPC_EXC_RUNTIME : OPC_EXC_VALUE, 0,
                        "%s: %s", path, rc == -AMP_EBUSY ? "remote core running"
                                                         : amp_elf_problem_str(err.problem));
    opc.rproc_owner = owner;
    return 0;
}

int opc_rproc_load_entry(const void *owner, uint64_t entry, struct opc_err *e)
{
    int rc = amp_rproc_set_entry(board.rproc, entry);
    if (rc < 0)
        return rproc_error(rc, "entry", e);
    opc.rproc_owner = owner;
    return 0;
}

bool opc_rproc_owns(const void *owner)
{
    return opc.rproc_owner == owner;
}

int opc_rproc_start(const void *owner, int (*reload)(const void *owner, struct opc_err *e),
                    struct opc_err *e)
{
    e->kind = OPC_OK;
    enum amp_rproc_state st = amp_rproc_state(board.rproc);
    if (st == AMP_RPROC_RUNNING)
        return opc_fail(e, OPC_EXC_RUNTIME, 0, "remote core running");
    if ((opc.rproc_owner != owner || st == AMP_RPROC_OFFLINE) && reload(owner, e) < 0)
        return -1;
    opc.nservices = 0;
    int rc = amp_rproc_start(board.rproc);
    return rc < 0 ? rproc_error(rc, "start()", e) : 0;
}

int opc_rproc_stop(const void *owner, struct opc_err *e)
{
    e->kind = OPC_OK;
    if (opc.rproc_owner != owner)
        return 0;
    int rc = amp_rproc_stop(board.rproc);
    return rc < 0 ? rproc_error(rc, "stop()", e) : 0;
}

int opc_rproc_shutdown(const void *owner, struct opc_err *e)
{
    e->kind = OPC_OK;
    if (opc.rproc_owner != owner)
        return 0;
    int rc = amp_rproc_shutdown(board.rproc);
    opc.rproc_owner = NULL;
    return rc < 0 ? rproc_error(rc, "shutdown()", e) : 0;
}

void opc_rproc_forget(const void *owner)
{
    if (opc.rproc_owner == owner)
        opc.rproc_owner = NULL;
}

const char *opc_rproc_state(const void *owner)
{
    if (opc.rproc_owner != owner)
        return "offline";
    return amp_rproc_state_str(amp_rproc_state(board.rproc));
}

#endif /* !OMPY_REMOTE */
