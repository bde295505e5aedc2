/*
 * remoteproc.c - openamp.RemoteProc: load firmware into the board, start,
 * stop and shut down its remote core.
 *
 * The board has one core, so one RemoteProc at a time "owns" it: the one
 * whose image was loaded last. start() on another one loads its own image
 * again first; stop()/shutdown() on one that does not own the core do
 * nothing, so an old object being collected never stops a newer one.
 */
#include "openamp_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    PyObject_HEAD
    PyObject *path;       /* file system path (bytes), or NULL for an address */
    PyObject *display;    /* the path as given, for messages and exceptions */
    uint64_t entry;       /* boot address when path is NULL */
    PyObject *weakreflist;
} RemoteProcObject;

static bool owns_core(const RemoteProcObject *self)
{
    return opc_rproc_owns(self);
}

static int raise_err(const struct opc_err *e)
{
    opy_raise(e);
    return -1;
}

/* Before touching the board: precise errors for files we cannot read. */
static int check_file(RemoteProcObject *self)
{
    const char *path = PyBytes_AS_STRING(self->path);
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT)
            opy_raise_oserror(e, self->display, "firmware file not found");
        else
            opy_raise_oserror(e, self->display, "cannot read the firmware file: %s", strerror(e));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        opy_raise_oserror(EISDIR, self->display,
                          "is a directory; RemoteProc needs the path of a firmware ELF file");
        return -1;
    }
    if (access(path, R_OK) != 0) {
        int e = errno;
        opy_raise_oserror(e, self->display, "cannot read the firmware file: %s", strerror(e));
        return -1;
    }
    return 0;
}

/* Load this object's image into the board (lock held). */
static int load_image_err(const void *owner, struct opc_err *e)
{
    const RemoteProcObject *self = owner;
    if (!self->path)
        return opc_rproc_load_entry(self, self->entry, e);
    PyObject *shown = PyObject_Str(self->display);
    const char *display = shown ? PyUnicode_AsUTF8(shown) : NULL;
    int rc = opc_rproc_load_file(self, PyBytes_AS_STRING(self->path), display ? display : "?",
                                 e);
    Py_XDECREF(shown);
    PyErr_Clear();
    return rc;
}

static int load_image(RemoteProcObject *self)
{
    struct opc_err e;
    if (load_image_err(self, &e) < 0) {
        if (e.kind == OPC_EXC_OS && e.err == ENOENT)
            opy_raise_oserror(ENOENT, self->display, "firmware file not found");
        else
            opy_raise(&e);
        return -1;
    }
    return 0;
}

