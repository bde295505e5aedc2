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
    return opy_is_open() && opy.rproc_owner == self;
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

static void set_busy_error(void)
{
    PyErr_SetString(PyExc_RuntimeError,
                    "the remote core is running; stop() or shutdown() the RemoteProc that "
                    "started it before loading other firmware");
}

/* Load this object's image into the board (lock held). */
static int load_image(RemoteProcObject *self)
{
    int rc;
    if (self->path) {
        char err[512] = "";
        rc = amp_sim_load_file(opy.board, PyBytes_AS_STRING(self->path), err, sizeof err);
        if (rc == -AMP_EBUSY) {
            set_busy_error();
        } else if (rc == -AMP_ENOENT) {
            opy_raise_oserror(ENOENT, self->display, "firmware file not found");
        } else if (rc == -AMP_ENOEXEC || rc == -AMP_EBADMSG || rc == -AMP_ERANGE ||
                   rc == -AMP_EINVAL) {
            PyErr_Format(PyExc_ValueError, "not a firmware image for this board: %s", err);
        } else if (rc != 0) {
            opy_raise_oserror(EIO, NULL, "cannot load the firmware: %s",
                              err[0] ? err : amp_strerror(rc));
        }
    } else {
        rc = amp_rproc_set_entry(opy.rproc, self->entry);
        if (rc == -AMP_EBUSY) {
            set_busy_error();
        } else if (rc == -AMP_ERANGE) {
            const struct amp_mem_map *map = amp_sim_mem_map(opy.board);
            PyObject *where = PyUnicode_FromString("");
            for (unsigned i = 0; where && i < map->count; i++) {
                const struct amp_mem_region *r = &map->regions[i];
                if (!(r->flags & AMP_MEM_EXEC))
                    continue;
                PyObject *more = PyUnicode_FromFormat(
                    "%U%s%s 0x%08llx-0x%08llx", where, PyUnicode_GET_LENGTH(where) ? ", " : "",
                    r->name, (unsigned long long)r->da,
                    (unsigned long long)(r->da + r->size - 1));
                Py_DECREF(where);
                where = more;
            }
            if (where) {
                PyErr_Format(PyExc_ValueError,
                             "entry address 0x%llx is not in the remote core's executable "
                             "memory (%U)", (unsigned long long)self->entry, where);
                Py_DECREF(where);
            }
        } else if (rc != 0) {
            opy_raise_oserror(EIO, NULL, "cannot use entry address 0x%llx: %s",
                              (unsigned long long)self->entry, amp_strerror(rc));
        }
    }
    if (rc == 0)
        opy.rproc_owner = self;
    return rc == 0 ? 0 : -1;
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
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(entry, &overflow);
        if (v == -1 && PyErr_Occurred())
            goto fail;
        if (overflow || v < 0 || v > 0xFFFFFFFFLL) {
            PyErr_Format(PyExc_ValueError,
                         "RemoteProc entry address must be from 0 to 0xFFFFFFFF, not %R",
                         entry);
            goto fail;
        }
        self->entry = (uint64_t)v;
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
    opy_leave();
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
    if (opy.rproc_owner != self)
        return 0;
    int rc = amp_rproc_shutdown(opy.rproc);
    opy.rproc_owner = NULL;
    if (rc < 0) {
        opy_raise_oserror(EIO, NULL, "cannot shut the remote core down: %s", amp_strerror(rc));
        return -1;
    }
    return 0;
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
    if (opy.rproc_owner == self)
        opy.rproc_owner = NULL;   /* cannot happen once finalised; never dangle */
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
    PyObject *result = NULL;
    enum amp_rproc_state state = amp_rproc_state(opy.rproc);
    if (state == AMP_RPROC_RUNNING) {
        PyErr_SetString(PyExc_RuntimeError,
                        opy.rproc_owner == self
                            ? "the remote core is already running; call stop() first to "
                              "restart it"
                            : "the remote core is running another RemoteProc's firmware; "
                              "stop() that one first");
        goto out;
    }
    /* Another RemoteProc loaded its image since, or shutdown() forgot ours. */
    if ((opy.rproc_owner != self || state == AMP_RPROC_OFFLINE) && load_image(self) < 0)
        goto out;
    opy_services_clear();
    opy.ring_error_reported = false;
    int rc = opy_start_core();
    switch (rc) {
    case 0:
        result = Py_None;
        Py_INCREF(result);
        break;
    case -AMP_ENOENT:
        opy_raise_oserror(ENOENT, NULL,
                          "cannot start the remote core: the helper program amp-simcore is "
                          "missing (rebuild, or set AMP_SIMCORE to its path)");
        break;
    case -AMP_EBADMSG:
        PyErr_SetString(PyExc_ValueError,
                        "cannot start the remote core: the firmware's resource table is "
                        "invalid");
        break;
    case -AMP_ENOSPC:
        PyErr_SetString(PyExc_ValueError,
                        "cannot start the remote core: the vrings and buffers the firmware "
                        "asks for do not fit in shared memory");
        break;
    default:
        opy_raise_oserror(EIO, NULL, "cannot start the remote core: %s", amp_strerror(rc));
        break;
    }
out:
    opy_leave();
    return result;
}

static PyObject *RemoteProc_stop(PyObject *op, PyObject *unused)
{
    (void)unused;
    RemoteProcObject *self = (RemoteProcObject *)op;
    if (!owns_core(self))
        Py_RETURN_NONE;
    if (opy_enter() < 0)
        return NULL;
    int rc = opy.rproc_owner == self ? amp_rproc_stop(opy.rproc) : 0;
    opy_leave();
    if (rc < 0) {
        opy_raise_oserror(EIO, NULL, "cannot stop the remote core: %s", amp_strerror(rc));
        return NULL;
    }
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
    opy_leave();
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
    int n = amp_sim_read_trace(opy.board, buf, sizeof buf);
    opy_leave();
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
    enum amp_rproc_state state = amp_rproc_state(opy.rproc);
    opy_leave();
    return PyUnicode_FromString(amp_rproc_state_str(state));
}

/* Why the core stopped on its own (amp_sim_crash_reason), or None. */
static PyObject *RemoteProc_get_crash_reason(PyObject *op, void *closure)
{
    (void)closure;
    RemoteProcObject *self = (RemoteProcObject *)op;
    if (!owns_core(self))
        Py_RETURN_NONE;
    if (opy_enter() < 0)
        return NULL;
    const char *why = amp_rproc_state(opy.rproc) == AMP_RPROC_CRASHED
                      ? amp_sim_crash_reason(opy.board) : "";
    PyObject *r = *why ? PyUnicode_FromString(why) : (Py_INCREF(Py_None), Py_None);
    opy_leave();
    return r;
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
      "Why the core crashed, e.g. 'write to 0x40021000 (no memory or peripheral modelled "
      "there) at pc 0x...' with lr, sp and xPSR on the emulated Cortex-M4; None unless "
      "state is 'crashed' (extension: not in MicroPython).", NULL },
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
