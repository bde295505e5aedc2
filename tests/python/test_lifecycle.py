"""The remote core's life cycle: start/stop/restart, timeouts with a core
that consumes nothing, crashes, the GIL and signals while blocked, boot
from an address, and clean-up at exit."""

import errno
import os
import signal
import textwrap
import threading
import time
import unittest

import support
from support import BoardTest, Inbox, wait_until

import openamp


class TestStartStop(BoardTest):
    def test_stop_then_start_restarts(self):
        ept, rproc, inbox = self.boot()
        for cycle in range(3):
            ept.send(b"cycle %d" % cycle)
            inbox.wait_for(cycle + 1)
            rproc.stop()
            self.assertEqual(rproc.state, "stopped")
            self.assertEqual(support.simcore_children(), [])
            self.assertFalse(ept.is_ready())
            t0 = time.monotonic()
            with self.assertRaises(OSError) as cm:
                ept.send(b"nobody there")
            self.assertLess(time.monotonic() - t0, 1.0)
            self.assertNotIsInstance(cm.exception, TimeoutError)
            self.assertIn("stopped", str(cm.exception))
            self.assertIn("start()", str(cm.exception))
            rproc.stop()   # again: harmless
            rproc.start()
            self.assertEqual(rproc.state, "running")
            wait_until(ept.is_ready, what="re-binding after the restart")
        ept.send(b"after")
        wait_until(lambda: inbox.datas()[-1:] == [b"after"])

    def test_start_while_running_raises(self):
        _, rproc, _ = self.boot()
        with self.assertRaisesRegex(RuntimeError, "already running.*stop\\(\\)"):
            rproc.start()
        self.assertEqual(rproc.state, "running")

    def test_shutdown_then_start_loads_again(self):
        ept, rproc, inbox = self.boot()
        rproc.shutdown()
        self.assertEqual(rproc.state, "offline")
        self.assertEqual(support.simcore_children(), [])
        rproc.shutdown()
        rproc.start()
        wait_until(ept.is_ready)
        ept.send(b"again")
        inbox.wait_for(1)

    def test_second_remoteproc(self):
        ept, first, inbox = self.boot()
        with self.assertRaisesRegex(RuntimeError, "running"):
            openamp.RemoteProc(support.VIRTUAL_UART)
        first.stop()
        second = self.remoteproc(support.NS_PROBE)
        self.assertEqual(first.state, "offline")   # its image was replaced
        first.stop()                                # not its core any more: no-op
        first.shutdown()
        second.start()
        with self.assertRaisesRegex(RuntimeError, "another RemoteProc"):
            first.start()
        second.stop()
        first.start()                               # loads its own image again
        wait_until(ept.is_ready)
        self.assertEqual(first.state, "running")
        self.assertEqual(second.state, "offline")
        self.assertIn("virtual_uart", first.trace())

    def test_endpoint_created_after_start(self):
        rproc = self.remoteproc(support.VIRTUAL_UART)
        rproc.start()
        inbox = Inbox()
        ept = self.endpoint("vuart-channel", inbox)
        wait_until(ept.is_ready)
        ept.send(b"x")
        inbox.wait_for(1)


class TestTimeouts(BoardTest):
    def fill(self, ept):
        """Send with timeout=0 until no buffer is left; return how many went."""
        sent = 0
        while True:
            try:
                ept.send(b"fill", timeout=0)
            except TimeoutError:
                return sent
            sent += 1
            self.assertLess(sent, 1000, "buffers never ran out")

    def test_timeouts_with_a_frozen_core(self):
        ept, rproc, inbox = self.boot()
        pid = self.freeze_core()
        sent = self.fill(ept)
        self.assertGreater(sent, 0)
        self.assertLessEqual(sent, 64)
        t0 = time.monotonic()
        with self.assertRaises(TimeoutError) as cm:
            ept.send(b"x", timeout=0)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertIsInstance(cm.exception, OSError)
        self.assertEqual(cm.exception.errno, errno.ETIMEDOUT)
        self.assertIn("timeout=0", str(cm.exception))
        t0 = time.monotonic()
        with self.assertRaises(TimeoutError) as cm:
            ept.send(b"x", timeout=200)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.19)
        self.assertLess(elapsed, 5.0)
        self.assertIn("200 ms", str(cm.exception))
        self.assertEqual(rproc.state, "running")
        # Thawed, the core echoes everything that was queued.
        self.thaw_core(pid)
        inbox.wait_for(sent)
        self.assertEqual(ept.send(b"thawed", timeout=1000), 6)
        inbox.wait_for(sent + 1)

    def test_gil_is_released_while_send_waits(self):
        ept, _, _ = self.boot()
        self.freeze_core()
        self.fill(ept)
        ticks = []
        stop = threading.Event()

        def ticker():
            while not stop.is_set():
                ticks.append(1)
                time.sleep(0.005)

        thread = threading.Thread(target=ticker)
        thread.start()
        try:
            with self.assertRaises(TimeoutError):
                ept.send(b"x", timeout=300)
        finally:
            stop.set()
            thread.join()
        self.assertGreater(len(ticks), 10)

    def test_signal_interrupts_a_blocked_send(self):
        ept, _, _ = self.boot()
        self.freeze_core()
        self.fill(ept)
        t0 = time.monotonic()
        with self.assertRaises(support.Alarm), support.interrupted_after(0.2):
            ept.send(b"forever")   # timeout=-1
        self.assertLess(time.monotonic() - t0, 5.0)

    def test_send_from_another_thread(self):
        ept, _, inbox = self.boot()
        errors = []

        def sender():
            try:
                for i in range(300):
                    ept.send(b"t%d" % i, timeout=5000)
            except Exception as e:   # reported below
                errors.append(e)

        thread = threading.Thread(target=sender)
        thread.start()
        inbox.wait_for(300)
        thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(inbox.threads, {threading.get_ident()})
        self.assertEqual(inbox.datas(), [b"t%d" % i for i in range(300)])


