/*
 * board.c - the module's one board: opened lazily on first use, a
 * re-entrant board lock, the notifier thread that turns the board's
 * doorbell into pending calls in the main thread, and the platform wait op
 * the rpmsg device blocks in (GIL released, incoming messages delivered).
 */
#include <stdarg.h>
#include "openamp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Longest the main thread sleeps before it looks for signals (Ctrl-C). */
#define SIGNAL_SLICE_MS 100
/* A polled wait lets other threads have the GIL this often (ms). */
#define POLLED_YIELD_MS 2u

enum { CMD_STOP = 's', CMD_START = 'b', CMD_TOKEN = 't' };

struct opy_state opy = {
    .wait_mode = -1,
    .remove_flash = -1,
    .cpu = INT_MIN,
    .ctl = { -1, -1 },
    .reply = { -1, -1 },
};

bool opy_is_open(void)
{
    return opy.phase == OPY_OPEN;
}

static bool is_main_thread(void)
{
    return PyThread_get_thread_ident() == opy.main_thread;
}

/* ---- The board lock ---- */

static bool lock_try(void)
{
    unsigned long me = PyThread_get_thread_ident();
    if (opy.lock_depth > 0 && opy.lock_owner == me) {
        opy.lock_depth++;
        return true;
    }
    if (!PyThread_acquire_lock(opy.lock, NOWAIT_LOCK))
        return false;
    opy.lock_owner = me;
    opy.lock_depth = 1;
    return true;
}

/* Take the lock, sleeping without the GIL while another thread has it. */
static void lock_take(void)
{
    if (lock_try())
        return;
    int got;
    Py_BEGIN_ALLOW_THREADS
    got = PyThread_acquire_lock(opy.lock, WAIT_LOCK);
    Py_END_ALLOW_THREADS
    if (!got)
        Py_FatalError("openamp: cannot take the board lock");
    opy.lock_owner = PyThread_get_thread_ident();
    opy.lock_depth = 1;
}

static bool schedule_processing(void);

static void lock_give(void)
{
    if (--opy.lock_depth > 0)
        return;
    opy.lock_owner = 0;
    PyThread_release_lock(opy.lock);
    /* The main thread wanted to deliver messages while we held the lock. */
    if (opy.main_deferred) {
        opy.main_deferred = false;
        if (!schedule_processing())
            opy.main_deferred = true;   /* the next release tries again */
    }
}

void opy_leave(void)
{
    lock_give();
}

/* ---- Environment and configuration ---- */

static int env_flag(const char *var, int *out)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return 0;
    if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
        !strcasecmp(v, "on")) {
        *out = 1;
    } else if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") ||
               !strcasecmp(v, "off")) {
        *out = 0;
    } else {
        PyErr_Format(PyExc_ValueError, "environment variable %s=%.100s: use 1 or 0", var, v);
        return -1;
    }
    return 0;
}

int opy_parse_wait_mode(const char *s, int *out)
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

