# Name service under MicroPython: new_service_callback, announcements both
# ways, and what the user sees when the remote withdraws a service.
import gc

import mpunit
import openamp
from mpunit import NS_DROP, NS_PROBE, Inbox, boot, check, equal, raises, run, track, \
    wait_until


def test_new_service_callback_hears_unknown_names():
    heard = []
    openamp.new_service_callback(lambda addr, name: heard.append((addr, name)))
    rp = openamp.RemoteProc(mpunit.VIRTUAL_UART)
    track(rproc=rp)
    rp.start()
    wait_until(lambda: heard, "the announcement")
    addr, name = heard[0]
    equal(name, "vuart-channel", "name")
    check(addr >= 1024, "addr")
    inbox = Inbox()
    ept = openamp.Endpoint(name, inbox, dest=addr)   # as the seed's docs say
    track(ept=ept)
    check(ept.is_ready(), "ready at once with dest")
    ept.send(b"via ns callback")
    inbox.wait_for(1)


def test_callback_that_raises_is_reported_and_delivery_goes_on():
    def bad(addr, name):
        raise RuntimeError("ns callback failure")

    openamp.new_service_callback(bad)
    ept, rp = boot(firmware=NS_PROBE, name="ns-probe", callback=Inbox())
    ept.send(b"hello")   # still working


def test_host_announcements_reach_the_firmware():
    reports = Inbox()
    probe, rp = boot(firmware=NS_PROBE, name="ns-probe", callback=reports)
    probe.send(b"hello")
    reports.wait_for(1)
    reports.messages.clear()
    ept = openamp.Endpoint("probe-1")
    text = "create probe-1 %d" % ept.src
    wait_until(lambda: text.encode() in reports.datas(), text)
    ept.deinit()
    text = "destroy probe-1 %d" % ept.src
    wait_until(lambda: text.encode() in reports.datas(), text)


def test_remote_destroy_is_shown():
    # Upstream never tells the user that the remote withdrew a service.
    # Here the endpoint stops being ready, send() says why, and it binds
    # again when the service comes back.
    ctl_in = Inbox()
    uart_in = Inbox()
    uart = openamp.Endpoint("vuart-channel", uart_in)
    ctl = openamp.Endpoint("ns-ctl", ctl_in)
    rp = openamp.RemoteProc(NS_DROP)
    track(ept=uart, rproc=rp)
    track(ept=ctl)
    rp.start()
    wait_until(lambda: uart.is_ready() and ctl.is_ready(), "both bound")
    first = uart.dest
    ctl.send(b"drop")
    ctl_in.wait_for(1)
    wait_until(lambda: not uart.is_ready(), "the NS destroy to unbind the endpoint")
    e = raises(OSError, uart.send, b"x")
    check("not ready" in str(e), str(e))
    ctl.send(b"back")
    ctl_in.wait_for(2)
    wait_until(uart.is_ready, "the endpoint to bind again")
    check(uart.dest != first, "bound to the new address")
    uart.send(b"back again")
    uart_in.wait_for(1)


run(globals())
