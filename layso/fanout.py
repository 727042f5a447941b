"""Direct WebSocket sends for Flask-SocketIO's threading mode.

Engine.IO's threading mode hands every packet to a queue that the socket's own writer thread
drains. With hundreds of boards and phones, one call wakes hundreds of writer threads, and
each must win the GIL before it sends: measured on the center's two-core box, handing three
packets to 250 sockets that way took about nine times as long as writing them from the
calling thread. So a socket that was opened as a WebSocket (not upgraded from long-polling)
is written to directly, under a lock of its own, whenever its send buffer has room: the
text frame (RFC 6455, unmasked from the server) is built here and handed to the kernel. A socket
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

    __slots__ = ("ws", "sock", "lock", "state", "poller")

    def __init__(self, ws: Any, sock: Any) -> None:
        self.ws = ws  # simple-websocket's connection: `connected`, and its socket
        self.sock = sock  # the TCP socket under it
        self.lock = threading.Lock()
        self.state = "waiting"  # waiting → direct, or → queued (for good)
        self.poller = select.poll()  # asks whether a write would block
        self.poller.register(sock.fileno(), select.POLLOUT)

    def writable(self) -> bool:
        """True when the kernel will take a small frame now without blocking."""
        try:
            return any(ev & select.POLLOUT for _fd, ev in self.poller.poll(0))
        except (OSError, ValueError):
            return False


def text_frame(text: str) -> bytes:
    """One unfragmented server-to-client WebSocket text frame (RFC 6455 §5.2: no mask)."""
    data = text.encode()
    n = len(data)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + data


def _connection(ws: Any) -> Any:
    """The simple-websocket connection under Engine.IO's wrapper, or None for anything else."""
    inner = getattr(ws, "ws", None)
    sock = getattr(inner, "sock", None)
    ok = sock is not None and hasattr(sock, "fileno") and hasattr(inner, "connected")
    return inner if ok else None


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
        conn = _connection(ws)
        # an upgrade from long-polling may still have packets on their way through the queue
        if conn is not None and not self.connected:
            self._layso_direct = _Direct(conn, conn.sock)
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
            if not direct.ws.connected or not direct.writable():
                direct.state = "queued"  # a slow reader (or gone): its writer thread takes over
                return original_send(self, pkt)
            encoded = pkt.encode()
            try:
                if isinstance(encoded, str):
                    direct.sock.sendall(text_frame(encoded))
                else:  # binary packets are not ours: simple-websocket frames them
                    direct.ws.send(encoded)
            except Exception:  # noqa: BLE001 - gone: the reader side closes the socket
                direct.state = "queued"
        return None

    engineio.socket.Socket._websocket_handler = websocket_handler
    engineio.socket.Socket.send = send
