"""The waiting-room board: one page, one socket, and the voice clips it plays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, send_file

from display.voice.clips import CLIP_MIMETYPES, resolve_clip

HERE = Path(__file__).resolve().parent
BUILTIN_CLIPS = HERE / "static" / "voice" / "clips"
CLIP_MAX_AGE = 300  # seconds: a center's new recording is heard within minutes

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static", static_url_path="/static")


@bp.get("/")
def board() -> Any:
    """The board page (no login: it shows nothing personal)."""
    return render_template("display/board.html", build=current_app.config["BUILD"])


@bp.get("/voice/manifest.json")
def voice_manifest() -> Any:
    """The clip inventory with each clip's length (sets the board's per-clip timeouts)."""
    data = json.loads((BUILTIN_CLIPS / "manifest.json").read_text(encoding="utf-8"))
    response = jsonify(data)
    response.cache_control.max_age = CLIP_MAX_AGE
    return response


@bp.get("/voice/<path:name>")
def voice_clip(name: str) -> Any:
    """One clip: the center's recording in `<data dir>/voice/` first, else the built-in one."""
    path = resolve_clip(name, current_app.config["DATA_DIR"], BUILTIN_CLIPS)
    if path is None:
        abort(404)
    return send_file(path, mimetype=CLIP_MIMETYPES[path.suffix], max_age=CLIP_MAX_AGE,
                     conditional=True)


def init_app(app: Flask) -> None:
    """Register the board."""
    app.register_blueprint(bp)
