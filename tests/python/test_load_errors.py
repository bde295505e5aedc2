"""RemoteProc on paths that are not firmware files (issue 8, item 2): a FIFO
or a device is refused at once with a message naming it, never a hang and
never an I/O error. A FIFO with no writer blocks a plain open() forever;
an alarm bounds the test, and interrupts such an open (which then used to
fail with EIO)."""

import os
import signal
import tempfile
import unittest

import support
from support import BoardTest

import openamp

HANG_SECONDS = 5


class TestNotRegularFiles(BoardTest):
    def setUp(self):
        super().setUp()
        self.hung = False

        def on_alarm(signum, frame):
            self.hung = True

        self.old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(HANG_SECONDS)

    def tearDown(self):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old_handler)
        super().tearDown()

    def assert_refused(self, path, kind):
        with self.assertRaises(ValueError) as cm:
            self.remoteproc(path)
        self.assertFalse(self.hung, "RemoteProc(%r) hung until the alarm" % path)
        text = str(cm.exception)
        self.assertIn(path, text)
        self.assertIn("not a regular file", text)
        self.assertIn(kind, text)

    def test_fifo(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "fifo.elf")
            os.mkfifo(path)
            self.assert_refused(path, "FIFO")
            # The board is still usable: real firmware loads and runs.
            ept, rproc, inbox = self.boot()
            ept.send(b"after the fifo")
            inbox.wait_for(1)
            self.assertEqual(inbox.datas(), [b"after the fifo"])

    def test_character_device(self):
        self.assert_refused("/dev/zero", "character device")


if __name__ == "__main__":
    unittest.main()
