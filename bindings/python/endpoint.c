/*
 * endpoint.c - openamp.Endpoint: one RPMsg endpoint on the module's board,
 * and the name-service callback.
 */
#include "openamp_internal.h"

#include <errno.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    struct opc_ept core;             /* the shared layer's endpoint */
    PyObject *callback;              /* or NULL */
    PyObject *weakreflist;
} EndpointObject;

#define EPT(op) ((EndpointObject *)(op))

/* ---- Argument helpers: conversion here, rules in the shared layer ---- */

static int parse_name(PyObject *name, char out[AMP_RPMSG_NAME_LEN])
{
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "Endpoint name must be a str, not %.100s",
                     Py_TYPE(name)->tp_name);
        return -1;
    }
    Py_ssize_t n;
    const char *utf8 = PyUnicode_AsUTF8AndSize(name, &n);
    if (!utf8)
        return -1;
    struct opc_err e;
    if (opc_check_name(utf8, (size_t)n, out, &e) < 0) {
        opy_raise(&e);
        return -1;
    }
    return 0;
}

/* An address argument: 0..0xFFFFFFFF; -1 is ENDPOINT_ADDR_ANY (MicroPython's
 * spelling of it on 32-bit ports). NULL (not given) leaves *out alone. */
static int parse_addr(PyObject *obj, const char *what, uint32_t *out)
{
    if (!obj)
        return 0;
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int address, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    long long v;
    bool overflow;
    struct opc_err e;
    if (opy_as_longlong(obj, &v, &overflow) < 0)
        return -1;
    if (opc_check_addr(v, overflow, what, out, &e) < 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s must be an address from 0 to 0xFFFFFFFF, or -1 for "
                     "ENDPOINT_ADDR_ANY, not %R", what, obj);
        return -1;
    }
    return 0;
}

static int parse_timeout(PyObject *obj, int32_t *out)
{
    if (!obj)
        return 0;
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "timeout must be an int number of milliseconds (-1 waits forever), not "
                     "%.100s", Py_TYPE(obj)->tp_name);
        return -1;
    }
    long long v;
    bool overflow;
    struct opc_err e;
    if (opy_as_longlong(obj, &v, &overflow) < 0)
        return -1;
    if (opc_check_timeout(v, overflow, out, &e) < 0) {
        PyErr_Format(PyExc_ValueError,
                     "timeout must be -1 (wait forever), 0 (try once) or a number of "
                     "milliseconds up to %d, not %R", INT32_MAX, obj);
        return -1;
    }
    return 0;
}

/* ---- Delivery (main thread, from opc_deliver, board lock not held) ---- */

/*
 * A message for this endpoint's callback. The payload is copied into a
 * bytearray: the callback may keep it. An exception is reported through
 * sys.unraisablehook (KeyboardInterrupt/SystemExit end the round).
 */
int opy_ept_deliver(void *owner, uint32_t src, const void *data, size_t len)
{
    EndpointObject *self = owner;
    if (!self->callback)
        return 0;
    return opy_call(self->callback, PyLong_FromUnsignedLong(src),
                    PyByteArray_FromStringAndSize(data, (Py_ssize_t)len));
}

/* ---- deinit ---- */

static int ept_deinit_locked(PyObject *op)
{
    struct opc_err e;
    if (opc_ept_deinit(&EPT(op)->core, &e) < 0) {
        opy_raise(&e);
        return -1;
    }
    return 0;
}

