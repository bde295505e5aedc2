/*
 * modopenamp.c - MicroPython's `openamp` module on our stack: the seed's API
 * (Endpoint, RemoteProc, new_service_callback, ENDPOINT_ADDR_ANY) as a user
 * C module. What the CPython and MicroPython modules share - the board,
 * lazy set-up, the background receive thread and queues, remembered
 * announcements, endpoint and life-cycle bookkeeping, argument rules and
 * error texts - is bindings/common (opc_*); this file only converts objects
 * and runs callbacks MicroPython's way:
 *
 *  - callbacks run from the scheduler (mp_sched_schedule from the receive
 *    thread, which never touches the interpreter otherwise), so they are
 *    delivered at bytecode boundaries and while the script sleeps in
 *    time.sleep() (mp_hal_delay_ms runs the scheduler on every tick);
 *  - an exception in a callback is printed and delivery goes on (the
 *    message was already off the ring); KeyboardInterrupt and SystemExit
 *    are re-raised in the main flow;
 *  - nothing is allocated per message: `data` is a bytearray object kept in
 *    the Endpoint and pointed at the message for the duration of the call;
 *  - Ctrl-C ends every wait; on the unix port, where SIGINT raises
 *    KeyboardInterrupt from the signal handler itself
 *    (MICROPY_ASYNC_KBD_INTR), SIGINT is held back while our C code runs and
 *    let through between calls, so it never unwinds through the core.
 *
 * docs/micropython.md lists every difference from upstream's extmod/modopenamp.c.
 */
#include "py/binary.h"
#include "py/builtin.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/objarray.h"
#include "py/objint.h"
#include "py/runtime.h"
#include "py/stream.h"

#include <string.h>

#if OMPY_MCU
#include "ompy_mcu.h"   /* a microcontroller: opc_mcu.c and the board */
#else
#include "ompy_port.h"  /* the unix port: bindings/common over the simulated board */
#endif
#include "openamp_core.h"

#if !MICROPY_ENABLE_FINALISER
#error "the openamp module needs MICROPY_ENABLE_FINALISER"
#endif
#if !MICROPY_ENABLE_SCHEDULER
#error "the openamp module needs MICROPY_ENABLE_SCHEDULER"
#endif
#if !OMPY_MCU && !MICROPY_PY_THREAD
/* The receive thread hands work to the interpreter with mp_sched_schedule,
 * which is thread-safe only when the port's atomic section is a lock. */
#error "the openamp module needs MICROPY_PY_THREAD on this port"
#endif

static const struct opc_ops ompy_ops;   /* below: the callbacks */

#if OMPY_MCU
/*
 * A soft reset (Ctrl-D) frees every object without a process exit: this
 * object's finaliser, run by that sweep like upstream's VirtIODev's, forgets
 * the new-service callback it freed (endpoints and RemoteProc have their own
 * finalisers). Kept alive by a root pointer until then.
 */
typedef struct {
    mp_obj_base_t base;
} ompy_session_t;

static mp_obj_t session_del(mp_obj_t self_in)
{
    (void)self_in;
    MP_STATE_PORT(ompy_ns_callback) = MP_OBJ_NULL;
    opc_set_ns_callback(false);
    MP_STATE_PORT(ompy_session) = MP_OBJ_NULL;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_del_obj, session_del);

static const mp_rom_map_elem_t session_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&session_del_obj) },
};
static MP_DEFINE_CONST_DICT(session_locals, session_locals_table);
static MP_DEFINE_CONST_OBJ_TYPE(ompy_session_type, MP_QSTR_openamp, MP_TYPE_FLAG_NONE,
                                locals_dict, &session_locals);

static void first_use(void)
{
    static bool done;
    if (!done) {
        done = true;
        (void)opc_init(&ompy_ops);
    }
    if (MP_STATE_PORT(ompy_session) == MP_OBJ_NULL)
        MP_STATE_PORT(ompy_session) =
            MP_OBJ_FROM_PTR(mp_obj_malloc_with_finaliser(ompy_session_t, &ompy_session_type));
}
#define ompy_port_hold_sigint(hold) ((void)(hold))
#define ompy_port_sigint_pending() false
#define ompy_port_wake_main() ((void)0)
#else
#define first_use() ompy_port_first_use(&ompy_ops)
#endif

