"""Every action on the queue, each one transaction that checks its guard and logs its event."""

from __future__ import annotations

import secrets
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Row

from layso import db
from layso.queue import citizens, printing, reading, sql
from layso.queue.errors import Conflict, Forbidden, Invalid, NotFound
from layso.queue.policy import parse_policy, pick_next
from layso.queue.text import clean_text
from layso.queue.unit import Actor, Tx

#: a visit's outcomes, as the counter's dialog offers them in this order and the reports'
#: files name them: (code, Vietnamese, English)
OUTCOME_NAMES: tuple[tuple[str, str, str], ...] = (
    ("done", "Đã giải quyết xong", "Settled on the spot"),
    ("received", "Đã tiếp nhận hồ sơ, hẹn trả kết quả", "Dossier received, result to be returned"),
    ("result_returned", "Đã trả kết quả", "Result returned"),
    ("advised", "Đã hướng dẫn, tư vấn", "Guidance given"),
    ("needs_more_documents", "Hướng dẫn bổ sung hồ sơ", "Documents to be completed"),
    ("redirected", "Chuyển cơ quan khác giải quyết", "Referred to another agency"),
    ("rejected", "Từ chối tiếp nhận (có lý do)", "Refused, with a reason"),
)
OUTCOMES = tuple(code for code, _vi, _en in OUTCOME_NAMES)
RATING_REASONS = ("long_wait", "attitude", "unclear_guidance", "documents_repeatedly",
                  "facilities", "other")
MAX_PAUSE_REASON = 200
MAX_COMMENT = 500


# -- lookups ---------------------------------------------------------------------------------

def _service(tx: Tx, code: Any) -> Row[Any]:
    if not isinstance(code, str) or not code:
        raise Invalid("invalid_service", "service must be a service code")
    # every service, read once per transaction: the events and views that follow need them too
    s = next((x for x in reading.services_by_id(tx).values() if x.code == code), None)
    if s is None or not s.active:
        raise Invalid("unknown_service", f"No service with code {code!r}")
    return s


def _counter(tx: Tx, number: int) -> Row[Any]:
    c = tx.conn.execute(sql.COUNTER_BY_NUMBER, {"number": number}).first()
    if c is None:
        raise NotFound("unknown_counter", f"No counter number {number}")
    return c


def _ticket(tx: Tx, ticket_id: int) -> Row[Any]:
    t = reading.get_ticket_row(tx, ticket_id)
    if t is None:
        raise NotFound("unknown_ticket", f"No ticket with id {ticket_id}")
    return t


_BY_ID = {db.tickets: sql.TICKET, db.counters: sql.COUNTER, db.services: sql.SERVICE,
          db.users: sql.USER}


def _reload(tx: Tx, table: Any, row_id: int) -> Row[Any]:
    stmt = _BY_ID.get(table)
    if stmt is None:
        stmt = select(table).where(table.c.id == row_id)
    return tx.conn.execute(stmt, {"id": row_id}).one()


def _may_act(actor: Actor, c: Row[Any]) -> None:
    """An officer acts only on a counter they opened; supervisors and admins on any."""
    if not actor.is_staff:
        raise Forbidden("forbidden", "Only officials act on counters")
    if actor.is_supervisor:
        return
    if c.officer_id is not None and c.officer_id != actor.id:
        raise Forbidden("not_your_counter",
                        f"Counter {c.number} was opened by another official")
    if c.officer_id is None and c.state != "closed":
        raise Forbidden("not_your_counter", f"Open counter {c.number} first")


# -- events ----------------------------------------------------------------------------------

def _emit_counter(tx: Tx, c: Any, current: Any = None,
                  services: list[Row[Any]] | None = None) -> None:
    """Announce a counter from its current row (and its current ticket's, when the caller holds
    it)."""
    tx.emit("counter.changed", {"counter": reading.counter_view(
        tx, c, brief_ticket=True, current=current, services=services)})


def _emit_queue(tx: Tx) -> None:
    tx.emit("queue.changed", {"waiting": reading.waiting_counts(tx)})


def _emit_ticket(tx: Tx, type_: str, t: Any, *, ahead: int | None = None,
                     counter: Any = None, moved: Any = reading.UNKNOWN,
                     **extra: Any) -> dict[str, Any]:
    """Announce a ticket event from the ticket's current row; `counter` is the current row of
    its counter when the caller holds that too (and `moved` when it knows whether the ticket
    was moved). Answers the ticket's staff view."""
    if t.counter_id is None:
        counter = None
    elif counter is None or counter.id != t.counter_id:
        counter = _reload(tx, db.counters, t.counter_id)
    services = reading.services_by_id(tx)
    payload = {"ticket": reading.ticket_brief(tx, t, services),
               "counter": reading.counter_brief(counter), **extra}
    tx.emit(type_, payload)
    return reading.ticket_view(tx, t, services=services,
                             counters=None if counter is None else {counter.id: counter},
                             ahead=ahead, moved=moved)


