"""The print workers: per printer, one thread and one queue own it; requests never print.

The router hears committed `ticket.issued` (and reprint) events from the hub, finds the
ticket's print job and its route (`layso.queue.printing`: the issuing kiosk's own printer,
else the center's) and hands the job to that printer's worker, or to the kiosk's print agent
for `agent://` (kiosk/agents.py). A worker renders the ticket from its public view through
printer_drivers, reads the printer's DLE EOT status before each job, and records the result
with `ops.print_result` (`printed`, `waiting_printer`, `failed`). Status changes become
`printer.changed` events naming the kiosk. While its printer is in trouble a worker polls
every few seconds; when it comes back, its waiting jobs of the day print in order, unless
they waited longer than `printing.MAX_WAIT_SECONDS` (then they are marked failed, `expired`).
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

from layso import concurrency, db
from layso.events import Event
from layso.queue import Center, QueueError, ops, printing, reading
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
from printer_drivers.uri import parse_printer_uri

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
        # no counter open for its service yet: no estimate on paper (not "almost your turn"
        # at seven for a counter that opens at half past); the phone page says so and follows
        eta_minutes=None if view.get("open_counters") == 0 else view["eta_minutes"],
        status_url=view["status_url"],
        priority_name=priority_name,
        lang=t.lang if t.lang in ("vi", "en") else "vi",
        center_name_en=r.center.name_en,
        service_name_en=view["service"]["name"]["en"],
        priority_name_en=priority_en,
    )


def ticket_print_fields(job: TicketPrint) -> dict[str, Any]:
    """A TicketPrint as JSON (what the server sends a print agent)."""
    return {"center_name": job.center_name, "label": job.label,
            "service_name": job.service_name, "issued_at": job.issued_at.isoformat(),
            "ahead": job.ahead, "eta_minutes": job.eta_minutes, "status_url": job.status_url,
            "priority_name": job.priority_name, "lang": job.lang,
            "instruction": job.instruction}


def ticket_print_from(fields: dict[str, Any]) -> TicketPrint:
    """The TicketPrint an agent got as JSON; ValueError when it is malformed."""
    try:
        issued = datetime.fromisoformat(str(fields["issued_at"]))
        return TicketPrint(
            center_name=str(fields["center_name"]), label=str(fields["label"]),
            service_name=str(fields["service_name"]), issued_at=issued,
            ahead=fields.get("ahead"), eta_minutes=fields.get("eta_minutes"),
            status_url=str(fields["status_url"]), priority_name=fields.get("priority_name"),
            lang=str(fields.get("lang") or "vi"), instruction=fields.get("instruction"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed ticket: {exc}") from None


class PrinterTending:
    """How a job meets its printer: the status read before each job (a trouble read within
    TRUST_TROUBLE_SECONDS is trusted), the send, the confirmation. The server's workers and
    the kiosk's print agent both print through this, so they behave alike."""

    printer: Printer
    status: str = UNKNOWN
    status_at: float = 0.0

    def _status_changed(self, status: str, previous: str) -> None:
        """Report a new status (a `printer.changed` event, or a message to the server)."""

    def _check_status(self) -> str:
        return self._set_status(self.printer.status())

    def _set_status(self, status: str) -> str:
        previous = self.status
        self.status, self.status_at = status, time.monotonic()
        self._known.set()
        if status != previous and not (previous == UNKNOWN and status in (st.OK, st.NONE)):
            self._status_changed(status, previous)
        if status in TROUBLE:
            why = self.printer.last_error
            log.warning("printer %s: %s%s", self.printer.uri.raw, status,
                        f" ({why})" if why else "")
        return status

    def _attempt(self, job: TicketPrint) -> tuple[str, str | None]:
        fresh = time.monotonic() - self.status_at < TRUST_TROUBLE_SECONDS
        if self.status in TROUBLE and fresh:
            return WAITING_PRINTER, self.printer.last_error or self.status
        status = self._check_status()
        if status == st.NONE:
            return SKIPPED, None
        if status not in st.PRINTABLE:
            return WAITING_PRINTER, self.printer.last_error or status
        # rendering takes tens of ms of CPU: under gevent on a real thread, not the loop
        outcome = print_ticket(self.printer, job, status=status,
                               render=concurrency.run_off_loop)
        if outcome == PRINTED:
            return PRINTED, None
        if outcome == WAITING_PRINTER:
            self._check_status()
        return outcome, self.printer.last_error

    _known: threading.Event


