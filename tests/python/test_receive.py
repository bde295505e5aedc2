"""Receiving in the background (issue 13): messages leave the ring at once
into a bounded per-endpoint queue, so a host that sleeps never starves the
remote; recv(), fileno() and recv_async() for endpoints without a callback;
late new-service callbacks; binding again after deinit; positional src and
dest; the crash reason. The streamer firmware (tests/python/firmware/
streamer.c) sends COUNT lines on request and traces whether a send failed."""

import asyncio
import errno
import select
import time
import unittest

import support
from support import BoardTest, Inbox, wait_until

import openamp

QUEUE_MESSAGES_400 = 64 * 1024 // (400 + 8)   # the queue's bound in 400-byte lines
RING_BUFFERS = 64                              # the board's receive buffers


def lines(count, size=0):
    out = []
    for i in range(count):
        line = b"line %d" % i
        out.append(line.ljust(size - 1, b".") + b"\n" if size else line + b"\n")
    return out


class TestSleepingHost(BoardTest):
    def stream(self, callback):
        ept = self.endpoint("stream", callback)
        rproc = self.remoteproc(support.STREAMER)
        rproc.start()
        wait_until(ept.is_ready)
        return ept, rproc

    def test_sleeping_host_gets_all_100_lines(self):
        # The case: ask for 100 lines, then time.sleep(2). Before,
        # 64 arrived and the firmware traced "send: timed out".
        inbox = Inbox()
        ept, rproc = self.stream(inbox)
        ept.send(b"100")
        time.sleep(2)
        inbox.wait_for(100)
        support.settle(0.1)
        self.assertEqual(inbox.datas(), lines(100))
        trace = rproc.trace()
        self.assertIn("stream: sent 100 of 100", trace)
        self.assertNotIn("timed out", trace)
        self.assertEqual(ept.lost, 0)

    def test_sleeping_host_with_recv(self):
        ept, rproc = self.stream(None)
        ept.send(b"100")
        time.sleep(2)
        # Everything already queued: no waiting needed.
        self.assertEqual(ept.pending(), 100)
        got = [ept.recv(timeout=0) for _ in range(100)]
        self.assertEqual([bytes(d) for _, d in got], lines(100))
        self.assertTrue(all(src == ept.dest for src, _ in got))
        self.assertIsInstance(got[0][1], bytearray)
        self.assertNotIn("timed out", rproc.trace())

    def test_full_queue_pushes_back_on_the_ring(self):
        # 300 lines of 400 bytes, the remote waiting for buffers as long as
        # it takes: the queue fills, then the ring's buffers are held and the
        # remote waits. Bounded, and nothing is lost.
        ept, rproc = self.stream(None)
        ept.send(b"300 400 -1")
        bound = QUEUE_MESSAGES_400 + RING_BUFFERS
        wait_until(lambda: ept.pending() >= bound, what="the queue and ring to fill")
        time.sleep(0.3)
        self.assertEqual(ept.pending(), bound)
        self.assertNotIn("stream: sent", rproc.trace())   # still blocked, not failing
        got = [bytes(ept.recv(timeout=5000)[1]) for _ in range(300)]
        self.assertEqual(got, lines(300, 400))
        wait_until(lambda: "stream: sent" in rproc.trace())
        self.assertIn("stream: sent 300 of 300", rproc.trace())
        self.assertEqual(ept.lost, 0)

    def test_a_stop_while_buffers_are_held_is_counted(self):
        # What the queue took stays readable after a stop; what was still in
        # held ring buffers goes with the rings, and is counted, not hidden.
        ept, rproc = self.stream(None)
        ept.send(b"300 400 -1")
        bound = QUEUE_MESSAGES_400 + RING_BUFFERS
        wait_until(lambda: ept.pending() >= bound)
        rproc.stop()
        self.assertEqual(ept.lost, RING_BUFFERS)
        self.assertEqual(ept.pending(), QUEUE_MESSAGES_400)
        got = [bytes(ept.recv(timeout=0)[1]) for _ in range(QUEUE_MESSAGES_400)]
        self.assertEqual(got, lines(QUEUE_MESSAGES_400, 400))
        with self.assertRaisesRegex(OSError, "stopped"):
            ept.recv(timeout=0)

    def test_callback_that_sleeps_does_not_starve_the_remote(self):
        # A slow callback: the receive thread keeps emptying the ring meanwhile.
        seen = []

        def slow(src, data):
            if not seen:
                time.sleep(1.5)
            seen.append(bytes(data))

        ept, rproc = self.stream(slow)
        ept.send(b"150")
        wait_until(lambda: len(seen) == 150)
        self.assertEqual(seen, lines(150))
        self.assertIn("stream: sent 150 of 150", rproc.trace())