# rows as the database would return them, for what this transaction has just written
TicketRow = namedtuple("TicketRow", [c.name for c in db.tickets.columns])  # type: ignore[misc]
CounterRow = namedtuple("CounterRow", [c.name for c in db.counters.columns])  # type: ignore[misc]


def _written(row_type: Any, row: Any, **values: Any) -> Any:
    """`row` (a whole tickets or counters row) with the values just written to it."""
    for k, v in values.items():
        if isinstance(v, datetime):
            values[k] = v.astimezone(UTC)  # as UTCDateTime gives it back
    return row_type(*row)._replace(**values)


def _speech(tx: Tx, t: Row[Any], counter: Row[Any]) -> dict[str, Any]:
    from layso import speech  # the words of the call; pure functions

    prefix = t.label.rstrip("0123456789")
    mode = tx.center.speech_mode
    out = {"speech": speech.call_speech(t.label, prefix, counter.number, mode=mode),
           "clips": {"vi": speech.call_clips(t.label, prefix, counter.number, mode=mode,
                                             lang="vi")}}
    if tx.center.speak_english:
        out["clips"]["en"] = speech.call_clips(t.label, prefix, counter.number, mode=mode,
                                               lang="en")
    return out


# -- issuing ---------------------------------------------------------------------------------

_NEXT_NUMBER = text(
    "INSERT INTO day_numbers (day_id, service_id, last_number) "
    "VALUES (:day, :service, :start) "
    "ON CONFLICT (day_id, service_id) "
    "DO UPDATE SET last_number = day_numbers.last_number + 1 "
    "RETURNING last_number")
_INSERT_TICKET = insert(db.tickets)
_LAST_QUEUE_AT = select(func.max(db.tickets.c.queue_at)).where(
    db.tickets.c.day_id == bindparam("day_id"))


def issue(tx: Tx, actor: Actor, service: Any, priority: Any = None, procedure: Any = None,
          lang: Any = "vi", print_state: str = "none", printer: str | None = None,
          citizen_id: Any = None, dossier: Any = None) -> dict[str, Any]:
    """Issue the next number of a service: one transaction, numbers never repeat in a day.

    `printer` (the center's printer URI) routes the ticket: to the issuing kiosk's own
    printer when it has one, else to the center's; a print job is queued unless the route is
    `none`. Without it, `print_state="queued"` queues a job on the center's printer.
    `citizen_id` (a chip ID card's number) only counts the ticket against the center's
    `citizen_daily_limit` and is never kept; `dossier` is the code of a dossier whose result
    the citizen comes to collect, shown to staff only.
    """
    if citizen_id is not None:
        citizen_id = citizens.check_citizen_id(citizen_id)
    if dossier is not None:
        dossier = citizens.check_dossier(dossier)
    route: tuple[int | None, str | None] = (None, None)
    if printer is not None:
        device_id, uri = printing.route(tx, actor, printer)
        print_state = "none" if uri == printing.NONE else "queued"
        route = (device_id, uri if device_id is not None else None)
    s = _service(tx, service)
    if priority is not None:
        if not isinstance(priority, str) or tx.conn.execute(
            sql.ACTIVE_CATEGORY, {"code": priority}).first() is None:
            raise Invalid("unknown_priority", f"No priority category {priority!r}")
    if procedure is not None:
        _check_procedure(tx, s, procedure, sql.ACTIVE_PROCEDURE)
    if lang not in ("vi", "en"):
        raise Invalid("invalid_lang", "lang must be vi or en")
    served = reading.served_service_ids(tx)
    if s.active and s.id not in served:
        raise Conflict("service_unserved",
                       f"No counter serves {s.name_en} yet: no number can be called for it")
    if not reading.service_is_open(tx, s, served):
        hours = f"{s.opens_at or '00:00'}–{s.closes_at or '24:00'}"
        raise Conflict("service_closed", f"{s.name_en} is not issuing numbers now. Hours: {hours}",
                       opens_at=s.opens_at, closes_at=s.closes_at)
    day = tx.open_day()
    number = tx.conn.execute(
        _NEXT_NUMBER, {"day": day.id, "service": s.id, "start": s.start_number}).scalar_one()
    if s.daily_cap is not None and number - s.start_number + 1 > s.daily_cap:
        raise Conflict("daily_cap_reached", f"No more numbers today for {s.name_en}")
    if citizen_id is not None:
        citizens.count_ticket(tx, s, citizen_id)
    label = f"{s.prefix}{number:03d}"
    # the queues as they stand and their back, in one read; the new ticket is added below
    waiting_by_sid, latest = reading.day_tally(tx, day.id)
    values = dict(
        day_id=day.id, origin_service_id=s.id, service_id=s.id, number=number, label=label,
        token=secrets.token_urlsafe(18), priority=priority, procedure=procedure, lang=lang,
        state="waiting", queue_at=_after(tx, latest), issued_at=tx.now, recalls=0,
        issued_by_device=actor.id if actor.kind == "device" else None,
        issued_by_user=actor.id if actor.kind == "user" else None,
        print_state=print_state, dossier=dossier,
    )
    ticket_id = db.inserted_id(tx.conn.execute(_INSERT_TICKET, values))
    if print_state == "queued":
        printing.new_job(tx, ticket_id, *route)
    # the row as it was written (times as the database gives them back: UTC), not re-read
    t = TicketRow(**{**dict.fromkeys(TicketRow._fields), **values, "id": ticket_id,
                     "queue_at": values["queue_at"].astimezone(UTC),
                     "issued_at": tx.now.astimezone(UTC)})
    waiting_by_sid[s.id] = waiting_by_sid.get(s.id, 0) + 1
    waiting = reading.counts_by_code(tx, waiting_by_sid)
    ahead = None
    if priority is None and parse_policy(tx.center.priority_policy).kind in ("strict", "aging"):
        # a new ticket joins at the back (its queue time is the latest of the day, its id the
        # highest), and under these policies every waiting ticket of its service is then ahead
        # of a normal one: the place is the count, less itself, with no query of its own
        ahead = waiting[s.code] - 1
    view = _emit_ticket(tx, "ticket.issued", t, ahead=ahead, moved=None)  # just issued
    tx.emit("queue.changed", {"waiting": waiting})
    return view


