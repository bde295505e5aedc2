"""Messages against the virtual_uart firmware (it echoes everything):
the seed's flow, payloads, ordering of announcements, several endpoints,
callbacks in the main thread, callbacks that raise, and sends that have to
wait for buffers while echoes keep coming back."""

import array
import gc
import threading
import time
import unittest
import weakref

import support
from support import BoardTest, Inbox, wait_until

import openamp


class TestSeedFlow(BoardTest):
    def test_seed_example_flow(self):
        # The seed: endpoint, RemoteProc from a file, start, spin on is_ready, send.
        received = []

        def ept_recv_callback(src, data):
            received.append((src, data))

        ept = self.endpoint("vuart-channel", callback=ept_recv_callback)
        self.assertFalse(ept.is_ready())
        rproc = self.remoteproc(support.VIRTUAL_UART)
        self.assertEqual(rproc.state, "loaded")
        rproc.start()
        self.assertEqual(rproc.state, "running")
        deadline = time.monotonic() + support.SLOW
        sent = 0
        while len(received) < 3:   # the seed loops forever; we stop at 3 echoes
            self.assertLess(time.monotonic(), deadline, "no echo")
            if ept.is_ready():
                if sent < 3:
                    self.assertEqual(ept.send("data"), 4)
                    sent += 1
        src, data = received[0]
        self.assertIsInstance(data, bytearray)
        self.assertEqual(data, bytearray(b"data"))
        self.assertEqual(repr(data), "bytearray(b'data')")
        self.assertEqual(src, ept.dest)
        self.assertNotEqual(ept.dest, openamp.ENDPOINT_ADDR_ANY)
        self.assertIn("virtual_uart: up", rproc.trace())

    def test_payload_types(self):
        ept, _, inbox = self.boot()
        payloads = [
            ("text", b"text"),
            ("h\u00e9llo", "h\u00e9llo".encode()),
            (b"bytes", b"bytes"),
            (bytearray(b"bytearray"), b"bytearray"),
            (memoryview(b"xmemoryview")[1:], b"memoryview"),
            (array.array("H", [1, 2]), array.array("H", [1, 2]).tobytes()),
        ]
        for data, wire in payloads:
            self.assertEqual(ept.send(data), len(wire))
        inbox.wait_for(len(payloads))
        self.assertEqual(inbox.datas(), [w for _, w in payloads])

    def test_empty_payload(self):
        ept, _, inbox = self.boot()
        self.assertEqual(ept.send(b""), 0)
        self.assertEqual(ept.send(""), 0)
        inbox.wait_for(2)
        self.assertEqual(inbox.datas(), [b"", b""])
        self.assertIsInstance(inbox.messages[0][1], bytearray)

    def test_largest_and_oversize_payloads(self):
        ept, _, inbox = self.boot()
        big = bytes(range(256)) + bytes(range(240))
        self.assertEqual(len(big), 496)
        self.assertEqual(ept.send(big), 496)
        inbox.wait_for(1)
        self.assertEqual(inbox.datas(), [big])
        for size in (497, 600, 10000):
            with self.assertRaises(ValueError) as cm:
                ept.send(bytes(size))
            msg = str(cm.exception)
            self.assertIn("%d bytes" % size, msg)
            self.assertIn("496-byte maximum", msg)
        with self.assertRaisesRegex(ValueError, "497 bytes"):
            ept.send("\u00e9" * 248 + "x")   # 497 bytes of UTF-8
        support.settle()
        self.assertEqual(len(inbox.messages), 1, "nothing was sent, truncated or not")

    def test_send_with_explicit_addresses(self):
        ept, _, inbox = self.boot()
        other_inbox = Inbox()
        other = self.endpoint("other", other_inbox)
        # Off-channel: sent through ept but from other's address, so the
        # firmware echoes to other.
        ept.send(b"to other", src=other.src)
        other_inbox.wait_for(1)
        self.assertEqual(other_inbox.datas(), [b"to other"])
        ept.send(b"mine", dest=ept.dest, src=-1)
        inbox.wait_for(1)
        self.assertEqual(inbox.datas(), [b"mine"])


