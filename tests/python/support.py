"""Shared set-up for the openamp tests.

Importing this module configures the openamp board for this test process:
a board instance name of its own (so parallel runs never collide) whose
flash file is removed when the process exits. Tests then share that one
board, as MicroPython has one: each test starts its own core and shuts it
down again.
"""

import gc
import os
import signal
import subprocess
import sys
import time
import unittest

import openamp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("AMP_BUILD", os.path.join(ROOT, "build")))
FIRMWARE = os.path.join(BUILD, "firmware")
# Which core type the firmware runs on: the emulated Cortex-M4 (the real
# chip's images, the default) or the native x86-64 core (AMP_TEST_CORE=native).
CORE = os.environ.get("AMP_TEST_CORE", "cm4")
_SUFFIX = "-x86_64" if CORE == "native" else ""
VIRTUAL_UART = os.path.join(FIRMWARE, "virtual_uart%s.elf" % _SUFFIX)
FAULT = os.path.join(FIRMWARE, "fault%s.elf" % _SUFFIX)
NS_PROBE = os.path.join(BUILD, "tests", "python", "ns_probe%s.elf" % ("" if _SUFFIX else "-cm4"))
# Process names of the two core programs (comm is cut at 15 characters).
CORE_COMMS = ("amp-simcore", "amp-simcore-cm4")
STREAMER = os.path.join(BUILD, "tests", "python", "streamer.elf")
MODULE_DIR = os.path.dirname(os.path.abspath(openamp.__file__))

BOARD_NAME = "pytest-%d" % os.getpid()
FLASH_FILE = "/dev/shm/amp-%s-flash" % BOARD_NAME
openamp.configure(name=BOARD_NAME, remove_flash=True)

# Generous bounds: the simulated core answers in microseconds, but a busy CI
# machine can stall any process for a while.
SLOW = 10.0


def wait_until(predicate, timeout=SLOW, what="condition"):
    """Spin until predicate() is true. Callbacks run meanwhile: this is
    Python code in the main thread, and a short sleep lets them in."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(0.001)


def settle(seconds=0.05):
    """Let callbacks for whatever is already on its way run."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.001)


def simcore_children(parent=None):
    """Process ids of amp-simcore processes whose parent is `parent`
    (default: this process), zombies included."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if comm in CORE_COMMS and int(fields[1]) == parent:
            found.append(int(entry))
    return found


def core_pid():
    pids = simcore_children()
    if len(pids) != 1:
        raise AssertionError("expected one amp-simcore child, found %r" % pids)
    return pids[0]


class Alarm(Exception):
    """Raised by the SIGALRM handler of interrupted_after()."""


class interrupted_after:
    """with interrupted_after(0.2): ... - a signal handler raises Alarm in
    the main thread after that many seconds (as Ctrl-C would)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        def handler(signum, frame):
            raise Alarm()
        self.old = signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        return False


def run_python(code, env=None, timeout=60):
    """Run `code` in a fresh interpreter that finds the module under test."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = MODULE_DIR + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True,
                          text=True, timeout=timeout)


class Inbox:
    """A receive callback that keeps what arrives, and where it ran."""

    def __init__(self):
        self.messages = []
        self.threads = set()

    def __call__(self, src, data):
        import threading
        self.threads.add(threading.get_ident())
        self.messages.append((src, data))

    def datas(self):
        return [bytes(d) for _, d in self.messages]

    def wait_for(self, count, timeout=SLOW):
        wait_until(lambda: len(self.messages) >= count, timeout,
                   "%d messages (have %d)" % (count, len(self.messages)))


class BoardTest(unittest.TestCase):
    """Cleans up after each test: endpoints deinitialised, the core shut
    down, no new-service callback, and no amp-simcore process left."""

    def setUp(self):
        self._cleanup_epts = []
        self._cleanup_rprocs = []
        self._stopped = []

    def endpoint(self, *args, **kwargs):
        ept = openamp.Endpoint(*args, **kwargs)
        self._cleanup_epts.append(ept)
        return ept

    def remoteproc(self, entry):
        rproc = openamp.RemoteProc(entry)
        self._cleanup_rprocs.append(rproc)
        return rproc

    def boot(self, firmware=VIRTUAL_UART, name="vuart-channel", callback=None):
        """An endpoint `name` first, then the core: the seed's order."""
        inbox = callback if callback is not None else Inbox()
        ept = self.endpoint(name, inbox)
        rproc = self.remoteproc(firmware)
        rproc.start()
        wait_until(ept.is_ready, what="endpoint %r to be ready" % name)
        return ept, rproc, inbox

    def freeze_core(self):
        """SIGSTOP the core: alive, but consuming nothing."""
        pid = core_pid()
        os.kill(pid, signal.SIGSTOP)
        self._stopped.append(pid)
        return pid

    def thaw_core(self, pid):
        os.kill(pid, signal.SIGCONT)
        self._stopped.remove(pid)

    def tearDown(self):
        for pid in self._stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        openamp.new_service_callback(None)
        for ept in self._cleanup_epts:
            ept.deinit()
        for rproc in self._cleanup_rprocs:
            rproc.shutdown()
        self._cleanup_epts.clear()
        self._cleanup_rprocs.clear()
        gc.collect()
        self.assertEqual(simcore_children(), [], "an amp-simcore process was left behind")