def _queue_end(tx: Tx, day_id: int) -> datetime:
    """The back of the day's queues: now, or just after the latest ticket if the clock went back."""
    return _after(tx, tx.conn.execute(_LAST_QUEUE_AT, {"day_id": day_id}).scalar())


def _after(tx: Tx, latest: datetime | None) -> datetime:
    """Now, or just after `latest` (the day's latest queue time) if the clock went back."""
    if latest is not None and latest > tx.now:
        # a box whose clock was set back must not let new citizens pass those already waiting
        return latest + timedelta(milliseconds=1)
    return tx.now


def _check_procedure(tx: Tx, s: Row[Any], procedure: Any, stmt: Any = sql.PROCEDURE) -> None:
    if not isinstance(procedure, str) or tx.conn.execute(
            stmt, {"service_id": s.id, "code": procedure}).first() is None:
        raise Invalid("unknown_procedure", f"No procedure {procedure!r} in {s.code}")


PRINT_RESULTS = ("queued", "printed", "waiting_printer", "failed")
PRINTER_STATUSES = ("none", "ok", "paper_near_end", "paper_out", "cover_open", "offline")


def print_result(tx: Tx, ticket_id: int, state: str, error: str | None = None,
                 job_id: int | None = None) -> dict[str, Any] | None:
    """Record one print attempt (print_jobs) and emit `ticket.printed` when the state changed.

    `queued` starts a new job on the center's printer; other states close the job `job_id`
    (else the latest). A job already printed or failed stays so (a repeated result changes
    nothing). Returns the ticket view, or None when the ticket's print state did not change.
    """
    if state not in PRINT_RESULTS:
        raise Invalid("invalid_print_state", f"print state must be one of {PRINT_RESULTS}")
    t = _ticket(tx, ticket_id)
    error = error[:500] if error else None
    if job_id is not None:
        job = printing.get_job(tx, job_id)
        if job is None or job.ticket_id != t.id:
            raise NotFound("unknown_job", f"No print job {job_id} for {t.label}")
        if job.state in printing.DONE_STATES:
            return None  # an agent's repeated acknowledgement, or a job a reprint replaced
    else:
        job = printing.latest_job(tx, t.id)
    if state == "queued":
        printing.new_job(tx, t.id, None, None)
    elif job is None or job.state in printing.DONE_STATES:
        tx.conn.execute(insert(db.print_jobs).values(
            ticket_id=t.id, state=state, attempts=1, error=error,
            created_at=tx.now, updated_at=tx.now))
    else:
        tx.conn.execute(update(db.print_jobs).where(db.print_jobs.c.id == job.id).values(
            state=state, attempts=job.attempts + 1, error=error, updated_at=tx.now))
        newest = printing.latest_job(tx, t.id)
        if newest is not None and newest.id != job.id:
            return None  # an older job's result: the ticket follows its newest job
    if t.print_state == state:
        return None
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id).values(print_state=state))
    # any ticket.* event also makes phone pages refresh their public view (print.state)
    return _emit_ticket(tx, "ticket.printed", _reload(tx, db.tickets, t.id),
                        print={"state": state})