class TestRecv(BoardTest):
    def test_recv_rules(self):
        inbox = Inbox()
        with_cb = self.endpoint("with-callback", inbox)
        with self.assertRaisesRegex(RuntimeError, "has a callback"):
            with_cb.recv(timeout=0)
        ept = self.endpoint("vuart-channel")
        rproc = self.remoteproc(support.VIRTUAL_UART)
        with self.assertRaisesRegex(OSError, "not running"):
            ept.recv(timeout=0)
        rproc.start()
        wait_until(ept.is_ready)
        with self.assertRaises(TimeoutError):
            ept.recv(timeout=0)
        t0 = time.monotonic()
        with self.assertRaises(TimeoutError) as cm:
            ept.recv(timeout=100)
        self.assertGreaterEqual(time.monotonic() - t0, 0.09)
        self.assertIn("within 100 ms", str(cm.exception))
        with self.assertRaisesRegex(ValueError, "timeout must be"):
            ept.recv(timeout=-2)
        with self.assertRaisesRegex(TypeError, "timeout must be an int"):
            ept.recv(timeout=1.5)
        ept.send(b"echo me")
        self.assertEqual(ept.recv(), (ept.dest, bytearray(b"echo me")))
        ept.deinit()
        with self.assertRaisesRegex(OSError, "deinitialised"):
            ept.recv(timeout=0)
        with self.assertRaisesRegex(OSError, "deinitialised"):
            ept.fileno()

    def test_signal_interrupts_a_blocked_recv(self):
        ept = self.endpoint("vuart-channel")
        self.remoteproc(support.VIRTUAL_UART).start()
        wait_until(ept.is_ready)
        t0 = time.monotonic()
        with self.assertRaises(support.Alarm), support.interrupted_after(0.2):
            ept.recv()   # timeout=-1
        self.assertLess(time.monotonic() - t0, 5.0)

    def test_callbacks_run_while_recv_waits(self):
        cb_inbox = Inbox()
        a = self.endpoint("vuart-channel", cb_inbox)
        self.remoteproc(support.VIRTUAL_UART).start()
        wait_until(a.is_ready)
        b = self.endpoint("quiet", None, dest=a.dest)
        for i in range(5):
            a.send(b"%d" % i)
        with self.assertRaises(TimeoutError):
            b.recv(timeout=500)   # nothing for b; a's callback runs meanwhile
        self.assertEqual(cb_inbox.datas(), [b"0", b"1", b"2", b"3", b"4"])

    def test_recv_from_another_thread(self):
        import threading
        ept = self.endpoint("vuart-channel")
        self.remoteproc(support.VIRTUAL_UART).start()
        wait_until(ept.is_ready)
        got = []
        t = threading.Thread(target=lambda: got.append(ept.recv(timeout=5000)))
        t.start()
        time.sleep(0.1)
        ept.send(b"to the thread")
        t.join(10)
        self.assertEqual(got, [(ept.dest, bytearray(b"to the thread"))])

    def test_fileno_with_select(self):
        ept = self.endpoint("vuart-channel")
        self.remoteproc(support.VIRTUAL_UART).start()
        wait_until(ept.is_ready)
        fd = ept.fileno()
        self.assertEqual(ept.fileno(), fd)
        self.assertEqual(select.select([fd], [], [], 0)[0], [])
        for i in range(3):
            ept.send(b"%d" % i)
        self.assertEqual(select.select([fd], [], [], support.SLOW)[0], [fd])
        wait_until(lambda: ept.pending() == 3)
        self.assertEqual([bytes(ept.recv(timeout=0)[1]) for _ in range(3)], [b"0", b"1", b"2"])
        self.assertEqual(select.select([fd], [], [], 0)[0], [])

    def test_asyncio_waits_on_two_endpoints_and_a_timer(self):
        a = self.endpoint("vuart-channel")
        self.remoteproc(support.VIRTUAL_UART).start()
        wait_until(a.is_ready)
        b = self.endpoint("second", None, dest=a.dest)
        order = []

        async def reader(ept, count):
            out = []
            for _ in range(count):
                src, data = await ept.recv_async(timeout=5000)
                order.append(ept.name)
                out.append(bytes(data))
            return out

        async def ticker():
            await asyncio.sleep(0.05)
            order.append("tick")
            a.send(b"a1")
            b.send(b"b1")
            a.send(b"a2")

        async def main():
            return await asyncio.gather(reader(a, 2), reader(b, 1), ticker())

        got_a, got_b, _ = asyncio.run(main())
        self.assertEqual(got_a, [b"a1", b"a2"])
        self.assertEqual(got_b, [b"b1"])
        self.assertEqual(order[0], "tick")   # the readers waited without blocking the loop

    def test_recv_async_timeout_and_errors(self):
        ept = self.endpoint("vuart-channel")
        rproc = self.remoteproc(support.FAULT)
        rproc.start()
        wait_until(ept.is_ready)

        async def wait(timeout):
            return await ept.recv_async(timeout=timeout)

        with self.assertRaises(TimeoutError):
            asyncio.run(wait(50))
        with self.assertRaisesRegex(RuntimeError, "has a callback"):
            self.endpoint("cb", Inbox()).recv_async()
        # The core dies while a coroutine waits: it is woken and told why.

        async def crash_while_waiting():
            task = asyncio.ensure_future(ept.recv_async())
            await asyncio.sleep(0.05)
            ept.send(b"crash")
            return await asyncio.wait_for(task, support.SLOW)

        with self.assertRaises(OSError) as cm:
            asyncio.run(crash_while_waiting())
        self.assertEqual(cm.exception.errno, errno.ENODEV)


