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
    redirect,
    render_template,
    request,
    url_for,
)

from layso import identity
from layso.queue import reports

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/static")


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
    actor = identity.page_actor(*identity.SUPERVISORS)
    if actor is None and not identity.logged_in():
        return redirect(url_for("web.login_page", next=request.path))
    if actor is None:
        return render_template("admin/forbidden.html"), 403
    with identity.center().read() as r:
        center_name = {"vi": r.center.name_vi, "en": r.center.name_en}
    return render_template("admin/dashboard.html", actor=actor, center_name=center_name)


@bp.get("/export.csv")
def export_csv() -> Any:
    """Every ticket of a day as CSV (UTF-8 with BOM, so spreadsheet programs read Vietnamese)."""
    if identity.page_actor(*identity.SUPERVISORS) is None:
        if identity.logged_in():  # an official: this is not theirs to read
            return render_template("admin/forbidden.html"), 403
        return redirect(url_for("web.login_page", next=request.full_path))
    day = _day_arg()
    with identity.center().read() as r:
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


# the reports pages and files register themselves on this blueprint
from layso.admin import reporting as _reporting  # noqa: E402,F401