def reprint(tx: Tx, actor: Actor, ticket_id: int, printer: str | None = None,
            device_id: int | None = None, center: bool = False) -> dict[str, Any]:
    """Staff ask for a ticket to be printed again (its printer's worker picks it up).

    With `printer` (the center's printer URI) the copy goes where the ticket printed first,
    or, with `device_id`, on that kiosk's printer (the center's when it has none of its own),
    or, with `center`, on the center's printer (the help desk's, usually); a route to no
    printer is 409 `no_printer`.
    """
    if not actor.is_staff:
        raise Forbidden("forbidden", "Only officials reprint tickets")
    t = _ticket(tx, ticket_id)
    _today(tx, t)
    if t.state in ("done", "cancelled", "no_show"):
        raise Conflict("illegal_transition", f"{t.label} is {t.state}: nothing to reprint")
    if center and device_id is not None:
        raise Invalid("invalid_field", "Choose a kiosk's printer or the center's, not both")
    if printer is None and device_id is None:
        if t.print_state != "queued":
            print_result(tx, t.id, "queued")
        return reading.ticket_view(tx, _reload(tx, db.tickets, t.id))
    kiosk: int | None
    uri: str | None
    if center:
        kiosk, uri = printing.route(tx, None, printer)
    elif device_id is None:
        first = tx.conn.execute(select(db.print_jobs).where(
            db.print_jobs.c.ticket_id == t.id).order_by(db.print_jobs.c.id).limit(1)).first()
        kiosk, uri = (None, None) if first is None or first.device_id is None else (
            first.device_id, first.printer)
        if kiosk is not None:
            kiosk, uri = printing.route(tx, None, printer, kiosk) if _active_kiosk(
                tx, kiosk) else (None, None)
        if kiosk is None:
            kiosk, uri = printing.route(tx, None, printer)
    else:
        kiosk, uri = printing.route(tx, None, printer, device_id)
    if uri == printing.NONE:
        raise Conflict("no_printer", "The center has no printer" if center else
                       "That kiosk has no printer, and the center has none")
    printing.new_job(tx, t.id, kiosk, uri if kiosk is not None else None)
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id).values(
        print_state="queued"))
    t = _reload(tx, db.tickets, t.id)
    _emit_ticket(tx, "ticket.printed", t, print={"state": "queued"})
    return reading.ticket_view(tx, t)


def _active_kiosk(tx: Tx, device_id: int) -> bool:
    d = tx.conn.execute(select(db.devices.c.active).where(
        db.devices.c.id == device_id)).first()
    return d is not None and bool(d.active)


def printer_changed(tx: Tx, status: str, previous: str | None = None,
                    error: str | None = None, waiting: int = 0,
                    device: int | None = None) -> None:
    """Tell the board, counters and supervisors that a printer's status changed; `device`
    names the kiosk whose printer it is (null: the center's printer)."""
    if status not in PRINTER_STATUSES:
        raise Invalid("invalid_printer_status", f"printer status must be one of {PRINTER_STATUSES}")
    name = None
    if device is not None:
        d = tx.conn.execute(select(db.devices.c.name).where(db.devices.c.id == device)).first()
        name = d.name if d is not None else None
    tx.emit("printer.changed", {
        "printer": status, "previous": previous,
        "alert": status in ("paper_out", "cover_open", "offline"),
        "error": error[:200] if error else None, "waiting": waiting,
        "device": {"id": device, "name": name} if device is not None else None})


# -- counter state ---------------------------------------------------------------------------

def open_counter(tx: Tx, actor: Actor, number: int) -> dict[str, Any]:
    """Open (or resume) a counter; the officer who opens it owns it until it closes."""
    tx.open_day()
    c = _counter(tx, number)
    _may_act(actor, c)
    if not c.active:
        raise Conflict("counter_retired", f"Counter {number} is retired")
    if c.state in ("open", "calling", "serving"):
        return reading.counter_view(tx, c)
    values: dict[str, Any] = {"state": "open", "pause_reason": None, "changed_at": tx.now}
    if c.state == "closed":
        values["officer_id"] = actor.id
        values["normal_streak"] = 0
    tx.conn.execute(update(db.counters).where(db.counters.c.id == c.id).values(**values))
    c = _reload(tx, db.counters, c.id)
    _emit_counter(tx, c)
    return reading.counter_view(tx, c)