class TestAnnouncements(BoardTest):
    def test_endpoint_first_then_announcement(self):
        inbox = Inbox()
        ept = self.endpoint("vuart-channel", inbox)
        rproc = self.remoteproc(support.VIRTUAL_UART)
        rproc.start()
        wait_until(ept.is_ready, what="binding by the announcement")
        ept.send(b"ping")
        inbox.wait_for(1)
        self.assertEqual(inbox.messages[0], (ept.dest, bytearray(b"ping")))

    def test_announcement_first_then_callback_endpoint(self):
        announced = []
        main = threading.get_ident()

        def on_service(addr, name):
            announced.append((addr, name, threading.get_ident()))

        openamp.new_service_callback(on_service)
        rproc = self.remoteproc(support.VIRTUAL_UART)
        rproc.start()
        wait_until(lambda: announced, what="the new-service callback")
        addr, name, thread = announced[0]
        self.assertEqual(name, "vuart-channel")
        self.assertIsInstance(addr, int)
        self.assertGreaterEqual(addr, 1024)
        self.assertEqual(thread, main)
        inbox = Inbox()
        ept = self.endpoint(name, inbox, dest=addr)
        self.assertTrue(ept.is_ready())
        self.assertEqual(ept.dest, addr)
        ept.send(b"hello")
        inbox.wait_for(1)
        self.assertEqual(inbox.messages, [(addr, bytearray(b"hello"))])

    def test_endpoint_created_inside_the_new_service_callback(self):
        made = {}
        inbox = Inbox()

        def on_service(addr, name):
            made[name] = openamp.Endpoint(name, inbox, dest=addr)

        openamp.new_service_callback(on_service)
        self.remoteproc(support.VIRTUAL_UART).start()
        wait_until(lambda: "vuart-channel" in made)
        ept = made["vuart-channel"]
        self._cleanup_epts.append(ept)
        ept.send(b"from the callback's endpoint")
        inbox.wait_for(1)

    def test_announcement_first_without_callback(self):
        # The remote announces before any endpoint exists and nobody listens;
        # an endpoint created later under that name binds at once.
        seen = []
        openamp.new_service_callback(lambda addr, name: seen.append(addr))
        self.remoteproc(support.VIRTUAL_UART).start()
        wait_until(lambda: seen)
        openamp.new_service_callback(None)
        inbox = Inbox()
        ept = self.endpoint("vuart-channel", inbox)
        self.assertTrue(ept.is_ready())
        self.assertEqual(ept.dest, seen[0])
        ept.send(b"late")
        inbox.wait_for(1)

    def test_callback_is_only_for_unknown_names(self):
        seen = []
        openamp.new_service_callback(lambda addr, name: seen.append(name))
        self.boot()
        support.settle(0.1)
        self.assertEqual(seen, [])

    def test_cleared_callback_is_not_called(self):
        seen = []
        openamp.new_service_callback(lambda addr, name: seen.append(name))
        openamp.new_service_callback(None)
        self.remoteproc(support.VIRTUAL_UART).start()
        support.settle(0.1)
        self.assertEqual(seen, [])

    def test_new_service_callback_that_raises(self):
        calls = []

        def bad(addr, name):
            calls.append(name)
            raise KeyError("boom in ns callback")

        openamp.new_service_callback(bad)
        from test.support import catch_unraisable_exception
        with catch_unraisable_exception() as cm:
            self.remoteproc(support.VIRTUAL_UART).start()
            wait_until(lambda: calls)
            support.settle()
            self.assertIsInstance(cm.unraisable.exc_value, KeyError)
            self.assertIs(cm.unraisable.object, bad)
        # Still works: the endpoint binds from the remembered announcement.
        inbox = Inbox()
        ept = self.endpoint("vuart-channel", inbox)
        self.assertTrue(ept.is_ready())
        ept.send(b"x")
        inbox.wait_for(1)


