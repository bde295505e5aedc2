/*
 * openamp_core.h - what every `openamp` language module shares (CPython's
 * in bindings/python, MicroPython's in bindings/micropython), in C, with no
 * interpreter header: the one board opened lazily, the board lock, the
 * background receive thread and its bounded per-endpoint queues, the
 * remembered service announcements, endpoint and life-cycle bookkeeping,
 * argument rules and error texts.
 *
 * A binding converts objects and runs callbacks; it talks to this layer
 * through struct opc_ops (below) and these calls, and turns a struct
 * opc_err into its interpreter's exception.
 *
 * Threads:
 *  - The receive thread (started when the board opens) sleeps on the
 *    board's doorbell. When it rings, it takes the board lock, takes every
 *    message off the ring into the endpoints' queues and returns the ring
 *    buffers at once (see "Receive queues"), then asks the interpreter's
 *    main thread to run opc_deliver() (ops->schedule). It never calls into
 *    the interpreter with the board lock held.
 *  - Every opc_* call that touches the board runs between opc_enter() and
 *    opc_leave(): the board lock, re-entrant for its owner. Taking it when
 *    another thread has it lets the interpreter run meanwhile
 *    (ops->release_interp / ops->acquire_interp).
 *  - Callbacks run in the main thread from opc_deliver(), WITHOUT the board
 *    lock, so the receive thread keeps emptying the ring while a callback
 *    runs (or the program sleeps).
 *
 * Receive queues: each endpoint copies what arrives into a queue of
 * OPC_RXQ_BYTES bytes (each message costs its length + 8). A message that
 * does not fit stays in its ring buffer, which is then held (not returned
 * to the remote) until the queue has room: the remote sees fewer free
 * buffers and its sends wait - back-pressure on the ring, nothing dropped.
 * Held buffers go away with the rings when the core stops or crashes; the
 * messages in them are counted in opc_ept.lost.
 */
#ifndef OPENAMP_CORE_H
#define OPENAMP_CORE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "amp/sim.h"

#define OPC_BOARD_DEFAULT "sim-h747"
#define OPC_SERVICES 32               /* announcements remembered */
#define OPC_ANNOUNCE_TIMEOUT_MS 2000  /* wait for a buffer for an NS announcement */
#ifndef OPC_RXQ_BYTES                 /* a port may choose its own (-D) */
#define OPC_RXQ_BYTES (64u * 1024u)   /* per-endpoint receive queue (>= 128 full messages) */
#endif
#ifndef OPC_HELD_MAX                  /* ring buffers an endpoint may hold: at least the */
#define OPC_HELD_MAX AMP_RPMSG_MAX_VRING_NUM   /* ring's receive buffers (64 on sim-h747) */
#endif
#define OPC_MSG_MAX 496u              /* largest payload this board carries */
#define OPC_SIGNAL_SLICE_MS 100       /* the main thread looks for signals this often */

/* ---- Errors: what a binding raises. ---- */
enum opc_exc {
    OPC_OK = 0,
    OPC_EXC_OS,        /* OSError with errno `err` (TimeoutError for ETIMEDOUT, ...) */
    OPC_EXC_VALUE,     /* ValueError */
    OPC_EXC_TYPE,      /* TypeError */
    OPC_EXC_RUNTIME,   /* RuntimeError */
    OPC_EXC_NOMEM,     /* MemoryError */
    OPC_EXC_PENDING,   /* the interpreter's own exception is already set (a signal
                        * handler or callback raised: KeyboardInterrupt, ...) */
};

struct opc_err {
    enum opc_exc kind;
    int err;           /* errno value for OPC_EXC_OS */
    char msg[400];
};

/* ---- What a binding provides. ---- */
struct opc_ops {
    /* Let other interpreter threads run while this one blocks, and take the
     * interpreter back (CPython: the GIL). NULL: single-threaded. */
    void *(*release_interp)(void);
    void (*acquire_interp)(void *token);
    /* True in the thread that runs callbacks (the interpreter's main thread). */
    bool (*is_main_thread)(void);
    /* Main thread, during a wait: run pending signal handlers; -1 if one
     * raised (the wait then ends with OPC_EXC_PENDING). */
    int (*check_signals)(void);
    /* From the receive thread, no board lock held: have the main thread call
     * opc_deliver() soon. False if that cannot be queued now (asked again). */
    bool (*schedule)(void);
    /* From opc_deliver (main thread, board lock NOT held): call the callback
     * of the endpoint whose owner this is. data is valid during the call only.
     * Return -1 to end this delivery round (opc_deliver returns -1). */
    int (*on_message)(void *owner, uint32_t src, const void *data, size_t len);
    int (*on_service)(uint32_t addr, const char *name);
    /* From opc_deliver: something the user should hear of but that raises
     * nothing (CPython: a RuntimeWarning). */
    void (*warn)(const char *msg);
    /* Keep the owner alive across a callback (opc_deliver brackets each). */
    void (*ref)(void *owner);
    void (*unref)(void *owner);
    /* The receive queues' memory (OPC_RXQ_BYTES each, at Endpoint creation
     * and deinit only, never on the receive path). NULL: malloc/free. */
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);
};