/* Fill in what configure() left unset from OPENAMP_* variables. */
static int apply_environment(void)
{
    const char *board = getenv("OPENAMP_BOARD");
    if (board && *board && strcmp(board, OPY_BOARD_DEFAULT) != 0) {
        PyErr_Format(PyExc_ValueError,
                     "environment variable OPENAMP_BOARD=%.100s: unknown board; the only "
                     "board is '" OPY_BOARD_DEFAULT "'", board);
        return -1;
    }
    if (!opy.board_name[0]) {
        const char *name = getenv("OPENAMP_SIM_NAME");
        if (name && *name) {
            if (strlen(name) > AMP_SIM_NAME_MAX) {
                PyErr_Format(PyExc_ValueError,
                             "environment variable OPENAMP_SIM_NAME is longer than %d "
                             "characters", AMP_SIM_NAME_MAX);
                return -1;
            }
            snprintf(opy.board_name, sizeof opy.board_name, "%s", name);
        }
    }
    if (opy.wait_mode < 0) {
        const char *mode = getenv("OPENAMP_SIM_WAIT");
        opy.wait_mode = AMP_SIM_WAIT_BLOCKING;
        if (mode && *mode && opy_parse_wait_mode(mode, &opy.wait_mode) != 0) {
            PyErr_Format(PyExc_ValueError,
                         "environment variable OPENAMP_SIM_WAIT=%.100s: use blocking, polled "
                         "or adaptive", mode);
            return -1;
        }
    }
    if (opy.remove_flash < 0) {
        opy.remove_flash = 0;
        if (env_flag("OPENAMP_SIM_REMOVE_FLASH", &opy.remove_flash) < 0)
            return -1;
    }
    if (opy.cpu == INT_MIN) {
        const char *cpu = getenv("OPENAMP_SIM_CPU");
        opy.cpu = -1;
        if (cpu && *cpu) {
            char *end;
            errno = 0;
            long v = strtol(cpu, &end, 10);
            if (errno || *end || v < -1 || v > 4096) {
                PyErr_Format(PyExc_ValueError,
                             "environment variable OPENAMP_SIM_CPU=%.100s: use a CPU number, "
                             "or -1", cpu);
                return -1;
            }
            opy.cpu = (int)v;
        }
    }
    return 0;
}

/* ---- The platform the rpmsg device sees: the board's, with our wait ---- */

static int opy_wait(void *ctx, int32_t timeout_ms);

static void opy_notify(void *ctx, uint32_t queue_id)
{
    (void)ctx;
    opy.board_platform->ops->notify(opy.board_platform->ctx, queue_id);
}

static uint32_t opy_time_ms(void *ctx)
{
    (void)ctx;
    return opy.board_platform->ops->time_ms(opy.board_platform->ctx);
}

static void *opy_da_to_va(void *ctx, uint64_t da, size_t len)
{
    (void)ctx;
    const struct amp_platform *in = opy.board_platform;
    return in->ops->da_to_va ? in->ops->da_to_va(in->ctx, da, len) : NULL;
}

static void opy_cache_flush(void *ctx, const void *addr, size_t len)
{
    (void)ctx;
    amp_cache_flush(opy.board_platform, addr, len);
}

static void opy_cache_invalidate(void *ctx, void *addr, size_t len)
{
    (void)ctx;
    amp_cache_invalidate(opy.board_platform, addr, len);
}

/*
 * The board hands this platform (amp_sim_options.rpmsg_platform) to the
 * rpmsg device and the life cycle; every op but wait forwards to the
 * board's own.
 */
static void build_platform(void)
{
    opy.platform_ops = (struct amp_platform_ops){
        .notify = opy_notify,
        .wait = opy_wait,
        .time_ms = opy_time_ms,
        .cache_flush = opy_cache_flush,
        .cache_invalidate = opy_cache_invalidate,
        .da_to_va = opy_da_to_va,
    };
    opy.platform = (struct amp_platform){ &opy.platform_ops, NULL };
}

/* ---- Pending calls: the main thread delivers messages ---- */

static int write_byte(int fd, char c)
{
    ssize_t n;
    do
        n = write(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

/* The notifier may look at the doorbell again. */
static void give_token(void)
{
    if (opy.ctl[1] >= 0 && atomic_exchange(&opy.notifier_waiting, false) &&
        write_byte(opy.ctl[1], CMD_TOKEN) != 0)
        atomic_store(&opy.notifier_waiting, true);  /* cannot happen: a pipe with room */
}

static int pending_call(void *arg)
{
    (void)arg;
    atomic_store(&opy.scheduled, false);
    if (opy.phase != OPY_OPEN) {
        give_token();
        return 0;
    }
    if (!lock_try()) {
        /* Another thread has the board: it reschedules us when it lets go. */
        opy.main_deferred = true;
        return 0;
    }
    int rc = opy_process();
    lock_give();
    return rc;   /* -1: the exception is raised in the main thread */
}

/* Queue one pending call (at most one at a time). False if the queue is full. */
static bool schedule_processing(void)
{
    if (atomic_exchange(&opy.scheduled, true))
        return true;
    if (Py_AddPendingCall(pending_call, NULL) == 0)
        return true;
    atomic_store(&opy.scheduled, false);
    return false;
}

static void report_ring_error(int rc)
{
    if (opy.ring_error_reported)
        return;
    opy.ring_error_reported = true;
    if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                         "openamp: the remote core corrupted the receive ring (%s); no more "
                         "messages can be received until it is restarted", amp_strerror(rc)) < 0)
        PyErr_WriteUnraisable(NULL);
}

