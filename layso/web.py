"""Pages shared by every feature: blueprints, login, the vendored socket client, limiters."""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    has_request_context,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from flask.sessions import SecureCookieSessionInterface

from layso import auth, db

log = logging.getLogger(__name__)

FONT_NAME = re.compile(r"^BeVietnamPro-[A-Za-z]+\.ttf$")
#: the browser files built from npm by `make setup` (never committed), which every live page
#: needs: without the socket client, boards, counters and phones never update
VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
VENDOR_FILES = ("socket.io.min.js", "chart.umd.min.js", "zxing.min.js")
BUILD_HINT = ("build them in the source tree with `make setup` (npm copies socket.io-client, "
              "Chart.js and ZXing into layso/static/vendor), then install the package again")
FEATURES = ("kiosk", "display", "counter", "layso.admin")



class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure on every request that came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            has_request_context() and request.is_secure)


bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/layso")


@bp.get("/fonts/<name>")
def font(name: str) -> Any:
    """The Be Vietnam Pro files, served by the app (no web-font host)."""
    if not FONT_NAME.match(name):
        abort(404)
    return send_from_directory(font_dir(), name, max_age=7 * 24 * 3600)


def font_dir() -> Path:
    """Where the Be Vietnam Pro package keeps its TTF files."""
    import fontpkg_be_vietnam_pro

    return Path(fontpkg_be_vietnam_pro.__file__).parent / "files"


@bp.get("/favicon.ico")
def favicon() -> Any:
    """The icon, for browsers and tools that ask for it before reading a page's <link>."""
    return send_from_directory(Path(__file__).parent / "static", "favicon.svg",
                               mimetype="image/svg+xml", max_age=7 * 24 * 3600)


@bp.get("/login")
def login_page() -> Any:
    """The login page for officials, supervisors and admins."""
    # ended=1: a page whose session ended under it (expired, logged out elsewhere, account
    # deactivated) sent the official here, and the page says why rather than nothing
    return render_template("login.html", next=request.args.get("next", "/counter/"),
                           ended=request.args.get("ended") == "1")


#: what a storage fault means, for the API's message and the pages' plain page
FAULT_MESSAGES = {
    "disk_full": "The server's disk is full; nothing can be saved until space is freed",
    "disk_error": "The server cannot write to its disk",
    "db_busy": "The database is busy; try again in a moment",
    "db_unavailable": "The database does not answer",
}
HELP_DESK = ("Hệ thống tạm thời gặp sự cố. Vui lòng liên hệ bàn hướng dẫn.\n"
             "The system is temporarily unavailable. Please see the help desk.\n")


def unavailable(kind: str) -> Any:
    """503 for a storage fault: the documented error shape on the API, a plain page elsewhere;
    both say to retry (recovery needs no restart)."""
    if request.path.startswith("/api/"):
        resp = jsonify(error={"code": "storage_unavailable",
                              "message": FAULT_MESSAGES.get(kind, "Storage unavailable"),
                              "details": {"fault": kind}})
    else:
        resp = current_app.response_class(HELP_DESK, mimetype="text/plain")
    resp.status_code = 503
    resp.headers["Retry-After"] = "10"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def vn_number(value: Any, digits: int = 1) -> str:
    """A number as Vietnamese writes it (4,8 · 1.250), '–' for nothing: the pages' rule,
    the same as static/format.js."""
    if value is None or isinstance(value, bool):
        return "–" if value is None else str(value)
    if not isinstance(value, int | float):
        return str(value)
    text = f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
    if isinstance(value, float) and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\u00a0").replace(".", ",").replace("\u00a0", ".")
def vn_date(value: Any) -> str:
    """An ISO date (YYYY-MM-DD) as the pages write dates, dd/mm/yyyy; anything else as it is."""
    text = str(value or "")
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text[8:10]}/{text[5:7]}/{text[:4]}"
    return text


def missing_browser_files(vendor_dir: Path | None = None) -> list[str]:
    """The browser files this installation lacks (empty when the pages can run live)."""
    where = vendor_dir or VENDOR_DIR
    return [name for name in VENDOR_FILES if not (where / name).is_file()]


def init_app(app: Flask) -> None:
    """Register the shared pages, every feature blueprint present, and the limiters."""
    missing = missing_browser_files()
    if missing:
        log.error("browser files missing in %s: %s; pages will not update live: %s",
                  VENDOR_DIR, ", ".join(missing), BUILD_HINT)
    queue, url = app.config.get("MESSAGE_QUEUE"), app.config["DATABASE_URL"]
    app.extensions["layso_issue_limiter"] = auth.rate_limiter(
        queue, url, "issue", app.config["KIOSK_RATE_PER_MINUTE"])
    app.extensions["layso_login_limiter"] = auth.rate_limiter(
        queue, url, "login", app.config["LOGIN_ATTEMPTS_PER_MINUTE"])
    app.extensions["layso_login_address_limiter"] = auth.rate_limiter(
        queue, url, "login-address", app.config["LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE"])
    app.extensions["layso_hash_slots"] = auth.HashSlots(
        app.config["LOGIN_CONCURRENT_HASHES"], float(app.config["LOGIN_HASH_WAIT_SECONDS"]))
    app.register_blueprint(bp)
    app.add_template_filter(vn_number, "vn_number")
    app.add_template_filter(vn_date, "vn_date")
    for name in FEATURES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)
        elif hasattr(module, "bp"):
            app.register_blueprint(module.bp)

    @app.errorhandler(413)
    def too_large(_e: Exception) -> Any:
        return jsonify(error={"code": "too_large",
                              "message": "The request body is too large"}), 413

    from sqlalchemy.exc import SQLAlchemyError

    @app.errorhandler(SQLAlchemyError)
    @app.errorhandler(OSError)
    def storage_fault(e: Exception) -> Any:
        kind = db.fault_kind(e)
        if kind is None:
            return internal(e)
        log.error("storage fault (%s) on %s %s: %s", kind, request.method, request.path,
                  type(e).__name__)
        return unavailable(kind)

    @app.errorhandler(500)
    def internal(_e: Exception) -> Any:
        log.exception("internal error on %s %s", request.method, request.path)
        return jsonify(error={"code": "internal_error",
                              "message": "Something went wrong on the server"}), 500
