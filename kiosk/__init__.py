"""The touch kiosk, the citizen's phone page (/t/<token>) and the print worker's start-up."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, render_template, request

from layso import identity
from layso.queue import reading

bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/kiosk")



def _start_printing() -> None:
    router = current_app.extensions.get("layso_printers")
    if router is not None:
        router.ensure_started()


@bp.get("/kiosk/")
def kiosk() -> Any:
    """The ticket kiosk (enrols itself with a kiosk device token on first use)."""
    _start_printing()
    mode = "reception" if request.args.get("mode") == "reception" else "kiosk"
    return _page("kiosk/kiosk.html", mode=mode)


@bp.get("/kiosk/reception")
def reception() -> Any:
    """The kiosk for staff issuing on a citizen's behalf (logged-in official)."""
    _start_printing()
    return _page("kiosk/kiosk.html", mode="reception")


@bp.get("/t/<token>")
def phone(token: str) -> Any:
    """The citizen's phone page: their ticket, live; no login, nothing about others."""
    if not identity.TOKEN_RE.match(token):
        abort(404)
    with identity.center().read() as r:
        center_name = {"vi": r.center.name_vi, "en": r.center.name_en}
        t = reading.ticket_by_token(r, token)
        # the page leads in the language the citizen chose at the kiosk
        lang = t.lang if t is not None and t.lang in ("vi", "en") else current_app.config.get(
            "LANG", "vi")
    return _page("kiosk/phone.html", token=token, center_name=center_name, lang=lang)


@bp.get("/t/<token>/qr.svg")
def qr(token: str) -> Any:
    """The QR of a ticket's status link, for the kiosk screen (photographable when paper is out)."""
    import io

    import qrcode
    import qrcode.image.svg

    if not identity.TOKEN_RE.match(token):
        abort(404)
    with identity.center().read() as r:
        if reading.ticket_by_token(r, token) is None:
            abort(404)
        url = f"{r.public_url}/t/{token}"
    out = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2,
                error_correction=qrcode.constants.ERROR_CORRECT_M).save(out)
    resp = current_app.response_class(out.getvalue(), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp


def _page(template: str, **context: Any) -> Any:
    context.setdefault("lang", current_app.config.get("LANG", "vi"))
    resp = current_app.make_response(render_template(
        template, build=current_app.config.get("BUILD", "dev"), **context))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"  # the token never leaks to another host
    resp.headers["X-Frame-Options"] = "DENY"
    return resp


def init_app(app: Flask) -> None:
    """Register the pages and create the print worker (it starts on first use, after forks)."""
    from kiosk.agents import init_agents
    from kiosk.printing import init_worker

    app.register_blueprint(bp)
    router = init_worker(app, app.extensions["layso"])
    app.extensions.setdefault("layso_realtime_hooks", []).append(
        lambda rt: init_agents(rt, router))
