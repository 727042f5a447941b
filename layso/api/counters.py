"""Counters: their state, the official's actions on the current citizen, their figures."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from layso import db, identity
from layso.api.bodies import body
from layso.api.errors import ApiError
from layso.api.idempotency import act
from layso.api.tickets import ticket_action
from layso.identity import ADMINS, STAFF, SUPERVISORS, require
from layso.queue import admin, ops, reading, stats

bp = Blueprint("counters", __name__)


@bp.get("/counters")
@require(*STAFF)
def counters() -> Any:
    """Every counter in service with its state and current ticket; `?all=1` the retired ones
    too, each with `active` (supervisor+)."""
    if request.args.get("all") in ("1", "true"):
        identity.demand(*SUPERVISORS)
        with identity.center().read() as r:
            return jsonify(items=admin.list_counters_admin(r))
    with identity.center().read() as r:
        rows = r.conn.execute(select(db.counters).where(db.counters.c.active.is_(True))
                              .order_by(db.counters.c.number)).all()
        return jsonify(items=[reading.counter_view(r, c) for c in rows])


@bp.post("/counters")
def create_counter() -> Any:
    """Add a counter `{number, name?, services, mode}`."""
    actor = identity.demand(*ADMINS)
    data = body()
    return act(lambda tx: admin.create_counter(tx, actor, data), status=201)


@bp.patch("/counters/<int:n>")
def patch_counter(n: int) -> Any:
    """Change a counter; `active: false` retires it (only when closed)."""
    actor = identity.demand(*ADMINS)
    data = body()
    return act(lambda tx: admin.update_counter(tx, actor, n, data))


@bp.get("/counters/<int:n>")
@require(*STAFF)
def counter(n: int) -> Any:
    """One counter."""
    with identity.center().read() as r:
        c = r.conn.execute(select(db.counters).where(db.counters.c.number == n)).first()
        if c is None:
            raise ApiError(404, "unknown_counter", f"No counter number {n}")
        return jsonify(reading.counter_view(r, c))


@bp.get("/counters/<int:n>/absent")
@require(*STAFF)
def counter_absent(n: int) -> Any:
    """Today's absent tickets of a counter's services, latest first (to reactivate)."""
    with identity.center().read() as r:
        items = stats.absent_for_counter(r, n)
        if items is None:
            raise ApiError(404, "unknown_counter", f"No counter number {n}")
        return jsonify(items=items)


@bp.get("/me/stats")
def my_stats() -> Any:
    """The logged-in official's figures for today, the counters they hold, the recall limit."""
    actor = identity.demand(*STAFF)
    with identity.center().read() as r:
        return jsonify(stats.officer_today(r, actor.user_id))


@bp.post("/counters/<int:n>/open")
@require(*STAFF)
def counter_open(n: int) -> Any:
    """Open or resume a counter."""
    return ticket_action(lambda tx, a: ops.open_counter(tx, a, n))


@bp.post("/counters/<int:n>/pause")
@require(*STAFF)
def counter_pause(n: int) -> Any:
    """Pause a counter with a reason."""
    return ticket_action(lambda tx, a, reason: ops.pause_counter(tx, a, n, reason),
                         ("reason", str, True))


@bp.post("/counters/<int:n>/close")
@require(*STAFF)
def counter_close(n: int) -> Any:
    """Close a counter."""
    return ticket_action(lambda tx, a: ops.close_counter(tx, a, n))


@bp.post("/counters/<int:n>/release")
@require(*STAFF)
def counter_release(n: int) -> Any:
    """The official leaves: the current citizen goes back to the front of the queue and the
    counter closes (the ticket released, or the counter when it held nobody)."""
    return ticket_action(lambda tx, a: ops.release(tx, a, n))


@bp.post("/counters/<int:n>/call-next")
@require(*STAFF)
def counter_call_next(n: int) -> Any:
    """Call the next ticket: 200 with it, or 204 when nothing waits."""
    return ticket_action(lambda tx, a: ops.call_next(tx, a, n))


@bp.post("/counters/<int:n>/call")
@require(*STAFF)
def counter_call(n: int) -> Any:
    """Call a chosen waiting ticket (id or label)."""
    return ticket_action(lambda tx, a, t: ops.call_ticket(tx, a, n, t),
                         ("ticket", (int, str), True))


@bp.post("/counters/<int:n>/recall")
@require(*STAFF)
def counter_recall(n: int) -> Any:
    """Announce the current ticket again."""
    return ticket_action(lambda tx, a: ops.recall(tx, a, n))


@bp.post("/counters/<int:n>/start")
@require(*STAFF)
def counter_start(n: int) -> Any:
    """Start serving the called citizen."""
    return ticket_action(lambda tx, a: ops.start(tx, a, n))


@bp.post("/counters/<int:n>/no-show")
@require(*STAFF)
def counter_no_show(n: int) -> Any:
    """Mark the called citizen absent."""
    return ticket_action(lambda tx, a: ops.no_show(tx, a, n))


@bp.post("/counters/<int:n>/complete")
@require(*STAFF)
def counter_complete(n: int) -> Any:
    """Finish the current ticket with an outcome (and the procedure, and the dossier code)."""
    return ticket_action(lambda tx, a, o, p, d: ops.complete(tx, a, n, o, p, d),
                         ("outcome", str, True), ("procedure", str, False),
                         ("dossier", str, False))


@bp.post("/counters/<int:n>/transfer")
@require(*STAFF)
def counter_transfer(n: int) -> Any:
    """Move the current ticket to another service, front or back."""
    return ticket_action(lambda tx, a, s, p: ops.transfer(tx, a, n, s, p),
                         ("service", str, True), ("position", str, True))
