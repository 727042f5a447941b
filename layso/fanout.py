"""Direct WebSocket sends for Flask-SocketIO's threading mode.

Engine.IO's threading mode hands every packet to a queue that the socket's own writer thread
drains. With hundreds of boards and phones, one call wakes hundreds of writer threads, and
each must win the GIL before it sends: measured on the center's two-core box, handing three
packets to 250 sockets that way took about nine times as long as writing them from the
calling thread. So a socket that was opened as a WebSocket (not upgraded from long-polling)
is written to directly, under a lock of its own, whenever its send buffer has room. A socket
whose buffer is full (a phone on a weak signal) goes back to Engine.IO's queue and writer for
good, so nothing is ever sent out of order and a slow client never holds the others up.

`install()` wraps two methods of `engineio.socket.Socket` (versions pinned in setup.cfg);
`tests/test_fanout.py` checks the behaviour this relies on.
"""

from __future__ import annotations

import logging
import select
import threading
from typing import Any

import engineio.socket

log = logging.getLogger(__name__)

_installed = False
_install_lock = threading.Lock()


class _Direct:
    """One WebSocket that the emitting thread may write to itself."""

    __slots__ = ("ws", "sock", "lock", "state")

    def __init__(self, ws: Any, sock: Any) -> None:
        self.ws = ws  # engineio's wrapper: send(str | bytes) raises OSError once closed
        self.sock = sock  # the TCP socket under it, to ask whether a write would block
        self.lock = threading.Lock()
        self.state = "waiting"  # waiting → direct, or → queued (for good)


def _raw_socket(ws: Any) -> Any:
    """The TCP socket of a simple-websocket connection, or None for anything else."""
    inner = getattr(ws, "ws", None)
    sock = getattr(inner, "sock", None)
    return sock if sock is not None and hasattr(sock, "fileno") else None


def _writable(sock: Any) -> bool:
    """True when the kernel will take a small frame now without blocking."""
    try:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLOUT)
        return any(ev & select.POLLOUT for _fd, ev in poller.poll(0))
    except (OSError, ValueError):
        return False


def install() -> None:
    """Wrap Engine.IO's socket so WebSocket clients are written to directly (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _installed = True
    original_handler = engineio.socket.Socket._websocket_handler
    original_send = engineio.socket.Socket.send

    def websocket_handler(self: Any, ws: Any) -> Any:
        sock = _raw_socket(ws)
        # an upgrade from long-polling may still have packets on their way through the queue
        if sock is not None and not self.connected:
            self._layso_direct = _Direct(ws, sock)
        try:
            return original_handler(self, ws)
        finally:
            self._layso_direct = None

    def send(self: Any, pkt: Any) -> Any:
        direct: _Direct | None = getattr(self, "_layso_direct", None)
        if direct is None or direct.state == "queued" or not self.upgraded or self.closed:
            return original_send(self, pkt)
        if not self.check_ping_timeout():
            return None
        with direct.lock:
            if direct.state == "waiting":
                # the Engine.IO handshake went through the queue; go direct once it is out
                if not self.queue.empty():
                    return original_send(self, pkt)
                direct.state = "direct"
            if direct.state == "direct" and not _writable(direct.sock):
                direct.state = "queued"  # a slow reader: its writer thread takes over
            if direct.state == "queued":
                return original_send(self, pkt)
            try:
                direct.ws.send(pkt.encode())
            except OSError:
                direct.state = "queued"  # gone: the reader side closes the socket
        return None

    engineio.socket.Socket._websocket_handler = websocket_handler
    engineio.socket.Socket.send = send
