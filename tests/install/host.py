"""A Python host run against the installed openamp module only
(tests/install/run.sh): both services of echo_upper.elf answer. Also
type-checked with mypy against the installed stub (openamp-stubs), which
must accept any common buffer type (an array here) as send()'s data."""

import array
import sys
import time
from typing import List

import openamp

firmware, board = sys.argv[1], sys.argv[2]
openamp.configure(name=board, remove_flash=True)

got: List[bytes] = []


def on_message(src: int, data: bytearray) -> None:
    got.append(bytes(data))


echo = openamp.Endpoint("vuart-channel", callback=on_message)
upper = openamp.Endpoint("upper", callback=on_message)
rproc = openamp.RemoteProc(firmware)
rproc.start()
deadline = time.monotonic() + 10
while not (echo.is_ready() and upper.is_ready()):
    if time.monotonic() > deadline:
        sys.exit("host.py: the firmware did not announce both services")
    time.sleep(0.001)
echo.send("hello")
upper.send(array.array("B", b"hello"))
while len(got) < 2:
    if time.monotonic() > deadline:
        sys.exit("host.py: answers missing, got %r" % got)
    time.sleep(0.001)
rproc.stop()
if sorted(got) != [b"HELLO", b"hello"]:
    sys.exit("host.py: wrong answers %r" % got)
print("host.py: both services answered:", got)
