/*
 * module.c - the `openamp` module: MicroPython's openamp API on CPython,
 * on the simulated board sim-h747 (include/amp/sim.h).
 *
 * Importing does nothing but create the module: the board is opened by the
 * first Endpoint(), RemoteProc() or new_service_callback(), as MicroPython
 * sets its device up lazily.
 */
#include "openamp_internal.h"

#include <string.h>

PyDoc_STRVAR(new_service_callback_doc,
"new_service_callback(ns_callback, /)\n--\n\n"
"Set the function called when the remote announces a new service.\n\n"
"ns_callback(addr, name) is called in the main thread with the remote\n"
"endpoint's address (int) and the service name (str), for names that no\n"
"local endpoint has. Create Endpoint(name, callback, dest=addr) to talk to\n"
"it. None removes the callback. Without a callback, create the endpoint\n"
"under the service's name: it binds when the remote announces it, or at\n"
"once if the announcement already came (an extension: MicroPython's\n"
"endpoint would wait for the first message).");

static PyObject *new_service_callback(PyObject *module, PyObject *fn)
{
    (void)module;
    if (fn != Py_None && !PyCallable_Check(fn)) {
        PyErr_Format(PyExc_TypeError,
                     "new_service_callback() takes a function fn(addr, name) or None, not "
                     "%.100s", Py_TYPE(fn)->tp_name);
        return NULL;
    }
    if (opy_enter() < 0)
        return NULL;
    PyObject *old = opy_ns_callback;
    if (fn == Py_None) {
        opy_ns_callback = NULL;
    } else {
        Py_INCREF(fn);
        opy_ns_callback = fn;
    }
    /* A new callback hears the services already announced (extension). */
    opc_set_ns_callback(fn != Py_None);
    opc_leave();
    opc_kick();
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(configure_doc,
"configure(*, board='sim-h747', name=None, wait_mode=None, simcore=None,\n"
"          remove_flash=None, cpu=None)\n--\n\n"
"Choose the board before first use (extension: not in MicroPython).\n\n"
"Without it the module uses the simulated board 'sim-h747' with its\n"
"defaults. Arguments left None fall back to environment variables:\n\n"
"  board         the board type; only 'sim-h747' exists (OPENAMP_BOARD)\n"
"  name          board instance name, 1-64 of A-Z a-z 0-9 - _ . ; names the\n"
"                persistent flash file /dev/shm/amp-<name>-flash and lets\n"
"                several processes run boards side by side\n"
"                (OPENAMP_SIM_NAME; default 'sim-h747')\n"
"  wait_mode     'blocking' (sleep on the doorbell), 'polled' (spin) or\n"
"                'adaptive' (spin briefly, then sleep) (OPENAMP_SIM_WAIT)\n"
"  simcore       path of the amp-simcore helper (AMP_SIMCORE; default:\n"
"                found next to this module)\n"
"  remove_flash  delete the flash file when the interpreter exits\n"
"                (OPENAMP_SIM_REMOVE_FLASH=1)\n"
"  cpu           pin the remote core to this CPU, -1 not at all\n"
"                (OPENAMP_SIM_CPU)\n\n"
"Raises RuntimeError once the board is open (after the first Endpoint,\n"
"RemoteProc or new_service_callback), ValueError for a bad value.");

/* A str argument or None; *out is NULL for None. */
static int opt_str(PyObject *obj, const char *what, const char **out)
{
    *out = NULL;
    if (!obj || obj == Py_None)
        return 0;
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "configure(): %s must be a str or None, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    *out = PyUnicode_AsUTF8(obj);
    return *out ? 0 : -1;
}

static PyObject *configure(PyObject *module, PyObject *args, PyObject *kwds)
{
    (void)module;
    static char *kwlist[] = { "board", "name", "wait_mode", "simcore", "remove_flash", "cpu",
                              NULL };
    PyObject *board_obj = NULL, *name_obj = NULL, *mode_obj = NULL, *simcore_obj = NULL;
    PyObject *flash_obj = NULL, *cpu_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$OOOOOO:configure", kwlist, &board_obj,
                                     &name_obj, &mode_obj, &simcore_obj, &flash_obj, &cpu_obj))
        return NULL;
    const char *board, *name, *mode, *simcore;
    if (opt_str(board_obj, "board", &board) < 0 || opt_str(name_obj, "name", &name) < 0 ||
        opt_str(mode_obj, "wait_mode", &mode) < 0 ||
        opt_str(simcore_obj, "simcore", &simcore) < 0)
        return NULL;
    int remove_flash = -1;
    if (flash_obj && flash_obj != Py_None) {
        remove_flash = PyObject_IsTrue(flash_obj);
        if (remove_flash < 0)
            return NULL;
    }
    long cpu = INT_MIN;
    if (cpu_obj && cpu_obj != Py_None) {
        if (!PyLong_Check(cpu_obj)) {
            PyErr_Format(PyExc_TypeError, "configure(): cpu must be an int or None, not %.100s",
                         Py_TYPE(cpu_obj)->tp_name);
            return NULL;
        }
        int overflow;
        cpu = PyLong_AsLongAndOverflow(cpu_obj, &overflow);
        if (cpu == -1 && PyErr_Occurred())
            return NULL;
        if (overflow)
            cpu = LONG_MAX;
    }
    struct opc_settings set = {
        .board = board, .name = name, .wait_mode = mode, .simcore = simcore,
        .remove_flash = remove_flash, .cpu = cpu,
    };
    struct opc_err e;
    if (opc_configure(&set, &e) < 0) {
        opy_raise(&e);
        return NULL;
    }
    Py_RETURN_NONE;
}

