"""Where each ticket prints, the print jobs kept for it, and what a print agent may do with them.

A kiosk may have its own printer (`devices.printer`); a kiosk without one, and staff issuing
on a citizen's behalf, use the center's printer (`LAYSO_PRINTER`). Each print job records its
route when it is made (the kiosk, and the printer URI), so a printer worker, or the kiosk's
print agent for `agent://`, finds its own jobs, in order, after any restart.

Job states: `queued` (not yet tried), `waiting_printer` (the printer could not take it; it
is tried again), `printed`, `failed` (not retryable, replaced by a later job of the same
ticket, or waited longer than `MAX_WAIT_SECONDS`: the citizen has gone).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Row

from layso import db
from layso.queue.errors import Invalid, NotFound
from layso.queue.unit import Actor, Reader, Tx
from printer_drivers.uri import parse_printer_uri

AGENT = "agent://"
NONE = "none"
OPEN_STATES = ("queued", "waiting_printer")
DONE_STATES = ("printed", "failed")
#: a job not printed this long after it was made is not printed any more: the citizen saw the
#: ticket on the kiosk's screen and has gone; a late ticket would be taken by the next one
MAX_WAIT_SECONDS = 600
EXPIRED = "expired"
#: printer statuses from the worst to the best (the health's `printer` is the worst)
SEVERITY = ("offline", "cover_open", "paper_out", "paper_near_end", "ok", "none")

_J = db.print_jobs.c


def check_printer(value: str) -> str:
    """A kiosk's printer URI as stored (422 `invalid_printer` with the reason if invalid)."""
    try:
        return parse_printer_uri(value).raw
    except ValueError as exc:
        raise Invalid("invalid_printer", str(exc), field="printer") from None


def worst(states: list[str]) -> str:
    """The worst of some printer statuses (`none` when there are none)."""
    ranked = [s for s in SEVERITY if s in states]
    return ranked[0] if ranked else NONE


def route(r: Reader, actor: Actor | None, center_printer: str | None,
          device_id: int | None = None) -> tuple[int | None, str]:
    """`(device id, printer URI)` a ticket prints on: the kiosk's own printer, else the
    center's; `device_id` names a kiosk explicitly (a reprint on that kiosk's printer)."""
    center_uri = (center_printer or NONE).strip() or NONE
    if center_uri == AGENT:
        center_uri = NONE  # the center's printer is on the server; agents belong to kiosks
    kiosk = device_id
    if kiosk is None and actor is not None and actor.kind == "device" and actor.role == "kiosk":
        kiosk = actor.id
    if kiosk is None:
        return None, center_uri
    d = r.conn.execute(select(db.devices.c.id, db.devices.c.kind, db.devices.c.active,
                              db.devices.c.printer).where(db.devices.c.id == kiosk)).first()
    if device_id is not None and (d is None or d.kind != "kiosk" or not d.active):
        raise NotFound("unknown_device", f"No active kiosk {device_id}")
    if d is None or not d.printer:
        return None, center_uri
    return int(d.id), str(d.printer)


def new_job(tx: Tx, ticket_id: int, device_id: int | None, printer: str | None) -> int:
    """A queued job for a ticket on a route; earlier open jobs of the ticket are closed (the
    newest one prints, on one printer only)."""
    tx.conn.execute(update(db.print_jobs).where(
        _J.ticket_id == ticket_id, _J.state.in_(OPEN_STATES)).values(
        state="failed", error="replaced by a reprint", updated_at=tx.now))
    return db.inserted_id(tx.conn.execute(db.print_jobs.insert().values(
        ticket_id=ticket_id, state="queued", attempts=0, device_id=device_id, printer=printer,
        created_at=tx.now, updated_at=tx.now)))


def latest_job(r: Reader, ticket_id: int) -> Row[Any] | None:
    """A ticket's newest print job."""
    return r.conn.execute(select(db.print_jobs).where(_J.ticket_id == ticket_id)
                          .order_by(_J.id.desc()).limit(1)).first()


def get_job(r: Reader, job_id: int) -> Row[Any] | None:
    """One print job by id."""
    return r.conn.execute(select(db.print_jobs).where(_J.id == job_id)).first()


def open_jobs(r: Reader, routes: Sequence[str | None], device_id: int | None = None
              ) -> list[Row[Any]]:
    """Today's jobs still to print, oldest first, of the printer URIs `routes` (`None` is a
    job made before its route was recorded, which the center's printer takes) and, for an
    agent, of its kiosk only. A job of another printer is never among them: one ticket, one
    printer."""
    day = r.shown_day()
    if day is None:
        return []
    uris = [u for u in routes if u is not None]
    route = or_(_J.printer.in_(uris), _J.printer.is_(None)) if None in routes else (
        _J.printer.in_(uris))
    stmt = (select(db.print_jobs).join(db.tickets, db.tickets.c.id == _J.ticket_id)
            .where(db.tickets.c.day_id == day.id, _J.state.in_(OPEN_STATES), route))
    if device_id is not None:
        stmt = stmt.where(_J.device_id == device_id)
    return list(r.conn.execute(stmt.order_by(_J.id)).all())


def waited(job: Row[Any], now: datetime) -> float:
    """Seconds since the job was made."""
    return max(0.0, (now - job.created_at).total_seconds())


def expires_in(job: Row[Any], now: datetime) -> float:
    """Seconds left before the job is too late to print (≤ 0: too late)."""
    return MAX_WAIT_SECONDS - waited(job, now)


def too_late(job: Row[Any], now: datetime) -> bool:
    """Whether the job waited longer than MAX_WAIT_SECONDS."""
    return expires_in(job, now) <= 0


def expired_error(job: Row[Any], now: datetime) -> str:
    """The error recorded on a job that was not printed because it came too late."""
    return f"{EXPIRED}: not printed after {round(waited(job, now))} s (limit {MAX_WAIT_SECONDS} s)"


def agent_job(r: Reader, job_id: int, device_id: int) -> Row[Any]:
    """A job of this kiosk's agent, else NotFound (an agent acknowledges only its own)."""
    job = get_job(r, job_id)
    if job is None or job.device_id != device_id or job.printer != AGENT:
        raise NotFound("unknown_job", f"No print job {job_id} for this kiosk")
    return job


def check_ack_state(state: Any) -> str:
    """An agent reports `printed`, `waiting_printer` or `failed` for a job."""
    if state not in ("printed", "waiting_printer", "failed"):
        raise Invalid("invalid_print_state", "state must be printed, waiting_printer or failed")
    return str(state)


def age_cutoff(now: datetime) -> datetime:
    """Jobs made before this are too late to print."""
    return now - timedelta(seconds=MAX_WAIT_SECONDS)
