"""What anyone may read: the board and health; the board's notice."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import select

from layso import identity
from layso.api.bodies import body, field, only
from layso.api.idempotency import act
from layso.identity import SUPERVISORS, require
from layso.queue import Tx, catalog, public, views

bp = Blueprint("board", __name__)


@bp.get("/board")
def board() -> Any:
    """The board snapshot (the same as the board socket's: only what a board shows)."""
    with identity.center().read() as r:
        snap = public.board(views.board(r))
    return jsonify({**snap, "build": current_app.config["BUILD"]})


@bp.post("/notice")
@require(*SUPERVISORS)
def set_notice() -> Any:
    """Set the board's scrolling notice line `{vi, en}`; empty strings clear it."""
    data = body()
    only(data, "vi", "en")
    vi = field(data, "vi", str, default="").strip()
    en = field(data, "en", str, default="").strip()

    def run(tx: Tx) -> dict[str, str]:
        catalog.update_center(tx, notice_vi=vi, notice_en=en)
        return {"vi": vi, "en": en}

    return act(run)


@bp.get("/health")
def health() -> Any:
    """`{ok, db, printer}`."""
    db_ok = True
    try:
        with identity.center().read() as r:
            r.conn.execute(select(1)).scalar()
    except Exception:
        db_ok = False
    printer = current_app.extensions.get("layso_printer_status", lambda: "none")()
    return jsonify(ok=db_ok, db="ok" if db_ok else "down", printer=printer,
                   build=current_app.config["BUILD"]), 200 if db_ok else 503
