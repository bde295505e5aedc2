# Messages both ways against virtual_uart.elf, and how callbacks behave
# under MicroPython (scheduler, exceptions, no allocation, recv, poll).
import gc
import micropython
import select
import time

import mpunit
import openamp
from mpunit import Inbox, boot, check, equal, raises, run, settle, wait_until


def test_seed_example_flow():
    inbox = Inbox()
    ept, _ = boot(callback=inbox)
    equal(ept.send("data"), 4, "send returns the bytes sent")
    inbox.wait_for(1)
    src, data = inbox.messages[0]
    equal(data, b"data", "echo")
    check(isinstance(src, int) and src >= 1024, "src is the remote's address")


def test_data_is_a_bytearray_valid_during_the_callback():
    seen = []

    def cb(src, data):
        seen.append((type(data), bytes(data), data))

    ept, _ = boot(callback=cb)
    ept.send(b"abc")
    wait_until(lambda: seen, "the echo")
    kind, copy, ref = seen[0]
    equal(kind, bytearray, "type of data")
    equal(copy, b"abc", "data during the call")
    # By reference: after the callback it no longer shows the message.
    equal(len(ref), 0, "data after the call")


def test_callbacks_run_while_sleeping():
    inbox = Inbox()
    ept, _ = boot(callback=inbox)
    for i in range(5):
        ept.send(b"m%d" % i)
    time.sleep(0.3)   # no openamp call meanwhile: only the scheduler delivers
    equal(inbox.datas(), [b"m0", b"m1", b"m2", b"m3", b"m4"], "echoes delivered in sleep")


def test_callbacks_run_while_spinning_on_is_ready():
    inbox = Inbox()
    ept, _ = boot(callback=inbox)
    ept.send(b"spin")
    t0 = time.ticks_ms()
    while not inbox.messages and time.ticks_diff(time.ticks_ms(), t0) < 10000:
        ept.is_ready()
    equal(inbox.datas(), [b"spin"], "echo delivered while spinning")


def test_payload_types():
    inbox = Inbox()
    ept, _ = boot(callback=inbox)
    equal(ept.send("héllo"), 6, "str is sent as UTF-8")
    equal(ept.send(bytearray(b"ba")), 2, "bytearray")
    equal(ept.send(memoryview(b"xmv")[1:]), 2, "memoryview")
    inbox.wait_for(3)
    equal(inbox.datas(), ["héllo".encode(), b"ba", b"mv"], "echoes")
    raises(TypeError, ept.send, 42)


def test_empty_payload():
    # Upstream spins forever on send(b"").
    inbox = Inbox()
    ept, _ = boot(callback=inbox)
    t0 = time.ticks_ms()
    equal(ept.send(b""), 0, "an empty message is one message of 0 bytes")
    check(time.ticks_diff(time.ticks_ms(), t0) < 2000, "send(b'') returns at once")
    inbox.wait_for(1)
    equal(inbox.datas(), [b""], "its echo")


def test_largest_and_oversize_payloads():
    # Upstream truncates anything over 496 bytes without a word.
    inbox = Inbox()
    ept, _ = boot(callback=inbox)
    big = bytes(range(256)) + bytes(range(240))
    equal(ept.send(big), 496, "496 bytes fit one buffer")
    inbox.wait_for(1)
    equal(inbox.datas()[0], big, "the largest payload arrives intact")
    e = raises(ValueError, ept.send, big + b"!")
    check("497" in str(e) and "496" in str(e), "the error names both sizes: %s" % e)
    settle()
    equal(len(inbox.messages), 1, "nothing was sent for the oversize payload")


def test_callback_that_raises_keeps_the_ring_going():
    # Upstream: an exception in a callback wedges the scheduler and the
    # buffer is never returned. Here it is printed, the message consumed,
    # and far more messages than the ring has buffers (64) keep coming.
    calls = [0]

    def cb(src, data):
        calls[0] += 1
        raise ValueError("callback failure %d" % calls[0])

    ept, _ = boot(callback=cb)
    for i in range(200):
        ept.send(b"x")
    wait_until(lambda: calls[0] == 200, "200 callbacks (got %d)" % calls[0])
    inbox = Inbox()
    ok = openamp.Endpoint("other", inbox, dest=ept.dest)
    check(ok.is_ready(), "an endpoint with a dest is ready at once")
    ok.send(b"still alive")
    inbox.wait_for(1)
    ok.deinit()


