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
    if not same_origin_login():
        # a page of another site must not log this browser in to an account of its choosing
        raise ApiError(403, "csrf_failed", "Log in from this server's own login page")
    known = identity.known_browser(username)
    address = request.remote_addr or "?"
    if known is None:
        # a stranger's phone: its tries count per address (any username, so random names do
        # not escape) and per address and username
        per_address: auth.Limiter = current_app.extensions["layso_login_address_limiter"]
        if not per_address.allow(address):
            raise ApiError(429, "rate_limited", "Too many login attempts; wait a minute")
        key = f"{address}:{username.lower()}"
    else:
        # a browser this official logged in from before counts on its own, so a guesser
        # elsewhere (or behind the same proxy) never locks the official out
        key = f"known:{known}:{username.lower()}"
    limiter: auth.Limiter = current_app.extensions["layso_login_limiter"]
    if not limiter.allow(key):
        raise ApiError(429, "rate_limited", "Too many login attempts; wait a minute")
    slots: auth.HashSlots = current_app.extensions["layso_hash_slots"]
    if not slots.acquire():
        raise ApiError(429, "rate_limited", "The server is busy with logins; try again")
    center = identity.center()
    try:
        with center.read() as r:  # the slow hash check holds no write lock
            actor = auth.check_password(r.conn, username, password, slots)
    finally:
        slots.release()
    if actor is None:
        raise ApiError(401, "invalid_credentials", "Wrong username or password")
    with center.write() as tx:
        auth.upgrade_password_hash(tx.conn, actor.user_id, password)
        token, login_id = auth.issue_login(tx.conn, actor.user_id,
                                           current_app.config["TOKEN_HOURS"])
    csrf = identity.start_session(actor, login_id)
    resp = jsonify(token=token, csrf_token=csrf,
                   user={"id": actor.id, "name": actor.name, "role": actor.role,
                         "username": username})
    identity.remember_browser(resp, username)
    return resp


def same_origin_login() -> bool:
    """Whether a login comes from this server's own page or from a client that is no browser.

    An `Origin` must name this host (or the public host a proxy forwards; the same hosts as
    the sockets' rule); `Origin: null` (a sandboxed frame, a redirect, a `data:` page) is a
    foreign page. Without an Origin, a browser's `Sec-Fetch-Site` must not say another site;
    a client that sends neither (the CLI, a script) is no browser, and the JSON-only body
    (see `bodies.body`) keeps a cross-site form from posting without a CORS preflight.
    """
    origin = request.headers.get("Origin")
    if origin is not None:
        forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        host = urlsplit(origin).netloc if origin.strip().lower() != "null" else ""
        return bool(host) and host in (request.host, forwarded)
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


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