class TestAnnouncementsRevisited(BoardTest):
    def test_late_new_service_callback_hears_earlier_announcements(self):
        rproc = self.remoteproc(support.VIRTUAL_UART)
        rproc.start()
        # Nobody listens yet. The trace says when the firmware has announced.
        wait_until(lambda: "virtual_uart: up" in rproc.trace())
        support.settle(0.2)
        heard = []
        openamp.new_service_callback(lambda addr, name: heard.append((addr, name)))
        wait_until(lambda: heard, what="the late callback to hear the announcement")
        support.settle(0.1)
        self.assertEqual([n for _, n in heard], ["vuart-channel"])
        self.assertGreaterEqual(heard[0][0], 1024)
        # Not for a name a local endpoint has (bound from the remembered one).
        ept = self.endpoint("vuart-channel", Inbox())
        self.assertTrue(ept.is_ready())
        other = []
        openamp.new_service_callback(lambda addr, name: other.append(name))
        support.settle(0.2)
        self.assertEqual(other, [])
        ept.deinit()
        # Set again: the new callback hears it again.
        again = []
        openamp.new_service_callback(lambda addr, name: again.append(name))
        wait_until(lambda: again)
        self.assertEqual(again, ["vuart-channel"])

    def test_recreated_endpoint_binds_to_the_service_still_offered(self):
        # Bound by the announcement (endpoint first, then the core), then
        # deinitialised and made again: ready at once, same remote address.
        ept, _, inbox = self.boot()
        remote = ept.dest
        ept.deinit()
        inbox2 = Inbox()
        again = self.endpoint("vuart-channel", inbox2)
        self.assertTrue(again.is_ready())
        self.assertEqual(again.dest, remote)
        again.send(b"again")
        inbox2.wait_for(1)
        self.assertEqual(inbox2.messages, [(remote, bytearray(b"again"))])

    def test_positional_src_and_dest_as_the_seed_writes_them(self):
        a, _, _ = self.boot()
        inbox = Inbox()
        b = self.endpoint("positional", inbox, 1500, a.dest)
        self.assertEqual((b.src, b.dest), (1500, a.dest))
        self.assertTrue(b.is_ready())
        b.send(b"pos")
        inbox.wait_for(1)
        self.assertEqual(inbox.messages, [(a.dest, bytearray(b"pos"))])


class TestCrashReason(BoardTest):
    def test_crash_reason(self):
        ept, rproc, inbox = self.boot(firmware=support.FAULT)
        self.assertIsNone(rproc.crash_reason)
        ept.send(b"crash")
        wait_until(lambda: rproc.state == "crashed")
        reason = rproc.crash_reason
        self.assertIsInstance(reason, str)
        self.assertIn("write to 0x40021000" if support.CORE == "cm4" else "SIGSEGV", reason)
        with self.assertRaises(OSError) as cm:
            ept.send(b"x")
        self.assertIn(reason, str(cm.exception))
        rproc.start()
        self.assertIsNone(rproc.crash_reason)
        wait_until(ept.is_ready)
        rproc.stop()
        self.assertIsNone(rproc.crash_reason)   # stopped on purpose: no crash
        rproc.start()
        wait_until(ept.is_ready)
        ept.send(b"exit")
        wait_until(lambda: rproc.state == "crashed")
        # amp_fw_exit(3): on the M4 a bkpt with the code in r0.
        self.assertIn("bkpt #1" if support.CORE == "cm4" else "status 3", rproc.crash_reason)


if __name__ == "__main__":
    unittest.main()
