"""A TCP receipt-printer emulator for tests: records bytes, answers DLE EOT like a printer.

Usage::

    with PrinterEmulator() as emu:
        printer = open_printer(emu.uri)
        emu.mode = "paper_out"

Modes: ``ok``, ``near_end``, ``paper_out``, ``cover_open``, ``silent`` (accepts connections,
never answers) and ``down`` (the port is closed: connections are refused). The byte stream
is parsed command by command, so a 10 04 n inside GS v 0 or GS ( k data is never taken for
a status request.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Self

MODES = ("ok", "near_end", "paper_out", "cover_open", "silent", "down")
# Replies to DLE EOT n=1, 2, 4 per mode; each byte has the fixed form 0xx1xx10.
REPLIES = {
    "ok": {1: 0x16, 2: 0x12, 4: 0x12},
    "near_end": {1: 0x16, 2: 0x12, 4: 0x1E},
    "paper_out": {1: 0x1E, 2: 0x32, 4: 0x7E},
    "cover_open": {1: 0x1E, 2: 0x16, 4: 0x12},
}


def command_length(buf: bytes | bytearray, i: int) -> int | None:
    """Return the length of the command starting at buf[i], or None if it is incomplete."""
    rest = len(buf) - i
    b = buf[i]
    if b in (0x10, 0x1B, 0x1D) and rest < 2:
        return None
    second = buf[i + 1] if rest > 1 else None
    if b == 0x10 and second in (0x04, 0x05):
        return 3 if rest >= 3 else None
    if b == 0x10 and second == 0x14:
        if rest < 3:
            return None
        return 10 if buf[i + 2] == 8 else 5
    if b == 0x1B:
        if second == 0x40:
            return 2
        if second in (0x61, 0x64, 0x4A, 0x21, 0x45, 0x74, 0x4D):
            return 3 if rest >= 3 else None
        return 2
    if b == 0x1D:
        if second == 0x76:
            if rest < 8:
                return None
            xl, xh, yl, yh = buf[i + 4 : i + 8]
            total = 8 + (xl + 256 * xh) * (yl + 256 * yh)
            return total if rest >= total else None
        if second == 0x28:
            if rest < 5:
                return None
            total = 5 + buf[i + 3] + 256 * buf[i + 4]
            return total if rest >= total else None
        if second == 0x56:
            if rest < 3:
                return None
            need = 4 if buf[i + 2] >= 65 else 3
            return need if rest >= need else None
        if second in (0x21, 0x42, 0x48, 0x68, 0x77, 0x66, 0x72):
            return 3 if rest >= 3 else None
        return 2
    return 1


class PrinterEmulator:
    """A printer on 127.0.0.1 (ephemeral port) run by background threads."""

    def __init__(self, mode: str = "ok") -> None:
        self._lock = threading.Lock()
        self._received = bytearray()
        self.status_requests: list[int] = []
        self.connections = 0
        self._mode = "ok"
        #: called when a cut (GS V) has been received: a whole ticket (benchmarks time on it)
        self.on_cut: Callable[[], None] | None = None
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._clients: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.port = 0
        self._listen()
        self.mode = mode

    @property
    def uri(self) -> str:
        """Return the tcp:// URI of the emulator."""
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def received(self) -> bytes:
        """Return every byte received so far."""
        with self._lock:
            return bytes(self._received)

    def clear(self) -> None:
        """Forget the bytes received so far."""
        with self._lock:
            self._received.clear()
            self.status_requests.clear()

    @property
    def mode(self) -> str:
        """Return the current mode."""
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown emulator mode {value!r}")
        previous, self._mode = self._mode, value
        if value == "down" and previous != "down":
            self._close_listener()
            self._close_clients()
        elif value != "down" and self._listener is None:
            self._listen()

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(4)
        sock.settimeout(0.05)
        self.port = sock.getsockname()[1]
        self._listener = sock
        thread = threading.Thread(target=self._accept_loop, args=(sock,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _close_clients(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set() and self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(0.05)
            with self._lock:
                self._clients.append(client)
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        pending = bytearray()
        while not self._stop.is_set():
            try:
                chunk = client.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._received += chunk
            pending += chunk
            i = 0
            while i < len(pending):
                length = command_length(pending, i)
                if length is None:
                    break
                if pending[i] == 0x10 and pending[i + 1] == 0x04:
                    self._answer(client, pending[i + 2])
                elif pending[i] == 0x1D and pending[i + 1] == 0x56 and self.on_cut is not None:
                    self.on_cut()
                i += length
            del pending[:i]

    def _answer(self, client: socket.socket, n: int) -> None:
        with self._lock:
            self.status_requests.append(n)
        replies = REPLIES.get(self._mode)
        if replies is None or n not in replies:
            return  # silent, down, or an n a printer of this kind would not answer here
        try:
            client.sendall(bytes([replies[n]]))
        except OSError:
            pass

    def close(self) -> None:
        """Stop the threads and close every socket."""
        self._stop.set()
        self._close_listener()
        self._close_clients()
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