/* ---- Configuration: before the board opens (NULL / -1 / INT_MIN = leave). ---- */
struct opc_settings {
    const char *board;        /* only "sim-h747" */
    const char *name;         /* board instance name */
    const char *wait_mode;    /* "blocking", "polled", "adaptive" */
    const char *simcore;      /* path of amp-simcore */
    int remove_flash;         /* 0/1, -1 = leave */
    long cpu;                 /* -1 = don't pin, INT_MIN = leave */
};

enum opc_phase { OPC_UNUSED = 0, OPC_OPEN, OPC_CLOSED };

/* A service the remote announced (name-service create), remembered. */
struct opc_service {
    char name[AMP_RPMSG_NAME_LEN];
    uint32_t addr;
    bool heard;     /* the current new-service callback was told */
};

/* An endpoint as the shared layer keeps it; embedded in the binding's object. */
struct opc_ept {
    struct amp_rpmsg_endpoint ept;   /* registered while ept.dev != NULL */
    void *owner;                     /* the binding's object (opaque here) */
    char name[AMP_RPMSG_NAME_LEN];
    bool has_callback;               /* deliver through ops->on_message, else recv() */
    int sending;                     /* sends in progress on it */
    bool deinit_pending;             /* deinit() asked for while sending */
    bool deiniting;
    bool was_bound;                  /* dest came from the remote (NS or first message) */
    /* Receive queue: records [u32 src][u32 len][payload] in a byte ring. */
    uint8_t *q;                      /* OPC_RXQ_BYTES, allocated at create */
    uint32_t q_head, q_used, q_count;
    /* Ring buffers held while the queue is full, oldest first. */
    struct { void *data; uint32_t len, src; } held[OPC_HELD_MAX];
    uint32_t held_head, held_count;
    uint64_t received;               /* messages queued since create */
    uint64_t lost;                   /* held messages discarded by a core stop/crash */
    int event_fd;                    /* readable while the queue is not empty; -1 */
    bool fd_readable;
    unsigned round;                  /* delivery fairness */
    struct opc_ept *next;            /* all live endpoints (opc.epts) */
};

/* The one board per process (a process-wide resource: the core process,
 * the flash file). Bindings may read it; they change it only through calls. */
struct opc_state {
    const struct opc_ops *ops;
    /* configuration */
    char board_name[AMP_SIM_NAME_MAX + 1];   /* "" = default */
    char simcore[PATH_MAX];                  /* "" = find it */
    int wait_mode;                           /* enum amp_sim_wait_mode, -1 = unset */
    int remove_flash;                        /* -1 = unset */
    int cpu;                                 /* INT_MIN = unset */

    enum opc_phase phase;
    bool forked;
    bool atfork_registered;
    struct amp_sim_board *board;
    struct amp_rpmsg_device *dev;
    struct amp_rproc *rproc;
    const struct amp_platform *board_platform;
    struct amp_platform_ops platform_ops;
    struct amp_platform platform;
    const void *rproc_owner;                 /* RemoteProc whose image is loaded */

    bool ns_callback;                        /* the binding has a new-service callback */
    struct opc_service services[OPC_SERVICES];
    unsigned nservices;
    bool ring_error_reported;
    int ring_error;                          /* to report at the next delivery, or 0 */
    struct opc_ept *epts;

    /* board lock */
    pthread_mutex_t mutex;
    pthread_cond_t event;                    /* broadcast after each receive round */
    uint64_t event_seq;
    int lock_depth;                          /* the holder's count (read by it only) */
    bool delivering;                         /* inside opc_deliver */
    unsigned round;
    int blocked;                             /* threads asleep in a wait */

    /* receive thread */
    pthread_t rx_thread;
    bool rx_running;
    int ctl[2], reply[2];
    bool want_schedule;                      /* callbacks to run: ask the main thread */
    int crash_signal, crash_status;          /* last core death, see opc_crash_reason */
};

extern struct opc_state opc;

/* At import: once. ops must outlive the process. */
int opc_init(const struct opc_ops *ops);
int opc_configure(const struct opc_settings *s, struct opc_err *e);
/* Open the board on first use and take the board lock: 0, or -1 with *e. */
int opc_enter(struct opc_err *e);
void opc_leave(void);
bool opc_is_open(void);
/* At interpreter exit: shut the core down, stop the thread, close the board. */
void opc_close(void);

