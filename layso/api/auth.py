"""Logging in and out, and who the request is."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, request, session

from layso import auth, identity
from layso.api.bodies import body, field, only
from layso.api.errors import ApiError
from layso.queue import stats

bp = Blueprint("auth", __name__)


@bp.post("/auth/login")
def login() -> Any:
    """Exchange a username and password for a bearer token and a session cookie."""
    data = body()
    only(data, "username", "password")
    username = field(data, "username", str, required=True)
    password = field(data, "password", str, required=True)
    origin = request.headers.get("Origin")
    forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    if origin is not None and urlsplit(origin).netloc not in (request.host, forwarded):
        # a page of another site must not log this browser in to an account of its choosing
        # (the same hosts as the sockets' same-origin rule)
        raise ApiError(403, "csrf_failed", "Log in from this server's own login page")
    limiter: auth.Limiter = current_app.extensions["layso_login_limiter"]
    if not limiter.allow(f"{request.remote_addr}:{username.lower()}"):
        raise ApiError(429, "rate_limited", "Too many login attempts; wait a minute")
    center = identity.center()
    with center.read() as r:  # the slow hash check holds no write lock
        actor = auth.check_password(r.conn, username, password)
    if actor is None:
        raise ApiError(401, "invalid_credentials", "Wrong username or password")
    with center.write() as tx:
        auth.upgrade_password_hash(tx.conn, actor.id, password)
        token, login_id = auth.issue_login(tx.conn, actor.id, current_app.config["TOKEN_HOURS"])
    csrf = identity.start_session(actor, login_id)
    return jsonify(token=token, csrf_token=csrf,
                   user={"id": actor.id, "name": actor.name, "role": actor.role,
                         "username": username})


@bp.post("/auth/logout")
def logout() -> Any:
    """End the login: its session and its bearer token stop working at once."""
    only(body())
    identity.end_session()
    return jsonify(ok=True)


@bp.get("/auth/me")
def me() -> Any:
    """Who the request is authenticated as."""
    w = identity.who()
    a = w.actor
    if a is None:
        raise ApiError(401, "unauthenticated", "Not logged in")
    out: dict[str, Any] = {"kind": a.kind, "id": a.id, "role": a.role, "name": a.name}
    if a.kind == "device" and a.counter_id is not None:
        with identity.center().read() as r:
            out.update(stats.device_profile(r, a.counter_id))
    if w.via_session:
        out["csrf_token"] = session.get("csrf")
    return jsonify(out)
