/*
 * interp.c - what the shared layer (bindings/common) asks of CPython: the
 * GIL around blocking waits, pending calls to run callbacks in the main
 * thread, the callbacks themselves, and exceptions from struct opc_err.
 */
#include <stdarg.h>
#include "openamp_internal.h"

#include <pythread.h>
#include <stdatomic.h>

PyObject *opy_ns_callback;

static unsigned long main_thread_id;
static PyObject *atexit_func;
static atomic_bool scheduled;   /* a pending call is queued */
/* KeyboardInterrupt/SystemExit raised in a callback: re-raised in the main
 * flow once the current round of deliveries is over. */
static PyObject *exc_type, *exc_value, *exc_tb;

/* ---- Exceptions ---- */

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

/* Re-raise what a callback raised that must not be swallowed. */
static int restore_deferred(void)
{
    if (!exc_type)
        return 0;
    PyErr_Restore(exc_type, exc_value, exc_tb);
    exc_type = exc_value = exc_tb = NULL;
    return -1;
}

void opy_raise(const struct opc_err *e)
{
    switch (e->kind) {
    case OPC_EXC_OS:
        opy_raise_oserror(e->err, NULL, "%s", e->msg);
        break;
    case OPC_EXC_VALUE:
        PyErr_SetString(PyExc_ValueError, e->msg);
        break;
    case OPC_EXC_TYPE:
        PyErr_SetString(PyExc_TypeError, e->msg);
        break;
    case OPC_EXC_RUNTIME:
        PyErr_SetString(PyExc_RuntimeError, e->msg);
        break;
    case OPC_EXC_NOMEM:
        PyErr_NoMemory();
        break;
    case OPC_EXC_PENDING:
    case OPC_OK:
        /* A callback run during the wait raised KeyboardInterrupt/SystemExit. */
        if (!PyErr_Occurred())
            (void)restore_deferred();
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_SystemError, "openamp: an error without an exception");
        break;
    }
}

int opy_as_longlong(PyObject *obj, long long *v, bool *overflow)
{
    int of;
    *v = PyLong_AsLongLongAndOverflow(obj, &of);
    if (*v == -1 && PyErr_Occurred())
        return -1;
    *overflow = of != 0;
    return 0;
}

/* ---- The ops ---- */

static void *release_interp(void)
{
    return PyEval_SaveThread();
}

static void acquire_interp(void *token)
{
    PyEval_RestoreThread(token);
}

static bool is_main_thread(void)
{
    return PyThread_get_thread_ident() == main_thread_id;
}

static int check_signals(void)
{
    return PyErr_CheckSignals();
}

static int pending_call(void *arg)
{
    (void)arg;
    atomic_store(&scheduled, false);
    if (opc_deliver() < 0 || restore_deferred() < 0)
        return -1;   /* raised in the main thread */
    return 0;
}

/*
 * From the receive thread. It takes the GIL to queue the call: before
 * 3.12, Py_AddPendingCall from another thread does not set the main
 * thread's eval breaker, so a main thread busy in Python code (spinning on
 * is_ready()) would not notice it until it next released the GIL. Asking
 * for the GIL makes the main thread drop it and recompute its breaker.
 */
static bool schedule(void)
{
    if (atomic_exchange(&scheduled, true))
        return true;
    PyGILState_STATE g = PyGILState_Ensure();
    bool ok = Py_AddPendingCall(pending_call, NULL) == 0;
    PyGILState_Release(g);
    if (!ok)
        atomic_store(&scheduled, false);
    return ok;
}

/* After a callback raised: report it, or keep it to re-raise. */
static int callback_failed(PyObject *callback)
{
    if (!exc_type && (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt) ||
                      PyErr_ExceptionMatches(PyExc_SystemExit))) {
        /* Ctrl-C or sys.exit() must not be swallowed just because it
         * arrived while a callback ran. */
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
        return -1;
    }
    PyErr_WriteUnraisable(callback);
    return 0;
}

static int on_message(void *owner, uint32_t src, const void *data, size_t len)
{
    return opy_ept_deliver(owner, src, data, len);
}

static int opy_callback_result(PyObject *callback, PyObject *result)
{
    if (result) {
        Py_DECREF(result);
        return 0;
    }
    return callback_failed(callback);
}

int opy_call(PyObject *callback, PyObject *a, PyObject *b)
{
    Py_INCREF(callback);   /* the callback may drop the last reference to itself */
    PyObject *r = a && b ? PyObject_CallFunctionObjArgs(callback, a, b, NULL) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    int rc = opy_callback_result(callback, r);
    Py_DECREF(callback);
    return rc;
}

static int on_service(uint32_t addr, const char *name)
{
    if (!opy_ns_callback)
        return 0;
    return opy_call(opy_ns_callback, PyLong_FromUnsignedLong(addr),
                    PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name), "surrogateescape"));
}

static void warn(const char *msg)
{
    if (PyErr_WarnEx(PyExc_RuntimeWarning, msg, 1) < 0)
        PyErr_WriteUnraisable(NULL);
}

static void ref(void *owner)
{
    Py_INCREF((PyObject *)owner);
}

static void unref(void *owner)
{
    Py_DECREF((PyObject *)owner);
}

static const struct opc_ops ops = {
    .release_interp = release_interp,
    .acquire_interp = acquire_interp,
    .is_main_thread = is_main_thread,
    .check_signals = check_signals,
    .schedule = schedule,
    .on_message = on_message,
    .on_service = on_service,
    .warn = warn,
    .ref = ref,
    .unref = unref,
};

/* ---- Opening and closing ---- */

static PyMethodDef atexit_def = {
    "_openamp_atexit", opy_close, METH_NOARGS,
    "Shut the remote core down and close the openamp board (run at exit).",
};

static int register_atexit(void)
{
    if (atexit_func)
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
    atexit_func = func;
    return 0;
}

static int find_main_thread(void)
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
    main_thread_id = v;
    return 0;
}

int opy_init(void)
{
    if (opc_init(&ops) != 0) {
        PyErr_SetString(PyExc_OSError, "openamp: cannot create the board lock");
        return -1;
    }
    return 0;
}

int opy_enter(void)
{
    if (opc.phase == OPC_UNUSED && (find_main_thread() < 0 || register_atexit() < 0))
        return -1;
    struct opc_err e;
    if (opc_enter(&e) < 0) {
        opy_raise(&e);
        return -1;
    }
    return 0;
}

/*
 * At interpreter exit (atexit): stop the core, stop the receive thread,
 * close the board (which removes the flash file if configured). Endpoints
 * still alive become inert.
 */
PyObject *opy_close(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!opc_is_open())
        Py_RETURN_NONE;
    opc_close();
    PyObject *ns_callback = opy_ns_callback;
    opy_ns_callback = NULL;
    Py_XDECREF(ns_callback);
    Py_RETURN_NONE;
}

void opy_finalize_locked(PyObject *op, int (*locked)(PyObject *op))
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (opy_enter() == 0) {
        if (locked(op) < 0)
            PyErr_WriteUnraisable(op);
        opc_leave();
    } else {
        PyErr_WriteUnraisable(op);
    }
    PyErr_Restore(type, value, tb);
}
