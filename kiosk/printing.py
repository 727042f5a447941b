"""The print worker: one thread and one queue own the printer; requests never print.

The worker hears committed `ticket.issued` (and reprint) events from the hub, renders the
ticket from its public view through printer_drivers, reads the printer's DLE EOT status
before each job, and records the result with `ops.print_result` (`printed`,
`waiting_printer`, `failed`). Status changes become `printer.changed` events. While the
printer is in trouble it polls every few seconds; when it comes back, the waiting tickets
of the day print in order.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from layso import db
from layso.events import Event
from layso.queue import Center, QueueError, ops, reading
from printer_drivers import status as st
from printer_drivers.connection import (
    FAILED,
    PRINTED,
    SKIPPED,
    WAITING_PRINTER,
    Printer,
    open_printer,
    print_ticket,
    test_ticket,
)
from printer_drivers.ticket import TicketPrint

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 15.0
TROUBLE_POLL_SECONDS = 3.0
#: A trouble status read this recently is trusted, so a burst of tickets is not 1 s each.
TRUST_TROUBLE_SECONDS = 2.0
TROUBLE = (st.PAPER_OUT, st.COVER_OPEN, st.OFFLINE)
UNKNOWN = "unknown"


def ticket_print(r: Any, t: Any) -> TicketPrint:
    """What the paper shows for one ticket row, from its public view."""
    view = reading.ticket_view(r, t, public=True)
    priority_name = priority_en = None
    if t.priority:
        cat = r.conn.execute(select(db.priority_categories).where(
            db.priority_categories.c.code == t.priority)).first()
        priority_name = cat.name_vi if cat is not None else t.priority
        priority_en = cat.name_en if cat is not None else t.priority
    return TicketPrint(
        center_name=r.center.name_vi,
        label=view["label"],
        service_name=view["service"]["name"]["vi"],
        issued_at=datetime.fromisoformat(view["issued_at"]),
        ahead=view["ahead"],
        eta_minutes=view["eta_minutes"],
        status_url=view["status_url"],
        priority_name=priority_name,
        lang=t.lang if t.lang in ("vi", "en") else "vi",
        center_name_en=r.center.name_en,
        service_name_en=view["service"]["name"]["en"],
        priority_name_en=priority_en,
    )


class PrintWorker:
    """The one owner of the printer in this process."""

    def __init__(self, center: Center, uri: str, printer: Printer | None = None) -> None:
        self.center = center
        self.uri = uri
        self.printer = printer or open_printer(uri)
        self.jobs: queue.Queue[int | None] = queue.Queue()
        self.status = UNKNOWN
        self.status_at = 0.0
        self.waiting: list[int] = []
        self._known = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False

    # -- feeding ------------------------------------------------------------------------------

    def on_event(self, ev: Event) -> None:
        """Hub subscriber: queue new tickets and reprints (called after their commit)."""
        ticket = ev.payload.get("ticket") or {}
        printing = ev.payload.get("print") or {}
        wanted = ev.type == "ticket.issued" or (
            ev.type == "ticket.printed" and printing.get("state") == "queued")
        if wanted and isinstance(ticket.get("id"), int):
            self.ensure_started()
            self.jobs.put(ticket["id"])

    def ensure_started(self) -> None:
        """Start the thread once, on first use (never before the server forks)."""
        with self._start_lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(target=self._run, name="layso-print", daemon=True)
            self._thread.start()

    def current_status(self, wait: float = 1.5) -> str:
        """The printer status as last read (health endpoint); waits briefly for the first read."""
        self.ensure_started()
        self._known.wait(wait)
        return self.status if self.status != UNKNOWN else st.OFFLINE

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and release the printer."""
        self._stopped = True
        thread = self._thread
        if thread is not None:
            self.jobs.put(None)
            thread.join(timeout)
        self.printer.close()

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._check_status()
            self._requeue_today()
        except Exception:  # noqa: BLE001 - the worker must outlive a bad start
            log.exception("print worker start-up failed")
        while not self._stopped:
            poll = TROUBLE_POLL_SECONDS if self.status in TROUBLE else IDLE_POLL_SECONDS
            try:
                ticket_id = self.jobs.get(timeout=poll)
            except queue.Empty:
                try:
                    self._poll()
                except Exception:  # noqa: BLE001
                    log.exception("printer status poll failed")
                continue
            if ticket_id is None:
                break
            try:
                self._print(ticket_id)
            except Exception:  # noqa: BLE001 - one bad job must not stop printing
                log.exception("printing ticket %s failed", ticket_id)

    def _poll(self) -> None:
        status = self._check_status()
        if status in st.PRINTABLE and self.waiting:
            for ticket_id in list(self.waiting):
                self.jobs.put(ticket_id)

    def _check_status(self) -> str:
        return self._set_status(self.printer.status())

    def _set_status(self, status: str) -> str:
        previous = self.status
        self.status, self.status_at = status, time.monotonic()
        self._known.set()
        if status != previous and not (previous == UNKNOWN and status in (st.OK, st.NONE)):
            try:
                with self.center.write() as tx:
                    ops.printer_changed(tx, status, None if previous == UNKNOWN else previous,
                                        self.printer.last_error if status in TROUBLE else None,
                                        len(self.waiting))
            except QueueError:
                log.exception("cannot record printer status %s", status)
        if status in TROUBLE:
            log.warning("printer %s: %s (%s)", self.printer.uri.raw, status,
                        self.printer.last_error)
        return status

    def _requeue_today(self) -> None:
        """Tickets of the day still queued or waiting for the printer print when it can."""
        with self.center.read() as r:
            day = r.shown_day()
            if day is None:
                return
            ids = r.conn.execute(select(db.tickets.c.id).where(
                db.tickets.c.day_id == day.id,
                db.tickets.c.print_state.in_(("queued", "waiting_printer")))
                .order_by(db.tickets.c.issued_at, db.tickets.c.id)).scalars().all()
        for ticket_id in ids:
            self.jobs.put(int(ticket_id))

    def _print(self, ticket_id: int) -> None:
        with self.center.read() as r:
            t = reading.get_ticket_row(r, ticket_id)
            if t is None or t.print_state not in ("queued", "waiting_printer"):
                self._forget(ticket_id)
                return
            day = r.shown_day()
            if day is None or t.day_id != day.id or t.state not in ("waiting", "called"):
                # a ticket already served (or of another day) is not worth paper any more
                outcome: str | None = FAILED
                job = None
            else:
                outcome = None
                job = ticket_print(r, t)
        error = None
        if outcome is None and job is not None:
            outcome, error = self._attempt(ticket_id, job)
        if outcome == SKIPPED:
            return
        if outcome == WAITING_PRINTER:
            if ticket_id not in self.waiting:
                self.waiting.append(ticket_id)
        else:
            self._forget(ticket_id)
        with self.center.write() as tx:
            ops.print_result(tx, ticket_id, outcome, error)

    def _attempt(self, ticket_id: int, job: TicketPrint) -> tuple[str, str | None]:
        fresh = time.monotonic() - self.status_at < TRUST_TROUBLE_SECONDS
        if self.status in TROUBLE and fresh:
            return WAITING_PRINTER, self.printer.last_error or self.status
        status = self._check_status()
        if status == st.NONE:
            return SKIPPED, None
        if status not in st.PRINTABLE:
            return WAITING_PRINTER, self.printer.last_error or status
        outcome = print_ticket(self.printer, job)
        if outcome == PRINTED:
            return PRINTED, None
        if outcome == WAITING_PRINTER:
            self._check_status()
        return outcome, self.printer.last_error

    def _forget(self, ticket_id: int) -> None:
        if ticket_id in self.waiting:
            self.waiting.remove(ticket_id)