/*
 * Endpoint.recv_async(): a coroutine in Python over fileno(), so it works
 * with any asyncio loop that has add_reader (the default one on Linux).
 */
PyObject *opy_recv_async;

static const char recv_async_src[] =
    "async def recv_async(ept, timeout):\n"
    "    import asyncio, errno\n"
    "    loop = asyncio.get_running_loop()\n"
    "    fd = ept.fileno()\n"
    "    deadline = None if timeout < 0 else loop.time() + timeout / 1000\n"
    "    while True:\n"
    "        try:\n"
    "            return ept.recv(timeout=0)\n"
    "        except TimeoutError:\n"
    "            pass\n"
    "        left = None if deadline is None else deadline - loop.time()\n"
    "        if left is not None and left <= 0:\n"
    "            raise TimeoutError(errno.ETIMEDOUT,\n"
    "                               \"endpoint '%s': no message within %d ms\" % (ept.name, timeout))\n"
    "        ready = loop.create_future()\n"
    "        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))\n"
    "        try:\n"
    "            await asyncio.wait_for(ready, left)\n"
    "        except asyncio.TimeoutError:\n"
    "            pass\n"
    "        finally:\n"
    "            loop.remove_reader(fd)\n";

static int init_recv_async(void)
{
    if (opy_recv_async)
        return 0;
    PyObject *ns = PyDict_New();
    if (!ns)
        return -1;
    if (PyDict_SetItemString(ns, "__builtins__", PyEval_GetBuiltins()) < 0) {
        Py_DECREF(ns);
        return -1;
    }
    PyObject *r = PyRun_String(recv_async_src, Py_file_input, ns, ns);
    if (!r) {
        Py_DECREF(ns);
        return -1;
    }
    Py_DECREF(r);
    opy_recv_async = PyDict_GetItemString(ns, "recv_async");
    Py_XINCREF(opy_recv_async);
    Py_DECREF(ns);
    return opy_recv_async ? 0 : -1;
}

static PyMethodDef module_methods[] = {
    { "new_service_callback", new_service_callback, METH_O, new_service_callback_doc },
    { "configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
      configure_doc },
    { NULL, NULL, 0, NULL },
};

PyDoc_STRVAR(module_doc,
"Asymmetric multiprocessing: RPMsg endpoints and remote core life cycle.\n\n"
"The API of MicroPython's openamp module, on CPython, with the simulated\n"
"board sim-h747 (a remote core running real firmware in a helper process):\n\n"
"    import openamp\n\n"
"    def ept_recv_callback(src, data):\n"
"        print(\"Received message on endpoint\", data)\n\n"
"    ept = openamp.Endpoint(\"vuart-channel\", callback=ept_recv_callback)\n"
"    rproc = openamp.RemoteProc(\"virtual_uart.elf\")\n"
"    rproc.start()\n"
"    while True:\n"
"        if ept.is_ready():\n"
"            ept.send(\"data\")\n\n"
"Callbacks run in the main thread, between bytecodes (like signal\n"
"handlers), and while send() waits for a buffer. Nothing happens at\n"
"import: the board opens on first use (see configure()). At exit the\n"
"remote core is shut down.");

static struct PyModuleDef openamp_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "openamp",
    .m_doc = module_doc,
    .m_size = -1,   /* single-phase: one board per process (see openamp_internal.h) */
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit_openamp(void);
PyMODINIT_FUNC PyInit_openamp(void)
{
    if (opy_init() < 0 || init_recv_async() < 0)
        return NULL;
    if (PyType_Ready(&opy_EndpointType) < 0 || PyType_Ready(&opy_RemoteProcType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&openamp_module);
    if (!m)
        return NULL;
    Py_INCREF(&opy_EndpointType);
    if (PyModule_AddObject(m, "Endpoint", (PyObject *)&opy_EndpointType) < 0) {
        Py_DECREF(&opy_EndpointType);
        goto fail;
    }
    Py_INCREF(&opy_RemoteProcType);
    if (PyModule_AddObject(m, "RemoteProc", (PyObject *)&opy_RemoteProcType) < 0) {
        Py_DECREF(&opy_RemoteProcType);
        goto fail;
    }
    PyObject *any = PyLong_FromUnsignedLong(AMP_RPMSG_ADDR_ANY);
    if (!any || PyModule_AddObject(m, "ENDPOINT_ADDR_ANY", any) < 0) {
        Py_XDECREF(any);
        goto fail;
    }
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