def pause_counter(tx: Tx, actor: Actor, number: int, reason: Any) -> dict[str, Any]:
    """Pause an idle counter with a reason shown to the room."""
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("invalid_reason", "A pause needs a reason")
    reason = clean_text(reason, "reason", MAX_PAUSE_REASON, code="invalid_reason")
    c = _counter(tx, number)
    _may_act(actor, c)
    if c.state == "closed":
        raise Conflict("counter_closed", f"Counter {number} is closed")
    if c.state in ("calling", "serving"):
        raise Conflict("counter_busy", f"Counter {number} has a citizen: finish first")
    if c.state == "paused" and c.pause_reason == reason:
        return reading.counter_view(tx, c)
    tx.conn.execute(update(db.counters).where(db.counters.c.id == c.id)
                    .values(state="paused", pause_reason=reason, changed_at=tx.now))
    c = _reload(tx, db.counters, c.id)
    _emit_counter(tx, c)
    return reading.counter_view(tx, c)


def close_counter(tx: Tx, actor: Actor, number: int) -> dict[str, Any]:
    """Close an idle or paused counter."""
    c = _counter(tx, number)
    _may_act(actor, c)
    if c.state in ("calling", "serving"):
        raise Conflict("counter_busy", f"Counter {number} has a citizen: finish first")
    if c.state == "closed":
        return reading.counter_view(tx, c)
    tx.conn.execute(update(db.counters).where(db.counters.c.id == c.id).values(
        state="closed", pause_reason=None, officer_id=None, changed_at=tx.now))
    c = _reload(tx, db.counters, c.id)
    _emit_counter(tx, c)
    return reading.counter_view(tx, c)


def _ready_to_call(tx: Tx, actor: Actor, number: int) -> Row[Any]:
    c = _counter(tx, number)
    _may_act(actor, c)
    if c.state == "closed":
        raise Conflict("counter_closed", f"Counter {number} is closed: open it first")
    if c.state == "paused":
        raise Conflict("counter_paused", f"Counter {number} is paused: resume first")
    if c.state in ("calling", "serving"):
        raise Conflict("counter_busy",
                       f"Counter {number} already has a citizen: finish, transfer or mark absent")
    return c


def _call(tx: Tx, actor: Actor, c: Row[Any], t: Row[Any],
          services: list[Row[Any]] | None = None) -> dict[str, Any]:
    streak = 0 if t.priority is not None else c.normal_streak + 1
    ticket_values = dict(state="called", called_at=tx.now, counter_id=c.id,
                         officer_id=actor.id, recalls=0)
    counter_values = dict(state="calling", current_ticket_id=t.id, normal_streak=streak,
                          changed_at=tx.now)
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id).values(**ticket_values))
    tx.conn.execute(update(db.counters).where(db.counters.c.id == c.id).values(**counter_values))
    t = _written(TicketRow, t, **ticket_values)
    c = _written(CounterRow, c, **counter_values)
    view = _emit_ticket(tx, "ticket.called", t, counter=c, recall=False, recalls=0,
                            **_speech(tx, t, c))
    _emit_counter(tx, c, current=t, services=services)
    _emit_queue(tx)
    return view


def call_next(tx: Tx, actor: Actor, number: int) -> dict[str, Any] | None:
    """Call the next eligible ticket for a counter, or None when nobody waits for it."""
    c = _ready_to_call(tx, actor, number)
    services = reading.counter_services(tx, c.id)
    sids = [s.id for s in services]
    policy = parse_policy(tx.center.priority_policy)
    chosen = pick_next(reading.waiting_candidates(tx, sids), policy, c.normal_streak,
                       sids if c.mode == "ordered" else None)
    if chosen is None:
        return None
    return _call(tx, actor, c, _reload(tx, db.tickets, chosen.id), services)


def find_ticket(tx: Tx, ref: Any) -> Row[Any]:
    """A ticket by id (a whole number) or by today's label (text such as 'A023')."""
    if isinstance(ref, bool) or not isinstance(ref, (int, str)) or ref == "":
        raise Invalid("invalid_ticket", "ticket must be an id or a label")
    if isinstance(ref, int):
        return _ticket(tx, ref)
    day = tx.shown_day()
    t = None
    if day is not None:
        t = tx.conn.execute(select(db.tickets).where(
            db.tickets.c.day_id == day.id, db.tickets.c.label == ref.strip().upper())).first()
    if t is None:
        raise NotFound("unknown_ticket", f"No ticket {ref!r} today")
    return t


def call_ticket(tx: Tx, actor: Actor, number: int, ref: Any) -> dict[str, Any]:
    """Call one chosen waiting ticket of this counter's services."""
    c = _ready_to_call(tx, actor, number)
    t = find_ticket(tx, ref)
    _today(tx, t)
    if t.state != "waiting":
        raise Conflict("ticket_not_waiting", f"{t.label} is {t.state}, not waiting")
    services = reading.counter_services(tx, c.id)
    if t.service_id not in {s.id for s in services}:
        raise Conflict("not_served_here", f"Counter {number} does not serve {t.label}'s service")
    return _call(tx, actor, c, t, services)