void opy_callback_failed(PyObject *callback)
{
    if (!opy.exc_type && (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt) ||
                          PyErr_ExceptionMatches(PyExc_SystemExit))) {
        /* Ctrl-C or sys.exit() must not be swallowed just because it
         * arrived while a callback ran. */
        PyErr_Fetch(&opy.exc_type, &opy.exc_value, &opy.exc_tb);
        return;
    }
    PyErr_WriteUnraisable(callback);
}

/*
 * Deliver what the remote sent: consume the doorbell, notice a dead core,
 * drain the receive ring (callbacks run here). Main thread, lock held. A
 * request made while callbacks run (they may send and wait) is folded into
 * the round already under way.
 */
int opy_process(void)
{
    if (opy.polling) {
        opy.poll_again = true;
        return 0;
    }
    opy.polling = true;
    do {
        opy.poll_again = false;
        amp_sim_ack(opy.board);
        (void)amp_rproc_state(opy.rproc);   /* a crash resets the device */
        if (opy.dev->ready) {
            int rc = amp_rpmsg_poll(opy.dev);
            if (rc == -AMP_EBADMSG)
                report_ring_error(rc);
        }
    } while (opy.poll_again);
    opy.polling = false;
    give_token();
    if (opy.exc_type) {
        PyErr_Restore(opy.exc_type, opy.exc_value, opy.exc_tb);
        opy.exc_type = opy.exc_value = opy.exc_tb = NULL;
        return -1;
    }
    return 0;
}

/* ---- The wait op ---- */

/*
 * Sleep until the board's notify descriptor is readable (doorbell or dead
 * core) or timeout_ms passes, without the GIL, and - unless callbacks are
 * running further up this thread's stack - without the board lock, so other
 * threads can use the module meanwhile. 0, or -AMP_EIO with an exception
 * (a signal handler raised, e.g. KeyboardInterrupt).
 */
static int block_on_board(int32_t timeout_ms)
{
    struct pollfd pfd = { .fd = amp_sim_notify_fd(opy.board), .events = POLLIN };
    bool suspend = !opy.polling && opy.lock_depth == 1;
    if (suspend)
        lock_give();
    opy.blocked++;
    int n, err;
    Py_BEGIN_ALLOW_THREADS
    n = poll(&pfd, 1, timeout_ms);
    err = errno;
    Py_END_ALLOW_THREADS
    opy.blocked--;
    if (suspend)
        lock_take();
    if (n < 0 && err != EINTR) {
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
        return -AMP_EIO;
    }
    if (is_main_thread() && PyErr_CheckSignals() < 0)
        return -AMP_EIO;
    return 0;
}

/*
 * Polled waits never sleep. Releasing the GIL and taking it straight back
 * would starve other threads (they only claim the GIL when no switch
 * happened for a whole switch interval), so sleep a moment without it.
 */
static int yield_gil(void)
{
    bool suspend = !opy.polling && opy.lock_depth == 1;
    if (suspend)
        lock_give();
    struct timespec ts = { 0, 50 * 1000 };
    Py_BEGIN_ALLOW_THREADS
    (void)nanosleep(&ts, NULL);   /* EINTR only shortens it */
    Py_END_ALLOW_THREADS
    if (suspend)
        lock_take();
    if (is_main_thread() && PyErr_CheckSignals() < 0)
        return -AMP_EIO;
    return 0;
}

/*
 * The rpmsg device's platform wait: called from inside amp_rpmsg_send*
 * when no transmit buffer is free (the core then has asked the remote to
 * ring when one comes back). Sleeps on the board without the GIL; once
 * woken, delivers incoming messages in the main thread (or has the main
 * thread do it), so a remote that waits for our receive buffers before it
 * returns ours never deadlocks us.
 */
