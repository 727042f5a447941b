"""The officials' counter terminal and the citizen-facing feedback tablet."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, session, url_for

from layso import auth
from layso.queue import Actor

bp = Blueprint("counter", __name__, url_prefix="/counter", template_folder="templates",
               static_folder="static", static_url_path="/static")

FEEDBACK_IDLE_SECONDS = 30


def session_user() -> Actor | None:
    """The staff member logged in through this browser's session, if it is still valid."""
    uid = session.get("uid")
    if uid is None:
        return None
    with current_app.extensions["layso"].read() as r:
        actor = auth.user_by_id(r.conn, int(uid))
    # a changed role invalidates the session, exactly as the API checks it
    if actor is None or session.get("sv") != f"{actor.id}:{actor.role}" or not actor.is_staff:
        return None
    return actor


@bp.get("/")
def terminal() -> Any:
    """The terminal: the current citizen, the actions, the counter's waiting list."""
    actor = session_user()
    if actor is None:
        return redirect(url_for("web.login_page", next="/counter/"))
    return render_template("counter/terminal.html", user=actor)


@bp.get("/feedback")
def feedback() -> Any:
    """The tablet facing the citizen: enrolment, idle, rating, reason, thank-you."""
    return render_template("counter/feedback.html", idle_seconds=FEEDBACK_IDLE_SECONDS)


def init_app(app: Flask) -> None:
    """Register the counter pages."""
    app.register_blueprint(bp)
