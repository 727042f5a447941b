"""Supervisor and admin pages: the live dashboard of the day, and exports."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from layso import auth
from layso.queue import Center, reports

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/static")


def _center() -> Center:
    return current_app.extensions["layso"]


def _supervisor() -> Any:
    uid = session.get("uid")
    if uid is None:
        return None
    with _center().read() as r:
        actor = auth.user_by_id(r.conn, int(uid))
    return actor if actor is not None and actor.is_supervisor else None


def _day_arg() -> date | None:
    text = request.args.get("day")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@bp.get("/")
def dashboard() -> Any:
    """The live dashboard for the center's leaders."""
    if session.get("uid") is None:
        return redirect(url_for("web.login_page", next=request.path))
    actor = _supervisor()
    if actor is None:
        return render_template("admin/forbidden.html"), 403
    with _center().read() as r:
        center_name = {"vi": r.center.name_vi, "en": r.center.name_en}
    return render_template("admin/dashboard.html", actor=actor, center_name=center_name)


@bp.get("/export.csv")
def export_csv() -> Any:
    """Every ticket of a day as CSV (UTF-8 with BOM, so spreadsheet programs read Vietnamese)."""
    if _supervisor() is None:
        return redirect(url_for("web.login_page", next=request.full_path))
    day = _day_arg()
    with _center().read() as r:
        rows = reports.day_tickets(r, day)
        the_day = (day or r.local_now.date()).isoformat()
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.DictWriter(buf, fieldnames=reports.CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return Response(buf.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=layso-{the_day}.csv"})


def init_app(app: Flask) -> None:
    """Register the admin pages."""
    app.register_blueprint(bp)
