"""The seed's example, verbatim (endless loop and all), run as a user would:
a script with virtual_uart.elf beside it. It must receive echoes; Ctrl-C
must stop it cleanly, leaving no core process and no flash file."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import support

# The example from MicroPython's openamp documentation, character for
# character (../shared/seed/openamp-module.txt; checked below when present).
SEED_EXAMPLE = '''import openamp

def ept_recv_callback(src, data):
    print("Received message on endpoint", data)

# Create a new RPMsg endpoint to communicate with the remote core.
ept = openamp.Endpoint("vuart-channel", callback=ept_recv_callback)

# Create a RemoteProc object, load its firmware and start it.
rproc = openamp.RemoteProc("virtual_uart.elf") # Or entry point address (ex 0x081E0000)
rproc.start()

while True:
    if ept.is_ready():
        ept.send("data")
'''

SEED_FILE = os.path.join(os.path.dirname(support.ROOT), "shared", "seed", "openamp-module.txt")
ECHO_LINE = b"Received message on endpoint bytearray(b'data')"


class TestSeedVerbatim(unittest.TestCase):
    def test_embedded_copy_matches_the_seed(self):
        if not os.path.exists(SEED_FILE):
            self.skipTest("the seed document is not beside this checkout")
        with open(SEED_FILE, encoding="utf-8") as f:
            seed = f.read()
        self.assertIn(SEED_EXAMPLE.strip(), seed)

    def test_seed_example_receives_echoes_and_stops_on_ctrl_c(self):
        name = "seed-verbatim-%d" % os.getpid()
        flash = "/dev/shm/amp-%s-flash" % name
        with tempfile.TemporaryDirectory() as tmp:
            os.symlink(support.VIRTUAL_UART, os.path.join(tmp, "virtual_uart.elf"))
            with open(os.path.join(tmp, "example.py"), "w", encoding="utf-8") as f:
                f.write(SEED_EXAMPLE)
            env = dict(os.environ, PYTHONPATH=support.MODULE_DIR, OPENAMP_SIM_NAME=name,
                       OPENAMP_SIM_REMOVE_FLASH="1")
            # A user's Ctrl-C: the child gets the default SIGINT even when this
            # run inherited it ignored (a job started in the background).
            proc = subprocess.Popen([sys.executable, "-u", "example.py"], cwd=tmp, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            try:
                echoes = 0
                deadline = time.monotonic() + support.SLOW
                while echoes < 3 and time.monotonic() < deadline:
                    line = proc.stdout.readline()
                    if not line:
                        break
                    if line.rstrip() == ECHO_LINE:
                        echoes += 1
                self.assertEqual(echoes, 3, "the seed's example printed no echoes")
                proc.send_signal(signal.SIGINT)
                _, err = proc.communicate(timeout=support.SLOW)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        # KeyboardInterrupt ends the loop (even when it lands in a callback),
        # and the finalisers shut the core down without complaint.
        self.assertIn(b"KeyboardInterrupt", err)
        self.assertNotIn(b"Exception ignored", err)
        self.assertFalse(os.path.exists(flash), "the example left its flash file behind")


if __name__ == "__main__":
    unittest.main()
