/*
 * endpoint.c - openamp.Endpoint: one RPMsg endpoint on the module's board,
 * and the name-service callback.
 */
#include "openamp_internal.h"

#include <errno.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    struct amp_rpmsg_endpoint ept;   /* registered while ept.dev != NULL */
    PyObject *callback;              /* or NULL */
    PyObject *weakreflist;
    char name[AMP_RPMSG_NAME_LEN];
    int sending;                     /* sends in progress on it */
    bool deinit_pending;             /* deinit() asked for while sending */
    bool deiniting;
} EndpointObject;

/* ---- Argument helpers ---- */

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
    if (n > AMP_RPMSG_NAME_LEN - 1) {
        PyErr_Format(PyExc_ValueError,
                     "Endpoint name %R is %zd bytes long in UTF-8; an RPMsg name holds at "
                     "most %d", name, n, AMP_RPMSG_NAME_LEN - 1);
        return -1;
    }
    if (memchr(utf8, '\0', (size_t)n)) {
        PyErr_SetString(PyExc_ValueError, "Endpoint name must not contain NUL characters");
        return -1;
    }
    memset(out, 0, AMP_RPMSG_NAME_LEN);
    memcpy(out, utf8, (size_t)n);
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
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < -1 || v > (long long)AMP_RPMSG_ADDR_ANY) {
        PyErr_Format(PyExc_ValueError,
                     "%s must be an address from 0 to 0xFFFFFFFF, or -1 for "
                     "ENDPOINT_ADDR_ANY, not %R", what, obj);
        return -1;
    }
    *out = v == -1 ? AMP_RPMSG_ADDR_ANY : (uint32_t)v;
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
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < -1 || v > INT32_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "timeout must be -1 (wait forever), 0 (try once) or a number of "
                     "milliseconds up to %d, not %R", INT32_MAX, obj);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static void set_deinit_error(EndpointObject *self)
{
    opy_raise_oserror(ENOTCONN, NULL,
                      "endpoint '%s' was deinitialised; create a new Endpoint to talk again",
                      self->name);
}

static void set_unbound_error(EndpointObject *self)
{
    opy_raise_oserror(ENOTCONN, NULL,
                      "endpoint '%s' is not ready: it has no destination address yet (the remote "
                      "has neither announced '%s' nor sent to it). Wait until is_ready() is True, "
                      "or pass dest=", self->name, self->name);
}

/* ---- Callbacks from the rpmsg core (main thread, GIL and lock held) ---- */

/*
 * A message for this endpoint. The payload is copied into a bytearray and
 * the buffer goes back to the remote when we return, whatever the callback
 * does: an exception is reported through sys.unraisablehook.
 */
static int ept_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                  void *priv)
{
    (void)ept;
    EndpointObject *self = priv;
    PyObject *cb = self->callback;
    if (!cb)
        return AMP_RPMSG_RELEASE;
    /* The callback may drop the last reference to either. */
    Py_INCREF(self);
    Py_INCREF(cb);
    PyObject *r = NULL;
    PyObject *payload = PyByteArray_FromStringAndSize(data, (Py_ssize_t)len);
    PyObject *addr = payload ? PyLong_FromUnsignedLong(src) : NULL;
    if (addr)
        r = PyObject_CallFunctionObjArgs(cb, addr, payload, NULL);
    if (!r)
        opy_callback_failed(cb);
    Py_XDECREF(r);
    Py_XDECREF(addr);
    Py_XDECREF(payload);
    Py_DECREF(cb);
    Py_DECREF(self);
    return AMP_RPMSG_RELEASE;
}

void opy_on_service(struct amp_rpmsg_device *dev, const char *name, uint32_t addr,
                    uint32_t flags, void *priv)
{
    (void)dev;
    (void)priv;
    if (flags == AMP_RPMSG_NS_DESTROY) {
        opy_service_forget(name);
        return;
    }
    /* An Endpoint created later under this name binds to it at once. */
    opy_service_remember(name, addr);
    PyObject *cb = opy.ns_callback;
    if (!cb)
        return;
    Py_INCREF(cb);
    PyObject *r = NULL;
    PyObject *pyaddr = PyLong_FromUnsignedLong(addr);
    PyObject *pyname = pyaddr ? PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name),
                                                     "surrogateescape") : NULL;
    if (pyname)
        r = PyObject_CallFunctionObjArgs(cb, pyaddr, pyname, NULL);
    if (!r)
        opy_callback_failed(cb);
    Py_XDECREF(r);
    Py_XDECREF(pyname);
    Py_XDECREF(pyaddr);
    Py_DECREF(cb);
}