def _today(tx: Tx, t: Row[Any]) -> None:
    day = tx.shown_day()
    if day is None or t.day_id != day.id:
        raise Conflict("ticket_expired", f"{t.label} belongs to an earlier day")


def _current(tx: Tx, actor: Actor, number: int, states: tuple[str, ...]) -> tuple[Row, Row]:
    c = _counter(tx, number)
    _may_act(actor, c)
    if c.current_ticket_id is None:
        raise Conflict("no_current_ticket", f"Counter {number} has no citizen now")
    t = _reload(tx, db.tickets, c.current_ticket_id)
    if t.state not in states:
        raise Conflict("illegal_transition",
                       f"{t.label} is {t.state}; this needs {' or '.join(states)}")
    return c, t


def recall(tx: Tx, actor: Actor, number: int) -> dict[str, Any]:
    """Announce the current called ticket again, up to the center's recall limit."""
    c, t = _current(tx, actor, number, ("called",))
    limit = tx.center.recall_limit
    if t.recalls >= limit:
        raise Conflict("recall_limit",
                       f"{t.label} was recalled {t.recalls} times (limit {limit}): mark absent")
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id)
                    .values(recalls=t.recalls + 1))
    t = _reload(tx, db.tickets, t.id)
    return _emit_ticket(tx, "ticket.called", t, counter=c, recall=True, recalls=t.recalls,
                        **_speech(tx, t, c))


def start(tx: Tx, actor: Actor, number: int) -> dict[str, Any]:
    """The citizen arrived: start serving the called ticket."""
    c, t = _current(tx, actor, number, ("called",))
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id)
                    .values(state="serving", started_at=tx.now))
    tx.conn.execute(update(db.counters).where(db.counters.c.id == c.id)
                    .values(state="serving", changed_at=tx.now))
    t = _written(TicketRow, t, state="serving", started_at=tx.now)
    c = _written(CounterRow, c, state="serving", changed_at=tx.now)
    view = _emit_ticket(tx, "ticket.started", t, counter=c)
    _emit_counter(tx, c, current=t)
    return view


def no_show(tx: Tx, actor: Actor, number: int) -> dict[str, Any]:
    """The called citizen did not come: mark absent and free the counter."""
    c, t = _current(tx, actor, number, ("called",))
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id)
                    .values(state="no_show", finished_at=tx.now))
    _mark(tx, t, "no_show")
    c = _free(tx, c)
    view = _emit_ticket(tx, "ticket.no_show",
                            _written(TicketRow, t, state="no_show", finished_at=tx.now),
                            counter=c)
    _emit_counter(tx, c)
    return view


def _mark(tx: Tx, t: Any, kind: str) -> None:
    """Keep what the ticket row will forget: an absence, or the service a transfer left."""
    tx.conn.execute(insert(db.ticket_marks).values(
        ticket_id=t.id, day_id=t.day_id, kind=kind, service_id=t.service_id,
        counter_id=t.counter_id, officer_id=t.officer_id, at=tx.now))


def _free(tx: Tx, c: Row[Any]) -> Any:
    """Free the counter; its row as it now stands."""
    values = dict(state="open", current_ticket_id=None, changed_at=tx.now)
    tx.conn.execute(update(db.counters).where(db.counters.c.id == c.id).values(**values))
    return _written(CounterRow, c, **values)


def complete(tx: Tx, actor: Actor, number: int, outcome: Any,
             procedure: Any = None, dossier: Any = None) -> dict[str, Any]:
    """Finish serving with an outcome (and the procedure handled, and the dossier's code)."""
    if outcome not in OUTCOMES:
        raise Invalid("invalid_outcome", f"outcome must be one of {', '.join(OUTCOMES)}")
    if dossier is not None:
        dossier = citizens.check_dossier(dossier)
    c, t = _current(tx, actor, number, ("serving",))
    values: dict[str, Any] = {"state": "done", "outcome": outcome, "finished_at": tx.now}
    if dossier is not None:
        values["dossier"] = dossier
    if procedure is not None:
        _check_procedure(tx, _reload(tx, db.services, t.service_id), procedure)
        values["procedure"] = procedure
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id).values(**values))
    c = _free(tx, c)
    view = _emit_ticket(tx, "ticket.completed", _written(TicketRow, t, **values),
                            counter=c, outcome=outcome,
                            officer=reading.officer_brief(tx, t.officer_id))
    _emit_counter(tx, c)
    return view


