# RemoteProc life cycle under MicroPython: restart, crash, hang, finaliser.
import gc
import time

import mpunit
import openamp
from mpunit import FAULT, VIRTUAL_UART, Inbox, boot, check, equal, raises, run, settle, \
    simcore_children, track, wait_until


def test_stop_then_start_restarts():
    # Upstream cannot restart after stop() (on the board it resets the chip).
    inbox = Inbox()
    ept, rp = boot(callback=inbox)
    for i in range(3):
        ept.send(b"round %d" % i)
        inbox.wait_for(i + 1)
        rp.stop()
        check(not ept.is_ready(), "not ready while stopped")
        e = raises(OSError, ept.send, b"x")
        check("stopped" in str(e), str(e))
        rp.start()
        wait_until(ept.is_ready, "rebinding after restart %d" % i)
    equal(inbox.datas(), [b"round 0", b"round 1", b"round 2"], "one echo per run")


def test_start_while_running_raises():
    _, rp = boot(callback=Inbox())
    raises(RuntimeError, rp.start)


def test_shutdown_then_start_loads_again():
    inbox = Inbox()
    ept, rp = boot(callback=inbox)
    rp.shutdown()
    equal(simcore_children(), [], "no core after shutdown")
    rp.start()
    wait_until(ept.is_ready, "bound again")
    ept.send(b"again")
    inbox.wait_for(1)


def test_crash_is_reported():
    inbox = Inbox()
    ept, rp = boot(firmware=FAULT, callback=inbox)
    ept.send(b"crash")
    wait_until(lambda: not ept.is_ready(), "the crash to be noticed")
    e = raises(OSError, ept.send, b"x")
    check("crashed" in str(e) or "gone" in str(e), str(e))
    rp.start()   # and it can be started again
    wait_until(ept.is_ready, "bound after the crash")


def test_timeouts_with_a_hung_core():
    ept, rp = boot(firmware=FAULT, callback=Inbox())
    ept.send(b"hang")
    settle(50)
    sent = 0
    t0 = time.ticks_ms()
    try:
        while sent < 1000:
            ept.send(b"y" * 400, timeout=0)
            sent += 1
    except OSError as e:
        equal(e.errno, 110, "timeout=0 with no free buffer: ETIMEDOUT")
    check(sent < 1000, "the ring filled up")
    t0 = time.ticks_ms()
    e = raises(OSError, ept.send, b"y", timeout=200)
    ms = time.ticks_diff(time.ticks_ms(), t0)
    equal(e.errno, 110, "timeout=200: ETIMEDOUT")
    check(150 <= ms < 5000, "waited about 200 ms (%d)" % ms)


def test_dropped_remoteproc_shuts_down():
    def start():
        openamp.RemoteProc(VIRTUAL_UART).start()

    start()
    check(len(simcore_children()) == 1, "running")
    for _ in range(3):
        gc.collect()
    wait_until(lambda: not simcore_children(), "the finaliser to stop the core")


def test_boot_from_an_address():
    rp = openamp.RemoteProc(VIRTUAL_UART)   # puts the image in flash
    track(rproc=rp)
    rp.shutdown()
    ept = openamp.Endpoint("vuart-channel", Inbox())
    track(ept=ept)
    rp2 = openamp.RemoteProc(0x08100000)
    track(rproc=rp2)
    rp2.start()
    wait_until(ept.is_ready, "bound to the firmware booted from flash")


run(globals())