class TestCrashes(BoardTest):
    def test_crash_is_reported_promptly(self):
        ept, rproc, inbox = self.boot(firmware=support.FAULT)
        ept.send(b"before")
        inbox.wait_for(1)
        ept.send(b"crash")
        wait_until(lambda: rproc.state == "crashed", what="the crash to be noticed")
        self.assertFalse(ept.is_ready())
        t0 = time.monotonic()
        with self.assertRaises(OSError) as cm:
            ept.send(b"anyone?")
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(cm.exception.errno, errno.ENODEV)
        self.assertIn("gone", str(cm.exception))
        self.assertEqual(support.simcore_children(), [])   # reaped
        # Why, with the pc on the emulated M4 (an extension).
        if support.CORE == "cm4":
            self.assertRegex(rproc.crash_reason, r"^write to 0x40021000 \(no memory or peripheral "
                             r"modelled there\) at pc 0x081[0-9a-f]{5}.*lr 0x.*sp 0x.*xPSR 0x")
        else:
            self.assertIn("killed by signal 11", rproc.crash_reason)
        # Restart after a crash.
        rproc.start()
        self.assertIsNone(rproc.crash_reason)
        wait_until(ept.is_ready)
        ept.send(b"after the crash")
        wait_until(lambda: inbox.datas()[-1:] == [b"after the crash"])

    def test_firmware_exit_counts_as_crash(self):
        ept, rproc, _ = self.boot(firmware=support.FAULT)
        ept.send(b"exit")
        wait_until(lambda: rproc.state == "crashed")

    def test_core_dies_while_send_is_blocked(self):
        ept, rproc, _ = self.boot(firmware=support.FAULT)
        pid = self.freeze_core()
        TestTimeouts.fill(self, ept)
        killer = threading.Timer(0.3, os.kill, (pid, signal.SIGKILL))
        killer.start()
        t0 = time.monotonic()
        try:
            with self.assertRaises(OSError) as cm:
                ept.send(b"blocked", timeout=-1)
        finally:
            killer.join()
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertNotIsInstance(cm.exception, TimeoutError)
        self.assertIn("gone", str(cm.exception))
        self.assertEqual(rproc.state, "crashed")

    def test_hung_core_times_out_and_stops(self):
        ept, rproc, _ = self.boot(firmware=support.FAULT)
        ept.send(b"hang")
        with self.assertRaises(TimeoutError):
            for _ in range(1000):
                ept.send(b"x", timeout=100)
        rproc.stop()   # SIGKILL works on a spinning core
        self.assertEqual(support.simcore_children(), [])


