"""The module's surface: names, docstrings, lazy initialisation, and every
bad argument raising the right exception with a useful message."""

import os
import pathlib
import tempfile
import textwrap
import unittest

import support
from support import BoardTest

import openamp


class TestSurface(unittest.TestCase):
    def test_names(self):
        for name in ("ENDPOINT_ADDR_ANY", "Endpoint", "RemoteProc", "new_service_callback",
                     "configure"):
            self.assertTrue(hasattr(openamp, name), name)
        self.assertEqual(openamp.ENDPOINT_ADDR_ANY, 0xFFFFFFFF)

    def test_docstrings_everywhere(self):
        objects = [openamp, openamp.Endpoint, openamp.RemoteProc, openamp.new_service_callback,
                   openamp.configure]
        for cls in (openamp.Endpoint, openamp.RemoteProc):
            for attr in dir(cls):
                if not attr.startswith("_"):
                    objects.append(getattr(cls, attr))
        for obj in objects:
            self.assertTrue(obj.__doc__ and len(obj.__doc__.strip()) > 20, repr(obj))

    def test_signatures(self):
        import inspect
        self.assertEqual(str(inspect.signature(openamp.Endpoint.send)),
                         "(self, /, data, *, src=-1, dest=-1, timeout=-1)")
        self.assertEqual(str(inspect.signature(openamp.Endpoint)),
                         "(name, callback=None, src=4294967295, dest=4294967295)")
        self.assertEqual(str(inspect.signature(openamp.RemoteProc)), "(entry)")
        self.assertEqual(str(inspect.signature(openamp.new_service_callback)),
                         "(ns_callback, /)")
        for name in ("deinit", "is_ready"):
            self.assertEqual(str(inspect.signature(getattr(openamp.Endpoint, name))),
                             "(self, /)")

    def test_stub_matches_module(self):
        stub = os.path.join(support.ROOT, "bindings", "python", "openamp.pyi")
        with open(stub) as f:
            text = f.read()
        for name in ("ENDPOINT_ADDR_ANY", "class Endpoint", "class RemoteProc",
                     "def new_service_callback", "def configure", "def deinit",
                     "def is_ready", "def send", "def start", "def stop", "def shutdown"):
            self.assertIn(name, text)

    def test_stub_names_every_public_attribute(self):
        stub = os.path.join(support.ROOT, "bindings", "python", "openamp.pyi")
        with open(stub) as f:
            text = f.read()
        for cls in (openamp.Endpoint, openamp.RemoteProc):
            for attr in dir(cls):
                if not attr.startswith("_"):
                    self.assertIn("def %s(" % attr, text, "%s.%s" % (cls.__name__, attr))

    def test_nothing_happens_at_import(self):
        # A fresh interpreter: importing starts no thread, opens no board.
        name = "pytest-import-%d" % os.getpid()
        code = textwrap.dedent("""
            import os, sys
            before = len(os.listdir("/proc/self/task"))
            import openamp
            after = len(os.listdir("/proc/self/task"))
            print(before, after, os.path.exists("/dev/shm/amp-%s-flash"))
        """ % name)
        r = support.run_python(code, env={"OPENAMP_SIM_NAME": name})
        self.assertEqual(r.returncode, 0, r.stderr)
        before, after, exists = r.stdout.split()
        self.assertEqual(before, after)
        self.assertEqual(exists, "False")

    def test_configure_after_first_use(self):
        openamp.new_service_callback(None)   # opens the board (if not yet)
        with self.assertRaisesRegex(RuntimeError, "before the first"):
            openamp.configure(name="too-late")

    def test_configure_bad_values(self):
        cases = [
            (dict(board="stm32h747"), ValueError, "unknown board"),
            (dict(board=1), TypeError, "board must be a str"),
            (dict(name="bad/name"), ValueError, "invalid"),
            (dict(name=""), ValueError, "invalid"),
            (dict(name="x" * 65), ValueError, "invalid"),
            (dict(name=".hidden"), ValueError, "invalid"),
            (dict(wait_mode="sometimes"), ValueError, "blocking"),
            (dict(cpu="0"), TypeError, "cpu must be an int"),
            (dict(cpu=-2), ValueError, "cpu"),
            (dict(simcore=""), ValueError, "simcore"),
        ]
        for kwargs, exc, text in cases:
            with self.subTest(kwargs=kwargs):
                with self.assertRaisesRegex(exc, text):
                    openamp.configure(**kwargs)
        with self.assertRaises(TypeError):
            openamp.configure("sim-h747")   # keyword-only

    def test_configure_and_environment_in_a_fresh_process(self):
        name = "pytest-env-%d" % os.getpid()
        code = textwrap.dedent("""
            import openamp
            openamp.configure(board="sim-h747", wait_mode="adaptive", remove_flash=True)
            ept = openamp.Endpoint("x")
            import os
            print(os.path.exists("/dev/shm/amp-%s-flash"))
        """ % name)
        r = support.run_python(code, env={"OPENAMP_SIM_NAME": name})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "True")
        self.assertFalse(os.path.exists("/dev/shm/amp-%s-flash" % name))
        r = support.run_python("import openamp; openamp.Endpoint('x')",
                               env={"OPENAMP_SIM_WAIT": "sideways"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("OPENAMP_SIM_WAIT", r.stderr)
        r = support.run_python("import openamp; openamp.Endpoint('x')",
                               env={"OPENAMP_BOARD": "zynq"})
        self.assertIn("OPENAMP_BOARD", r.stderr)


class TestBadArguments(BoardTest):
    def test_endpoint_name(self):
        with self.assertRaisesRegex(TypeError, "name must be a str, not bytes"):
            openamp.Endpoint(b"vuart-channel")
        with self.assertRaisesRegex(TypeError, "name must be a str, not NoneType"):
            openamp.Endpoint(None)
        with self.assertRaisesRegex(ValueError, "32 bytes long.*at most 31"):
            openamp.Endpoint("x" * 32)
        with self.assertRaisesRegex(ValueError, "at most 31"):
            openamp.Endpoint("\u00e9" * 16)   # 16 characters, 32 bytes
        with self.assertRaisesRegex(ValueError, "NUL"):
            openamp.Endpoint("a\0b")
        with self.assertRaises(UnicodeEncodeError):   # a ValueError
            openamp.Endpoint("\udc80")
        with self.assertRaises(TypeError):
            openamp.Endpoint()
        # 31 bytes is fine.
        self.endpoint("x" * 31)

    def test_endpoint_callback(self):
        with self.assertRaisesRegex(TypeError, "callback must be callable"):
            openamp.Endpoint("x", 42)
        with self.assertRaisesRegex(TypeError, "callback must be callable"):
            openamp.Endpoint("x", callback="print")
        self.endpoint("x", None)
        self.endpoint("y", callback=print)

    def test_endpoint_addresses(self):
        for kw in ("src", "dest"):
            with self.subTest(kw=kw):
                with self.assertRaisesRegex(TypeError, kw + " must be an int address"):
                    openamp.Endpoint("x", **{kw: "1024"})
                with self.assertRaisesRegex(TypeError, kw + " must be an int"):
                    openamp.Endpoint("x", **{kw: 1024.0})
                with self.assertRaisesRegex(ValueError, kw + " must be an address"):
                    openamp.Endpoint("x", **{kw: -2})
                with self.assertRaisesRegex(ValueError, kw + " must be an address"):
                    openamp.Endpoint("x", **{kw: 1 << 32})
                with self.assertRaisesRegex(ValueError, kw + " must be an address"):
                    openamp.Endpoint("x", **{kw: 1 << 80})
        # src and dest positionally, as the seed writes them (issue 13).
        p = self.endpoint("x", None, 1500, 77)
        self.assertEqual((p.src, p.dest), (1500, 77))
        p.deinit()
        with self.assertRaises(TypeError):
            openamp.Endpoint("x", None, 1024, 77, 5)   # nothing after dest
        # -1 and ENDPOINT_ADDR_ANY mean the same.
        a = self.endpoint("x", src=-1, dest=openamp.ENDPOINT_ADDR_ANY)
        self.assertGreaterEqual(a.src, 1024)
        self.assertEqual(a.dest, openamp.ENDPOINT_ADDR_ANY)
        # A fixed address, then the same one again.
        self.endpoint("y", src=2000)
        with self.assertRaises(OSError) as cm:
            openamp.Endpoint("z", src=2000)
        self.assertIn("2000 is already in use", str(cm.exception))
        with self.assertRaisesRegex(OSError, "53 is already in use"):
            openamp.Endpoint("z", src=53)   # the name service's

    def test_send_arguments(self):
        ept = self.endpoint("x", dest=1024)
        with self.assertRaisesRegex(TypeError, "data must be a str or bytes-like object, not int"):
            ept.send(5)
        with self.assertRaisesRegex(TypeError, "not NoneType"):
            ept.send(None)
        with self.assertRaisesRegex(TypeError, "not list"):
            ept.send([1, 2])
        with self.assertRaises(TypeError):
            ept.send()
        with self.assertRaises(TypeError):
            ept.send(b"x", 1024)                # src is keyword-only
        with self.assertRaisesRegex(TypeError, "timeout must be an int"):
            ept.send(b"x", timeout=1.5)
        with self.assertRaisesRegex(TypeError, "timeout must be an int"):
            ept.send(b"x", timeout=None)
        with self.assertRaisesRegex(ValueError, "timeout must be -1"):
            ept.send(b"x", timeout=-2)
        with self.assertRaisesRegex(ValueError, "timeout must be -1"):
            ept.send(b"x", timeout=1 << 31)
        with self.assertRaisesRegex(ValueError, "src must be an address"):
            ept.send(b"x", src=-5)
        with self.assertRaisesRegex(TypeError, "dest must be an int"):
            ept.send(b"x", dest="a")
        with self.assertRaises(BufferError):
            ept.send(memoryview(bytes(8))[::2])   # not contiguous
        with self.assertRaisesRegex(ValueError, "600 bytes exceeds the 496-byte maximum"):
            ept.send(bytes(600))
        # No core running: arguments are fine, the board is not.
        with self.assertRaisesRegex(OSError, "not running"):
            ept.send(b"x")

    def test_new_service_callback(self):
        with self.assertRaisesRegex(TypeError, "function fn\\(addr, name\\) or None, not int"):
            openamp.new_service_callback(1)
        with self.assertRaises(TypeError):
            openamp.new_service_callback()
        with self.assertRaises(TypeError):
            openamp.new_service_callback(print, print)
        openamp.new_service_callback(print)
        openamp.new_service_callback(None)

    def test_remoteproc_entry(self):
        with self.assertRaisesRegex(TypeError, "path .* or an entry address \\(int\\), not float"):
            openamp.RemoteProc(1.5)
        with self.assertRaisesRegex(TypeError, "not NoneType"):
            openamp.RemoteProc(None)
        with self.assertRaisesRegex(TypeError, "not bool"):
            openamp.RemoteProc(True)
        with self.assertRaises(TypeError):
            openamp.RemoteProc()
        with self.assertRaisesRegex(ValueError, "must be from 0 to 0xFFFFFFFF"):
            openamp.RemoteProc(-1)
        with self.assertRaisesRegex(ValueError, "not in the remote core's executable memory"):
            openamp.RemoteProc(0x20000000)
        with self.assertRaisesRegex(ValueError, "empty"):
            openamp.RemoteProc("")

    def test_remoteproc_files(self):
        with self.assertRaises(FileNotFoundError) as cm:
            openamp.RemoteProc("no-such-firmware.elf")
        self.assertEqual(cm.exception.filename, "no-such-firmware.elf")
        self.assertIn("not found", str(cm.exception))
        with self.assertRaises(FileNotFoundError):
            openamp.RemoteProc(pathlib.Path("/nonexistent/dir/fw.elf"))
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(IsADirectoryError):
                openamp.RemoteProc(tmp)
            cases = {
                "empty.elf": (b"", "empty"),
                "text.elf": (b"hello, I am not firmware\n" * 4, "not an ELF file"),
                "short.elf": (b"\x7fELF\x02\x01\x01", ""),
            }
            for fname, (content, reason) in cases.items():
                path = os.path.join(tmp, fname)
                with open(path, "wb") as f:
                    f.write(content)
                with self.subTest(fname=fname):
                    with self.assertRaises(ValueError) as cm:
                        openamp.RemoteProc(path)
                    self.assertIn(fname, str(cm.exception))
                    self.assertIn(reason, str(cm.exception))
            # An ELF for another machine: this Python's own interpreter is
            # x86-64 but a shared object (ET_DYN), not firmware.
            with self.assertRaisesRegex(ValueError, "not a firmware image"):
                openamp.RemoteProc(os.path.realpath(os.path.join(support.MODULE_DIR,
                                                                 "amp-simcore")))
            if os.getuid() != 0:
                path = os.path.join(tmp, "secret.elf")
                with open(path, "wb") as f:
                    f.write(b"x")
                os.chmod(path, 0)
                with self.assertRaises(PermissionError):
                    openamp.RemoteProc(path)
        # Path-likes and bytes work.
        self.remoteproc(pathlib.Path(support.VIRTUAL_UART))
        self.remoteproc(os.fsencode(support.VIRTUAL_UART))


if __name__ == "__main__":
    unittest.main()
