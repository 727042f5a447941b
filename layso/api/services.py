"""Services (lĩnh vực) with their procedures: the kiosk's list, and the admin's changes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from layso import identity
from layso.api.bodies import body
from layso.api.idempotency import act
from layso.identity import ADMINS, SUPERVISORS
from layso.queue import admin, reading

bp = Blueprint("services", __name__)


def wants_all() -> bool:
    """`?all=1`: retired ones too (supervisors and admins only)."""
    if request.args.get("all") in ("1", "true"):
        identity.demand(*SUPERVISORS)
        return True
    return False


@bp.get("/services")
def services() -> Any:
    """Services with waiting counts and the open flag; `?all=1` also the retired ones, each
    with `active` (supervisor+)."""
    every = wants_all()
    with identity.center().read() as r:
        if every:
            return jsonify(items=admin.list_services_admin(r))
        return jsonify(items=reading.list_services(r))


@bp.post("/services")
def create_service() -> Any:
    """Add a service with its procedures."""
    actor = identity.demand(*ADMINS)
    data = body()
    return act(lambda tx: admin.create_service(tx, actor, data), status=201)


@bp.patch("/services/<code>")
def patch_service(code: str) -> Any:
    """Change a service (any subset); `active: false` retires it."""
    actor = identity.demand(*ADMINS)
    data = body()
    return act(lambda tx: admin.update_service(tx, actor, code, data))
