# A small test harness for the openamp tests under MicroPython (which has no
# unittest): runs every test_* function of a module, prints "ok NAME" or
# "FAIL NAME: why" and a final "done", which tests/micropython/run.py counts.
# Shared helpers for booting the simulated core live here too.
import gc
import os
import sys
import time

import openamp

BUILD = os.getenv("AMP_BUILD") or "build"
# The runner names the firmware of the core type under test (native x86-64
# or the emulated Cortex-M4); these defaults are the native build's.
VIRTUAL_UART = os.getenv("AMP_FW_VIRTUAL_UART") or BUILD + "/firmware/virtual_uart.elf"
FAULT = os.getenv("AMP_FW_FAULT") or BUILD + "/firmware/fault.elf"
NS_PROBE = os.getenv("AMP_FW_NS_PROBE") or BUILD + "/tests/python/ns_probe.elf"
NS_DROP = os.getenv("AMP_FW_NS_DROP") or BUILD + "/tests/micropython/ns_drop.elf"
SLOW_MS = 10000


def my_pid():
    with open("/proc/self/stat") as f:
        return int(f.read().split()[0])


def simcore_children():
    """amp-simcore(-cm4) processes whose parent is this process (zombies too)."""
    me = my_pid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/" + entry + "/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if comm.startswith("amp-simcore") and int(fields[1]) == me:   # -cm4 too
            found.append(int(entry))
    return found


class Failed(Exception):
    pass


def check(cond, what="check"):
    if not cond:
        raise Failed(what)


def equal(a, b, what=""):
    if a != b:
        raise Failed("%s: %r != %r" % (what, a, b))


def raises(exc, fn, *args, **kw):
    """Call fn; it must raise exc. Returns the exception."""
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise Failed("%s did not raise %s" % (getattr(fn, "__name__", fn), exc.__name__))


def wait_until(pred, what="condition", timeout_ms=SLOW_MS):
    """Sleep in small steps until pred() is true; callbacks run meanwhile
    (the scheduler runs inside time.sleep_ms)."""
    t0 = time.ticks_ms()
    while not pred():
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            raise Failed("timed out waiting for " + what)
        time.sleep_ms(1)


def settle(ms=50):
    time.sleep_ms(ms)


class Inbox:
    """A receive callback that keeps copies of what arrives."""

    def __init__(self):
        self.messages = []

    def __call__(self, src, data):
        self.messages.append((src, bytes(data)))

    def datas(self):
        return [d for _, d in self.messages]

    def wait_for(self, n, what="messages"):
        wait_until(lambda: len(self.messages) >= n,
                   "%d %s (got %d)" % (n, what, len(self.messages)))


# What a test booted; torn down after each test.
_live = []


def boot(firmware=None, name="vuart-channel", callback=None):
    """Endpoint first, then the core (the seed's order); wait until bound."""
    ept = openamp.Endpoint(name, callback)
    rproc = openamp.RemoteProc(firmware or VIRTUAL_UART)
    rproc.start()
    _live.append((ept, rproc))
    wait_until(ept.is_ready, "the endpoint to be bound")
    return ept, rproc


def track(ept=None, rproc=None):
    _live.append((ept, rproc))


def _teardown():
    for ept, rproc in _live:
        if rproc is not None:
            rproc.shutdown()
        if ept is not None:
            ept.deinit()
    _live.clear()
    openamp.new_service_callback(None)
    gc.collect()
    if simcore_children():
        raise Failed("a core process is still running after shutdown()")


def run(namespace):
    only = os.getenv("MPY_TEST_ONLY")
    names = sorted(n for n in namespace if n.startswith("test_"))
    for n in names:
        if only and only not in n:
            continue
        t0 = time.ticks_ms()
        try:
            try:
                namespace[n]()
            finally:
                _teardown()
            print("ok %s (%d ms)" % (n, time.ticks_diff(time.ticks_ms(), t0)))
        except Exception as e:
            print("FAIL %s: %r" % (n, e))
            sys.print_exception(e)
    print("done")