/* ---- deinit ---- */

/*
 * Lock held. Destroys the endpoint, announcing it (NS destroy) if it was
 * announced; first makes sure a buffer is free for that announcement, as
 * the core sends it without waiting. Deferred while a send on it is in
 * progress (deinit() from a callback that ran inside that send). 0, or -1
 * with an exception (a signal while waiting for the buffer).
 */
static int ept_deinit_locked(EndpointObject *self)
{
    if (!self->ept.dev || self->deiniting)
        return 0;
    if (self->sending) {
        self->deinit_pending = true;
        return 0;
    }
    self->deiniting = true;
    int rc = 0;
    if (self->ept.announced && self->ept.dev->ready)
        rc = opy_reserve_tx(OPY_ANNOUNCE_TIMEOUT_MS);
    if (self->ept.dev)
        (void)amp_rpmsg_destroy_ept(&self->ept);
    self->deiniting = false;
    self->deinit_pending = false;
    return rc == -AMP_EIO && PyErr_Occurred() ? -1 : 0;
}

static PyObject *Endpoint_deinit(PyObject *op, PyObject *unused)
{
    (void)unused;
    EndpointObject *self = (EndpointObject *)op;
    int rc = 0;
    if (self->ept.dev && opy_is_open()) {
        if (opy_enter() < 0)
            return NULL;
        rc = ept_deinit_locked(self);
        opy_leave();
    }
    if (!self->ept.dev || !opy_is_open())
        Py_CLEAR(self->callback);   /* all its resources, as MicroPython's deinit */
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static int ept_finalize_locked(PyObject *op)
{
    return ept_deinit_locked((EndpointObject *)op);
}

static void Endpoint_finalize(PyObject *op)
{
    EndpointObject *self = (EndpointObject *)op;
    if (self->ept.dev && opy_is_open())
        opy_finalize_locked(op, ept_finalize_locked);
}

/* ---- Construction ---- */

static void set_create_error(EndpointObject *self, int rc, uint32_t src)
{
    switch (rc) {
    case -AMP_EADDRINUSE:
        opy_raise_oserror(EADDRINUSE, NULL,
                          "endpoint '%s': address %lu is already in use by another endpoint; "
                          "choose another src or leave it ENDPOINT_ADDR_ANY", self->name,
                          (unsigned long)src);
        break;
    case -AMP_EADDRNOTAVAIL:
        opy_raise_oserror(EADDRNOTAVAIL, NULL,
                          "endpoint '%s': no free endpoint address left; deinit() some endpoints",
                          self->name);
        break;
    case -AMP_ENOBUFS:
    case -AMP_ETIMEDOUT:
        opy_raise_oserror(ETIMEDOUT, NULL,
                          "endpoint '%s': no free RPMsg buffer to announce it within %d ms; the "
                          "remote core is not consuming messages (is it stopped or stuck?)",
                          self->name, OPY_ANNOUNCE_TIMEOUT_MS);
        break;
    case -AMP_ENODEV:
    case -AMP_ENOTCONN:
        opy_set_not_running_error("Endpoint");
        break;
    default:
        if (!PyErr_Occurred())
            opy_raise_oserror(EIO, NULL, "endpoint '%s': cannot create it: %s", self->name,
                              amp_strerror(rc));
        break;
    }
}

static PyObject *Endpoint_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "name", "callback", "src", "dest", NULL };
    PyObject *name, *callback = Py_None, *src_obj = NULL, *dest_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O$OO:Endpoint", kwlist, &name, &callback,
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
    memcpy(self->name, cname, sizeof self->name);
    if (callback != Py_None) {
        Py_INCREF(callback);
        self->callback = callback;
    }
    if (opy_enter() < 0) {
        Py_DECREF(self);
        return NULL;
    }
    int rc = 0;
    /* A live device announces the endpoint at once, without waiting: make
     * sure a buffer is free for it. */
    if (cname[0] && dest == AMP_RPMSG_ADDR_ANY && opy.dev->ready && opy.dev->ns_enabled)
        rc = opy_reserve_tx(OPY_ANNOUNCE_TIMEOUT_MS);
    if (rc == 0)
        rc = amp_rpmsg_create_ept(&self->ept, opy.dev, cname, src, dest, ept_rx, NULL, self);
    if (rc == 0 && cname[0] && dest == AMP_RPMSG_ADDR_ANY) {
        /* The remote announced this name before we had an endpoint for it. */
        const struct opy_service *svc = opy_service_find(cname);
        if (svc && opy.dev->ready) {
            self->ept.dest_addr = svc->addr;
            self->ept.dest_dynamic = true;
        }
    }
    if (rc != 0)
        set_create_error(self, rc, src);
    opy_leave();
    if (rc != 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void Endpoint_dealloc(PyObject *op)
{
    EndpointObject *self = (EndpointObject *)op;
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
    Py_VISIT(((EndpointObject *)op)->callback);
    return 0;
}

static int Endpoint_clear(PyObject *op)
{
    Py_CLEAR(((EndpointObject *)op)->callback);
    return 0;
}

/* ---- Methods ---- */

static bool usable(const EndpointObject *self)
{
    return self->ept.dev && !self->deiniting && !self->deinit_pending && opy_is_open();
}

static PyObject *Endpoint_is_ready(PyObject *op, PyObject *unused)
{
    (void)unused;
    EndpointObject *self = (EndpointObject *)op;
    return PyBool_FromLong(usable(self) && amp_rpmsg_ept_is_ready(&self->ept));
}

static void set_send_error(EndpointObject *self, int rc, int32_t timeout)
{
    switch (rc) {
    case -AMP_ENOBUFS:
        opy_raise_oserror(ETIMEDOUT, NULL,
                          "endpoint '%s': no free RPMsg buffer right now (timeout=0 tries once); "
                          "the remote core has not consumed the earlier messages yet. Retry later, "
                          "or pass a timeout in milliseconds", self->name);
        break;
    case -AMP_ETIMEDOUT:
        opy_raise_oserror(ETIMEDOUT, NULL,
                          "endpoint '%s': no free RPMsg buffer within %d ms; the remote core "
                          "is not consuming messages (is it stopped or stuck?)", self->name,
                          (int)timeout);
        break;
    case -AMP_ENODEV:
    case -AMP_ENOTCONN:
        opy_set_not_running_error("send");
        break;
    case -AMP_EMSGSIZE:
        PyErr_Format(PyExc_ValueError,
                     "endpoint '%s': the message does not fit the remote's buffers",
                     self->name);
        break;
    default:
        if (!PyErr_Occurred())
            opy_raise_oserror(EIO, NULL, "endpoint '%s': send failed: %s", self->name,
                              amp_strerror(rc));
        break;
    }
}

static PyObject *Endpoint_send(PyObject *op, PyObject *args, PyObject *kwds)
{
    EndpointObject *self = (EndpointObject *)op;
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
    bool gone = false;
    if (!usable(self)) {
        set_deinit_error(self);
        goto out;
    }
    if (opy_enter() < 0)
        goto out;
    if (!usable(self)) {   /* deinitialised by another thread meanwhile */
        set_deinit_error(self);
        goto out_leave;
    }
    uint32_t max = amp_rpmsg_max_payload(opy.dev);
    if ((size_t)len > max) {
        PyErr_Format(PyExc_ValueError,
                     "payload of %zd bytes exceeds the %lu-byte maximum of one RPMsg buffer; "
                     "split it into smaller messages", len, (unsigned long)max);
        goto out_leave;
    }
    /* A core that died since the last delivery: say so rather than send
     * into rings nobody reads (one waitid() call). */
    (void)amp_rproc_state(opy.rproc);
    uint32_t s = src == AMP_RPMSG_ADDR_ANY ? self->ept.addr : src;
    uint32_t d = dest == AMP_RPMSG_ADDR_ANY ? self->ept.dest_addr : dest;
    if (!opy.dev->ready) {
        opy_set_not_running_error("send");
        goto out_leave;
    }
    if (d == AMP_RPMSG_ADDR_ANY) {
        set_unbound_error(self);
        goto out_leave;
    }
    self->sending++;
    int rc = amp_rpmsg_send_offchannel(&self->ept, s, d, buf, (size_t)len, timeout);
    self->sending--;
    if (rc >= 0)
        result = PyLong_FromLong(rc);
    else
        set_send_error(self, rc, timeout);
    if (self->deinit_pending && !self->sending) {
        /* deinit() was called from a callback while we waited. */
        if (ept_deinit_locked(self) < 0)
            Py_CLEAR(result);
        gone = true;
    }
out_leave:
    opy_leave();
    if (gone && !self->ept.dev)
        Py_CLEAR(self->callback);
out:
    if (view.obj)
        PyBuffer_Release(&view);
    Py_XDECREF(encoded);
    return result;
}

static PyObject *Endpoint_repr(PyObject *op)
{
    EndpointObject *self = (EndpointObject *)op;
    if (!usable(self))
        return PyUnicode_FromFormat("<openamp.Endpoint '%s' deinitialised>", self->name);
    const char *state = amp_rpmsg_ept_is_ready(&self->ept) ? "ready" : "not ready";
    if (self->ept.dest_addr == AMP_RPMSG_ADDR_ANY)
        return PyUnicode_FromFormat("<openamp.Endpoint '%s' src=%lu dest=ANY %s>", self->name,
                                    (unsigned long)self->ept.addr, state);
    return PyUnicode_FromFormat("<openamp.Endpoint '%s' src=%lu dest=%lu %s>", self->name,
                                (unsigned long)self->ept.addr,
                                (unsigned long)self->ept.dest_addr, state);
}

static PyObject *Endpoint_get_name(PyObject *op, void *closure)
{
    (void)closure;
    const char *name = ((EndpointObject *)op)->name;
    return PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name), "surrogateescape");
}