class TestEndpoints(BoardTest):
    def test_two_endpoints_at_once(self):
        a, _, inbox_a = self.boot()
        inbox_b = Inbox()
        # A second endpoint of ours, talking to the same remote service.
        b = self.endpoint("second", inbox_b, dest=a.dest)
        self.assertTrue(b.is_ready())
        self.assertNotEqual(a.src, b.src)
        for i in range(20):
            a.send(b"a%d" % i)
            b.send(b"b%d" % i)
        inbox_a.wait_for(20)
        inbox_b.wait_for(20)
        self.assertEqual(inbox_a.datas(), [b"a%d" % i for i in range(20)])
        self.assertEqual(inbox_b.datas(), [b"b%d" % i for i in range(20)])

    def test_callbacks_run_in_the_main_thread(self):
        ept, _, inbox = self.boot()
        for _ in range(10):
            ept.send(b"x")
        inbox.wait_for(10)
        self.assertEqual(inbox.threads, {threading.get_ident()})

    def test_callbacks_run_while_spinning_on_is_ready(self):
        # No sleep at all: the pending call gets in between bytecodes.
        inbox = Inbox()
        ept = self.endpoint("vuart-channel", inbox)
        self.remoteproc(support.VIRTUAL_UART).start()
        deadline = time.monotonic() + support.SLOW
        while not ept.is_ready():
            self.assertLess(time.monotonic(), deadline)
        ept.send(b"spin")
        while not inbox.messages:
            self.assertLess(time.monotonic(), deadline)
        self.assertEqual(inbox.datas(), [b"spin"])

    def test_flood_keeps_delivering_while_send_waits(self):
        # Far more messages than buffers each way: send() must wait for free
        # buffers, and echoes must be delivered meanwhile, or both sides
        # block on each other.
        ept, _, inbox = self.boot()
        count = 2000
        seen_during = 0
        for i in range(count):
            self.assertEqual(ept.send(b"%d" % i), len(b"%d" % i))
            if i == count // 2:
                seen_during = len(inbox.messages)
        inbox.wait_for(count)
        self.assertGreater(seen_during, 0)
        self.assertEqual(inbox.datas(), [b"%d" % i for i in range(count)])
        self.assertEqual(inbox.threads, {threading.get_ident()})

    def test_callback_that_sends(self):
        ept, _, _ = self.boot()
        replies = []

        def cb(src, data):
            replies.append(bytes(data))
            if len(replies) < 50:
                ept2.send(b"again")

        ept2 = self.endpoint("pingpong", cb, dest=ept.dest)
        ept2.send(b"start")
        wait_until(lambda: len(replies) >= 50)
        self.assertEqual(replies[0], b"start")

    def test_callback_that_raises(self):
        from test.support import catch_unraisable_exception
        calls = []

        def cb(src, data):
            calls.append(bytes(data))
            raise ValueError("boom %s" % bytes(data))

        ept, _, _ = self.boot(callback=cb)
        with catch_unraisable_exception() as cm:
            ept.send(b"first")
            wait_until(lambda: calls)
            support.settle()
            self.assertIsInstance(cm.unraisable.exc_value, ValueError)
            self.assertEqual(str(cm.unraisable.exc_value), "boom b'first'")
            self.assertIs(cm.unraisable.object, cb)
        # Every buffer still comes back: more messages than the 64 receive
        # buffers, each callback raising.
        reports = []
        import sys
        old = sys.unraisablehook
        sys.unraisablehook = reports.append
        try:
            for i in range(200):
                ept.send(b"%d" % i)
            wait_until(lambda: len(calls) >= 201)
            support.settle()
        finally:
            sys.unraisablehook = old
        self.assertEqual(len(reports), 200)
        self.assertTrue(all(isinstance(r.exc_value, ValueError) for r in reports))
        # And a well-behaved endpoint still works afterwards.
        inbox = Inbox()
        good = self.endpoint("good", inbox, dest=ept.dest)
        good.send(b"fine")
        inbox.wait_for(1)

    def test_data_outlives_the_callback(self):
        kept = []
        ept, _, _ = self.boot(callback=lambda src, data: kept.append(data))
        for i in range(100):
            ept.send(b"%03d" % i)
        wait_until(lambda: len(kept) == 100)
        self.assertEqual([bytes(d) for d in kept], [b"%03d" % i for i in range(100)])
        kept[0][:] = b"mutable"   # our copy, ours to change

    def test_deinit_inside_own_callback(self):
        ept, _, _ = self.boot(callback=lambda src, data: ept.deinit())
        ept.send(b"bye")
        wait_until(lambda: not ept.is_ready())
        with self.assertRaisesRegex(OSError, "deinitialised"):
            ept.send(b"x")

    def test_repr(self):
        ept, rproc, _ = self.boot()
        self.assertRegex(repr(ept), r"<openamp.Endpoint 'vuart-channel' src=\d+ dest=\d+ ready>")
        self.assertIn("running", repr(rproc))
        ept.deinit()
        self.assertIn("deinitialised", repr(ept))


class TestGarbageCollection(BoardTest):
    def test_dropped_endpoints_while_the_core_runs(self):
        ept, _, inbox = self.boot()
        for i in range(50):
            tmp = openamp.Endpoint("tmp%d" % i, Inbox(), dest=ept.dest)
            tmp.send(b"dropped soon")
            del tmp
        # A cycle: the callback refers to its own endpoint.
        holder = {}
        cyc = openamp.Endpoint("cycle", lambda s, d: holder, dest=ept.dest)
        holder["ept"] = cyc
        ref = weakref.ref(cyc)
        del cyc, holder
        gc.collect()
        self.assertIsNone(ref())
        support.settle(0.1)
        ept.send(b"still here")
        wait_until(lambda: b"still here" in inbox.datas())

    def test_dropped_remoteproc_shuts_down(self):
        rproc = openamp.RemoteProc(support.VIRTUAL_UART)
        rproc.start()
        self.assertEqual(len(support.simcore_children()), 1)
        del rproc
        gc.collect()
        self.assertEqual(support.simcore_children(), [])

    def test_explicit_calls_after_finalisers_are_harmless(self):
        ept, rproc, _ = self.boot()
        ept.__del__()          # the finaliser, as the collector would call it
        self.assertFalse(ept.is_ready())
        ept.deinit()
        ept.deinit()
        rproc.__del__()
        self.assertEqual(support.simcore_children(), [])
        rproc.shutdown()
        rproc.shutdown()
        rproc.stop()
        self.assertFalse(ept.is_ready())


if __name__ == "__main__":
    unittest.main()
