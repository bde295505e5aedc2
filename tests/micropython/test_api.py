# The module's surface under MicroPython: names, lazy set-up, argument rules.
import openamp
from mpunit import VIRTUAL_UART, check, equal, raises, run, simcore_children, track


def test_names():
    for name in ("Endpoint", "RemoteProc", "new_service_callback", "ENDPOINT_ADDR_ANY"):
        check(hasattr(openamp, name), name)
    # As upstream: RPMSG_ADDR_ANY as a MicroPython int (-1 on 32-bit ports).
    check(openamp.ENDPOINT_ADDR_ANY in (0xFFFFFFFF, -1), "ENDPOINT_ADDR_ANY")


def test_aa_nothing_happens_at_import():
    # This test runs first in a fresh process (names sort): no core yet.
    equal(simcore_children(), [], "no core process at import")


def test_endpoint_name():
    raises(TypeError, openamp.Endpoint, b"bytes-name")
    e = raises(ValueError, openamp.Endpoint, "n" * 32)
    check("32" in str(e) and "31" in str(e), "the error says the sizes: %s" % e)
    raises(ValueError, openamp.Endpoint, "a\x00b")
    ept = openamp.Endpoint("n" * 31)   # the longest name
    track(ept=ept)
    equal(ept.name, "n" * 31, "name")


def test_endpoint_callback():
    raises(TypeError, openamp.Endpoint, "x", 42)
    ept = openamp.Endpoint("cb-none", None)
    track(ept=ept)


def test_endpoint_addresses():
    a = openamp.Endpoint("addr-any", src=openamp.ENDPOINT_ADDR_ANY, dest=-1)
    track(ept=a)
    check(a.src >= 1024, "a dynamic address from 1024")
    equal(a.dest, 0xFFFFFFFF, "dest ANY")
    check(not a.is_ready(), "no destination: not ready")
    b = openamp.Endpoint("addr-fixed", None, 2000, 1500)   # positional, as the seed writes
    track(ept=b)
    equal((b.src, b.dest), (2000, 1500), "fixed addresses")
    e = raises(OSError, openamp.Endpoint, "addr-dup", src=2000)
    equal(e.errno, 98, "EADDRINUSE")
    raises(ValueError, openamp.Endpoint, "bad", src=-2)
    raises(ValueError, openamp.Endpoint, "bad", dest=1 << 40)
    raises(TypeError, openamp.Endpoint, "bad", src="1")


def test_send_arguments():
    ept = openamp.Endpoint("send-args", dest=1500)
    track(ept=ept)
    raises(TypeError, ept.send)
    raises(ValueError, ept.send, b"x", timeout=-2)
    raises(TypeError, ept.send, b"x", timeout=1.5)
    raises(ValueError, ept.send, b"x", src=-5)
    # Bound but no core running: an OSError that says so.
    e = raises(OSError, ept.send, b"x")
    check("not running" in str(e) or "Start" in str(e), str(e))


def test_unbound_send():
    rp = openamp.RemoteProc(VIRTUAL_UART)
    track(rproc=rp)
    rp.start()
    ept = openamp.Endpoint("nobody-has-this")
    track(ept=ept)
    e = raises(OSError, ept.send, b"x")
    check("not ready" in str(e), str(e))


def test_new_service_callback_arguments():
    raises(TypeError, openamp.new_service_callback, 42)
    openamp.new_service_callback(None)
    openamp.new_service_callback(lambda addr, name: None)
    openamp.new_service_callback(None)


def test_remoteproc_entry():
    raises(TypeError, openamp.RemoteProc, 1.5)
    raises(TypeError, openamp.RemoteProc, None)
    raises(ValueError, openamp.RemoteProc, "")
    raises(ValueError, openamp.RemoteProc, -1)
    raises(ValueError, openamp.RemoteProc, 1 << 33)


def test_remoteproc_missing_file_then_a_good_one():
    # Upstream leaves a lock held after a failed open; here the next load works.
    for _ in range(3):
        e = raises(OSError, openamp.RemoteProc, "/nonexistent/fw.elf")
        equal(e.errno, 2, "ENOENT")
    raises(ValueError, openamp.RemoteProc, "/tmp")   # a directory
    rp = openamp.RemoteProc(VIRTUAL_UART)
    track(rproc=rp)
    rp.start()


def test_remoteproc_not_an_elf():
    raises(ValueError, openamp.RemoteProc, __file__)


def test_loader_does_not_leak():
    # Upstream's ELF loader leaks memory on every load. 300 loads here:
    # the process's resident size stays put (it would grow by the image,
    # ~20 KiB, on every load if it leaked).
    def rss_kib():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4

    for _ in range(20):
        openamp.RemoteProc(VIRTUAL_UART)
    before = rss_kib()
    for _ in range(300):
        rp = openamp.RemoteProc(VIRTUAL_UART)
        rp.shutdown()
    grown = rss_kib() - before
    check(grown < 2048, "resident size grew by %d KiB over 300 loads" % grown)


run(globals())