static PyObject *Endpoint_deinit(PyObject *op, PyObject *unused)
{
    (void)unused;
    EndpointObject *self = EPT(op);
    int rc = 0;
    if (self->core.ept.dev && opc_is_open()) {
        if (opy_enter() < 0)
            return NULL;
        rc = ept_deinit_locked(op);
        opc_leave();
    }
    if (!self->core.ept.dev || !opc_is_open())
        Py_CLEAR(self->callback);   /* all its resources, as MicroPython's deinit */
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static void Endpoint_finalize(PyObject *op)
{
    EndpointObject *self = EPT(op);
    if (self->core.q && opc_is_open())
        opy_finalize_locked(op, ept_deinit_locked);
}

/* ---- Construction ---- */

static PyObject *Endpoint_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    /* src and dest may come positionally, as the seed writes them (extension
     * over the stub MicroPython documents). */
    static char *kwlist[] = { "name", "callback", "src", "dest", NULL };
    PyObject *name, *callback = Py_None, *src_obj = NULL, *dest_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OOO:Endpoint", kwlist, &name, &callback,
                                     &src_obj, &dest_obj))
        return NULL;
    char cname[AMP_RPMSG_NAME_LEN];
    if (parse_name(name, cname) < 0)
        return NULL;
    if (callback != Py_None && !PyCallable_Check(callback)) {
        PyErr_Format(PyExc_TypeError,
                     "Endpoint callback must be callable as callback(src, data), or None; "
                     "got %.100s", Py_TYPE(callback)->tp_name);
        return NULL;
    }
    uint32_t src = AMP_RPMSG_ADDR_ANY, dest = AMP_RPMSG_ADDR_ANY;
    if (parse_addr(src_obj, "src", &src) < 0 || parse_addr(dest_obj, "dest", &dest) < 0)
        return NULL;

    EndpointObject *self = (EndpointObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->core.event_fd = -1;
    if (callback != Py_None) {
        Py_INCREF(callback);
        self->callback = callback;
    }
    if (opy_enter() < 0) {
        Py_DECREF(self);
        return NULL;
    }
    struct opc_err e;
    int rc = opc_ept_create(&self->core, self, cname, callback != Py_None, src, dest, &e);
    opc_leave();
    if (rc != 0) {
        opy_raise(&e);
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void Endpoint_dealloc(PyObject *op)
{
    EndpointObject *self = EPT(op);
    if (PyObject_CallFinalizerFromDealloc(op) < 0)
        return;   /* resurrected */
    PyObject_GC_UnTrack(op);
    if (self->weakreflist)
        PyObject_ClearWeakRefs(op);
    Py_CLEAR(self->callback);
    Py_TYPE(op)->tp_free(op);
}

static int Endpoint_traverse(PyObject *op, visitproc visit, void *arg)
{
    Py_VISIT(EPT(op)->callback);
    return 0;
}

static int Endpoint_clear(PyObject *op)
{
    Py_CLEAR(EPT(op)->callback);
    return 0;
}

/* ---- Methods ---- */

static PyObject *Endpoint_is_ready(PyObject *op, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(opc_ept_is_ready(&EPT(op)->core));
}

static PyObject *Endpoint_send(PyObject *op, PyObject *args, PyObject *kwds)
{
    EndpointObject *self = EPT(op);
    static char *kwlist[] = { "data", "src", "dest", "timeout", NULL };
    PyObject *data, *src_obj = NULL, *dest_obj = NULL, *timeout_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$OOO:send", kwlist, &data, &src_obj,
                                     &dest_obj, &timeout_obj))
        return NULL;
    uint32_t src = AMP_RPMSG_ADDR_ANY, dest = AMP_RPMSG_ADDR_ANY;
    int32_t timeout = AMP_WAIT_FOREVER;
    if (parse_addr(src_obj, "src", &src) < 0 || parse_addr(dest_obj, "dest", &dest) < 0 ||
        parse_timeout(timeout_obj, &timeout) < 0)
        return NULL;

    Py_buffer view = { 0 };
    PyObject *encoded = NULL;
    const char *buf;
    Py_ssize_t len;
    if (PyUnicode_Check(data)) {
        encoded = PyUnicode_AsUTF8String(data);
        if (!encoded)
            return NULL;
        buf = PyBytes_AS_STRING(encoded);
        len = PyBytes_GET_SIZE(encoded);
    } else if (PyObject_CheckBuffer(data)) {
        if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        buf = view.buf;
        len = view.len;
    } else {
        PyErr_Format(PyExc_TypeError, "send() data must be a str or bytes-like object, not "
                     "%.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }

    PyObject *result = NULL;
    struct opc_err e;
    int rc;
    if (!opc_ept_usable(&self->core)) {
        rc = opc_ept_send(&self->core, buf, (size_t)len, src, dest, timeout, &e);
    } else if (opy_enter() < 0) {
        goto out;
    } else {
        rc = opc_ept_send(&self->core, buf, (size_t)len, src, dest, timeout, &e);
        opc_leave();
    }
    if (rc >= 0)
        result = PyLong_FromLong(rc);
    else
        opy_raise(&e);
    if (!self->core.ept.dev)
        Py_CLEAR(self->callback);   /* deinit() from a callback while we waited */
out:
    if (view.obj)
        PyBuffer_Release(&view);
    Py_XDECREF(encoded);
    return result;
}

static PyObject *Endpoint_recv(PyObject *op, PyObject *args, PyObject *kwds)
{
    EndpointObject *self = EPT(op);
    static char *kwlist[] = { "timeout", NULL };
    PyObject *timeout_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:recv", kwlist, &timeout_obj))
        return NULL;
    int32_t timeout = AMP_WAIT_FOREVER;
    if (parse_timeout(timeout_obj, &timeout) < 0)
        return NULL;
    if (self->callback) {
        PyErr_Format(PyExc_RuntimeError, "endpoint '%s' has a callback: its messages go there; "
                     "create it with callback=None to use recv()", self->core.name);
        return NULL;
    }
    uint8_t buf[OPC_MSG_MAX];
    uint32_t src = 0;
    struct opc_err e;
    int rc;
    if (!opc_ept_usable(&self->core)) {
        rc = opc_ept_recv(&self->core, buf, &src, timeout, &e);
    } else {
        if (opy_enter() < 0)
            return NULL;
        rc = opc_ept_recv(&self->core, buf, &src, timeout, &e);
        opc_leave();
    }
    if (rc < 0) {
        opy_raise(&e);
        return NULL;
    }
    PyObject *data = PyByteArray_FromStringAndSize((const char *)buf, rc);
    if (!data)
        return NULL;
    return Py_BuildValue("(kN)", (unsigned long)src, data);
}

static PyObject *Endpoint_fileno(PyObject *op, PyObject *unused)
{
    (void)unused;
    EndpointObject *self = EPT(op);
    struct opc_err e;
    int fd;
    if (!opc_ept_usable(&self->core)) {
        fd = opc_ept_fileno(&self->core, &e);
    } else {
        if (opy_enter() < 0)
            return NULL;
        fd = opc_ept_fileno(&self->core, &e);
        opc_leave();
    }
    if (fd < 0) {
        opy_raise(&e);
        return NULL;
    }
    return PyLong_FromLong(fd);
}

/* The coroutine lives in Python (module.c): it waits on fileno(). */
extern PyObject *opy_recv_async;

static PyObject *Endpoint_recv_async(PyObject *op, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "timeout", NULL };
    PyObject *timeout_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:recv_async", kwlist, &timeout_obj))
        return NULL;
    int32_t timeout = AMP_WAIT_FOREVER;
    if (parse_timeout(timeout_obj, &timeout) < 0)
        return NULL;
    if (EPT(op)->callback) {
        PyErr_Format(PyExc_RuntimeError, "endpoint '%s' has a callback: its messages go there; "
                     "create it with callback=None to use recv_async()", EPT(op)->core.name);
        return NULL;
    }
    return PyObject_CallFunction(opy_recv_async, "Oi", op, (int)timeout);
}

static PyObject *Endpoint_pending(PyObject *op, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(opc_ept_pending(&EPT(op)->core));
}

static PyObject *Endpoint_repr(PyObject *op)
{
    EndpointObject *self = EPT(op);
    const struct amp_rpmsg_endpoint *ept = &self->core.ept;
    if (!opc_ept_usable(&self->core))
        return PyUnicode_FromFormat("<openamp.Endpoint '%s' deinitialised>", self->core.name);
    const char *state = amp_rpmsg_ept_is_ready(ept) ? "ready" : "not ready";
    if (ept->dest_addr == AMP_RPMSG_ADDR_ANY)
        return PyUnicode_FromFormat("<openamp.Endpoint '%s' src=%lu dest=ANY %s>",
                                    self->core.name, (unsigned long)ept->addr, state);
    return PyUnicode_FromFormat("<openamp.Endpoint '%s' src=%lu dest=%lu %s>", self->core.name,
                                (unsigned long)ept->addr, (unsigned long)ept->dest_addr, state);
}

static PyObject *Endpoint_get_name(PyObject *op, void *closure)
{
    (void)closure;
    const char *name = EPT(op)->core.name;
    return PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name), "surrogateescape");
}

