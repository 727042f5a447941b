"""The audit trail of the administration."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, jsonify, request

from layso import identity
from layso.identity import SUPERVISORS, require
from layso.queue import Invalid, admin

bp = Blueprint("audit", __name__)


def _day(name: str) -> date | None:
    text = request.args.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad(name)
    except ValueError:
        return _bad(name)


def _bad(name: str) -> date:
    raise Invalid("invalid_field", f"{name} must be YYYY-MM-DD", field=name)


@bp.get("/audit")
@require(*SUPERVISORS)
def audit() -> Any:
    """Every change made through the administration, newest first (`from`, `to`: business
    days, both included)."""
    start, end = _day("from"), _day("to")
    if start is not None and end is not None and end < start:
        raise Invalid("invalid_range", "to must not be before from", field="to")
    with identity.center().read() as r:
        tz = r.tz
        since = datetime.combine(start, time(), tz) if start else None
        until = datetime.combine(end + timedelta(days=1), time(), tz) if end else None
        return jsonify(items=admin.audit_items(r, since, until))
