"""Reports for the center's leaders."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from layso import identity
from layso.identity import SUPERVISORS, require
from layso.queue import Invalid, alerts, reports

bp = Blueprint("reports", __name__)


@bp.get("/reports/day")
@require(*SUPERVISORS)
def report_day() -> Any:
    """How a day went (`?day=YYYY-MM-DD`, default today): services, counters, officials."""
    text = request.args.get("day")
    day = None
    if text:
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise Invalid("invalid_day", "day must be YYYY-MM-DD") from exc
    with identity.center().read() as r:
        return jsonify(reports.day_report(r, day))


def _period() -> tuple[date, date]:
    """`?from=&to=` (default: today in the center's time zone); 422 when bad or too long."""
    first, last = request.args.get("from"), request.args.get("to")
    if first is None and last is None:
        with identity.center().read() as r:
            today = r.local_now.date().isoformat()
        first = last = today
    return reports.parse_period(first, last)


@bp.get("/reports")
@require(*SUPERVISORS)
def report() -> Any:
    """FIGURES over business days `from`..`to` (at most 366), in total and per `by`."""
    first, last = _period()
    by = reports.parse_by(request.args.get("by"))
    reports.ensure_rollups(identity.center(), first, last)
    with identity.center().read() as r:
        return jsonify(reports.period_report(r, first, last, by))


@bp.get("/reports/comments")
@require(*SUPERVISORS)
def report_comments() -> Any:
    """The reasons and free text citizens left over the period, newest first."""
    first, last = _period()
    with identity.center().read() as r:
        return jsonify({"from": first.isoformat(), "to": last.isoformat(),
                        "items": reports.comments(r, first, last)})


@bp.get("/reports/arrivals")
@require(*SUPERVISORS)
def report_arrivals() -> Any:
    """Numbers issued per hour of the day for each weekday of the period (when to staff)."""
    first, last = _period()
    reports.ensure_rollups(identity.center(), first, last)
    with identity.center().read() as r:
        return jsonify(reports.arrivals(r, first, last))


def printer_states() -> dict[str, str]:
    """Each printer's status as the print workers know it ("" names the center's own)."""
    listed = current_app.extensions.get("layso_printer_list")
    if listed is None:
        return {}
    return {p["name"] or "": p["state"] for p in listed()}


@bp.get("/alerts")
@require(*SUPERVISORS)
def live_alerts() -> Any:
    """What a supervisor should look at now: waits past target, long queues, long pauses,
    printers in trouble, silent kiosks and boards (they clear when the condition ends)."""
    states = printer_states()
    center = identity.center()
    drift = center.clock_drift()
    with center.read() as r:
        return jsonify({"at": r.now.astimezone(r.tz).isoformat(),
                        "items": alerts.alerts(r, states, clock_drift=drift)})