static PyObject *Endpoint_get_src(PyObject *op, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(EPT(op)->core.ept.addr);
}

static PyObject *Endpoint_get_dest(PyObject *op, void *closure)
{
    (void)closure;
    EndpointObject *self = EPT(op);
    return PyLong_FromUnsignedLong(opc_ept_usable(&self->core) ? self->core.ept.dest_addr
                                                               : AMP_RPMSG_ADDR_ANY);
}

static PyObject *Endpoint_get_lost(PyObject *op, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLongLong(EPT(op)->core.lost);
}

PyDoc_STRVAR(Endpoint_deinit_doc,
"deinit($self, /)\n--\n\n"
"Destroy the endpoint and release its resources.\n\n"
"If the endpoint was announced to the remote, a name-service \"destroy\"\n"
"announcement is sent so the remote unbinds it. Afterwards is_ready() is\n"
"False and send() raises OSError. Calling it again does nothing. It is\n"
"also the finaliser: an Endpoint that is garbage-collected is deinitialised.");

PyDoc_STRVAR(Endpoint_is_ready_doc,
"is_ready($self, /)\n--\n\n"
"Return True if the endpoint can send: it has a destination address\n"
"(given as dest=, learnt from the remote's announcement, or from the first\n"
"message received) and the remote core is running.");

