/*
 * openamp_internal.h - shared between the files of the `openamp` CPython
 * extension. The board, its lock, the receive thread, the queues and every
 * rule and message live in the shared layer (bindings/common/openamp_core.h);
 * this extension converts Python objects and runs callbacks.
 *
 *   module.c      module object, configure(), new_service_callback()
 *   interp.c      the shared layer's ops for CPython: GIL, pending calls,
 *                 callbacks, exceptions
 *   endpoint.c    openamp.Endpoint
 *   remoteproc.c  openamp.RemoteProc
 *
 * Threads and the GIL (see docs/python.md for the user's view): the
 * receive thread never holds the GIL with the board lock; it asks the main
 * thread to run callbacks with Py_AddPendingCall. Blocking waits release
 * the GIL.
 */
#ifndef OPENAMP_INTERNAL_H
#define OPENAMP_INTERNAL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../common/openamp_core.h"

extern PyTypeObject opy_EndpointType;
extern PyTypeObject opy_RemoteProcType;
extern PyObject *opy_ns_callback;   /* new_service_callback, or NULL */

/* interp.c */
int opy_init(void);                          /* at import: the shared layer's ops */
/* Raise e as the Python exception it names (nothing for OPC_EXC_PENDING). */
void opy_raise(const struct opc_err *e);
/* opc_enter with the exception raised on failure: 0 or -1. */
int opy_enter(void);
/* For tp_finalize: run locked(op) between opy_enter/opc_leave; its errors
 * go to sys.unraisablehook; an exception already being raised is kept. */
void opy_finalize_locked(PyObject *op, int (*locked)(PyObject *op));
PyObject *opy_close(PyObject *self, PyObject *unused);
/* Raise the OSError subclass for errno `err` (FileNotFoundError, TimeoutError,
 * ...) with a message formatted like PyUnicode_FromFormat; filename may be NULL. */
void opy_raise_oserror(int err, PyObject *filename, const char *fmt, ...);
/* An int argument as long long, for the shared layer's range checks. */
int opy_as_longlong(PyObject *obj, long long *v, bool *overflow);

/* callback(a, b), stealing a and b (NULL: their creation failed, the error
 * is reported like the callback's). 0 (an exception went to
 * sys.unraisablehook), or -1 to end the delivery round (KeyboardInterrupt or
 * SystemExit, kept to be re-raised). */
int opy_call(PyObject *callback, PyObject *a, PyObject *b);

/* endpoint.c: the callback of the endpoint object `owner`. */
int opy_ept_deliver(void *owner, uint32_t src, const void *data, size_t len);

#endif /* OPENAMP_INTERNAL_H */
