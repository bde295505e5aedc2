# The example from MicroPython's openamp documentation (the seed), unchanged
# except for its last loop: the original runs forever; this one stops after
# five messages so that `make demo` ends. Run it with virtual_uart.elf in the
# current directory (make demo does).
import time

import openamp

def ept_recv_callback(src, data):
    print("Received message on endpoint", data)

# Create a new RPMsg endpoint to communicate with the remote core.
ept = openamp.Endpoint("vuart-channel", callback=ept_recv_callback)

# Create a RemoteProc object, load its firmware and start it.
rproc = openamp.RemoteProc("virtual_uart.elf") # Or entry point address (ex 0x081E0000)
rproc.start()

sent = 0
while sent < 5:
    if ept.is_ready():
        ept.send("data")
        sent += 1
        time.sleep(0.1)  # the echo arrives meanwhile; its callback runs next