PyDoc_STRVAR(Endpoint_send_doc,
"send($self, /, data, *, src=-1, dest=-1, timeout=-1)\n--\n\n"
"Send one message to the remote and return the number of bytes sent.\n\n"
"data is a str (sent as UTF-8) or any bytes-like object; an empty one\n"
"sends one empty message and returns 0. One message carries at most\n"
"496 bytes on this board: a larger payload raises ValueError (nothing is\n"
"ever truncated).\n\n"
"src and dest override the endpoint's own addresses for this message\n"
"(-1: use the endpoint's). timeout is how long to wait for a free buffer,\n"
"in milliseconds: -1 waits as long as it takes, 0 tries once, N waits up\n"
"to N ms, then TimeoutError (an OSError) is raised. While waiting, the GIL\n"
"is released and incoming messages keep being delivered to callbacks.\n\n"
"Raises OSError if the endpoint is not ready, or if the remote core is not\n"
"running or has crashed.");

PyDoc_STRVAR(Endpoint_recv_doc,
"recv($self, /, timeout=-1)\n--\n\n"
"Return the next message as (src, data) (extension: not in MicroPython).\n\n"
"Only for an endpoint made with callback=None. Messages are taken off the\n"
"ring in the background into the endpoint's queue; recv() takes the\n"
"oldest. timeout in milliseconds: -1 waits as long as it takes, 0 looks\n"
"once, N waits up to N ms; then TimeoutError. The GIL is released while\n"
"waiting and other endpoints' callbacks keep running. Raises OSError if\n"
"the core is not running and nothing is queued, RuntimeError if the\n"
"endpoint has a callback.");

PyDoc_STRVAR(Endpoint_recv_async_doc,
"recv_async($self, /, timeout=-1)\n--\n\n"
"Coroutine: await the next message as (src, data) (extension).\n\n"
"Like recv(), but waits in the running asyncio loop (on fileno()), so a\n"
"program can wait on several endpoints and other I/O at once.");

PyDoc_STRVAR(Endpoint_fileno_doc,
"fileno($self, /)\n--\n\n"
"A file descriptor, readable while messages are queued for recv(), or\n"
"while the remote core is not running (recv() then says why). For\n"
"select/poll/selectors and asyncio (extension). Closed by deinit().");