/* ---- SIGINT on the unix port (see the header comment). ---- */
#if defined(__unix__) && MICROPY_ASYNC_KBD_INTR
#define OMPY_HOLD_SIGINT 1
#else
#define OMPY_HOLD_SIGINT 0
#endif

/* Per thread: the signal mask is. */
static _Thread_local int hold_depth;

static void hold_sigint(void)
{
    if (OMPY_HOLD_SIGINT && hold_depth++ == 0)
        ompy_port_hold_sigint(true);
}

static void release_sigint(void)
{
    if (OMPY_HOLD_SIGINT && --hold_depth == 0)
        ompy_port_hold_sigint(false);   /* a held Ctrl-C is raised here */
}

/* ---- Errors ----
 * Texts are short, in MicroPython's style, and each MP_ERROR_TEXT is one
 * literal on one line: MicroPython's ROM-text compression skips split ones. */

static MP_NORETURN void raise_exc(const struct opc_err *e)
{
    switch (e->kind) {
    case OPC_EXC_PENDING:
        mp_handle_pending(true);   /* KeyboardInterrupt, or what a callback raised */
        mp_raise_OSError(MP_EINTR);
    case OPC_EXC_VALUE:
    case OPC_EXC_TYPE:
    case OPC_EXC_RUNTIME:
    case OPC_EXC_NOMEM: {
        static const mp_obj_type_t *const types[] = {
            [OPC_EXC_VALUE] = &mp_type_ValueError, [OPC_EXC_TYPE] = &mp_type_TypeError,
            [OPC_EXC_RUNTIME] = &mp_type_RuntimeError, [OPC_EXC_NOMEM] = &mp_type_MemoryError,
        };
        mp_raise_msg_varg(types[e->kind], MP_ERROR_TEXT("%s"), e->msg);
    }
    default: {
        /* OSError(errno, text): prints "[Errno 110] ETIMEDOUT: text" and
         * e.errno is the number, like MicroPython's own OSErrors. */
        mp_obj_t args[2] = {
            MP_OBJ_NEW_SMALL_INT(e->err ? e->err : MP_EIO),
            mp_obj_new_str(e->msg, strlen(e->msg)),
        };
        nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, args));
    }
    }
}

/* An error report for one opc_* call. On a microcontroller, opc_mcu.c sets
 * every field a failure reads (opc_fail, pending), so only the kind is
 * cleared, not 400 bytes per call; the hosted layer gets it zeroed. */
#if OMPY_MCU
#define OMPY_ERR(e) struct opc_err e; e.kind = OPC_OK
#else
#define OMPY_ERR(e) struct opc_err e = { 0 }
#endif

/* Take the board (opened on first use), with SIGINT held until ompy_leave(). */
static void ompy_enter(void)
{
    OMPY_ERR(e);
    first_use();
    hold_sigint();
    if (opc_enter(&e) < 0) {
        release_sigint();   /* a Ctrl-C held meanwhile wins over the error */
        raise_exc(&e);
    }
}

static void ompy_leave(void)
{
    opc_leave();
    release_sigint();
}

/* Leave the board, then raise (a held Ctrl-C first). */
static MP_NORETURN void leave_raise(const struct opc_err *e)
{
    ompy_leave();
    raise_exc(e);
}

/* An int argument for the shared checks: its value, or overflow. */
static long long get_int(mp_obj_t obj, const char *what, bool *overflow)
{
    *overflow = false;
    if (!mp_obj_is_int(obj))
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("%s must be an int, not %s"), what,
                          mp_obj_get_type_str(obj));
    if (mp_obj_is_small_int(obj))
        return MP_OBJ_SMALL_INT_VALUE(obj);
    /* A big int: fine up to 32 bits on a 32-bit port (0xFFFFFFFF does not
     * fit a small int there); out of every range on a 64-bit one. */
    if (sizeof(mp_uint_t) == 4 && mp_obj_int_sign(obj) > 0) {
        /* Its low 32 bits, if that is all of it (mpz helpers the port links). */
        mp_uint_t v = (mp_uint_t)mp_obj_int_get_truncated(obj);
        if (mp_obj_equal(obj, mp_obj_new_int_from_uint(v)))
            return (long long)v;
    }
    *overflow = true;
    return 0;
}