static PyObject *RemoteProc_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "entry", NULL };
    PyObject *entry;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:RemoteProc", kwlist, &entry))
        return NULL;
    RemoteProcObject *self = (RemoteProcObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    if (PyLong_Check(entry) && !PyBool_Check(entry)) {
        long long v;
        bool overflow;
        struct opc_err e;
        if (opy_as_longlong(entry, &v, &overflow) < 0)
            goto fail;
        if (opc_check_entry(v, overflow, &self->entry, &e) < 0) {
            PyErr_Format(PyExc_ValueError,
                         "RemoteProc entry address must be from 0 to 0xFFFFFFFF, not %R",
                         entry);
            goto fail;
        }
    } else if (PyUnicode_Check(entry) || PyBytes_Check(entry) ||
               PyObject_HasAttrString(entry, "__fspath__")) {
        if (!PyUnicode_FSConverter(entry, &self->path))
            goto fail;
        if (PyBytes_GET_SIZE(self->path) == 0) {
            PyErr_SetString(PyExc_ValueError, "RemoteProc firmware path is empty");
            goto fail;
        }
        self->display = PyOS_FSPath(entry);
        if (!self->display || check_file(self) < 0)
            goto fail;
    } else {
        PyErr_Format(PyExc_TypeError,
                     "RemoteProc entry must be a firmware file path (str or os.PathLike) or "
                     "an entry address (int), not %.100s", Py_TYPE(entry)->tp_name);
        goto fail;
    }
    if (opy_enter() < 0)
        goto fail;
    int rc = load_image(self);
    opc_leave();
    if (rc < 0)
        goto fail;
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

/* Lock held. */
static int shutdown_locked(RemoteProcObject *self)
{
    struct opc_err e;
    return opc_rproc_shutdown(self, &e) < 0 ? raise_err(&e) : 0;
}

static int rproc_finalize_locked(PyObject *op)
{
    return shutdown_locked((RemoteProcObject *)op);
}

static void RemoteProc_finalize(PyObject *op)
{
    if (owns_core((RemoteProcObject *)op))
        opy_finalize_locked(op, rproc_finalize_locked);
}

static void RemoteProc_dealloc(PyObject *op)
{
    RemoteProcObject *self = (RemoteProcObject *)op;
    if (PyObject_CallFinalizerFromDealloc(op) < 0)
        return;
    opc_rproc_forget(self);   /* cannot be needed once finalised; never dangle */
    if (self->weakreflist)
        PyObject_ClearWeakRefs(op);
    Py_CLEAR(self->path);
    Py_CLEAR(self->display);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *RemoteProc_start(PyObject *op, PyObject *unused)
{
    (void)unused;
    RemoteProcObject *self = (RemoteProcObject *)op;
    if (opy_enter() < 0)
        return NULL;
    struct opc_err e;
    int rc = opc_rproc_start(self, load_image_err, &e);
    opc_leave();
    if (rc < 0) {
        if (e.kind == OPC_EXC_OS && e.err == ENOENT && self->path &&
            !strstr(e.msg, "amp-simcore"))
            opy_raise_oserror(ENOENT, self->display, "firmware file not found");
        else
            opy_raise(&e);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *RemoteProc_stop(PyObject *op, PyObject *unused)
{
    (void)unused;
    RemoteProcObject *self = (RemoteProcObject *)op;
    if (!owns_core(self))
        Py_RETURN_NONE;
    if (opy_enter() < 0)
        return NULL;
    struct opc_err e;
    int rc = opc_rproc_stop(self, &e);
    opc_leave();
    if (rc < 0)
        return raise_err(&e), NULL;
    Py_RETURN_NONE;
}

static PyObject *RemoteProc_shutdown(PyObject *op, PyObject *unused)
{
    (void)unused;
    RemoteProcObject *self = (RemoteProcObject *)op;
    if (!owns_core(self))
        Py_RETURN_NONE;
    if (opy_enter() < 0)
        return NULL;
    int rc = shutdown_locked(self);
    opc_leave();
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *RemoteProc_trace(PyObject *op, PyObject *unused)
{
    (void)unused;
    (void)op;
    if (opy_enter() < 0)
        return NULL;
    char buf[4096];
    int n = opc_trace(buf, sizeof buf);
    opc_leave();
    if (n < 0)
        return PyUnicode_FromString("");
    return PyUnicode_DecodeUTF8(buf, n, "replace");
}

static PyObject *RemoteProc_get_state(PyObject *op, void *closure)
{
    (void)closure;
    RemoteProcObject *self = (RemoteProcObject *)op;
    if (!owns_core(self))
        return PyUnicode_FromString("offline");
    if (opy_enter() < 0)
        return NULL;
    const char *state = opc_rproc_state(self);
    opc_leave();
    return PyUnicode_FromString(state);
}

static PyObject *RemoteProc_get_crash_reason(PyObject *op, void *closure)
{
    (void)closure;
    RemoteProcObject *self = (RemoteProcObject *)op;
    if (!owns_core(self))
        Py_RETURN_NONE;
    if (opy_enter() < 0)
        return NULL;
    char why[200];
    opc_crash_reason(why, sizeof why);
    opc_leave();
    if (!why[0])
        Py_RETURN_NONE;
    return PyUnicode_FromString(why);
}

static PyObject *RemoteProc_repr(PyObject *op)
{
    RemoteProcObject *self = (RemoteProcObject *)op;
    PyObject *state = RemoteProc_get_state(op, NULL);
    if (!state)
        return NULL;
    PyObject *r = self->path
        ? PyUnicode_FromFormat("<openamp.RemoteProc %R %U>", self->display, state)
        : PyUnicode_FromFormat("<openamp.RemoteProc entry=0x%08llx %U>",
                               (unsigned long long)self->entry, state);
    Py_DECREF(state);
    return r;
}

PyDoc_STRVAR(RemoteProc_start_doc,
"start($self, /)\n--\n\n"
"Boot the remote core with this object's firmware.\n\n"
"The board's shared memory and rpmsg device are set up afresh, so start()\n"
"also works after stop() or a crash (a restart). Endpoints are announced\n"
"again and bind when the firmware announces its services. Raises\n"
"RuntimeError if the core is already running.");

PyDoc_STRVAR(RemoteProc_stop_doc,
"stop($self, /)\n--\n\n"
"Halt the remote core at once. Endpoints stay registered but are not\n"
"ready until the next start(). Does nothing if the core is not running\n"
"or runs another RemoteProc's firmware.");

PyDoc_STRVAR(RemoteProc_shutdown_doc,
"shutdown($self, /)\n--\n\n"
"Stop the remote core and release the loaded image. Also the finaliser:\n"
"a collected RemoteProc shuts its core down. Calling it again does\n"
"nothing; a later start() loads the firmware again.");

PyDoc_STRVAR(RemoteProc_trace_doc,
"trace($self, /)\n--\n\n"
"Return the text the firmware wrote to its trace buffer (extension: not in\n"
"MicroPython).");

static PyMethodDef RemoteProc_methods[] = {
    { "start", RemoteProc_start, METH_NOARGS, RemoteProc_start_doc },
    { "stop", RemoteProc_stop, METH_NOARGS, RemoteProc_stop_doc },
    { "shutdown", RemoteProc_shutdown, METH_NOARGS, RemoteProc_shutdown_doc },
    { "trace", RemoteProc_trace, METH_NOARGS, RemoteProc_trace_doc },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef RemoteProc_getset[] = {
    { "state", RemoteProc_get_state, NULL,
      "The core's state for this object: 'offline', 'loaded', 'running', 'stopped' or "
      "'crashed' (extension: not in MicroPython).", NULL },
    { "crash_reason", RemoteProc_get_crash_reason, NULL,
      "Why the core last ended on its own, as text (e.g. 'killed by signal 11 (SIGSEGV)', "
      "'exited with status 3'), or None while it runs or was stopped on purpose "
      "(extension: not in MicroPython).", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

PyDoc_STRVAR(RemoteProc_doc,
"RemoteProc(entry)\n--\n\n"
"Life cycle of the remote core: load firmware, start, stop, shut down.\n\n"
"entry is the path of a firmware ELF file (str or os.PathLike), loaded\n"
"into the remote core's memory now, or an int: the boot address of\n"
"firmware already in the board's memory (its flash keeps what an earlier\n"
"process loaded, e.g. 0x08100000).\n\n"
"Raises FileNotFoundError for a missing file, ValueError for a file that\n"
"is not firmware for this board (with the loader's reason) or an address\n"
"outside executable memory, RuntimeError while another firmware runs.");

PyTypeObject opy_RemoteProcType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "openamp.RemoteProc",
    .tp_basicsize = sizeof(RemoteProcObject),
    .tp_dealloc = RemoteProc_dealloc,
    .tp_repr = RemoteProc_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = RemoteProc_doc,
    .tp_weaklistoffset = offsetof(RemoteProcObject, weakreflist),
    .tp_methods = RemoteProc_methods,
    .tp_getset = RemoteProc_getset,
    .tp_new = RemoteProc_new,
    .tp_finalize = RemoteProc_finalize,
};
