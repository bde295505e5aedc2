"""Name service: our announcements reach the firmware. The ns_probe
firmware (tests/python/firmware/ns_probe.c) reports every name-service
message it gets, for names it has no endpoint of its own for, on its
"ns-probe" endpoint."""

import gc
import unittest

import support
from support import BoardTest, Inbox, wait_until

import openamp


class TestNameService(BoardTest):
    def setUp(self):
        super().setUp()
        self.reports = Inbox()
        self.probe, self.rproc, _ = self.boot(firmware=support.NS_PROBE, name="ns-probe",
                                              callback=self.reports)
        # The firmware learns our probe address from the first message.
        self.probe.send(b"hello")
        self.reports.wait_for(1)
        self.assertEqual(self.reports.datas(), [b"hello"])
        self.reports.messages.clear()

    def expect_report(self, text):
        wait_until(lambda: text.encode() in self.reports.datas(),
                   what="the firmware to report %r (got %r)" % (text, self.reports.datas()))

    def test_create_and_destroy_reach_the_firmware(self):
        ept = self.endpoint("probe-1")
        self.expect_report("create probe-1 %d" % ept.src)
        ept.deinit()
        self.expect_report("destroy probe-1 %d" % ept.src)
        ept.deinit()   # a second deinit sends nothing more
        support.settle(0.1)
        self.assertEqual(len(self.reports.messages), 2)
        self.assertFalse(ept.is_ready())
        with self.assertRaisesRegex(OSError, "deinitialised"):
            ept.send(b"x")

    def test_collected_endpoint_announces_destroy(self):
        ept = openamp.Endpoint("probe-gc")
        src = ept.src
        self.expect_report("create probe-gc %d" % src)
        del ept
        gc.collect()
        self.expect_report("destroy probe-gc %d" % src)

    def test_endpoint_with_a_destination_is_not_announced(self):
        self.endpoint("probe-fixed", dest=self.probe.dest)
        marker = self.endpoint("probe-marker")
        self.expect_report("create probe-marker %d" % marker.src)
        self.assertNotIn(b"probe-fixed", b" ".join(self.reports.datas()))

    def test_destroy_goes_out_even_when_buffers_are_short(self):
        # Many endpoints, each announced and destroyed: every announcement
        # gets a buffer (deinit waits for one when needed).
        epts = [openamp.Endpoint("p%d" % i) for i in range(40)]
        for e in epts:
            e.deinit()
        wait_until(lambda: sum(d.startswith(b"destroy") for d in self.reports.datas()) == 40)

    def test_recreated_endpoint_binds_again(self):
        inbox = Inbox()
        uart = self.endpoint("vuart-channel", inbox)
        wait_until(uart.is_ready)
        uart.send(b"one")
        inbox.wait_for(1)
        uart.deinit()
        inbox2 = Inbox()
        again = self.endpoint("vuart-channel", inbox2)
        wait_until(again.is_ready)
        again.send(b"two")
        inbox2.wait_for(1)
        self.assertEqual(inbox2.datas(), [b"two"])
        self.assertEqual(inbox.datas(), [b"one"])


if __name__ == "__main__":
    unittest.main()