static int opy_wait(void *ctx, int32_t timeout_ms)
{
    (void)ctx;
    const struct amp_platform *in = opy.board_platform;
    bool main = is_main_thread();
    struct amp_deadline dl;
    amp_deadline_start(&dl, in, timeout_ms);
    for (;;) {
        /* Consume a doorbell, or notice a dead core, without sleeping. */
        int rc = in->ops->wait(in->ctx, AMP_NO_WAIT);
        if (rc == 0)
            break;
        if (rc == -AMP_ENODEV) {
            (void)amp_rproc_state(opy.rproc);
            return rc;
        }
        if (rc != -AMP_ETIMEDOUT)
            return rc;
        int32_t left = amp_deadline_left(&dl, in);
        if (left == 0)
            return -AMP_ETIMEDOUT;
        if (main && (left < 0 || left > SIGNAL_SLICE_MS))
            left = SIGNAL_SLICE_MS;
        rc = block_on_board(left);
        if (rc < 0)
            return rc;
        if (!opy.dev->ready)
            return -AMP_ENODEV;   /* stopped by another thread meanwhile */
    }
    if (main) {
        if (opy_process() < 0 || PyErr_CheckSignals() < 0)
            return -AMP_EIO;
    } else {
        (void)schedule_processing();   /* the doorbell may have been a message */
    }
    /* A polled board never sleeps: let other threads in now and then. */
    if (opy.wait_mode == AMP_SIM_WAIT_POLLED) {
        uint32_t now = in->ops->time_ms(in->ctx);
        if (now - opy.last_yield_ms >= POLLED_YIELD_MS) {
            opy.last_yield_ms = now;
            int rc = yield_gil();
            if (rc < 0)
                return rc;
        }
    }
    return opy.dev->ready ? 0 : -AMP_ENODEV;
}

int opy_reserve_tx(int32_t timeout_ms)
{
    uint32_t size;
    int err = 0;
    void *buf = amp_rpmsg_get_tx_buffer(opy.dev, &size, timeout_ms, &err);
    if (!buf)
        return err ? err : -AMP_EIO;
    /* Back to the device's spare list: the next send takes it first. */
    return amp_rpmsg_release_tx_buffer(opy.dev, buf);
}

/* ---- The notifier thread ---- */

/*
 * Queue the pending call from the notifier thread. It takes the GIL to do
 * so: before 3.12, Py_AddPendingCall from a thread other than the main one
 * does not set the main thread's eval breaker, so a main thread busy in
 * Python code (spinning on is_ready()) would not notice the call until it
 * next released the GIL. Asking for the GIL makes the main thread drop it,
 * and it recomputes its eval breaker when it takes it back.
 */
static bool schedule_from_notifier(void)
{
    PyGILState_STATE g = PyGILState_Ensure();
    bool ok = schedule_processing();
    PyGILState_Release(g);
    return ok;
}

static void *notifier_main(void *arg)
{
    (void)arg;
    bool waiting = false, retry = false;
    int notify_fd = amp_sim_notify_fd(opy.board);
    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = opy.ctl[0], .events = POLLIN },
            { .fd = waiting ? -1 : notify_fd, .events = POLLIN },
        };
        int n = poll(pfd, 2, retry ? 1 : -1);
        if (n < 0 && errno != EINTR) {
            /* Cannot happen with valid descriptors; do not spin if it does. */
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
            continue;
        }
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            char cmd;
            ssize_t got = read(opy.ctl[0], &cmd, 1);
            if (got == 1 && cmd == CMD_STOP)
                return NULL;
            if (got == 1 && cmd == CMD_TOKEN)
                waiting = false;
            if (got == 1 && cmd == CMD_START) {
                /*
                 * The core process is started from this thread, which lives
                 * as long as the board: the core dies with the thread that
                 * forked it (PR_SET_PDEATHSIG), so a short-lived Python
                 * thread must not be the one. The caller holds the board
                 * lock and waits for our answer.
                 */
                int rc = amp_rproc_start(opy.rproc);
                const char *p = (const char *)&rc;
                size_t done = 0;
                while (done < sizeof rc) {
                    ssize_t w = write(opy.reply[1], p + done, sizeof rc - done);
                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w <= 0)
                        break;
                    done += (size_t)w;
                }
            }
        }
        if (!waiting && n > 0 && (pfd[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            /* One request at a time: the descriptor stays readable until
             * the main thread has acknowledged the doorbell. */
            waiting = true;
            atomic_store(&opy.notifier_waiting, true);
            retry = true;
        }
        if (retry)
            retry = !schedule_from_notifier();
    }
}