static uint32_t get_addr(mp_obj_t obj, const char *what)
{
    OMPY_ERR(e);
    bool overflow;
    long long v = get_int(obj, what, &overflow);
    uint32_t out;
    if (opc_check_addr(v, overflow, what, &out, &e) < 0)
        raise_exc(&e);
    return out;
}

static int32_t get_timeout(mp_obj_t obj)
{
    OMPY_ERR(e);
    bool overflow;
    long long v = get_int(obj, "timeout", &overflow);
    int32_t out;
    if (opc_check_timeout(v, overflow, &out, &e) < 0)
        raise_exc(&e);
    return out;
}

/* ---- Endpoint ---- */

typedef struct _ompy_ept_obj_t {
    mp_obj_base_t base;
    mp_obj_t callback;       /* or mp_const_none: receive with recv() */
    /* The `data` handed to the callback: a bytearray pointed at the message
     * for the duration of the call, empty otherwise. Kept here so that a
     * message costs no allocation. */
    mp_obj_array_t data;
    struct opc_ept core;
} ompy_ept_obj_t;

static const mp_obj_type_t ompy_endpoint_type;

static void data_view(ompy_ept_obj_t *self, const void *data, size_t len)
{
    self->data.base.type = &mp_type_bytearray;
    self->data.typecode = BYTEARRAY_TYPECODE;
    self->data.free = 0;
    self->data.len = len;
    self->data.items = (void *)data;
}

/* A callback raised: print it (the message is consumed either way), or keep
 * KeyboardInterrupt / SystemExit for the main flow. True: stop this round. */
static bool callback_failed(mp_obj_t exc)
{
    const mp_obj_type_t *t = mp_obj_get_type(exc);
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(t), MP_OBJ_FROM_PTR(&mp_type_KeyboardInterrupt)) ||
        mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(t), MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
        mp_sched_exception(exc);   /* raised at the next bytecode boundary */
        return true;
    }
    mp_printf(MICROPY_ERROR_PRINTER, "openamp: exception in a callback (delivery goes on):\n");
    mp_obj_print_exception(MICROPY_ERROR_PRINTER, exc);
    return false;
}

/*
 * Run fn(addr, b) for a delivery, b = `name` as a str or else `data`; the
 * arguments are made inside the handler so that a MemoryError is printed
 * like any other exception. -1: stop this round (KeyboardInterrupt, ...).
 */
static int run_callback(mp_obj_t fn, uint32_t addr, const char *name, mp_obj_t data)
{
    int rc = 0;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        release_sigint();   /* Ctrl-C may interrupt a long callback */
        mp_obj_t b = name ? mp_obj_new_str(name, strlen(name)) : data;
        mp_call_function_2(fn, mp_obj_new_int_from_uint(addr), b);
        hold_sigint();
        nlr_pop();
    } else {
        hold_sigint();
        if (callback_failed(MP_OBJ_FROM_PTR(nlr.ret_val)))
            rc = -1;
    }
    return rc;
}

/* Called from opc_deliver (main thread, from the scheduler, no board lock). */
static int on_message(void *owner, uint32_t src, const void *data, size_t len)
{
    ompy_ept_obj_t *self = owner;
    if (self->callback == mp_const_none)
        return 0;
    data_view(self, data, len);
    int rc = run_callback(self->callback, src, NULL, MP_OBJ_FROM_PTR(&self->data));
    data_view(self, NULL, 0);   /* the message is gone after the call */
    return rc;
}

static int on_service(uint32_t addr, const char *name)
{
    mp_obj_t fn = MP_STATE_PORT(ompy_ns_callback);
    if (fn == MP_OBJ_NULL || fn == mp_const_none)
        return 0;
    return run_callback(fn, addr, name, MP_OBJ_NULL);
}

