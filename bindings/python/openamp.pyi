"""Type stub for the openamp extension module (bindings/python)."""

import os
from array import array
from mmap import mmap
from typing import Any, Callable, Coroutine, Optional, Tuple, Union

# What send() accepts: str, or any object with the buffer protocol. Spelled
# out, the common buffer types, because Debian 12's mypy (1.0) predates
# typing_extensions.Buffer.
_Data = Union[str, bytes, bytearray, memoryview, "array[Any]", mmap]

ENDPOINT_ADDR_ANY: int
"""RPMSG_ADDR_ANY, 0xFFFFFFFF. -1 is accepted wherever an address is."""

def new_service_callback(ns_callback: Optional[Callable[[int, str], object]], /) -> None:
    """Set (or, with None, clear) the function called as ns_callback(addr, name)
    when the remote announces a service that no local endpoint has."""

def configure(
    *,
    board: Optional[str] = ...,
    name: Optional[str] = ...,
    wait_mode: Optional[str] = ...,
    simcore: Optional[str] = ...,
    remove_flash: Optional[bool] = ...,
    cpu: Optional[int] = ...,
) -> None:
    """Choose the board before first use (extension). board: 'sim-h747';
    name: board instance name; wait_mode: 'blocking', 'polled' or 'adaptive';
    simcore: path of amp-simcore; remove_flash: delete the flash file at exit;
    cpu: pin the remote core (-1: don't)."""

class Endpoint:
    """An RPMsg endpoint: a bidirectional channel to the remote core."""

    def __new__(
        cls,
        name: str,
        callback: Optional[Callable[[int, bytearray], object]] = None,
        src: int = ...,
        dest: int = ...,
    ) -> "Endpoint":
        """src and dest may be given positionally, as the seed writes them (extension)."""
    def deinit(self) -> None:
        """Destroy the endpoint (NS destroy announcement); idempotent; also the finaliser."""
    def is_ready(self) -> bool:
        """True once the endpoint has a destination and the remote core runs."""
    def send(
        self,
        data: _Data,
        *,
        src: int = -1,
        dest: int = -1,
        timeout: int = -1,
    ) -> int:
        """Send one message (at most 496 bytes); return the bytes sent.
        timeout in ms: -1 forever, 0 try once; TimeoutError when it runs out."""
    def recv(self, timeout: int = -1) -> Tuple[int, bytearray]:
        """The next queued message as (src, data), for an endpoint without a
        callback (extension). timeout in ms: -1 forever, 0 look once."""
    def recv_async(self, timeout: int = -1) -> Coroutine[object, object, Tuple[int, bytearray]]:
        """Coroutine: await the next message as (src, data) (extension)."""
    def fileno(self) -> int:
        """Readable while messages are queued or the core is not running (extension)."""
    def pending(self) -> int:
        """Messages received and not yet delivered or recv()'d (extension)."""
    @property
    def lost(self) -> int:
        """Messages lost in held ring buffers when the core stopped or crashed (extension)."""
    @property
    def name(self) -> str: ...
    @property
    def src(self) -> int:
        """The endpoint's own address (extension)."""
    @property
    def dest(self) -> int:
        """The destination address, or ENDPOINT_ADDR_ANY (extension)."""

class RemoteProc:
    """Remote core life cycle: load firmware, start, stop, shut down."""

    def __new__(cls, entry: Union[int, str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]) -> "RemoteProc": ...
    def start(self) -> None:
        """Boot the core; also restarts it after stop() or a crash."""
    def stop(self) -> None:
        """Halt the core; start() boots it again."""
    def shutdown(self) -> None:
        """Stop the core and release the image; idempotent; also the finaliser."""
    def trace(self) -> str:
        """The firmware's trace buffer text (extension)."""
    @property
    def state(self) -> str:
        """'offline', 'loaded', 'running', 'stopped' or 'crashed' (extension)."""
    @property
    def crash_reason(self) -> Optional[str]:
        """Why the core last ended on its own (on the M4: what, and pc, lr, sp, xPSR), or None (extension)."""
