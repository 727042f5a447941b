"""Lấy Số: queue ticketing for a commune Public Administration Service Center."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

# Nothing heavy is imported here: every `layso` command and `import layso.anything` runs this
# module first, and `layso run` starts in a plain interpreter that only reads its arguments
# before it becomes the gevent-patched one (layso.server). Flask, SQLAlchemy and the queue
# come with `create_app`.

BUILD = os.environ.get("LAYSO_BUILD") or ""

_ROOT = Path(__file__).resolve().parent.parent
_BUILD_PACKAGES = ("layso", "kiosk", "display", "counter", "printer_drivers")
_BUILD_SUFFIXES = {".py", ".html", ".js", ".css", ".json", ".ogg", ".wav", ".mp3", ".svg", ".png"}


@functools.cache
def code_build() -> str:
    """A short hash of the version and the code, pages and clips: it changes with an upgrade."""
    import importlib.metadata

    try:
        version = importlib.metadata.version("layso")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    digest = hashlib.sha256(version.encode())
    for package in _BUILD_PACKAGES:
        folder = _ROOT / package
        files = sorted(p for p in folder.rglob("*") if p.suffix in _BUILD_SUFFIXES
                       and "__pycache__" not in p.parts and p.is_file())
        for path in files:
            digest.update(str(path.relative_to(_ROOT)).encode() + b"\0" + path.read_bytes())
    return f"{version}-{digest.hexdigest()[:10]}"


#: scripts, styles, fonts and clips all come from this server (no CDN, no inline code); the
#: board builds its chime and clips as data: and blob: URLs; sockets go to this origin
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The Flask app factory: configuration, database, hub, API, pages and sockets."""
    from datetime import timedelta

    from flask import Flask, jsonify, redirect, request, url_for

    from layso import config as config_mod
    from layso.db import Database, utcnow
    from layso.events import Hub
    from layso.queue import Center
    from layso.web import SessionInterface

    cfg = config_mod.load(config)
    app = Flask(__name__, instance_path=cfg["DATA_DIR"], instance_relative_config=False)
    Path(cfg["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    app.config.update(cfg)
    app.config["SECRET_KEY"] = config_mod.ensure_secret_key(cfg)
    app.config["MAX_CONTENT_LENGTH"] = cfg["MAX_BODY_BYTES"]
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=cfg["SESSION_HOURS"])
    # a request still in flight when its official logs out must not send the old session
    # cookie back (it would log them in again): the cookie is only sent when it changes
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "layso_session"
    # a session cookie is Secure when the center is reached over HTTPS (its public URL, or the
    # request itself, through a trusted proxy's X-Forwarded-Proto)
    app.config["SESSION_COOKIE_SECURE"] = str(cfg["PUBLIC_URL"]).startswith("https://")
    app.session_interface = SessionInterface()
    hops = int(cfg.get("PROXY_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # only then is X-Forwarded-For the client's address (login limits count per address)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore
                                x_host=hops)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    database = Database(cfg["DATABASE_URL"], clock=cfg.get("CLOCK") or utcnow)
    center = Center(database, Hub(), public_url=cfg["PUBLIC_URL"])
    center.retention = (int(cfg["RETENTION_COMMENT_DAYS"]) or None,
                        int(cfg["RETENTION_TOKEN_DAYS"]) or None)
    # every process serving the center shares the secret key, so they share the days' keys
    # for citizens' ID numbers (layso.queue.citizens)
    center.citizen_secret = hashlib.sha256(
        b"layso citizen days\0" + str(app.config["SECRET_KEY"]).encode()).digest()
    app.extensions["layso"] = center
    app.config["BUILD"] = cfg.get("BUILD") or BUILD or code_build()

    from layso import web
    from layso.api import bp as api_bp

    app.register_blueprint(api_bp)
    web.init_app(app)

    from layso import realtime

    rt = realtime.init_app(app, center)
    # features that add socket channels (the kiosk's print agents) hook in once sockets exist
    for hook in app.extensions.pop("layso_realtime_hooks", []):
        hook(rt)

    @app.get("/")
    def index() -> Any:
        target = url_for("display.board") if "display" in app.blueprints else "/api/v1/board"
        return redirect(target)

    @app.after_request
    def security_headers(resp: Any) -> Any:
        # on every answer (pages, API, static files, errors): no other site may frame a page
        # or inject a script, and no browser guesses a file's type
        for key, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(key, value)
        return resp

    @app.errorhandler(404)
    def not_found(_e: Exception) -> Any:
        if request.path.startswith("/api/"):
            return jsonify(error={"code": "not_found", "message": "No such resource"}), 404
        return "Không tìm thấy trang / Page not found", 404

    return app