#if !OMPY_MCU
/* Scheduled by the receive thread: run the queued callbacks. */
static mp_obj_t ompy_deliver(mp_obj_t unused)
{
    (void)unused;
    hold_sigint();
    (void)opc_deliver();   /* -1: a KeyboardInterrupt is pending; the rest waits */
    release_sigint();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(ompy_deliver_obj, ompy_deliver);
#endif

#if OMPY_MCU
/* The doorbell interrupt only schedules this; it runs in thread context. */
static mp_sched_node_t deliver_node;

static void deliver_from_node(mp_sched_node_t *node)
{
    (void)node;
    (void)opc_deliver();
}

static bool schedule(void)
{
    mp_sched_schedule_node(&deliver_node, deliver_from_node);
    return true;
}

#if OMPY_REMOTE
void HSEM2_IRQHandler(void);
void HSEM2_IRQHandler(void)
#else
void HSEM1_IRQHandler(void);
void HSEM1_IRQHandler(void)
#endif
{
    ompy_h747_irq();
    (void)schedule();
}

uint32_t ompy_mcu_ticks_ms(void)
{
    return (uint32_t)mp_hal_ticks_ms();
}

#if !OMPY_REMOTE
/* The firmware file from the VFS, read whole (the loader checks it all
 * before it writes a byte); the GC frees it. */
int ompy_mcu_read_file(const char *path, void **image, size_t *size, struct opc_err *e)
{
    (void)e;
    mp_obj_t args[2] = { mp_obj_new_str(path, strlen(path)), MP_OBJ_NEW_QSTR(MP_QSTR_rb) };
    mp_obj_t f = mp_builtin_open(2, args, (mp_map_t *)&mp_const_empty_map);
    mp_obj_t dest[2];
    mp_load_method(f, MP_QSTR_read, dest);
    mp_obj_t data = mp_call_method_n_kw(0, 0, dest);   /* raises OSError itself */
    mp_stream_close(f);
    mp_buffer_info_t bi;
    mp_get_buffer_raise(data, &bi, MP_BUFFER_READ);
    *image = bi.buf;
    *size = bi.len;
    return 0;
}

void ompy_mcu_free_file(void *image, size_t size)
{
    (void)image;
    (void)size;
}
#endif
#else
/* From the receive thread (not an interpreter thread): mp_sched_schedule
 * is safe there because this port's atomic section is a mutex. */
static bool schedule(void)
{
    if (!mp_sched_schedule(MP_OBJ_FROM_PTR(&ompy_deliver_obj), mp_const_none))
        return false;
    ompy_port_wake_main();   /* end a time.sleep() in select() so the scheduler runs */
    return true;
}
#endif

#if !OMPY_MCU
static bool is_main_thread(void)
{
    #if MICROPY_PY_THREAD
    return mp_thread_is_main_thread();
    #else
    return true;
    #endif
}
#endif

static int check_signals(void)
{
    if (OMPY_HOLD_SIGINT && ompy_port_sigint_pending())
        return -1;
    return MP_STATE_THREAD(mp_pending_exception) != MP_OBJ_NULL ? -1 : 0;
}

#if !OMPY_MCU
static void warn(const char *msg)
{
    mp_printf(MICROPY_ERROR_PRINTER, "openamp: %s\n", msg);
}

static void no_ref(void *owner)
{
    (void)owner;   /* the GC scans the C stack: an owner in a callback stays alive */
}
#endif

static const struct opc_ops ompy_ops = {
    .release_interp = NULL,    /* no GIL on the unix port */
    .acquire_interp = NULL,
    .check_signals = check_signals,
    .schedule = schedule,
    .on_message = on_message,
    .on_service = on_service,
    #if !OMPY_MCU              /* opc_mcu.c has no threads and nothing to warn about */
    .is_main_thread = is_main_thread,
    .warn = warn,
    .ref = no_ref,
    .unref = no_ref,
    #endif
};

static mp_obj_t endpoint_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                                  const mp_obj_t *all_args)
{
    enum { ARG_name, ARG_callback, ARG_src, ARG_dest };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_name, MP_ARG_REQUIRED | MP_ARG_OBJ, { .u_rom_obj = MP_ROM_NONE } },
        { MP_QSTR_callback, MP_ARG_OBJ, { .u_rom_obj = MP_ROM_NONE } },
        { MP_QSTR_src, MP_ARG_OBJ, { .u_rom_obj = MP_ROM_NONE } },
        { MP_QSTR_dest, MP_ARG_OBJ, { .u_rom_obj = MP_ROM_NONE } },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args,
                              args);
    OMPY_ERR(e);
    mp_obj_t name = args[ARG_name].u_obj;
    if (!mp_obj_is_str(name))
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("Endpoint name must be a str, not %s"),
                          mp_obj_get_type_str(name));
    size_t name_len;
    const char *utf8 = mp_obj_str_get_data(name, &name_len);
    char cname[AMP_RPMSG_NAME_LEN];
    if (opc_check_name(utf8, name_len, cname, &e) < 0)
        raise_exc(&e);
    mp_obj_t callback = args[ARG_callback].u_obj;
    if (callback != mp_const_none && !mp_obj_is_callable(callback))
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("callback must be callable or None, not %s"),
                          mp_obj_get_type_str(callback));
    uint32_t src = AMP_RPMSG_ADDR_ANY, dest = AMP_RPMSG_ADDR_ANY;
    if (args[ARG_src].u_obj != mp_const_none)
        src = get_addr(args[ARG_src].u_obj, "src");
    if (args[ARG_dest].u_obj != mp_const_none)
        dest = get_addr(args[ARG_dest].u_obj, "dest");

    ompy_ept_obj_t *self = mp_obj_malloc_with_finaliser(ompy_ept_obj_t, type);
    memset(&self->core, 0, sizeof self->core);
    self->callback = callback;
    data_view(self, NULL, 0);
    ompy_enter();
    if (opc_ept_create(&self->core, self, cname, callback != mp_const_none, src, dest, &e) < 0)
        leave_raise(&e);
    ompy_leave();
    return MP_OBJ_FROM_PTR(self);
}