def test_callback_that_sends():
    inbox = Inbox()
    box = {}

    def cb(src, data):
        inbox(src, data)
        if data == b"ping":
            box["ept"].send(b"pong")

    ept, _ = boot(callback=cb)
    box["ept"] = ept
    ept.send(b"ping")
    inbox.wait_for(2)
    equal(inbox.datas(), [b"ping", b"pong"], "a callback may send")


def test_no_heap_allocation_on_the_receive_path():
    # The heap is locked while 50 echoes are delivered: any allocation on
    # the way from the ring to the callback would raise MemoryError there.
    count = [0, 0]

    def cb(src, data):
        count[0] += 1
        count[1] += len(data)

    ept, _ = boot(callback=cb)
    msg = b"0123456789"
    for i in range(50):
        ept.send(msg)
    micropython.heap_lock()
    try:
        t0 = time.ticks_ms()
        while count[0] < 50 and time.ticks_diff(time.ticks_ms(), t0) < 10000:
            time.sleep_ms(1)
    finally:
        micropython.heap_unlock()
    equal(count, [50, 500], "messages and bytes delivered with the heap locked")


def test_recv_without_a_callback():
    # Upstream has no way to receive but callbacks.
    ept, _ = boot(callback=None)
    ept.send(b"one")
    ept.send(b"two")
    src, data = ept.recv()
    equal(data, b"one", "first")
    check(src >= 1024, "src")
    equal(ept.recv(timeout=5000)[1], b"two", "second")
    e = raises(OSError, ept.recv, timeout=0)
    equal(e.errno, 110, "recv(timeout=0) with nothing queued: ETIMEDOUT")
    e = raises(OSError, ept.recv, timeout=50)
    equal(e.errno, 110, "recv(timeout=50): ETIMEDOUT")


def test_recv_on_a_callback_endpoint_is_refused():
    ept, _ = boot(callback=Inbox())
    raises(RuntimeError, ept.recv)


def test_select_poll_on_an_endpoint():
    ept, _ = boot(callback=None)
    p = select.poll()
    p.register(ept, select.POLLIN)
    equal(p.poll(0), [], "nothing to read yet")
    ept.send(b"poll me")
    ready = p.poll(5000)
    equal(len(ready), 1, "readable once the echo is queued")
    check(ready[0][0] is ept, "the endpoint itself")
    equal(ept.recv(timeout=0)[1], b"poll me", "and recv() has it")


def test_deinit():
    inbox = Inbox()
    ept, _ = boot(callback=inbox)
    ept.deinit()
    check(not ept.is_ready(), "not ready after deinit")
    e = raises(OSError, ept.send, b"x")
    check("deinit" in str(e), "the error says why: %s" % e)
    ept.deinit()   # twice is harmless


def _make_endpoint(inbox):
    # In a function of its own, so no stale reference stays in this frame.
    openamp.Endpoint("vuart-channel", inbox)


def test_dropped_endpoint_is_finalised():
    # The finaliser deinitialises it: the name is free again, and a new
    # endpoint under it binds to the service the remote still offers.
    rproc = openamp.RemoteProc(mpunit.VIRTUAL_UART)
    mpunit.track(rproc=rproc)
    first = Inbox()
    _make_endpoint(first)
    rproc.start()
    settle(100)
    for _ in range(3):
        gc.collect()
    again = Inbox()
    ept2 = openamp.Endpoint("vuart-channel", again)
    mpunit.track(ept=ept2)
    wait_until(ept2.is_ready, "a new endpoint to bind")
    ept2.send(b"after gc")
    again.wait_for(1)
    equal(first.messages, [], "the collected endpoint hears nothing")


def test_repr():
    ept, rproc = boot(callback=Inbox())
    check(repr(ept).startswith("<Endpoint 'vuart-channel' src="), repr(ept))
    check("ready" in repr(ept), repr(ept))
    check("running" in repr(rproc), repr(rproc))


run(globals())
