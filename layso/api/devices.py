"""Devices: kiosks, boards and feedback tablets; their enrolment by a short code; revoking."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from layso import auth, identity
from layso.api.bodies import body, field, only
from layso.api.errors import ApiError
from layso.api.idempotency import act
from layso.identity import ADMINS, SUPERVISORS, require
from layso.queue import Actor, admin

bp = Blueprint("devices", __name__)

#: a device's `last_seen_at` is written at most this often (seconds), per process
SEEN_EVERY = 60.0
#: enrolment attempts per client address a minute: eight digits are not guessed at this pace
ENROL_PER_MINUTE = 10
_seen: dict[int, float] = {}
_seen_lock = threading.Lock()


@bp.get("/devices")
@require(*SUPERVISORS)
def devices() -> Any:
    """Every device, revoked ones too (never a token)."""
    with identity.center().read() as r:
        return jsonify(items=admin.list_devices(r))


@bp.post("/devices")
def create_device() -> Any:
    """Add a device: 201 with its `token` (shown once) and a one-time `enrol_code`."""
    actor = identity.demand(*ADMINS)
    data = body()
    return act(lambda tx: admin.create_device(tx, actor, data), status=201)


@bp.patch("/devices/<int:device_id>")
def patch_device(device_id: int) -> Any:
    """Rename, bind to a counter, choose a kiosk's printer."""
    actor = identity.demand(*ADMINS)
    data = body()
    return act(lambda tx: admin.update_device(tx, actor, device_id, data))


@bp.post("/devices/<int:device_id>/revoke")
def revoke_device(device_id: int) -> Any:
    """Stop a device at once (401 from now on; its socket is closed)."""
    actor = identity.demand(*ADMINS)
    only(body())
    return act(lambda tx: admin.revoke_device(tx, actor, device_id))


@bp.post("/devices/<int:device_id>/enrol-code")
def enrol_code(device_id: int) -> Any:
    """A new one-time enrolment code for the device (valid 15 minutes)."""
    actor = identity.demand(*ADMINS)
    only(body())
    return act(lambda tx: admin.new_enrol_code(tx, actor, device_id))


@bp.post("/devices/enrol")
def enrol() -> Any:
    """Exchange a valid enrolment code for the device's token, once (anyone: the device)."""
    data = body()
    only(data, "code")
    code = field(data, "code", str, required=True)
    limiter = current_app.extensions.setdefault(
        "layso_enrol_limiter", auth.RateLimiter(ENROL_PER_MINUTE))
    if not limiter.allow(str(request.remote_addr)):
        raise ApiError(429, "rate_limited", "Too many enrolment attempts; wait a minute")
    return jsonify(identity.center().run(lambda tx: admin.enrol(tx, code)))


def note_seen(response: Response) -> Response:
    """After a device's successful request: remember when it was last seen (once a minute)."""
    a: Actor | None = identity.who().actor if response.status_code < 400 else None
    if a is None or a.kind != "device" or a.id is None:
        return response
    now = time.monotonic()
    with _seen_lock:
        if now - _seen.get(a.id, -SEEN_EVERY) < SEEN_EVERY:
            return response
        _seen[a.id] = now
    device_id = a.id
    try:
        identity.center().run(lambda tx: admin.touch_device(tx, device_id))
    except Exception:  # noqa: BLE001 - a note must never fail the answer
        current_app.logger.exception("last_seen_at of device %s", device_id)
    return response
