"""The center's users (officials, supervisors, admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from layso import identity
from layso.api.bodies import body
from layso.api.idempotency import act
from layso.identity import ADMINS, SUPERVISORS, require
from layso.queue import admin

bp = Blueprint("users", __name__)


@bp.get("/users")
@require(*SUPERVISORS)
def users() -> Any:
    """Every user, deactivated ones too."""
    with identity.center().read() as r:
        return jsonify(items=admin.list_users(r))


def _password_hash(data: dict[str, Any]) -> str | None:
    # hashed here, before the transaction: Argon2 is slow on purpose
    return admin.hash_password(data["password"]) if "password" in data else None


@bp.post("/users")
def create_user() -> Any:
    """Add a user `{username, name, role, password?}`."""
    actor = identity.demand(*ADMINS)
    data = body()
    digest = _password_hash(data)
    return act(lambda tx: admin.create_user(tx, actor, data, digest), status=201)


@bp.patch("/users/<username>")
def patch_user(username: str) -> Any:
    """Rename, change the role, reset the password, deactivate."""
    actor = identity.demand(*ADMINS)
    data = body()
    digest = _password_hash(data)
    return act(lambda tx: admin.update_user(tx, actor, username, data, digest))