static ompy_ept_obj_t *get_ept(mp_obj_t self_in)
{
    return MP_OBJ_TO_PTR(self_in);
}

static mp_obj_t endpoint_deinit(mp_obj_t self_in)
{
    ompy_ept_obj_t *self = get_ept(self_in);
    if (opc_is_open() && opc_ept_usable(&self->core)) {
        OMPY_ERR(e);
        ompy_enter();
        if (opc_ept_deinit(&self->core, &e) < 0)
            leave_raise(&e);
        ompy_leave();
    }
    self->callback = mp_const_none;   /* all its resources, as upstream's deinit */
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(endpoint_deinit_obj, endpoint_deinit);

/* The finaliser: as deinit(), but it never raises (the GC calls it). */
static mp_obj_t endpoint_del(mp_obj_t self_in)
{
    ompy_ept_obj_t *self = get_ept(self_in);
    if (opc_is_open() && opc_ept_usable(&self->core)) {
        OMPY_ERR(e);
        hold_sigint();
        if (opc_enter(&e) == 0) {
            (void)opc_ept_deinit(&self->core, &e);
            opc_leave();
        }
        release_sigint();
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(endpoint_del_obj, endpoint_del);

static mp_obj_t endpoint_is_ready(mp_obj_t self_in)
{
    return mp_obj_new_bool(opc_is_open() && opc_ept_is_ready(&get_ept(self_in)->core));
}
static MP_DEFINE_CONST_FUN_OBJ_1(endpoint_is_ready_obj, endpoint_is_ready);

static mp_obj_t endpoint_send(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args)
{
    enum { ARG_data, ARG_src, ARG_dest, ARG_timeout };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_data, MP_ARG_REQUIRED | MP_ARG_OBJ, { .u_rom_obj = MP_ROM_NONE } },
        { MP_QSTR_src, MP_ARG_OBJ, { .u_rom_obj = MP_ROM_INT(-1) } },
        { MP_QSTR_dest, MP_ARG_OBJ, { .u_rom_obj = MP_ROM_INT(-1) } },
        { MP_QSTR_timeout, MP_ARG_OBJ, { .u_rom_obj = MP_ROM_INT(-1) } },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed_args),
                     allowed_args, args);
    ompy_ept_obj_t *self = get_ept(pos_args[0]);
    uint32_t src = get_addr(args[ARG_src].u_obj, "src");
    uint32_t dest = get_addr(args[ARG_dest].u_obj, "dest");
    int32_t timeout = get_timeout(args[ARG_timeout].u_obj);
    mp_buffer_info_t buf;
    mp_obj_t data = args[ARG_data].u_obj;
    if (!mp_get_buffer(data, &buf, MP_BUFFER_READ))
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("data must be str or buffer, not %s"),
                          mp_obj_get_type_str(data));
    OMPY_ERR(e);
    ompy_enter();
    int n = opc_ept_send(&self->core, buf.buf, buf.len, src, dest, timeout, &e);
    if (n < 0)
        leave_raise(&e);
    ompy_leave();
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(endpoint_send_obj, 2, endpoint_send);