def init_worker(app: Any, center: Center) -> PrintWorker | None:
    """Create (not start) the app's print worker when a printer is configured."""
    uri = str(app.config.get("PRINTER") or "none")
    if uri == "none":
        app.extensions["layso_printer_status"] = lambda: st.NONE
        return None
    worker = PrintWorker(center, uri)
    center.hub.subscribe(worker.on_event)
    app.extensions["layso_print_worker"] = worker
    app.extensions["layso_printer_status"] = worker.current_status
    return worker


def printer_test(uri: str, cfg: dict[str, Any]) -> int:
    """`layso printer test [URI]`: print a test ticket and report the status; 0 when printed."""
    from printer_drivers.uri import parse_printer_uri

    try:
        parsed = parse_printer_uri(uri)
    except ValueError as exc:
        print(f"Lỗi / Error: {exc}")
        return 2
    if parsed.scheme == "none":
        print("Chưa cấu hình máy in (LAYSO_PRINTER=none) / No printer configured.")
        print("Ví dụ / Example: layso printer test tcp://192.168.1.50:9100?qr=native")
        return 2
    printer = open_printer(parsed)
    try:
        before = printer.status()
        print(f"Máy in / Printer: {parsed.raw}")
        print(f"Trạng thái / Status: {before}")
        url = f"{str(cfg.get('PUBLIC_URL') or '').rstrip('/')}/t/TEST"
        center = "Trung tâm Phục vụ hành chính công"
        # the center's local time, as real tickets print it (the box's clock may run on UTC)
        zone = ZoneInfo(str(cfg.get("TIMEZONE") or "Asia/Ho_Chi_Minh"))
        outcome = print_ticket(printer, test_ticket(center, url, datetime.now(zone)))
        print(f"Kết quả / Result: {outcome}")
        if printer.last_error:
            print(f"Chi tiết / Detail: {printer.last_error}")
        advice = {
            st.PAPER_OUT: "Hết giấy: thay cuộn giấy mới / Paper out: load a new roll.",
            st.COVER_OPEN: "Nắp máy in đang mở: đóng nắp / Cover open: close it.",
            st.OFFLINE: "Máy in không trả lời: kiểm tra nguồn, cáp, địa chỉ / "
                        "The printer does not answer: check power, cable and address.",
        }
        if before in advice:
            print(advice[before])
        return 0 if outcome == PRINTED else 1
    finally:
        printer.close()
