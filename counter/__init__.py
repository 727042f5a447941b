"""The officials' counter terminal and the citizen-facing feedback tablet."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, render_template, url_for

from layso import identity
from layso.queue import ops, text

bp = Blueprint("counter", __name__, url_prefix="/counter", template_folder="templates",
               static_folder="static", static_url_path="/static")

FEEDBACK_IDLE_SECONDS = 30
#: the thank-you stays this long (or until the counter calls the next citizen): the next
#: citizen at the counter should not find the previous one's thanks on the tablet
FEEDBACK_THANKS_SECONDS = 8


@bp.get("/")
def terminal() -> Any:
    """The terminal: the current citizen, the actions, the counter's waiting list."""
    actor = identity.page_actor(*identity.STAFF)
    if actor is None:
        return redirect(url_for("web.login_page", next="/counter/"))
    return render_template("counter/terminal.html", user=actor, pause_reasons=text.PAUSE_REASONS,
                           outcomes=ops.OUTCOME_NAMES)


@bp.get("/feedback")
def feedback() -> Any:
    """The tablet facing the citizen: enrolment, idle, rating, reason, thank-you."""
    return render_template("counter/feedback.html", idle_seconds=FEEDBACK_IDLE_SECONDS,
                           thanks_seconds=FEEDBACK_THANKS_SECONDS)


def init_app(app: Flask) -> None:
    """Register the counter pages."""
    app.register_blueprint(bp)