/* recv(timeout=-1) -> (src, bytes), for an endpoint made without a callback. */
static mp_obj_t endpoint_recv(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args)
{
    enum { ARG_timeout };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_timeout, MP_ARG_OBJ, { .u_rom_obj = MP_ROM_INT(-1) } },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed_args),
                     allowed_args, args);
    ompy_ept_obj_t *self = get_ept(pos_args[0]);
    int32_t timeout = get_timeout(args[ARG_timeout].u_obj);
    if (self->callback != mp_const_none)
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("recv() on an Endpoint with a callback"));
    vstr_t vstr;
    vstr_init_len(&vstr, OPC_MSG_MAX);
    uint32_t src = 0;
    OMPY_ERR(e);
    ompy_enter();
    int n = opc_ept_recv(&self->core, vstr.buf, &src, timeout, &e);
    if (n < 0) {
        vstr_clear(&vstr);
        leave_raise(&e);
    }
    ompy_leave();
    vstr.len = (size_t)n;
    mp_obj_t items[2] = { mp_obj_new_int_from_uint(src), mp_obj_new_bytes_from_vstr(&vstr) };
    return mp_obj_new_tuple(2, items);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(endpoint_recv_obj, 1, endpoint_recv);

/* select.poll / asyncio: readable while messages are queued for recv(). */
static mp_uint_t endpoint_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode)
{
    ompy_ept_obj_t *self = get_ept(self_in);
    if (request == MP_STREAM_POLL) {
        mp_uint_t ret = 0;
        if ((arg & MP_STREAM_POLL_RD) && opc_is_open() && opc_ept_pending(&self->core))
            ret |= MP_STREAM_POLL_RD;
        if ((arg & MP_STREAM_POLL_WR) && opc_is_open() && opc_ept_is_ready(&self->core))
            ret |= MP_STREAM_POLL_WR;
        return ret;
    }
    if (request == MP_STREAM_CLOSE) {
        endpoint_deinit(self_in);
        return 0;
    }
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

static const mp_stream_p_t endpoint_stream_p = {
    .ioctl = endpoint_ioctl,
};

static void endpoint_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind)
{
    (void)kind;
    ompy_ept_obj_t *self = get_ept(self_in);
    if (!opc_is_open() || !opc_ept_usable(&self->core)) {
        mp_printf(print, "<Endpoint '%s' deinitialised>", self->core.name);
        return;
    }
    mp_printf(print, "<Endpoint '%s' src=%u dest=", self->core.name,
              (unsigned)self->core.ept.addr);
    if (self->core.ept.dest_addr == AMP_RPMSG_ADDR_ANY)
        mp_printf(print, "ANY");
    else
        mp_printf(print, "%u", (unsigned)self->core.ept.dest_addr);
    mp_printf(print, " %s>", opc_ept_is_ready(&self->core) ? "ready" : "not ready");
}

/* Read-only attributes (an extension, as in the CPython module): name, src, dest. */
static void endpoint_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest)
{
    ompy_ept_obj_t *self = get_ept(self_in);
    if (dest[0] != MP_OBJ_NULL)
        return;   /* no stores or deletes */
    bool live = opc_is_open() && opc_ept_usable(&self->core);
    if (attr == MP_QSTR_name) {
        dest[0] = mp_obj_new_str(self->core.name, strlen(self->core.name));
    } else if (attr == MP_QSTR_src) {
        dest[0] = mp_obj_new_int_from_uint(self->core.ept.addr);
    } else if (attr == MP_QSTR_dest) {
        dest[0] = mp_obj_new_int_from_uint(live ? self->core.ept.dest_addr : AMP_RPMSG_ADDR_ANY);
    } else {
        dest[1] = MP_OBJ_SENTINEL;   /* go on to the methods */
    }
}