PyDoc_STRVAR(Endpoint_pending_doc,
"pending($self, /)\n--\n\n"
"The number of messages received and not yet delivered or recv()'d\n"
"(extension).");

static PyMethodDef Endpoint_methods[] = {
    { "deinit", Endpoint_deinit, METH_NOARGS, Endpoint_deinit_doc },
    { "is_ready", Endpoint_is_ready, METH_NOARGS, Endpoint_is_ready_doc },
    { "send", (PyCFunction)(void (*)(void))Endpoint_send, METH_VARARGS | METH_KEYWORDS,
      Endpoint_send_doc },
    { "recv", (PyCFunction)(void (*)(void))Endpoint_recv, METH_VARARGS | METH_KEYWORDS,
      Endpoint_recv_doc },
    { "recv_async", (PyCFunction)(void (*)(void))Endpoint_recv_async,
      METH_VARARGS | METH_KEYWORDS, Endpoint_recv_async_doc },
    { "fileno", Endpoint_fileno, METH_NOARGS, Endpoint_fileno_doc },
    { "pending", Endpoint_pending, METH_NOARGS, Endpoint_pending_doc },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef Endpoint_getset[] = {
    { "name", Endpoint_get_name, NULL, "The endpoint's name (str).", NULL },
    { "src", Endpoint_get_src, NULL,
      "The endpoint's own (source) address (extension: not in MicroPython).", NULL },
    { "dest", Endpoint_get_dest, NULL,
      "The destination address, or ENDPOINT_ADDR_ANY while unbound (extension: not in "
      "MicroPython).", NULL },
    { "lost", Endpoint_get_lost, NULL,
      "Messages lost because the remote core stopped or crashed while they waited in "
      "its ring buffers, the endpoint's queue being full (extension).", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

PyDoc_STRVAR(Endpoint_doc,
"Endpoint(name, callback=None, src=ENDPOINT_ADDR_ANY, dest=ENDPOINT_ADDR_ANY)\n--\n\n"
"An RPMsg endpoint: a bidirectional channel to the remote core.\n\n"
"name is a str of at most 31 bytes in UTF-8. callback(src, data) is called\n"
"in the main thread for every message received, with the sender's address\n"
"and the payload as a bytearray (a copy: keep it as long as you like). An\n"
"exception raised by the callback is reported through sys.unraisablehook\n"
"and the endpoint keeps working. With callback=None, messages wait in the\n"
"endpoint's queue for recv() / recv_async() (extension).\n\n"
"Messages are taken off the ring in the background as they arrive, and\n"
"their buffers returned to the remote at once, into a queue of 64 KiB per\n"
"endpoint (at least 128 full-size messages); callbacks are then called\n"
"from it. When it is full, further messages stay in their ring buffers\n"
"until it drains: the remote's sends wait (back-pressure), nothing is\n"
"dropped.\n\n"
"src is the endpoint's own address (default: the next free one from 1024);\n"
"src and dest may be given positionally, as the seed writes them.\n"
"dest is the remote endpoint's address. Leave it ENDPOINT_ADDR_ANY to have\n"
"the endpoint announced and bound when the remote announces the same name\n"
"(whichever side comes first); pass the address given to a\n"
"new_service_callback to bind at once.\n\n"
"The first Endpoint, RemoteProc or new_service_callback() call opens the\n"
"board (see openamp.configure).");

PyTypeObject opy_EndpointType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "openamp.Endpoint",
    .tp_basicsize = sizeof(EndpointObject),
    .tp_dealloc = Endpoint_dealloc,
    .tp_repr = Endpoint_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = Endpoint_doc,
    .tp_traverse = Endpoint_traverse,
    .tp_clear = Endpoint_clear,
    .tp_weaklistoffset = offsetof(EndpointObject, weakreflist),
    .tp_methods = Endpoint_methods,
    .tp_getset = Endpoint_getset,
    .tp_new = Endpoint_new,
    .tp_finalize = Endpoint_finalize,
};