/* Run queued callbacks (main thread; board lock not held). 0, or -1 when a
 * callback asked to stop (ops->on_message/on_service returned -1). */
int opc_deliver(void);

/* ---- Argument rules (shared texts). 0, or -1 with *e. ---- */
/* name: its UTF-8 bytes; at most 31, no NUL. */
int opc_check_name(const char *utf8, size_t len, char out[AMP_RPMSG_NAME_LEN],
                   struct opc_err *e);
/* An address: 0..0xFFFFFFFF, or -1 meaning ENDPOINT_ADDR_ANY. `overflow` if
 * the interpreter's integer did not fit a long long. */
int opc_check_addr(long long v, bool overflow, const char *what, uint32_t *out,
                   struct opc_err *e);
/* A timeout in ms: -1 forever, 0 once, up to INT32_MAX. */
int opc_check_timeout(long long v, bool overflow, int32_t *out, struct opc_err *e);
int opc_check_entry(long long v, bool overflow, uint64_t *out, struct opc_err *e);
/* Set *e (the formatted message) and return -1. */
int opc_fail(struct opc_err *e, enum opc_exc kind, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- New-service callback and announcements (board lock held). ---- */
/* The binding set (true) or cleared its callback. A new one hears every
 * service already announced, at the next opc_deliver(). */
void opc_set_ns_callback(bool set);
const struct opc_service *opc_service_find(const char *name);
/* After opc_leave(): ask for a delivery round (ops->schedule) if one is due,
 * e.g. after opc_set_ns_callback(true). Board lock not held. */
void opc_kick(void);

/* ---- Endpoints (board lock held unless said). ---- */
/* Register: 0, or -1 with *e. owner is passed back to ops->on_message. */
int opc_ept_create(struct opc_ept *ept, void *owner, const char *name, bool has_callback,
                   uint32_t src, uint32_t dest, struct opc_err *e);
/* Destroy (NS destroy announced, a buffer waited for); deferred while a send
 * on it runs. 0, or -1 with *e (interrupted). Frees the queue. */
int opc_ept_deinit(struct opc_ept *ept, struct opc_err *e);
/* Registered, not being deinitialised, board open (a plain check). */
bool opc_ept_usable(const struct opc_ept *ept);
/* Usable and bound to a running remote. Takes the board lock itself. */
bool opc_ept_is_ready(const struct opc_ept *ept);
int opc_ept_send(struct opc_ept *ept, const void *data, size_t len, uint32_t src, uint32_t dest,
                 int32_t timeout_ms, struct opc_err *e);
/* Next queued message (endpoints without a callback): its length, copied
 * into buf (OPC_MSG_MAX bytes) with *src; waits up to timeout_ms (-1 forever,
 * 0 not at all) releasing the interpreter. -1 with *e: TimeoutError, not
 * usable, interrupted (OPC_EXC_PENDING). */
int opc_ept_recv(struct opc_ept *ept, void *buf, uint32_t *src, int32_t timeout_ms,
                 struct opc_err *e);
/* Messages waiting in its queue (copied + held). Takes the board lock itself. */
uint32_t opc_ept_pending(const struct opc_ept *ept);
/* A descriptor readable while the endpoint has messages queued, or while the
 * core is not running (recv() then says why): an eventfd, created on first
 * call, closed at deinit. -1 with *e. */
int opc_ept_fileno(struct opc_ept *ept, struct opc_err *e);

/* ---- Remote core life cycle (board lock held). owner: the binding's object. ---- */
int opc_rproc_load_file(const void *owner, const char *path, const char *display,
                        struct opc_err *e);
int opc_rproc_load_entry(const void *owner, uint64_t entry, struct opc_err *e);
bool opc_rproc_owns(const void *owner);
int opc_rproc_start(const void *owner, int (*reload)(const void *owner, struct opc_err *e),
                    struct opc_err *e);
int opc_rproc_stop(const void *owner, struct opc_err *e);
int opc_rproc_shutdown(const void *owner, struct opc_err *e);
void opc_rproc_forget(const void *owner);          /* the owner is being freed */
const char *opc_rproc_state(const void *owner);    /* 'offline', 'running', ... */
/* Why the core last ended on its own, from the board (amp_sim_crash_reason:
 * "killed by signal 11 (SIGSEGV)", "the firmware exited with status 3"),
 * or "" if it did not (running, stopped, never ran). Board lock held. */
void opc_crash_reason(char *buf, size_t len);
int opc_trace(char *buf, size_t len);
/* "what: the remote core is stopped..." for a device that is not running. */
int opc_not_running_error(const char *what, struct opc_err *e);

#endif /* OPENAMP_CORE_H */
