"""Type stub for the openamp extension module (bindings/python)."""

import os
from typing import Callable, Optional, Union

from typing_extensions import Buffer  # typing.Buffer on Python >= 3.12

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
        *,
        src: int = ...,
        dest: int = ...,
    ) -> "Endpoint": ...
    def deinit(self) -> None:
        """Destroy the endpoint (NS destroy announcement); idempotent; also the finaliser."""
    def is_ready(self) -> bool:
        """True once the endpoint has a destination and the remote core runs."""
    def send(
        self,
        data: Union[str, Buffer],
        *,
        src: int = -1,
        dest: int = -1,
        timeout: int = -1,
    ) -> int:
        """Send one message (at most 496 bytes); return the bytes sent.
        timeout in ms: -1 forever, 0 try once; TimeoutError when it runs out."""
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
        """Why the core crashed (pc, lr, sp, xPSR on the M4), else None (extension)."""
