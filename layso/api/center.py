"""The center's settings: its name and time zone for anyone, every setting for its admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from layso import identity
from layso.api.bodies import body
from layso.api.idempotency import act
from layso.identity import ADMINS
from layso.queue import admin

bp = Blueprint("center", __name__)


@bp.get("/center")
def get_center() -> Any:
    """The center's public settings; an admin sees all of them."""
    a = identity.actor()
    full = a is not None and a.kind == "user" and a.role in ADMINS
    with identity.center().read() as r:
        return jsonify(admin.center_view(r, full=full))


@bp.patch("/center")
def patch_center() -> Any:
    """Change any of the center's settings."""
    actor = identity.demand(*ADMINS)
    data = body()
    return act(lambda tx: admin.update_center(tx, actor, data))
