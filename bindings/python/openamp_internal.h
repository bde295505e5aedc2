/*
 * openamp_internal.h - shared between the files of the `openamp` CPython
 * extension: the board state, the board lock, and the types.
 *
 *   module.c      module object, configure(), new_service_callback()
 *   board.c       the board: lazy open, lock, notifier thread, platform wait
 *   endpoint.c    openamp.Endpoint
 *   remoteproc.c  openamp.RemoteProc
 *
 * Threads and the GIL (see docs/python.md for the user's view):
 *  - Every call into the rpmsg/remoteproc/sim layers happens with the GIL
 *    held and the board lock held (opy_enter/opy_leave). The lock is
 *    re-entrant for its owner, because Python callbacks run from inside the
 *    rpmsg poll and may call back into the module.
 *  - The notifier thread never touches the board except to poll() its
 *    notify descriptor; it asks the main thread to do the work through
 *    Py_AddPendingCall, one request at a time.
 *  - Blocking happens only in opy_wait (the platform wait op handed to the
 *    rpmsg device) and in lock acquisition, always with the GIL released.
 */
#ifndef OPENAMP_INTERNAL_H
#define OPENAMP_INTERNAL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "amp/sim.h"

#define OPY_BOARD_DEFAULT "sim-h747"
#define OPY_SERVICES 32          /* announcements remembered for late endpoints */
#define OPY_ANNOUNCE_TIMEOUT_MS 2000  /* wait for a buffer for an NS announcement */

enum opy_phase {
    OPY_UNUSED = 0,   /* nothing opened yet (import does nothing) */
    OPY_OPEN,         /* board open, notifier running */
    OPY_CLOSED,       /* closed at interpreter exit */
};

/* A service the remote announced that no local endpoint had at the time. */
struct opy_service {
    char name[AMP_RPMSG_NAME_LEN];
    uint32_t addr;
};

/*
 * The module's one board, created on first use. It is a single static
 * struct, not per-module-instance state, because there is exactly one
 * board per process: it owns a process-wide resource (the simulated core
 * child process, a named flash file locked for this process) and C
 * callbacks from the core (rx, name service, platform wait) need it
 * without a module object at hand. MicroPython's module likewise has
 * exactly one rpmsg device. The module uses single-phase init, so it is
 * never loaded twice in one process.
 */
struct opy_state {
    /* Configuration: configure() and the environment, read at first use. */
    char board_name[AMP_SIM_NAME_MAX + 1];   /* "" = not set */
    char simcore[PATH_MAX];              /* "" = find it */
    int wait_mode;                       /* enum amp_sim_wait_mode, or -1 = not set */
    int remove_flash;                    /* 0/1, or -1 = not set */
    int cpu;                             /* -1 = don't pin, INT_MIN = not set */

    enum opy_phase phase;
    struct amp_sim_board *board;
    struct amp_rpmsg_device *dev;
    struct amp_rproc *rproc;
    const struct amp_platform *board_platform;  /* the board's own ops */
    struct amp_platform_ops platform_ops;        /* the board's, with opy_wait */
    struct amp_platform platform;                /* handed to rpmsg and rproc */
    unsigned long main_thread;                   /* where callbacks run */
    PyObject *atexit_func;
    bool atfork_registered;
    bool forked;             /* this is a child forked after the board opened */

    PyObject *ns_callback;                       /* new_service_callback, or NULL */
    const void *rproc_owner;                     /* RemoteProc whose image is loaded */
    struct opy_service services[OPY_SERVICES];
    unsigned nservices;
    bool ring_error_reported;
    /* KeyboardInterrupt/SystemExit raised in a callback: re-raised in the
     * main flow once the current round of deliveries is over. */
    PyObject *exc_type, *exc_value, *exc_tb;

    /* The board lock: re-entrant for the thread that holds it. */
    PyThread_type_lock lock;
    unsigned long lock_owner;
    int lock_depth;
    bool polling;            /* inside opy_process (callbacks may be running) */
    bool poll_again;         /* a processing request came in meanwhile */
    bool main_deferred;      /* the main thread could not process: lock busy */
    int blocked;             /* threads blocked in opy_wait without the GIL */
    uint32_t last_yield_ms;  /* polled waits: when the GIL was last let go */

    /* The notifier thread. */
    pthread_t notifier;
    bool notifier_running;
    int ctl[2];              /* commands to the notifier */
    int reply[2];            /* its answers (start results) */
    atomic_bool scheduled;          /* a pending call is queued */
    atomic_bool notifier_waiting;   /* it waits for a processing round */
};

extern struct opy_state opy;
extern PyTypeObject opy_EndpointType;
extern PyTypeObject opy_RemoteProcType;

/* board.c */
int opy_board_init_static(void);          /* at import: the lock only */
int opy_enter(void);                      /* open lazily, take the lock; -1 with an exception */
void opy_leave(void);
/*
 * For tp_finalize: run locked(op) under the board lock. Its errors go to
 * sys.unraisablehook; an exception already being raised is kept.
 */
void opy_finalize_locked(PyObject *op, int (*locked)(PyObject *op));
bool opy_is_open(void);
/* Drain incoming messages (lock held, main thread): 0, or -1 with the
 * KeyboardInterrupt/SystemExit a callback raised. */
int opy_process(void);
/* After a callback raised: report it, or keep it for opy_process to re-raise. */
void opy_callback_failed(PyObject *callback);
int opy_start_core(void);                 /* amp_rproc_start from the notifier thread */
void opy_services_clear(void);
const struct opy_service *opy_service_find(const char *name);
void opy_service_remember(const char *name, uint32_t addr);
void opy_service_forget(const char *name);
int opy_parse_wait_mode(const char *s, int *out);   /* "blocking" ... -> enum; -1 if unknown */
/* Make sure a transmit buffer is free for an announcement: 0, an amp error,
 * or -AMP_EIO with a Python exception set. */
int opy_reserve_tx(int32_t timeout_ms);
/* Set an OSError for a device that is not running, from the core's state. */
void opy_set_not_running_error(const char *what);
PyObject *opy_close(PyObject *self, PyObject *unused);
/* Raise OSError(err, text[, filename]) as the errno's subclass
 * (TimeoutError, FileNotFoundError, ...). Steals nothing. */
/* Raise the OSError subclass for errno `err` (FileNotFoundError, TimeoutError,
 * ...) with a message formatted like PyUnicode_FromFormat; filename may be NULL. */
void opy_raise_oserror(int err, PyObject *filename, const char *fmt, ...);

/* endpoint.c */
void opy_on_service(struct amp_rpmsg_device *dev, const char *name, uint32_t addr,
                    uint32_t flags, void *priv);

#endif /* OPENAMP_INTERNAL_H */