def transfer(tx: Tx, actor: Actor, number: int, service: Any, position: Any) -> dict[str, Any]:
    """Move the current ticket to another service's queue, at its front or back."""
    if position not in ("front", "back"):
        raise Invalid("invalid_position", "position must be front or back")
    target = _service(tx, service)
    c, t = _current(tx, actor, number, ("called", "serving"))
    if target.id == t.service_id:  # it would count as a transfer and move nobody
        raise Conflict("same_service", f"{t.label} is already in {target.name_en}")
    if target.id not in reading.served_service_ids(tx):
        raise Conflict("service_unserved",
                       f"No counter serves {target.name_en}: the citizen could not be called there")
    queue_at = _queue_end(tx, t.day_id)
    if position == "front":
        first = tx.conn.execute(select(func.min(db.tickets.c.queue_at)).where(
            db.tickets.c.day_id == t.day_id, db.tickets.c.state == "waiting",
            db.tickets.c.service_id == target.id)).scalar()
        if first is not None and first <= queue_at:
            queue_at = first - timedelta(microseconds=1000)
    from_service = _reload(tx, db.services, t.service_id)
    _mark(tx, t, "transfer")
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id).values(
        state="waiting", service_id=target.id, queue_at=queue_at, counter_id=None,
        called_at=None, started_at=None, recalls=0))
    freed = _free(tx, c)
    view = _emit_ticket(tx, "ticket.transferred", _reload(tx, db.tickets, t.id),
                        moved={"from": reading.service_brief(from_service)},
                        from_service=reading.service_brief(from_service),
                        to_service=reading.service_brief(target), position=position,
                        from_counter=reading.counter_brief(c))
    _emit_counter(tx, freed)
    _emit_queue(tx)
    return view


def release(tx: Tx, actor: Actor, number: int) -> dict[str, Any]:
    """The official leaves the counter (logs out): a citizen called or being served there goes
    back to the front of their service's queue, waiting again, and the counter closes.

    Answers the released ticket, or the closed counter when it held nobody."""
    c = _counter(tx, number)
    _may_act(actor, c)
    if c.current_ticket_id is None:
        return close_counter(tx, actor, number)
    c, t = _current(tx, actor, number, ("called", "serving"))
    first = tx.conn.execute(select(func.min(db.tickets.c.queue_at)).where(
        db.tickets.c.day_id == t.day_id, db.tickets.c.state == "waiting",
        db.tickets.c.service_id == t.service_id)).scalar()
    queue_at = t.queue_at
    if first is not None and first <= queue_at:
        queue_at = first - timedelta(microseconds=1000)
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id).values(
        state="waiting", queue_at=queue_at, counter_id=None, officer_id=None, called_at=None,
        started_at=None, recalls=0))
    values = dict(state="closed", current_ticket_id=None, pause_reason=None, officer_id=None,
                  changed_at=tx.now)
    tx.conn.execute(update(db.counters).where(db.counters.c.id == c.id).values(**values))
    closed = _written(CounterRow, c, **values)
    view = _emit_ticket(tx, "ticket.released", _reload(tx, db.tickets, t.id),
                        from_counter=reading.counter_brief(c))
    _emit_counter(tx, closed)
    _emit_queue(tx)
    return view


def release_held_by(tx: Tx, officer_id: int) -> list[int]:
    """Every counter an official holds is left as their logging out would leave it: its
    citizen back to the front of the queue, the counter closed. For an account deactivated
    while at work (nobody is left "called" at a counter nobody can work at). Answers the
    counters' numbers."""
    held = tx.conn.execute(select(db.counters.c.number).where(
        db.counters.c.officer_id == officer_id, db.counters.c.state != "closed")
        .order_by(db.counters.c.number)).scalars().all()
    # the official's own leave: their role decides nothing here, the counter is theirs
    leaving = Actor(kind="user", id=officer_id, role="officer")
    for number in held:
        release(tx, leaving, number)
    return list(held)


def _staff_ticket(tx: Tx, actor: Actor, ticket_id: int, state: str, doing: str,
                  state_word: str) -> Row[Any]:
    """The guard of the ticket actions staff take outside a counter (reactivate, cancel,
    priority): officials only, today's ticket, in the one state the action starts from."""
    if not actor.is_staff:
        raise Forbidden("forbidden", f"Only officials {doing}")
    t = _ticket(tx, ticket_id)
    _today(tx, t)
    if t.state != state:
        raise Conflict("illegal_transition", f"{t.label} is {t.state}, not {state_word}")
    return t


def reactivate(tx: Tx, actor: Actor, ticket_id: int) -> dict[str, Any]:
    """An absent citizen came back: the ticket waits again with its number and place."""
    t = _staff_ticket(tx, actor, ticket_id, "no_show", "reactivate tickets", "absent")
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id).values(
        state="waiting", counter_id=None, called_at=None, finished_at=None, recalls=0))
    view = _emit_ticket(tx, "ticket.reactivated", _reload(tx, db.tickets, t.id))
    _emit_queue(tx)
    return view


