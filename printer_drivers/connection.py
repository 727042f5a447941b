"""Printer connections behind one small interface, and print_ticket, the one call the worker needs.

``open_printer(uri)`` returns a ``Printer`` with ``status()``, ``send(data)``,
``send_ticket(job)`` and ``close()``. Connections open lazily and are rebuilt after any
failure (python-escpos device objects stay broken after one failed open), so one printer
object lives as long as the print worker.

``print_ticket(printer, ticket)`` returns the print state of the job:

- ``printed``: the printer answered before and after the job (tcp/usb/serial), or the job
  was handed over without error (file/cups/dir);
- ``waiting_printer``: status was ``paper_out``, ``cover_open`` or ``offline`` (nothing was
  sent), the connection failed while sending, or a status-reading printer went silent right
  after the job (a power-cycled printer silently drops the first write). Retry later; a
  reprint is better than a lost ticket;
- ``failed``: not retryable: the ticket cannot be rendered (bad width, naive time) or the
  system refused the job (``lp`` exited with an error); ``printer.last_error`` says why;
- ``skipped``: the URI is ``none``; nothing to print, the kiosk shows the ticket on screen.

The dir printer overwrites ``<label>.bin`` and ``<label>.png`` on a reprint: the folder holds
the latest print of each label.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from printer_drivers import status as st
from printer_drivers.escpos_bytes import encode_ticket_image
from printer_drivers.ticket import TicketPrint, check_qr_mode, check_width, render_ticket
from printer_drivers.uri import PrinterURI, parse_printer_uri

PRINTED = "printed"
WAITING_PRINTER = "waiting_printer"
FAILED = "failed"
SKIPPED = "skipped"
PRINT_STATES = (PRINTED, WAITING_PRINTER, FAILED, SKIPPED)

STATUS_TIMEOUT = 1.0
CONFIRM_TIMEOUT = 5.0
CONNECT_TIMEOUT = 1.0  # a LAN printer connects in ms; a kiosk must know within 3 s
WRITE_TIMEOUT = 15.0


class PrinterError(Exception):
    """A job could not be handed to the printer; retryable unless said otherwise."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class PrintJob:
    """One ticket ready to print: its label, the ESC/POS bytes and the rendered image."""

    label: str
    data: bytes
    image: Image.Image


class Printer(Protocol):
    """What the print worker needs from any printer."""

    uri: PrinterURI
    last_error: str | None
    reads_status: bool

    def status(self, timeout: float | None = None) -> str:
        """Return one of none, ok, paper_near_end, paper_out, cover_open, offline."""
        ...

    def send(self, data: bytes) -> None:
        """Send raw ESC/POS bytes; raise PrinterError on failure."""
        ...

    def send_ticket(self, job: PrintJob) -> None:
        """Send one ticket job; raise PrinterError on failure."""
        ...

    def close(self) -> None:
        """Release the connection; the printer reopens it when used again."""
        ...


class _BasePrinter:
    reads_status = False

    def __init__(self, uri: PrinterURI) -> None:
        self.uri = uri
        self.last_error: str | None = None

    def send(self, data: bytes) -> None:
        """Send raw bytes: each kind of printer its own way."""
        raise NotImplementedError

    def send_ticket(self, job: PrintJob) -> None:
        """Send the job's bytes."""
        self.send(job.data)

    def close(self) -> None:
        """Nothing to release."""


class NullPrinter(_BasePrinter):
    """The `none` printer: prints nothing, reports `none`."""

    def status(self, timeout: float | None = None) -> str:
        """Return `none`."""
        return st.NONE

    def send(self, data: bytes) -> None:
        """Discard the bytes."""