static const mp_rom_map_elem_t endpoint_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&endpoint_del_obj) },
    { MP_ROM_QSTR(MP_QSTR_deinit), MP_ROM_PTR(&endpoint_deinit_obj) },
    { MP_ROM_QSTR(MP_QSTR_is_ready), MP_ROM_PTR(&endpoint_is_ready_obj) },
    { MP_ROM_QSTR(MP_QSTR_send), MP_ROM_PTR(&endpoint_send_obj) },
    { MP_ROM_QSTR(MP_QSTR_recv), MP_ROM_PTR(&endpoint_recv_obj) },
};
static MP_DEFINE_CONST_DICT(endpoint_locals_dict, endpoint_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    ompy_endpoint_type,
    MP_QSTR_Endpoint,
    MP_TYPE_FLAG_NONE,
    make_new, endpoint_make_new,
    print, endpoint_print,
    attr, endpoint_attr,
    protocol, &endpoint_stream_p,
    locals_dict, &endpoint_locals_dict
    );

/* ---- RemoteProc (host role only, as upstream) ---- */
#if !OMPY_REMOTE

typedef struct _ompy_rproc_obj_t {
    mp_obj_base_t base;
    mp_obj_t entry;     /* the path (str) or the boot address (int) */
} ompy_rproc_obj_t;

static int load(const void *owner, struct opc_err *e)
{
    const ompy_rproc_obj_t *self = owner;
    if (mp_obj_is_str(self->entry)) {
        const char *path = mp_obj_str_get_str(self->entry);
        return opc_rproc_load_file(owner, path, path, e);
    }
    bool overflow;
    long long v = get_int(self->entry, "entry", &overflow);
    uint64_t entry;
    if (opc_check_entry(v, overflow, &entry, e) < 0)
        return -1;
    return opc_rproc_load_entry(owner, entry, e);
}