class TestProcesses(unittest.TestCase):
    """Behaviour across interpreter processes (each its own board name)."""

    def board(self, tag):
        name = "pytest-%s-%d" % (tag, os.getpid())
        flash = "/dev/shm/amp-%s-flash" % name
        self.addCleanup(lambda: os.path.exists(flash) and os.unlink(flash))
        return name, flash

    def test_boot_from_an_address_in_flash(self):
        name, flash = self.board("flash")
        load = textwrap.dedent("""
            import openamp
            openamp.configure(name=%r, remove_flash=False)
            openamp.RemoteProc(%r)   # loads into flash, never started
        """ % (name, support.VIRTUAL_UART))
        r = support.run_python(load)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(flash))
        boot = textwrap.dedent("""
            import time, openamp
            openamp.configure(name=%r, remove_flash=True)
            got = []
            ept = openamp.Endpoint("vuart-channel", lambda s, d: got.append(bytes(d)))
            rproc = openamp.RemoteProc(0x08100000)
            rproc.start()
            deadline = time.monotonic() + 10
            while not ept.is_ready() and time.monotonic() < deadline:
                time.sleep(0.001)
            ept.send("from flash")
            while not got and time.monotonic() < deadline:
                time.sleep(0.001)
            print(got)
        """ % name)
        r = support.run_python(boot)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "[b'from flash']")
        self.assertFalse(os.path.exists(flash))

    def test_exit_with_a_running_core_cleans_up(self):
        name, flash = self.board("exit")
        code = textwrap.dedent("""
            import os, openamp
            openamp.configure(name=%r, remove_flash=True)
            ept = openamp.Endpoint("vuart-channel")
            rproc = openamp.RemoteProc(%r)
            rproc.start()
            assert rproc.state == "running"
            print(os.getpid())
        """ % (name, support.VIRTUAL_UART))
        r = support.run_python(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        pid = int(r.stdout)
        self.assertFalse(os.path.exists(flash))
        time.sleep(0.1)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/cmdline" % entry, "rb") as f:
                        argv = f.read().split(b"\0")
                except OSError:
                    continue
                self.assertFalse(argv[0].endswith((b"amp-simcore", b"amp-simcore-cm4")) and len(argv) > 2
                                 and argv[2] == str(pid).encode(), "core left running")

    def test_forked_child_leaves_the_parents_board_alone(self):
        name, flash = self.board("fork")
        code = textwrap.dedent('''
            import os, sys, time, warnings, openamp
            warnings.simplefilter("ignore", DeprecationWarning)   # fork with threads
            openamp.configure(name=%r, remove_flash=True)
            got = []
            ept = openamp.Endpoint("vuart-channel", lambda s, d: got.append(bytes(d)))
            rproc = openamp.RemoteProc(%r)
            rproc.start()
            pid = os.fork()
            if pid == 0:
                try:
                    openamp.Endpoint("child")
                except RuntimeError as e:
                    print("child:", e, flush=True)
                sys.exit(0)   # runs atexit in the child: must not stop our core
            os.waitpid(pid, 0)
            deadline = time.monotonic() + 10
            while not ept.is_ready() and time.monotonic() < deadline:
                time.sleep(0.001)
            ept.send("still alive")
            while not got and time.monotonic() < deadline:
                time.sleep(0.001)
            print("parent:", got, rproc.state)
        ''' % (name, support.VIRTUAL_UART))
        r = support.run_python(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("child: openamp: this process was forked", r.stdout)
        self.assertIn("parent: [b'still alive'] running", r.stdout)
        self.assertFalse(os.path.exists(flash))

    def test_pinned_core(self):
        name, _ = self.board("cpu")
        code = textwrap.dedent('''
            import os, openamp
            openamp.configure(name=%r, remove_flash=True, cpu=0)
            rproc = openamp.RemoteProc(%r)
            rproc.start()
            for e in os.listdir("/proc"):
                if e.isdigit():
                    try:
                        stat = open("/proc/%%s/stat" %% e).read()
                    except OSError:
                        continue
                    if ("(amp-simcore)" in stat or "(amp-simcore-cm4)" in stat) and int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                        print(sorted(os.sched_getaffinity(int(e))))
        ''' % (name, support.VIRTUAL_UART))
        r = support.run_python(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "[0]")

    def test_board_in_use_by_another_process(self):
        name, _ = self.board("busy")
        holder = textwrap.dedent("""
            import sys, openamp
            openamp.configure(name=%r, remove_flash=True)
            openamp.new_service_callback(None)   # opens the board
            print("open", flush=True)
            sys.stdin.read()
        """ % name)
        import subprocess
        import sys
        env = dict(os.environ)
        env["PYTHONPATH"] = support.MODULE_DIR
        proc = subprocess.Popen([sys.executable, "-c", holder], env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            self.assertEqual(proc.stdout.readline().strip(), "open")
            r = support.run_python("import openamp; openamp.configure(name=%r); "
                                   "openamp.Endpoint('x')" % name)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("in use by another process", r.stderr)
            self.assertIn("OSError", r.stderr)
        finally:
            proc.stdin.close()
            proc.wait(timeout=30)


if __name__ == "__main__":
    unittest.main()