class _StreamPrinter(_BasePrinter):
    """A printer reached over a two-way byte stream that answers DLE EOT."""

    reads_status = True

    def __init__(self, uri: PrinterURI, status_timeout: float = STATUS_TIMEOUT) -> None:
        super().__init__(uri)
        self.status_timeout = status_timeout

    # Transport hooks: open lazily, raise OSError (or anything) on failure.
    def _open(self) -> None:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _read_byte(self, timeout: float) -> bytes:
        raise NotImplementedError

    def _drain(self) -> None:
        """Discard late replies to earlier requests so they are not read as answers."""

    def _drop(self) -> None:
        raise NotImplementedError

    def status(self, timeout: float | None = None) -> str:
        """Read DLE EOT status; a failed connection is rebuilt once before giving up."""
        timeout = self.status_timeout if timeout is None else timeout
        for attempt in (1, 2):
            try:
                self._open()
                self._drain()
                result = st.query(self._write, self._read_byte, timeout)
                if result == st.OFFLINE:
                    self.last_error = f"no valid status reply within {timeout:g} s"
                    self._drop()  # a fresh connection next time: cheap, and clears half-states
                else:
                    self.last_error = None
                return result
            except _Closed as exc:
                self._drop()
                self.last_error = str(exc)
                if attempt == 2:
                    return st.OFFLINE
            except Exception as exc:  # noqa: BLE001 - any transport failure means offline
                self._drop()
                self.last_error = f"{type(exc).__name__}: {exc}"
                return st.OFFLINE
        return st.OFFLINE

    def send(self, data: bytes) -> None:
        """Write the bytes; on failure drop the connection and raise PrinterError."""
        try:
            self._open()
            self._write(data)
        except Exception as exc:  # noqa: BLE001
            self._drop()
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise PrinterError(self.last_error) from exc

    def close(self) -> None:
        """Close the connection."""
        self._drop()


class _Closed(OSError):
    """The peer closed the connection (a stale socket): reconnect and retry once."""


