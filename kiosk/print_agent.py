"""`layso print-agent`: prints a kiosk's tickets on the printer inside the kiosk machine.

The kiosk's printer on the server is `agent://`. The agent connects to the server with the
Socket.IO channel `printer` and the kiosk's token (kiosk/agents.py gives the protocol),
receives the kiosk's print jobs in order, prints each through the same code as the server's
print workers (status read before each job, send, confirmation: kiosk/printing.py), and
acknowledges each by its job id.

No job lost, none printed twice, across a network cut, a kiosk power cut or a server restart:

- the server keeps every job with its state until the agent acknowledges it, and sends the
  open ones again on every connect and every `print.sync` (each 20 s);
- the agent records each job it printed in its state file (written atomically, then synced
  to disk) right after the printer took it and before acknowledging it; a job it already
  printed is acknowledged again, never printed again;
- an acknowledgement repeated after a cut changes nothing on the server.
A power cut in the few milliseconds between the printer taking a job and the state file
reaching the disk is the one moment a ticket could print twice.

A job that waited longer than the server's limit (`expires_in`, 10 minutes from when it was
made) is not printed: it is acknowledged `failed` with the error `expired` (the citizen saw
the ticket on the kiosk's screen and has gone); the reception desk can reprint it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import socketio

from kiosk.printing import (
    IDLE_POLL_SECONDS,
    TROUBLE,
    TROUBLE_POLL_SECONDS,
    UNKNOWN,
    PrinterTending,
    ticket_print_from,
)
from printer_drivers.connection import (
    FAILED,
    PRINTED,
    SKIPPED,
    WAITING_PRINTER,
    Printer,
    open_printer,
)
from printer_drivers.uri import parse_printer_uri

log = logging.getLogger("layso.print_agent")

SYNC_SECONDS = 20.0
#: how many printed job ids the state file keeps (a day of a busy kiosk is a few hundred)
KEEP_PRINTED = 2000
CONNECT_TIMEOUT = 5.0


class AgentState:
    """The jobs this agent printed, on disk: written to a temporary file, synced, renamed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.printed: list[int] = []
        self.last_printed = 0
        if path.exists():
            try:
                data = json.loads(path.read_text())
                self.printed = [int(i) for i in data.get("printed", [])][-KEEP_PRINTED:]
                self.last_printed = int(data.get("last_printed") or 0)
            except (OSError, ValueError, TypeError) as exc:
                # a state file we cannot read must not be silently ignored: stop and say so
                raise SystemExit(f"cannot read the print agent state {path}: {exc}") from None
        self._set = set(self.printed)

    def has_printed(self, job_id: int) -> bool:
        """Whether this job was printed here already."""
        return job_id in self._set

    def mark_printed(self, job_id: int) -> None:
        """Record a printed job, durably, before it is acknowledged."""
        self.printed.append(job_id)
        self._set.add(job_id)
        if len(self.printed) > KEEP_PRINTED:
            self._set.discard(self.printed.pop(0))
        self.last_printed = max(self.last_printed, job_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as handle:
            json.dump({"last_printed": self.last_printed, "printed": self.printed}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        try:
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass


class PrintAgent(PrinterTending):
    """One kiosk's print agent: a socket to the server, a printer, a queue of jobs."""

    def __init__(self, server: str, token: str, printer_uri: str, state_path: Path,
                 printer: Printer | None = None) -> None:
        parsed = parse_printer_uri(printer_uri)
        if parsed.scheme in ("agent", "none"):
            raise ValueError("--printer must be the kiosk's own printer, e.g. usb://04b8:0202, "
                             "serial:///dev/ttyUSB0?baudrate=115200 or file:///dev/usb/lp0")
        self.server = server.rstrip("/")
        self.token = token
        self.printer = printer or open_printer(parsed)
        self.state = AgentState(state_path)
        self.status = UNKNOWN
        self.status_at = 0.0
        self._known = threading.Event()
        self._cond = threading.Condition()
        #: job id → (monotonic deadline, ticket fields), printed in job order
        self._jobs: dict[int, tuple[float, dict[str, Any]]] = {}
        #: results not yet acknowledged by the server: job id → (state, error)
        self._acks: dict[int, tuple[str, str | None]] = {}
        self._reported: tuple[str, str | None] | None = None
        self._told_waiting: set[int] = set()
        self._stopped = threading.Event()
        self.connected = threading.Event()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.5,
                                   reconnection_delay_max=5, handle_sigint=False)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("print.job", self._on_job)
        self.sio.on("connect_error", self._on_connect_error)
        #: why the server last refused this agent (its token, its kiosk's printer), if it did
        self.refused: str | None = None
        self._threads: list[threading.Thread] = []

    # -- running ------------------------------------------------------------------------------

    def start(self) -> PrintAgent:
        """Start the printing and connecting threads."""
        for target, name in ((self._print_loop, "layso-agent-print"),
                             (self._connect_loop, "layso-agent-socket")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def run(self) -> None:
        """Run until stopped (SIGTERM / Ctrl-C in the CLI)."""
        self.start()
        try:
            while not self._stopped.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def request_stop(self) -> None:
        """Ask run() to return (a signal handler)."""
        self._stopped.set()

    def stop(self) -> None:
        """Disconnect and release the printer."""
        self._stopped.set()
        with self._cond:
            self._cond.notify_all()
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001 - already gone
            pass
        for thread in self._threads:
            thread.join(5)
        self.printer.close()

    def _auth(self) -> dict[str, Any]:
        status = self.status if self.status != UNKNOWN else None
        return {"channel": "printer", "token": self.token, "status": status,
                "error": self.printer.last_error if status in TROUBLE else None}

    def _connect_loop(self) -> None:
        delay = 0.5
        while not self._stopped.is_set():
            try:
                self.sio.connect(self.server, auth=self._auth, transports=["websocket"],
                                 wait_timeout=CONNECT_TIMEOUT)
            except socketio.exceptions.ConnectionError as exc:
                if self.refused:  # it answered, and said no: the network is not the trouble
                    log.error("%s refused this print agent: %s; again in %.1f s", self.server,
                              self.refused, delay)
                else:
                    log.warning("cannot reach %s: %s; again in %.1f s", self.server, exc, delay)
                self._stopped.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.5
            # the client reconnects by itself after a cut; wait() returns only if it gave up
            self.sio.wait()

    # -- the socket ---------------------------------------------------------------------------

    def _on_connect(self) -> None:
        log.info("connected to %s", self.server)
        self.refused = None
        self.connected.set()
        self._reported = None
        with self._cond:
            pending = dict(self._acks)
        for job_id, (state, error) in sorted(pending.items()):
            self._send_ack(job_id, state, error)
        self._report_status()

    def _on_connect_error(self, data: Any = None) -> None:
        message = data.get("message") if isinstance(data, dict) else data
        self.refused = str(message) if message else "the connection was refused"

    def _on_disconnect(self, *_args: Any) -> None:
        log.warning("disconnected from %s", self.server)
        self.connected.clear()

    def _on_job(self, msg: Any) -> None:
        if not isinstance(msg, dict) or not isinstance(msg.get("job"), int):
            return
        job_id = int(msg["job"])
        if self.state.has_printed(job_id):
            self._result(job_id, PRINTED, None)  # printed before a cut: say so again
            return
        expires_in = float(msg.get("expires_in") or 0)
        with self._cond:
            if job_id in self._jobs:
                return
            self._jobs[job_id] = (time.monotonic() + expires_in, dict(msg.get("ticket") or {}))
            self._cond.notify_all()

    def _send_ack(self, job_id: int, state: str, error: str | None) -> None:
        if not self.connected.is_set():
            return

        def answered(reply: Any = None) -> None:
            ok = isinstance(reply, dict) and (reply.get("ok") or (
                reply.get("error") or {}).get("code") == "unknown_job")
            if ok:
                with self._cond:
                    if self._acks.get(job_id) == (state, error):
                        del self._acks[job_id]

        try:
            self.sio.emit("print.ack", {"job": job_id, "state": state, "error": error},
                          callback=answered)
        except Exception:  # noqa: BLE001 - a socket breaking now: resent on reconnect
            log.debug("ack of job %s not sent", job_id)

    def _result(self, job_id: int, state: str, error: str | None) -> None:
        with self._cond:
            self._acks[job_id] = (state, error)
        self._send_ack(job_id, state, error)

    def _report_status(self) -> None:
        if self.status == UNKNOWN or not self.connected.is_set():
            return
        now = (self.status, self.printer.last_error if self.status in TROUBLE else None)
        if now == self._reported:
            return
        try:
            self.sio.emit("print.status", {"status": now[0], "error": now[1]})
            self._reported = now
        except Exception:  # noqa: BLE001 - reported again on reconnect
            log.debug("status not sent")

    def _check_status(self) -> str:
        status = super()._check_status()
        self._report_status()  # the first read too (the server knows nothing until told)
        return status

    # -- printing -----------------------------------------------------------------------------

    def _print_loop(self) -> None:
        last_sync = time.monotonic()
        last_poll = 0.0
        try:
            self._check_status()
        except Exception:  # noqa: BLE001
            log.exception("first printer status read failed")
        while not self._stopped.is_set():
            poll = TROUBLE_POLL_SECONDS if self.status in TROUBLE else IDLE_POLL_SECONDS
            with self._cond:
                if not self._jobs:
                    self._cond.wait(min(poll, SYNC_SECONDS))
                job = min(self._jobs.items()) if self._jobs else None
            if self._stopped.is_set():
                return
            now = time.monotonic()
            if now - last_sync >= SYNC_SECONDS and self.connected.is_set():
                last_sync = now
                self._sync()
            if job is None:
                if now - last_poll >= poll:
                    last_poll = now
                    self._safe(self._check_status)
                continue
            if self.status in TROUBLE and now - self.status_at < poll:
                # known trouble: wait for the next status read rather than hammer the printer
                with self._cond:
                    self._cond.wait(max(0.05, poll - (now - self.status_at)))
                self._safe(self._check_status)
                if self.status in TROUBLE:
                    continue
            self._safe(lambda job=job: self._print(*job))
            last_poll = time.monotonic()

    def _safe(self, fn: Any) -> None:
        try:
            fn()
        except Exception:  # noqa: BLE001 - the agent must outlive one bad job or read
            log.exception("print agent step failed")

    def _sync(self) -> None:
        try:
            self.sio.emit("print.sync", {})
        except Exception:  # noqa: BLE001
            log.debug("sync not sent")

    def _print(self, job_id: int, item: tuple[float, dict[str, Any]]) -> None:
        deadline, fields = item
        if self.state.has_printed(job_id):
            outcome, error = PRINTED, None
        elif time.monotonic() > deadline:
            outcome, error = FAILED, "expired: the job came too late to print"
        else:
            try:
                ticket = ticket_print_from(fields)
            except ValueError as exc:
                outcome, error = FAILED, str(exc)
            else:
                outcome, error = self._attempt(ticket)
                if outcome == PRINTED:
                    self.state.mark_printed(job_id)
        if outcome == SKIPPED:
            outcome, error = FAILED, "the agent's printer is none"
        if outcome == WAITING_PRINTER:
            if job_id not in self._told_waiting:
                self._told_waiting.add(job_id)
                self._result(job_id, WAITING_PRINTER, error)
            return  # stays first in line; printed when the printer is back
        with self._cond:
            self._jobs.pop(job_id, None)
        self._told_waiting.discard(job_id)
        log.info("job %s (%s): %s%s", job_id, fields.get("label"), outcome,
                 f" ({error})" if error else "")
        self._result(job_id, outcome, error)


def main(server: str, token: str, printer: str, state: str) -> int:
    """The `layso print-agent` command."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        agent = PrintAgent(server, token, printer, Path(state))
    except ValueError as exc:
        print(f"Lỗi / Error: {exc}")
        return 2
    import signal

    signal.signal(signal.SIGTERM, lambda *_: agent.request_stop())
    log.info("print agent for %s on %s (state %s)", server, printer, state)
    agent.run()
    return 0