int opy_start_core(void)
{
    int rc = -AMP_EIO;
    Py_BEGIN_ALLOW_THREADS
    if (write_byte(opy.ctl[1], CMD_START) == 0) {
        char *p = (char *)&rc;
        size_t done = 0;
        while (done < sizeof rc) {
            ssize_t got = read(opy.reply[0], p + done, sizeof rc - done);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            done += (size_t)got;
        }
        if (done != sizeof rc)
            rc = -AMP_EIO;
    }
    Py_END_ALLOW_THREADS
    return rc;
}

static int start_notifier(void)
{
    if (pipe2(opy.ctl, O_CLOEXEC) != 0 || pipe2(opy.reply, O_CLOEXEC) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    /* The thread takes no signals: they belong to the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc == 0) {
        rc = pthread_create(&opy.notifier, NULL, notifier_main, NULL);
        int rc2 = pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc == 0)
            rc = rc2;
    }
    if (rc != 0) {
        errno = rc;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    opy.notifier_running = true;
    return 0;
}

static void stop_notifier(void)
{
    if (opy.notifier_running) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = write_byte(opy.ctl[1], CMD_STOP);
        if (rc == 0)
            rc = pthread_join(opy.notifier, NULL);
        Py_END_ALLOW_THREADS
        if (rc == 0)
            opy.notifier_running = false;
    }
    for (int i = 0; i < 2; i++) {
        if (!opy.notifier_running && opy.ctl[i] >= 0) {
            close(opy.ctl[i]);
            opy.ctl[i] = -1;
        }
        if (!opy.notifier_running && opy.reply[i] >= 0) {
            close(opy.reply[i]);
            opy.reply[i] = -1;
        }
    }
}

/* ---- Opening and closing ---- */

/* A PyCFunction for atexit; defined here so it need not be in the module. */
static PyMethodDef atexit_def = {
    "_openamp_atexit", opy_close, METH_NOARGS,
    "Shut the remote core down and close the openamp board (run at exit).",
};

static int register_atexit(void)
{
    if (opy.atexit_func)
        return 0;
    PyObject *func = PyCFunction_New(&atexit_def, NULL);
    if (!func)
        return -1;
    PyObject *atexit = PyImport_ImportModule("atexit");
    if (!atexit) {
        Py_DECREF(func);
        return -1;
    }
    PyObject *r = PyObject_CallMethod(atexit, "register", "O", func);
    Py_DECREF(atexit);
    if (!r) {
        Py_DECREF(func);
        return -1;
    }
    Py_DECREF(r);
    opy.atexit_func = func;
    return 0;
}

static int main_thread_ident(void)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    PyObject *main = PyObject_CallMethod(threading, "main_thread", NULL);
    Py_DECREF(threading);
    if (!main)
        return -1;
    PyObject *ident = PyObject_GetAttrString(main, "ident");
    Py_DECREF(main);
    if (!ident)
        return -1;
    unsigned long v = PyLong_AsUnsignedLong(ident);
    Py_DECREF(ident);
    if (v == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    opy.main_thread = v;
    return 0;
}

static void set_open_error(int rc, const char *msg)
{
    const char *name = opy.board_name[0] ? opy.board_name : OPY_BOARD_DEFAULT;
    int e = rc == -AMP_ENOENT ? ENOENT : rc == -AMP_EBUSY ? EBUSY
          : rc == -AMP_EINVAL ? EINVAL : rc == -AMP_ENOSPC ? ENOMEM : EIO;
    const char *fmt = "openamp: cannot open the simulated board %s: %s%s";
    const char *why = msg && *msg ? msg : amp_strerror(rc);
    const char *hint = rc == -AMP_EBUSY ? " (choose another board name with "
                                          "openamp.configure(name=...) or OPENAMP_SIM_NAME)" : "";
    if (rc == -AMP_EINVAL)
        PyErr_Format(PyExc_ValueError, fmt, name, why, hint);
    else
        opy_raise_oserror(e, NULL, fmt, name, why, hint);
}

/*
 * In a child forked from a process with an open board (os.fork(),
 * multiprocessing): the board, its core and its lock belong to the parent.
 * The child must neither use them nor, at its exit, shut the parent's core
 * down. Only plain stores here: this also runs between fork and exec of
 * the core process itself.
 */
static void atfork_child(void)
{
    if (opy.phase == OPY_OPEN) {
        opy.phase = OPY_CLOSED;
        opy.forked = true;
        opy.notifier_running = false;
    }
}

/* Lock held. */
static int board_open(void)
{
    if (apply_environment() < 0 || main_thread_ident() < 0 || register_atexit() < 0)
        return -1;
    build_platform();
    struct amp_sim_options opt = {
        .name = opy.board_name[0] ? opy.board_name : NULL,
        .simcore_path = opy.simcore[0] ? opy.simcore : NULL,
        .wait_mode = (enum amp_sim_wait_mode)opy.wait_mode,
        .remove_flash_on_close = opy.remove_flash == 1,
        .pin_cpu = opy.cpu >= 0,
        .cpu = opy.cpu,
        .rpmsg_platform = &opy.platform,
    };
    char err[512] = "";
    int rc = amp_sim_open(&opy.board, &opt, err, sizeof err);
    if (rc != 0) {
        opy.board = NULL;
        set_open_error(rc, err);
        return -1;
    }
    opy.board_platform = amp_sim_platform(opy.board);   /* our ops forward to it */
    rc = amp_sim_rpmsg(opy.board, &opy.dev);
    if (rc != 0) {
        amp_sim_close(opy.board);
        opy.board = NULL;
        set_open_error(rc, "cannot set up the rpmsg device");
        return -1;
    }
    opy.rproc = amp_sim_rproc(opy.board);
    /* No core runs yet: the device is not ready until the first start
     * (endpoints made meanwhile are announced then). */
    amp_rpmsg_reset(opy.dev);
    amp_rpmsg_set_ns_callback(opy.dev, opy_on_service, NULL);
    if (!opy.atfork_registered) {
        int e = pthread_atfork(NULL, NULL, atfork_child);
        if (e != 0) {
            errno = e;
            PyErr_SetFromErrno(PyExc_OSError);
            amp_sim_close(opy.board);
            opy.board = NULL;
            return -1;
        }
        opy.atfork_registered = true;
    }
    if (start_notifier() < 0) {
        stop_notifier();
        amp_sim_close(opy.board);
        opy.board = NULL;
        return -1;
    }
    opy.phase = OPY_OPEN;
    return 0;
}

int opy_enter(void)
{
    if (opy.phase == OPY_CLOSED) {
        PyErr_SetString(PyExc_RuntimeError,
                        opy.forked ? "openamp: this process was forked from the one that "
                                     "opened the board; only that process can use it"
                                   : "openamp: the board was closed (the interpreter is "
                                     "exiting)");
        return -1;
    }
    lock_take();
    if (opy.phase == OPY_OPEN)
        return 0;
    if (opy.phase == OPY_UNUSED && board_open() == 0)
        return 0;
    if (opy.phase == OPY_CLOSED && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "openamp: the board was closed");
    lock_give();
    return -1;
}

int opy_board_init_static(void)
{
    if (!opy.lock) {
        opy.lock = PyThread_allocate_lock();
        if (!opy.lock) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

/*
 * At interpreter exit (atexit): stop the core, stop the notifier, close the
 * board (which removes the flash file if configured). Endpoints still alive
 * are detached by the board and become inert.
 */
PyObject *opy_close(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (opy.phase != OPY_OPEN)
        Py_RETURN_NONE;
    lock_take();
    (void)amp_rproc_shutdown(opy.rproc);
    opy.rproc_owner = NULL;
    stop_notifier();
    /* A thread still asleep in a wait would wake up to a freed board. */
    if (opy.blocked == 0 && !opy.notifier_running) {
        amp_sim_close(opy.board);
        opy.board = NULL;
        opy.dev = NULL;
        opy.rproc = NULL;
    }
    opy.phase = OPY_CLOSED;
    PyObject *ns_callback = opy.ns_callback;
    opy.ns_callback = NULL;
    opy.nservices = 0;
    lock_give();
    Py_XDECREF(ns_callback);   /* may run arbitrary code: not under the lock */
    Py_RETURN_NONE;
}

/* ---- Services remembered for endpoints created after the announcement ---- */

void opy_services_clear(void)
{
    opy.nservices = 0;
}

const struct opy_service *opy_service_find(const char *name)
{
    for (unsigned i = 0; i < opy.nservices; i++)
        if (!strncmp(opy.services[i].name, name, AMP_RPMSG_NAME_LEN))
            return &opy.services[i];
    return NULL;
}

void opy_service_forget(const char *name)
{
    for (unsigned i = 0; i < opy.nservices; i++) {
        if (!strncmp(opy.services[i].name, name, AMP_RPMSG_NAME_LEN)) {
            memmove(&opy.services[i], &opy.services[i + 1],
                    (opy.nservices - i - 1) * sizeof opy.services[0]);
            opy.nservices--;
            return;
        }
    }
}

void opy_service_remember(const char *name, uint32_t addr)
{
    opy_service_forget(name);
    if (opy.nservices == OPY_SERVICES) {   /* drop the oldest */
        memmove(&opy.services[0], &opy.services[1],
                (OPY_SERVICES - 1) * sizeof opy.services[0]);
        opy.nservices--;
    }
    struct opy_service *s = &opy.services[opy.nservices++];
    memset(s->name, 0, sizeof s->name);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->addr = addr;
}

/* ---- Errors ---- */

void opy_finalize_locked(PyObject *op, int (*locked)(PyObject *op))
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (opy_enter() == 0) {
        if (locked(op) < 0)
            PyErr_WriteUnraisable(op);
        opy_leave();
    } else {
        PyErr_WriteUnraisable(op);
    }
    PyErr_Restore(type, value, tb);
}

void opy_raise_oserror(int err, PyObject *filename, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyObject *text = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (!text)
        return;
    PyObject *args = filename ? Py_BuildValue("(iOO)", err, text, filename)
                              : Py_BuildValue("(iO)", err, text);
    Py_DECREF(text);
    if (!args)
        return;
    /* Build it now: OSError() picks the subclass, and `except` clauses see
     * that class even on Pythons that match before normalising. */
    PyObject *exc = PyObject_Call(PyExc_OSError, args, NULL);
    Py_DECREF(args);
    if (!exc)
        return;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}

void opy_set_not_running_error(const char *what)
{
    enum amp_rproc_state st = amp_rproc_state(opy.rproc);
    const char *msg;
    int e = ENOTCONN;
    switch (st) {
    case AMP_RPROC_CRASHED:
        e = ENODEV;
        msg = "the remote core is gone: it crashed or exited. Restart it with "
              "RemoteProc.start()";
        break;
    case AMP_RPROC_STOPPED:
        msg = "the remote core is stopped. Start it again with RemoteProc.start()";
        break;
    case AMP_RPROC_RUNNING:
        /* Running, but the device was reset under us (stopped and
         * restarted while we waited). */
        msg = "the remote core was restarted meanwhile; wait until is_ready() is True and "
              "send again";
        break;
    default:
        msg = "the remote core is not running. Load and start it with "
              "openamp.RemoteProc(...).start()";
        break;
    }
    opy_raise_oserror(e, NULL, "%s: %s", what, msg);
}