class TcpPrinter(_StreamPrinter):
    """A network printer on raw port 9100, with plain sockets."""

    def __init__(
        self,
        uri: PrinterURI,
        status_timeout: float = STATUS_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        super().__init__(uri, status_timeout)
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self._sock: socket.socket | None = None

    def _open(self) -> None:
        if self._sock is None:
            sock = socket.create_connection(
                (self.uri.host, self.uri.port), timeout=self.connect_timeout
            )
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock

    def _write(self, data: bytes) -> None:
        assert self._sock is not None
        self._sock.settimeout(self.write_timeout)
        self._sock.sendall(data)

    def _read_byte(self, timeout: float) -> bytes:
        assert self._sock is not None
        self._sock.settimeout(max(timeout, 0.001))
        try:
            got = self._sock.recv(1)
        except TimeoutError:
            return b""
        if not got:
            raise _Closed("the printer closed the connection")
        return got

    def _drain(self) -> None:
        assert self._sock is not None
        self._sock.setblocking(False)
        try:
            while True:
                got = self._sock.recv(256)
                if not got:
                    raise _Closed("the printer closed the connection")
        except BlockingIOError:
            pass
        finally:
            self._sock.setblocking(True)

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None


class _EscposDevicePrinter(_StreamPrinter):
    """A printer opened through a python-escpos device class (Usb, Serial)."""

    module_name = ""
    missing_message = ""

    def __init__(self, uri: PrinterURI, status_timeout: float = STATUS_TIMEOUT) -> None:
        super().__init__(uri, status_timeout)
        self._dev: Any = None

    def _make(self) -> Any:
        raise NotImplementedError

    def _open(self) -> None:
        if importlib.util.find_spec(self.module_name) is None:
            raise PrinterError(self.missing_message, retryable=False)
        if self._dev is None:
            dev = self._make()
            dev.open()
            self._dev = dev

    def _write(self, data: bytes) -> None:
        self._dev._raw(data)

    def _drop(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            try:
                dev.close()
            except Exception:  # noqa: BLE001 - a broken device may fail to close
                pass

    def send(self, data: bytes) -> None:
        """Write the bytes; a missing driver library is not retryable."""
        if importlib.util.find_spec(self.module_name) is None:
            self.last_error = self.missing_message
            raise PrinterError(self.missing_message, retryable=False)
        super().send(data)


class UsbPrinter(_EscposDevicePrinter):
    """A USB printer through python-escpos Usb (needs pyusb)."""

    module_name = "usb"
    missing_message = "USB printing needs pyusb (pip install pyusb) and libusb"

    def _make(self) -> Any:
        from escpos.printer import Usb

        return Usb(
            self.uri.vendor_id, self.uri.product_id, timeout=int(WRITE_TIMEOUT * 1000)
        )

    def _read_byte(self, timeout: float) -> bytes:
        import usb.core

        try:
            got = self._dev.device.read(self._dev.in_ep, 16, timeout=max(1, int(timeout * 1000)))
        except usb.core.USBTimeoutError:
            return b""
        return bytes(got[:1])


class SerialPrinter(_EscposDevicePrinter):
    """A serial printer through python-escpos Serial (needs pyserial)."""

    module_name = "serial"
    missing_message = "serial printing needs pyserial (pip install pyserial)"

    def _make(self) -> Any:
        from escpos.printer import Serial

        return Serial(devfile=self.uri.path, baudrate=self.uri.baudrate, timeout=1)

    def _read_byte(self, timeout: float) -> bytes:
        self._dev.device.timeout = max(timeout, 0.001)
        return bytes(self._dev.device.read(1))

    def _drain(self) -> None:
        self._dev.device.reset_input_buffer()


class FilePrinter(_BasePrinter):
    """A raw device or file: bytes are written to the path; no status beyond writability."""

    def status(self, timeout: float | None = None) -> str:
        """Return ok if the path can be written, else offline."""
        path = Path(self.uri.path or "")
        writable = os.access(path, os.W_OK) if path.exists() else os.access(path.parent, os.W_OK)
        self.last_error = None if writable else f"{path} is missing or not writable"
        return st.OK if writable else st.OFFLINE

    def send(self, data: bytes) -> None:
        """Write the bytes to the path."""
        try:
            with open(self.uri.path or "", "ab") as handle:
                handle.write(data)
        except OSError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise PrinterError(self.last_error) from exc


class CupsPrinter(_BasePrinter):
    """A CUPS queue fed raw bytes through `lp -d QUEUE -o raw`."""

    def status(self, timeout: float | None = None) -> str:
        """Return ok if the lp command exists, else offline."""
        found = shutil.which("lp") is not None
        self.last_error = None if found else "the lp command (CUPS client) is not installed"
        return st.OK if found else st.OFFLINE

    def send(self, data: bytes) -> None:
        """Pipe the bytes to lp; a refused job is not retryable."""
        command = ["lp", "-d", self.uri.queue or "", "-o", "raw"]
        try:
            done = subprocess.run(command, input=data, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise PrinterError(self.last_error) from exc
        if done.returncode != 0:
            self.last_error = done.stderr.decode(errors="replace").strip() or "lp failed"
            raise PrinterError(self.last_error, retryable=False)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


class DirPrinter(_BasePrinter):
    """A virtual printer: each ticket becomes <label>.bin and <label>.png in a folder."""

    def _folder(self) -> Path:
        return Path(self.uri.path or "")

    def status(self, timeout: float | None = None) -> str:
        """Return ok if the folder exists (or can be made) and is writable, else offline."""
        try:
            self._folder().mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            return st.OFFLINE
        writable = os.access(self._folder(), os.W_OK)
        self.last_error = None if writable else f"{self._folder()} is not writable"
        return st.OK if writable else st.OFFLINE

    def _write(self, name: str, data: bytes) -> None:
        try:
            self._folder().mkdir(parents=True, exist_ok=True)
            (self._folder() / name).write_bytes(data)
        except OSError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise PrinterError(self.last_error) from exc

    def send(self, data: bytes) -> None:
        """Write bytes that are not a ticket as raw-<time>.bin."""
        self._write(f"raw-{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}.bin", data)

    def send_ticket(self, job: PrintJob) -> None:
        """Write <label>.bin and <label>.png, overwriting an earlier print of the label."""
        name = _SAFE_NAME.sub("_", job.label).strip("_") or "ticket"
        self._write(f"{name}.bin", job.data)
        try:
            job.image.save(self._folder() / f"{name}.png")
        except OSError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise PrinterError(self.last_error) from exc


def open_printer(uri: str | PrinterURI, status_timeout: float = STATUS_TIMEOUT) -> Printer:
    """Return the printer for a URI (connections open lazily); invalid URIs raise ValueError."""
    parsed = uri if isinstance(uri, PrinterURI) else parse_printer_uri(uri)
    if parsed.scheme == "agent":
        raise ValueError("agent:// is printed by the kiosk's own print agent "
                         "(layso print-agent --printer URI), not by the server")
    if parsed.scheme == "tcp":
        return TcpPrinter(parsed, status_timeout=status_timeout)
    if parsed.scheme == "usb":
        return UsbPrinter(parsed, status_timeout=status_timeout)
    if parsed.scheme == "serial":
        return SerialPrinter(parsed, status_timeout=status_timeout)
    classes: dict[str, Callable[[PrinterURI], Printer]] = {
        "file": FilePrinter, "cups": CupsPrinter, "dir": DirPrinter, "none": NullPrinter}
    return classes[parsed.scheme](parsed)


def make_job(ticket: TicketPrint, width: int = 576, qr: str = "image") -> PrintJob:
    """Render and encode a ticket into a PrintJob."""
    image = render_ticket(ticket, check_width(width), check_qr_mode(qr))
    data = encode_ticket_image(image, ticket.status_url)
    return PrintJob(label=ticket.label, data=data, image=image)


def _printer_job(printer: Printer, ticket: TicketPrint, width: int, qr: str) -> PrintJob:
    job = make_job(ticket, width, qr)
    if job.image.info.get("layso_qr_row") is not None and isinstance(printer, DirPrinter):
        # The virtual printer's PNG should look like the paper, QR included.
        job.image = render_ticket(ticket, job.image.width, "image")
    return job


def print_ticket(
    printer: Printer,
    ticket: TicketPrint,
    width: int | None = None,
    qr: str | None = None,
    confirm_timeout: float = CONFIRM_TIMEOUT,
    status: str | None = None,
    render: Callable[..., PrintJob] | None = None,
) -> str:
    """Print one ticket if the printer can take it; return its print state (module docstring).

    `status`: the printer's status as the caller read it just now (the print workers read it
    before each job), so it is not read twice; without it the status is read here.
    `render(fn, *args)`: runs the rendering (`fn(*args)`, tens of ms of CPU) where the caller
    wants it (the server: off gevent's loop); by default right here.
    """
    try:
        args = (printer, ticket, width or printer.uri.width, qr or printer.uri.qr)
        job = render(_printer_job, *args) if render is not None else _printer_job(*args)
    except ValueError as exc:
        printer.last_error = f"cannot render ticket: {exc}"
        return FAILED
    state = status if status is not None else printer.status()
    if state == st.NONE:
        return SKIPPED
    if state not in st.PRINTABLE:
        return WAITING_PRINTER
    try:
        printer.send_ticket(job)
    except PrinterError as exc:
        return WAITING_PRINTER if exc.retryable else FAILED
    if printer.reads_status:
        after = printer.status(timeout=confirm_timeout)
        if after == st.OFFLINE:
            return WAITING_PRINTER
    return PRINTED


def test_ticket(center_name: str, status_url: str,
                issued_at: datetime | None = None) -> TicketPrint:
    """Return the ticket `layso printer test` prints (at `issued_at`, the center's local time)."""
    return TicketPrint(
        center_name=center_name,
        label="TEST",
        service_name="In thử máy in",
        issued_at=issued_at or datetime.now().astimezone(),
        ahead=0,
        eta_minutes=None,
        status_url=status_url,
        instruction="Bản in thử: máy in đã sẵn sàng",
    )


test_ticket.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