static PyObject *Endpoint_get_src(PyObject *op, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(((EndpointObject *)op)->ept.addr);
}

static PyObject *Endpoint_get_dest(PyObject *op, void *closure)
{
    (void)closure;
    EndpointObject *self = (EndpointObject *)op;
    return PyLong_FromUnsignedLong(usable(self) ? self->ept.dest_addr : AMP_RPMSG_ADDR_ANY);
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

static PyMethodDef Endpoint_methods[] = {
    { "deinit", Endpoint_deinit, METH_NOARGS, Endpoint_deinit_doc },
    { "is_ready", Endpoint_is_ready, METH_NOARGS, Endpoint_is_ready_doc },
    { "send", (PyCFunction)(void (*)(void))Endpoint_send, METH_VARARGS | METH_KEYWORDS,
      Endpoint_send_doc },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef Endpoint_getset[] = {
    { "name", Endpoint_get_name, NULL, "The endpoint's name (str).", NULL },
    { "src", Endpoint_get_src, NULL,
      "The endpoint's own (source) address (extension: not in MicroPython).", NULL },
    { "dest", Endpoint_get_dest, NULL,
      "The destination address, or ENDPOINT_ADDR_ANY while unbound (extension: not in "
      "MicroPython).", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

PyDoc_STRVAR(Endpoint_doc,
"Endpoint(name, callback=None, *, src=ENDPOINT_ADDR_ANY, dest=ENDPOINT_ADDR_ANY)\n--\n\n"
"An RPMsg endpoint: a bidirectional channel to the remote core.\n\n"
"name is a str of at most 31 bytes in UTF-8. callback(src, data) is called\n"
"in the main thread for every message received, with the sender's address\n"
"and the payload as a bytearray (a copy: keep it as long as you like). An\n"
"exception raised by the callback is reported through sys.unraisablehook\n"
"and the endpoint keeps working.\n\n"
"src is the endpoint's own address (default: the next free one from 1024).\n"
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
