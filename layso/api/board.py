"""What anyone may read: the board and health; the board's notice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import select

from layso import db, identity
from layso.api.bodies import body, field, only
from layso.api.idempotency import act
from layso.identity import SUPERVISORS, require
from layso.queue import Tx, catalog, printing, public, reading

bp = Blueprint("board", __name__)


@bp.get("/board")
def board() -> Any:
    """The board snapshot (the same as the board socket's: only what a board shows)."""
    with identity.center().read() as r:
        snap = public.board(reading.board(r))
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
        return {"vi": tx.center.notice_vi or "", "en": tx.center.notice_en or ""}

    return act(run)


@bp.get("/health")
def health() -> Any:
    """`{ok, db, printer, printers, disk, fault, server}`: what is wrong, so a supervisor knows
    whom to call; `printers` lists each printer `{device, uri, state}`, `printer` is the worst;
    `server` is the server model (`gevent` or `threading`)."""
    center = identity.center()
    db_ok = True
    try:
        with center.read() as r:
            r.conn.execute(select(1)).scalar()
    except Exception:  # health answers whatever went wrong
        db_ok = False
    fault = center.db.fault
    if db_ok and fault is not None and fault[0] == "db_unavailable":
        center.db.fault = fault = None  # it answers again
    disk = db.disk_state(current_app.config["DATA_DIR"])
    if fault is not None and fault[0] == "disk_full":
        disk = "full"  # the database said so, whatever the free space (a quota, a size cap)
    listed = current_app.extensions.get("layso_printer_list")
    printers: list[dict[str, Any]] = listed() if listed is not None else []
    printer = printing.worst([p["state"] for p in printers])
    ok = db_ok and disk != "full" and fault is None
    state = "down" if not db_ok else ("read_only" if fault is not None else "ok")
    drift = center.clock_drift()
    realtime = current_app.extensions["layso_realtime"]
    body: dict[str, Any] = {"ok": ok, "db": state, "printer": printer, "printers": printers,
                            "disk": disk,
                            "clock": "jumped" if drift else "ok",
                            "build": current_app.config["BUILD"],
                            # how this process serves: `gevent` (`layso run`) or `threading`
                            "server": realtime.socketio.async_mode}
    if drift:
        body["clock_drift_seconds"] = round(drift)
    if fault is not None:
        body["fault"] = {"code": fault[0], "since": datetime.fromtimestamp(
            fault[1], UTC).isoformat()}
    return jsonify(body), 200 if ok else 503