def cancel(tx: Tx, actor: Actor, ticket_id: int) -> dict[str, Any]:
    """Cancel a waiting ticket."""
    t = _staff_ticket(tx, actor, ticket_id, "waiting", "cancel tickets", "waiting")
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id)
                    .values(state="cancelled", finished_at=tx.now))
    view = _emit_ticket(tx, "ticket.cancelled", _reload(tx, db.tickets, t.id))
    _emit_queue(tx)
    return view


def set_priority(tx: Tx, actor: Actor, ticket_id: int, priority: Any) -> dict[str, Any]:
    """Staff correct the priority category a citizen declared (None clears it)."""
    t = _staff_ticket(tx, actor, ticket_id, "waiting", "change priority", "waiting")
    if priority is not None and (not isinstance(priority, str) or tx.conn.execute(
            select(db.priority_categories.c.id).where(
                db.priority_categories.c.code == priority,
                db.priority_categories.c.active.is_(True))).first() is None):
        raise Invalid("unknown_priority", f"No priority category {priority!r}")
    tx.conn.execute(update(db.tickets).where(db.tickets.c.id == t.id).values(priority=priority))
    view = _emit_ticket(tx, "ticket.updated", _reload(tx, db.tickets, t.id))
    _emit_queue(tx)
    return view


# -- ratings ---------------------------------------------------------------------------------

#: how long after a visit ends its citizen may still rate it at the counter's tablet
RATING_WINDOW_MINUTES = 10


def _rating_open(tx: Tx, t: Row[Any]) -> None:
    """Only the visit just finished at its counter, for RATING_WINDOW_MINUTES, may be rated:
    a tablet (or whoever holds its token) cannot rate the day's earlier visits."""
    if t.finished_at is None or tx.now - t.finished_at > timedelta(
            minutes=RATING_WINDOW_MINUTES):
        raise Conflict("rating_closed", f"The visit of {t.label} ended too long ago to be rated")
    if t.counter_id is not None and tx.conn.execute(select(db.tickets.c.id).where(
            db.tickets.c.counter_id == t.counter_id, db.tickets.c.id != t.id,
            (db.tickets.c.started_at > t.finished_at) | (
                (db.tickets.c.started_at == t.finished_at) & (db.tickets.c.id > t.id))
    )).first():
        raise Conflict("rating_closed",
                       f"The counter has served another citizen since {t.label}")


#: the scores the three-level tablet sends: very satisfied, satisfied, unsatisfied
THREE_LEVEL_SCORES = (5, 4, 1)


def rate(tx: Tx, actor: Actor, ticket_id: Any, score: Any, reason: Any = None,
         comment: Any = None) -> dict[str, Any]:
    """The citizen's 1–5 rating of a completed visit, once, tied to the ticket and officer."""
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
        raise Invalid("invalid_ticket", "ticket must be a ticket id")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise Invalid("invalid_score", "score must be a whole number from 1 to 5")
    if tx.center.rating_scale == "three" and score not in THREE_LEVEL_SCORES:
        # the three official levels are stored as 5, 4, 1: a 2 or a 3 would be counted in a
        # level the citizen never saw
        raise Invalid("invalid_score", "this center rates in three levels, sent as 5, 4 or 1")
    if reason is not None and reason not in RATING_REASONS:
        raise Invalid("invalid_reason", f"reason must be one of {', '.join(RATING_REASONS)}")
    if comment is not None:
        if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
            raise Invalid("invalid_comment", f"comment is text of at most {MAX_COMMENT} chars")
        comment = clean_text(comment, "comment", MAX_COMMENT, multiline=True,
                             code="invalid_comment") or None
    t = _ticket(tx, ticket_id)
    if t.state != "done":
        raise Conflict("not_completed", f"{t.label} has not been completed")
    if actor.kind == "device" and actor.counter_id is not None and actor.counter_id != t.counter_id:
        raise Forbidden("other_counter", f"{t.label} was served at another counter")
    if tx.conn.execute(select(db.ratings.c.id).where(db.ratings.c.ticket_id == t.id)).first():
        raise Conflict("already_rated", f"{t.label} has been rated already")
    _rating_open(tx, t)
    tx.conn.execute(insert(db.ratings).values(
        ticket_id=t.id, counter_id=t.counter_id, officer_id=t.officer_id,
        device_id=actor.id if actor.kind == "device" else None, score=score,
        reason=reason if score <= 3 else None, comment=comment, at=tx.now))
    counter = _reload(tx, db.counters, t.counter_id) if t.counter_id else None
    rating = {"ticket": reading.ticket_brief(tx, t), "counter": reading.counter_brief(counter),
              "score": score, "reason": reason if score <= 3 else None}
    tx.emit("rating.recorded", rating)
    return rating
