"""REST API v1 (JSON): the parent blueprint, and one child blueprint per resource.

Every child answers errors in the documented shape and authenticates through
`layso.identity`; its views are thin over `layso.queue`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from layso import identity
from layso.api import (
    audit,
    auth,
    board,
    categories,
    center,
    counters,
    devices,
    errors,
    reports,
    services,
    tickets,
    users,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
errors.register(bp)

#: one module per resource, each with its own blueprint
RESOURCES = (auth, tickets, counters, board, reports, center, services, categories, users,
             devices, audit)
for _resource in RESOURCES:
    bp.register_blueprint(_resource.bp)

# logging in replaces the session: a browser still holding another one (an officer sent to
# /login by a supervisor's page) has no CSRF token to send, and needs none
# a device typing its enrolment code has no session of its own (a browser may hold someone
# else's); the code itself is the secret
_NO_CSRF = {"api.auth.login", "api.devices.enrol"}


@bp.before_request
def _authenticate() -> None:
    identity.who()
    if request.endpoint not in _NO_CSRF:
        identity.check_csrf()


@bp.after_request
def _seen(response: Any) -> Any:
    return devices.note_seen(response)


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3.1 document of this API."""
    from layso.api.openapi import document

    return jsonify(document())
