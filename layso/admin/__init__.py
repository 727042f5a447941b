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
from layso.queue import admin, reports

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/static")


def plain(status: int, text: str) -> Response:
    """A refusal a script reads as well as a person: one line of plain text."""
    return Response(text.rstrip("\n") + "\n", status=status, mimetype="text/plain")


def leader_refusal() -> Any:
    """None when a supervisor or admin asks for a file (by session or bearer token); else the
    answer: the login page for nobody in a browser, the forbidden page for an official, plain
    text for a script's token (401 unknown, 403 not a leader's)."""
    try:
        if identity.file_actor(*identity.SUPERVISORS) is not None:
            return None
    except identity.Refused as exc:
        return plain(exc.status, "Mã truy cập không hợp lệ hoặc đã hết hạn.\n" + exc.message)
    if request.headers.get("Authorization"):
        return plain(403, "Tệp này chỉ dành cho lãnh đạo hoặc quản trị viên.\n"
                          "This needs a supervisor's or an admin's token")
    if identity.logged_in():  # an official: this is not theirs to read
        return render_template("admin/forbidden.html"), 403
    return redirect(url_for("web.login_page", next=request.full_path))


def _day_arg() -> date | None:
    """`?day=YYYY-MM-DD`, or None for today; ValueError for anything else."""
    text = request.args.get("day")
    if not text:
        return None
    return date.fromisoformat(text)


#: the administration's pages: (path, endpoint, Vietnamese, English), in the navigation's order
PAGES = (
    ("/admin/", "dashboard", "Bảng điều hành", "Dashboard"),
    ("/admin/settings", "settings", "Trung tâm", "Center"),
    ("/admin/services", "services", "Lĩnh vực", "Services"),
    ("/admin/counters", "counters", "Quầy", "Counters"),
    ("/admin/categories", "categories", "Ưu tiên", "Priority"),
    ("/admin/users", "users", "Cán bộ", "Officials"),
    ("/admin/devices", "devices", "Thiết bị", "Devices"),
    ("/admin/audit", "audit", "Nhật ký", "Audit"),
    ("/admin/reports", "reports", "Báo cáo", "Reports"),
)
#: the steps of a new center's setup, in order
SETUP_STEPS = ("settings", "services", "counters", "users", "devices")


def _guard() -> Any:
    """The page's actor (a supervisor or an admin), or the answer for anyone else: the login
    page for nobody, 403 for an official."""
    actor = identity.page_actor(*identity.SUPERVISORS)
    if actor is None and not identity.logged_in():
        # the query too: a leader sent a report's link logs in and sees that report
        back = request.full_path if request.query_string else request.path
        return None, redirect(url_for("web.login_page", next=back))
    if actor is None:
        return None, (render_template("admin/forbidden.html"), 403)
    return actor, None


def _admin_page(template: str, endpoint: str, **context: Any) -> Any:
    actor, refusal = _guard()
    if refusal is not None:
        return refusal
    with identity.center().read() as r:
        center_name = {"vi": r.center.name_vi, "en": r.center.name_en}
        configured = admin.is_configured(r)
    can_edit = actor.role == "admin"
    return render_template(template, actor=actor, center_name=center_name, pages=PAGES,
                           current=endpoint, can_edit=can_edit, configured=configured,
                           setup_steps=SETUP_STEPS, **context)


@bp.get("/")
def dashboard() -> Any:
    """The live dashboard for the center's leaders; a new center's admin is led to the setup."""
    actor = identity.page_actor(*identity.ADMINS)
    if actor is not None and not request.args.get("skip_setup"):
        with identity.center().read() as r:
            fresh = not admin.is_configured(r)
        if fresh:
            return redirect(url_for("admin.setup"))
    return _admin_page("admin/dashboard.html", "dashboard", title_vi="Bảng điều hành",
                       title_en="Dashboard")


@bp.get("/setup")
def setup() -> Any:
    """The first run: center, services, counters, officials, devices, one step after another."""
    with identity.center().read() as r:
        progress = admin.setup_progress(r)
    return _admin_page("admin/setup.html", "setup", title_vi="Thiết lập ban đầu",
                       title_en="First setup", progress=progress)


def _section(endpoint: str, title_vi: str, title_en: str) -> Any:
    def view() -> Any:
        return _admin_page(f"admin/{endpoint}.html", endpoint, title_vi=title_vi,
                           title_en=title_en)
    view.__name__ = endpoint
    view.__doc__ = f"The {title_en.lower()} page (admin edits, supervisors read)."
    return view


for _path, _endpoint, _vi, _en in PAGES[1:-1]:
    bp.add_url_rule(_path.removeprefix("/admin"), _endpoint, _section(_endpoint, _vi, _en))


@bp.get("/export.csv")
def export_csv() -> Any:
    """Every ticket of a day as CSV (UTF-8 with BOM, so spreadsheet programs read Vietnamese)."""
    refusal = leader_refusal()
    if refusal is not None:
        return refusal
    try:
        day = _day_arg()
    except ValueError:
        return plain(422, "Ngày không hợp lệ: dùng YYYY-MM-DD\n"
                          "The day must be a date as YYYY-MM-DD")
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
