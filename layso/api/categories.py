"""Priority categories: the kiosk's list, and the admin's changes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from layso import identity
from layso.api.bodies import body
from layso.api.idempotency import act
from layso.api.services import wants_all
from layso.identity import ADMINS
from layso.queue import admin, reading

bp = Blueprint("categories", __name__)


@bp.get("/categories")
def categories() -> Any:
    """Priority categories the kiosk offers; `?all=1` every one, with `active` (supervisor+)."""
    every = wants_all()
    with identity.center().read() as r:
        if every:
            return jsonify(items=admin.list_categories_admin(r))
        return jsonify(items=reading.list_categories(r))


@bp.post("/categories")
def create_category() -> Any:
    """Add a priority category."""
    actor = identity.demand(*ADMINS)
    data = body()
    return act(lambda tx: admin.create_category(tx, actor, data), status=201)


@bp.patch("/categories/<code>")
def patch_category(code: str) -> Any:
    """Rename, reorder or retire a category."""
    actor = identity.demand(*ADMINS)
    data = body()
    return act(lambda tx: admin.update_category(tx, actor, code, data))