static mp_obj_t rproc_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                               const mp_obj_t *all_args)
{
    enum { ARG_entry };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_entry, MP_ARG_REQUIRED | MP_ARG_OBJ, { .u_rom_obj = MP_ROM_NONE } },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args,
                              args);
    mp_obj_t entry = args[ARG_entry].u_obj;
    OMPY_ERR(e);
    if (mp_obj_is_int(entry)) {
        bool overflow;
        long long v = get_int(entry, "entry", &overflow);
        uint64_t out;
        if (opc_check_entry(v, overflow, &out, &e) < 0)
            raise_exc(&e);
    } else if (!mp_obj_is_str(entry)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("entry must be a path or an address, not %s"),
                          mp_obj_get_type_str(entry));
    } else if (mp_obj_str_get_str(entry)[0] == '\0') {
        mp_raise_ValueError(MP_ERROR_TEXT("empty path"));
    }
    ompy_rproc_obj_t *self = mp_obj_malloc_with_finaliser(ompy_rproc_obj_t, type);
    self->entry = entry;
    ompy_enter();
    if (load(self, &e) < 0)
        leave_raise(&e);
    ompy_leave();
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t rproc_start(mp_obj_t self_in)
{
    OMPY_ERR(e);
    ompy_enter();
    if (opc_rproc_start(MP_OBJ_TO_PTR(self_in), load, &e) < 0)
        leave_raise(&e);
    ompy_leave();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(rproc_start_obj, rproc_start);

/* stop() and shutdown(): nothing to do once the board is closed. */
static mp_obj_t rproc_call(mp_obj_t self_in, int (*op)(const void *, struct opc_err *))
{
    OMPY_ERR(e);
    if (!opc_is_open())
        return mp_const_none;
    ompy_enter();
    if (op(MP_OBJ_TO_PTR(self_in), &e) < 0)
        leave_raise(&e);
    ompy_leave();
    return mp_const_none;
}

static mp_obj_t rproc_stop(mp_obj_t self_in)
{
    return rproc_call(self_in, opc_rproc_stop);
}
static MP_DEFINE_CONST_FUN_OBJ_1(rproc_stop_obj, rproc_stop);

static mp_obj_t rproc_shutdown(mp_obj_t self_in)
{
    return rproc_call(self_in, opc_rproc_shutdown);
}
static MP_DEFINE_CONST_FUN_OBJ_1(rproc_shutdown_obj, rproc_shutdown);

/* The finaliser: shutdown() that never raises, and forgets the object. */
static mp_obj_t rproc_del(mp_obj_t self_in)
{
    if (opc_is_open()) {
        OMPY_ERR(e);
        hold_sigint();
        if (opc_enter(&e) == 0) {
            (void)opc_rproc_shutdown(MP_OBJ_TO_PTR(self_in), &e);
            opc_rproc_forget(MP_OBJ_TO_PTR(self_in));
            opc_leave();
        }
        release_sigint();
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(rproc_del_obj, rproc_del);

static void rproc_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind)
{
    (void)kind;
    ompy_rproc_obj_t *self = MP_OBJ_TO_PTR(self_in);
    const char *state = "offline";
    OMPY_ERR(e);
    hold_sigint();
    if (opc_is_open() && opc_enter(&e) == 0) {
        state = opc_rproc_state(self);
        opc_leave();
    }
    release_sigint();
    mp_printf(print, "<RemoteProc ");
    mp_obj_print_helper(print, self->entry, PRINT_REPR);
    mp_printf(print, " %s>", state);
}

static const mp_rom_map_elem_t rproc_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&rproc_del_obj) },
    { MP_ROM_QSTR(MP_QSTR_start), MP_ROM_PTR(&rproc_start_obj) },
    { MP_ROM_QSTR(MP_QSTR_stop), MP_ROM_PTR(&rproc_stop_obj) },
    { MP_ROM_QSTR(MP_QSTR_shutdown), MP_ROM_PTR(&rproc_shutdown_obj) },
};
static MP_DEFINE_CONST_DICT(rproc_locals_dict, rproc_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    ompy_rproc_type,
    MP_QSTR_RemoteProc,
    MP_TYPE_FLAG_NONE,
    make_new, rproc_make_new,
    print, rproc_print,
    locals_dict, &rproc_locals_dict
    );
#endif /* !OMPY_REMOTE */

/* ---- Module ---- */

static mp_obj_t ompy_new_service_callback(mp_obj_t fn)
{
    if (fn != mp_const_none && !mp_obj_is_callable(fn))
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("callback must be callable or None, not %s"),
                          mp_obj_get_type_str(fn));
    ompy_enter();
    MP_STATE_PORT(ompy_ns_callback) = fn;
    opc_set_ns_callback(fn != mp_const_none);
    ompy_leave();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(ompy_new_service_callback_obj, ompy_new_service_callback);

static const mp_rom_map_elem_t ompy_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_openamp) },
    /* RPMSG_ADDR_ANY as upstream spells it: 4294967295 on 64-bit ports,
     * -1 on 32-bit ones; every address argument takes both. */
    { MP_ROM_QSTR(MP_QSTR_ENDPOINT_ADDR_ANY), MP_ROM_INT((mp_int_t)AMP_RPMSG_ADDR_ANY) },
    { MP_ROM_QSTR(MP_QSTR_new_service_callback), MP_ROM_PTR(&ompy_new_service_callback_obj) },
    { MP_ROM_QSTR(MP_QSTR_Endpoint), MP_ROM_PTR(&ompy_endpoint_type) },
    #if !OMPY_REMOTE
    { MP_ROM_QSTR(MP_QSTR_RemoteProc), MP_ROM_PTR(&ompy_rproc_type) },
    #endif
};
static MP_DEFINE_CONST_DICT(ompy_module_globals, ompy_module_globals_table);

const mp_obj_module_t ompy_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&ompy_module_globals,
};

MP_REGISTER_ROOT_POINTER(mp_obj_t ompy_ns_callback);
#if OMPY_MCU
MP_REGISTER_ROOT_POINTER(mp_obj_t ompy_session);
#endif
MP_REGISTER_MODULE(MP_QSTR_openamp, ompy_module);