class PrintWorker(PrinterTending):
    """The one owner of one printer in this process: its jobs, its status, its recovery."""

    def __init__(self, center: Center, uri: str, printer: Printer | None = None,
                 device: int | None = None, routes: tuple[str | None, ...] | None = None
                 ) -> None:
        self.center = center
        self.uri = uri
        self.printer = printer or open_printer(uri)
        #: the kiosk whose printer this is, named in `printer.changed` (None: the center's)
        self.device = device
        #: the `print_jobs.printer` values this worker prints (None: the center's printer)
        self.routes: tuple[str | None, ...] = routes or (uri,)
        self.jobs: queue.Queue[int | None] = queue.Queue()
        self.status = UNKNOWN
        self.status_at = 0.0
        self.waiting: list[int] = []
        self._known = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False

    # -- feeding ------------------------------------------------------------------------------

    def put(self, job_id: int) -> None:
        """Queue one print job (its id) for this printer."""
        self.ensure_started()
        self.jobs.put(job_id)

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
                job_id = self.jobs.get(timeout=poll)
            except queue.Empty:
                try:
                    self._poll()
                except Exception:  # noqa: BLE001
                    log.exception("printer status poll failed")
                continue
            if job_id is None:
                break
            try:
                self._print(job_id)
            except Exception:  # noqa: BLE001 - one bad job must not stop printing
                log.exception("print job %s failed", job_id)

    def _poll(self) -> None:
        status = self._check_status()
        if status in st.PRINTABLE and self.waiting:
            for job_id in list(self.waiting):
                self.jobs.put(job_id)

    def _status_changed(self, status: str, previous: str) -> None:
        try:
            with self.center.write() as tx:
                ops.printer_changed(tx, status, None if previous == UNKNOWN else previous,
                                    self.printer.last_error if status in TROUBLE else None,
                                    len(self.waiting), device=self.device)
        except QueueError:
            log.exception("cannot record printer status %s", status)

    def _requeue_today(self) -> None:
        """This printer's jobs of the day still queued or waiting print when it can."""
        with self.center.read() as r:
            ids = [job.id for job in printing.open_jobs(r, self.routes)]
        for job_id in sorted(ids):
            self.jobs.put(int(job_id))

    def _print(self, job_id: int) -> None:
        error = None
        with self.center.read() as r:
            job = printing.get_job(r, job_id)
            if job is None or job.state not in printing.OPEN_STATES or (
                    job.printer not in self.routes):
                self._forget(job_id)  # done, or another printer's job: never printed twice
                return
            t = reading.get_ticket_row(r, job.ticket_id)
            day = r.shown_day()
            outcome: str | None = None
            tp = None
            if t is None or day is None or t.day_id != day.id or t.state not in (
                    "waiting", "called"):
                # a ticket already served (or of another day) is not worth paper any more
                outcome = FAILED
            elif printing.too_late(job, r.now):
                outcome, error = FAILED, printing.expired_error(job, r.now)
            else:
                tp = ticket_print(r, t)
        if outcome is None and tp is not None:
            outcome, error = self._attempt(tp)
        if outcome == SKIPPED:
            return
        if outcome == WAITING_PRINTER:
            if job_id not in self.waiting:
                self.waiting.append(job_id)
        else:
            self._forget(job_id)
        with self.center.write() as tx:
            ops.print_result(tx, job.ticket_id, str(outcome), error, job_id=job_id)

    def _forget(self, job_id: int) -> None:
        if job_id in self.waiting:
            self.waiting.remove(job_id)


#: the router's inbox item that says a device's printer may have changed
RECONCILE = "reconcile"


