"""Reports for the center's leaders."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request

from layso import identity
from layso.identity import SUPERVISORS, require
from layso.queue import Invalid, reports

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
