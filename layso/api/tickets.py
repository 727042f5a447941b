"""Tickets: issuing, the citizen's public view, the queue, and the actions on one ticket."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from layso import auth, identity
from layso.api.bodies import body, field, only, query_text
from layso.api.errors import ApiError
from layso.api.idempotency import act, stored_answer
from layso.identity import STAFF, require
from layso.queue import Actor, Invalid, Tx, ops, reading

bp = Blueprint("tickets", __name__)


@bp.post("/tickets")
def issue_ticket() -> Any:
    """Issue a ticket (kiosk device or staff on a citizen's behalf)."""
    actor = identity.demand("kiosk", *STAFF)
    data = body()
    only(data, "service", "priority", "procedure", "lang", "citizen_id", "dossier")
    service = field(data, "service", str, required=True)
    priority = field(data, "priority", str)
    procedure = field(data, "procedure", str)
    lang = field(data, "lang", str, default="vi")
    # the ID card's number: checked and counted in the domain, never kept (layso.queue.citizens)
    citizen_id = field(data, "citizen_id", str)
    dossier = field(data, "dossier", str)
    if actor.kind == "device":
        limiter: auth.Limiter = current_app.extensions["layso_issue_limiter"]
        if not limiter.allow(actor.key):
            # a retry of a ticket already issued still gets its ticket, not a refusal
            first = stored_answer(actor)
            if first is not None:
                return first
            raise ApiError(429, "rate_limited", "Too many tickets from this kiosk; wait a minute")
    printer = str(current_app.config.get("PRINTER") or "none")
    return act(lambda tx: ops.issue(tx, actor, service, priority, procedure, lang,
                                    printer=printer, citizen_id=citizen_id,
                                    dossier=dossier), status=201)


@bp.get("/tickets/<token>")
def public_ticket(token: str) -> Any:
    """The citizen's view of their ticket, by its unguessable token."""
    if not identity.TOKEN_RE.match(token):
        raise ApiError(404, "unknown_ticket", "No such ticket")
    with identity.center().read() as r:
        t = reading.ticket_by_token(r, token)
        if t is None:
            raise ApiError(404, "unknown_ticket", "No such ticket")
        return jsonify(reading.ticket_view(r, t, public=True))


@bp.get("/queue")
@require(*STAFF)
def queue() -> Any:
    """Waiting tickets in call order (`service=` one queue, `counter=` a counter's)."""
    service = query_text("service")
    counter = query_text("counter")
    number = None
    if counter is not None:
        # ASCII digits only: "²".isdigit() is true but int() refuses it
        if not (counter.isascii() and counter.isdigit()) or len(counter) > 9:
            raise Invalid("invalid_field", "counter must be a counter number")
        number = int(counter)
    with identity.center().read() as r:
        return jsonify(items=reading.queue_for(r, service, number))


def ticket_action(fn: Any, *fields_: tuple[str, Any, bool]) -> Any:
    """Read the named body fields, then run `fn(tx, actor, *values)` as one action."""
    data = body()
    only(data, *(f[0] for f in fields_))
    args = [field(data, name, kind, required=req) for name, kind, req in fields_]
    actor: Actor | None = identity.actor()

    def run(tx: Tx) -> Any:
        return fn(tx, actor, *args)

    return act(run)


@bp.post("/tickets/<int:ticket_id>/reactivate")
@require(*STAFF)
def ticket_reactivate(ticket_id: int) -> Any:
    """An absent citizen is back: waiting again."""
    return ticket_action(lambda tx, a: ops.reactivate(tx, a, ticket_id))


@bp.post("/tickets/<int:ticket_id>/cancel")
@require(*STAFF)
def ticket_cancel(ticket_id: int) -> Any:
    """Cancel a waiting ticket."""
    return ticket_action(lambda tx, a: ops.cancel(tx, a, ticket_id))


@bp.post("/tickets/<int:ticket_id>/priority")
@require(*STAFF)
def ticket_priority(ticket_id: int) -> Any:
    """Correct the priority category of a waiting ticket (null clears it)."""
    return ticket_action(lambda tx, a, p: ops.set_priority(tx, a, ticket_id, p),
                         ("priority", str, False))


@bp.post("/tickets/<int:ticket_id>/reprint")
@require(*STAFF)
def ticket_reprint(ticket_id: int) -> Any:
    """Print a ticket again, where it printed first, on the printer of kiosk `device`, or
    with `center: true` on the center's (the reception desk reprints on any printer); 409
    `no_printer` when that route has none."""
    printer = str(current_app.config.get("PRINTER") or "none")
    return ticket_action(
        lambda tx, a, device, center: ops.reprint(tx, a, ticket_id, printer, device,
                                                  bool(center)),
        ("device", int, False), ("center", bool, False))


@bp.post("/ratings")
def ratings() -> Any:
    """The citizen's rating of a completed ticket (feedback device)."""
    actor = identity.demand("feedback")
    data = body()
    only(data, "ticket", "score", "reason", "comment")
    ticket = field(data, "ticket", int, required=True)
    score = field(data, "score", int, required=True)
    reason = field(data, "reason", str)
    comment = field(data, "comment", str)
    return act(lambda tx: ops.rate(tx, actor, ticket, score, reason, comment), status=201)