class PrintRouter:
    """Hands each print job to its printer's worker (one per printer URI) or to its kiosk's
    print agent, and answers for every printer's status (health)."""

    def __init__(self, center: Center, center_uri: str) -> None:
        self.center = center
        self.center_uri = center_uri
        self.workers: dict[str, PrintWorker] = {}
        #: the print agents' side (kiosk/agents.py), once the sockets are set up
        self.agents: Any = None
        #: print jobs by ticket id; RECONCILE after a device's printer changed; None stops
        self.inbox: queue.Queue[int | str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False
        #: the kiosks' printers as last read, for health while the database is down
        self._last_kiosks: tuple[list[tuple[int, str]], dict[int, str]] = ([], {})
        if center_uri != "none":
            self.workers[center_uri] = PrintWorker(center, center_uri, routes=(None, center_uri))

    @property
    def center_worker(self) -> PrintWorker | None:
        """The worker of the center's printer (LAYSO_PRINTER), if there is one."""
        return self.workers.get(self.center_uri)

    def on_event(self, ev: Event) -> None:
        """Hub subscriber: new tickets and reprints (called after their commit), and the
        devices' changes (a kiosk's printer set, changed or removed)."""
        if ev.type == "config.changed" and ev.payload.get("what") == "device":
            if self._thread is not None:
                self.inbox.put(RECONCILE)
            return
        ticket = ev.payload.get("ticket") or {}
        printing_ = ev.payload.get("print") or {}
        wanted = ev.type == "ticket.issued" or (
            ev.type == "ticket.printed" and printing_.get("state") == "queued")
        if wanted and isinstance(ticket.get("id"), int):
            self.ensure_started()
            self.inbox.put(ticket["id"])

    def ensure_started(self) -> None:
        """Start the router and the workers of every known printer once (after forks)."""
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(target=self._run, name="layso-print-router",
                                            daemon=True)
            self._thread.start()
        try:
            with self.center.read() as r:
                kiosks = self._kiosk_printers(r)
        except Exception:  # noqa: BLE001 - a database not there yet: workers start on use
            log.exception("cannot read the kiosks' printers")
            kiosks = []
        for device_id, uri in kiosks:
            if uri not in (printing.AGENT, printing.NONE):
                self.worker_for(uri, device_id)
        for worker in list(self.workers.values()):
            worker.ensure_started()

    def worker_for(self, uri: str, device: int | None) -> PrintWorker | None:
        """The worker of a printer URI, made (and started) on first use; None if unusable."""
        with self._lock:
            worker = self.workers.get(uri)
            if worker is None and not self._stopped:
                try:
                    worker = PrintWorker(self.center, uri, device=device)
                except ValueError:
                    log.exception("kiosk %s has an unusable printer %s", device, uri)
                    return None
                self.workers[uri] = worker
        if worker is not None:
            worker.ensure_started()
        return worker

    def _run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is None:
                return
            try:
                if item == RECONCILE:
                    self._reconcile()
                else:
                    self._route(int(item))
            except Exception:  # noqa: BLE001 - one bad job must not stop the others
                log.exception("routing %s failed", item)

    def _reconcile(self) -> None:
        """Match the workers to the kiosks' printers as they are now. A printer no kiosk uses
        any more stops (it was polled, and reported as that kiosk's, for ever); its jobs
        still open fail, for the reception desk to reprint. A printer that moved to another
        kiosk names that kiosk in its events."""
        with self.center.read() as r:
            kiosks = self._kiosk_printers(r)
        used: dict[str, int] = {}
        for device_id, uri in kiosks:
            used.setdefault(uri, device_id)  # a shared printer is named by its first kiosk
        with self._lock:
            gone = [w for uri, w in self.workers.items()
                    if uri != self.center_uri and uri not in used]
            for w in gone:
                del self.workers[w.uri]
            for uri, w in self.workers.items():
                if uri in used:
                    w.device = used[uri]
        for w in gone:
            w.stop()
            with self.center.read() as r:
                open_ids = [(job.id, job.ticket_id) for job in printing.open_jobs(r, w.routes)]
            for job_id, ticket_id in open_ids:
                with self.center.write() as tx:
                    ops.print_result(tx, ticket_id, FAILED, "the kiosk's printer was changed",
                                     job_id=job_id)
            log.info("printer %s: no kiosk uses it any more, stopped", w.uri)
        for uri, device_id in used.items():
            if uri not in (printing.AGENT, printing.NONE):
                self.worker_for(uri, device_id)

    def _route(self, ticket_id: int) -> None:
        with self.center.read() as r:
            job = printing.latest_job(r, ticket_id)
        if job is None or job.state not in printing.OPEN_STATES:
            return
        uri = job.printer or self.center_uri
        if uri == printing.NONE:
            return
        if uri == printing.AGENT:
            if self.agents is not None:
                self.agents.deliver(job.id, job.device_id)
            return
        worker = self.worker_for(uri, job.device_id if job.printer else None)
        if worker is not None:
            worker.put(job.id)

    @staticmethod
    def _kiosk_printers(r: Any, names: dict[int, str] | None = None) -> list[tuple[int, str]]:
        rows = r.conn.execute(select(db.devices.c.id, db.devices.c.printer, db.devices.c.name)
                              .where(db.devices.c.kind == "kiosk", db.devices.c.active.is_(True),
                                     db.devices.c.printer.is_not(None))
                              .order_by(db.devices.c.id)).all()
        if names is not None:
            names.update({int(d.id): str(d.name) for d in rows})
        return [(int(d.id), str(d.printer)) for d in rows]

    def printers(self, wait: float = 1.5) -> list[dict[str, Any]]:
        """`[{device, name, uri, state}]`: the center's printer (device and name null) and
        each active kiosk's own printer; an agent that is not connected is `offline`."""
        self.ensure_started()
        names: dict[int, str] = {}
        try:
            with self.center.read() as r:
                kiosks = self._kiosk_printers(r, names)
            self._last_kiosks = (kiosks, names)
        except Exception:  # noqa: BLE001 - the database is down: the printers are not
            kiosks, names = self._last_kiosks  # the kiosks as last read
        deadline = time.monotonic() + wait
        out: list[dict[str, Any]] = []
        if self.center_uri != "none":
            out.append({"device": None, "name": None, "uri": self.center_uri,
                        "state": self._state(self.center_uri, None, deadline)})
        for device_id, uri in kiosks:
            out.append({"device": device_id, "name": names[device_id], "uri": uri,
                        "state": self._state(uri, device_id, deadline)})
        return out

    def _state(self, uri: str, device: int | None, deadline: float) -> str:
        if uri == printing.NONE:
            return st.NONE
        if uri == printing.AGENT:
            return self.agents.status(device) if self.agents is not None else st.OFFLINE
        worker = self.worker_for(uri, device)
        if worker is None:
            return st.OFFLINE
        return worker.current_status(max(0.0, deadline - time.monotonic()))

    def status(self) -> str:
        """The worst status of every printer (the health's `printer`)."""
        return printing.worst([p["state"] for p in self.printers()])

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the router and every worker."""
        with self._lock:
            self._stopped = True
            workers = list(self.workers.values())
        if self._thread is not None:
            self.inbox.put(None)
            self._thread.join(timeout)
        for worker in workers:
            worker.stop(timeout)


def init_worker(app: Any, center: Center) -> PrintRouter:
    """Create (not start) the app's print router and the center printer's worker."""
    uri = str(app.config.get("PRINTER") or "none")
    if uri != "none":
        if parse_printer_uri(uri).scheme == "agent":
            raise ValueError("LAYSO_PRINTER cannot be agent://: that is a kiosk's own printer "
                             "(set it on the kiosk in /admin/devices)")
    router = PrintRouter(center, uri)
    center.hub.subscribe(router.on_event)
    app.extensions["layso_printers"] = router
    if router.center_worker is not None:
        app.extensions["layso_print_worker"] = router.center_worker
    app.extensions["layso_printer_status"] = router.status
    app.extensions["layso_printer_list"] = router.printers
    return router


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
