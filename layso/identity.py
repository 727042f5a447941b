"""Who a request is, and which center: one answer for the API, the pages and the sockets.

A request is either a bearer token (a device's, or a user's from login) or the session cookie
of a logged-in browser. A session names its login (the token row that login issued), so
logging out, a new password or a deactivated account ends the session and the bearer token
of that login together. A session write must carry the session's CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request, session
from itsdangerous import BadSignature, URLSafeSerializer

from layso import auth
from layso.queue import Actor, Center

STAFF = ("officer", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
ADMINS = ("admin",)
#: every token we hand out: users' `u_…`, devices' `dk_…`, tickets' public tokens
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Refused(Exception):
    """The request did not prove it may do this: 401 (nobody, or a bad token) or 403.

    Identity owns its refusals, so it imports nothing from the API (which imports it); the
    API answers one in its documented error shape like any other of its errors.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def center() -> Center:
    """This app's Center (database, hub, clock)."""
    return current_app.extensions["layso"]


class Who:
    """What a request proved about itself."""

    __slots__ = ("actor", "token", "via_session")

    def __init__(self, actor: Actor | None = None, token: str | None = None,
                 via_session: bool = False) -> None:
        self.actor, self.token, self.via_session = actor, token, via_session


def _session_version(actor: Actor) -> str:
    # a changed role ends the session: what it may do was decided at login
    return f"{actor.id}:{actor.role}"


def _from_session() -> Actor | None:
    login = session.get("login")
    if not isinstance(login, int):
        return None
    actor = auth.session_actor(center().db, login)
    if actor is None or session.get("sv") != _session_version(actor):
        return None
    return actor


def who() -> Who:
    """The request's identity, worked out once per request; a malformed or unknown bearer
    token is a 401 (it never falls back to the session)."""
    found: Who | None = g.get("layso_who")
    if found is not None:
        return found
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not TOKEN_RE.match(token):
            raise Refused(401, "invalid_credentials", "Authorization must be 'Bearer <token>'")
        actor = auth.bearer_actor(center().db, token)
        if actor is None:
            raise Refused(401, "invalid_credentials", "Unknown, expired or revoked token")
        found = Who(actor, token=token)
    else:
        actor = _from_session()
        found = Who(actor, via_session=actor is not None)
    g.layso_who = found
    return found


def actor() -> Actor | None:
    """The user or device this request stands for, or None."""
    return who().actor


def check_csrf() -> None:
    """A write through a session cookie must carry the session's CSRF token (403 else)."""
    w = who()
    if w.via_session and request.method not in _SAFE_METHODS and not auth.csrf_matches(
            session.get("csrf"), request.headers.get("X-CSRF-Token")):
        raise Refused(403, "csrf_failed",
                       "Missing or wrong X-CSRF-Token header for a session request")


def demand(*roles: str) -> Actor:
    """The request's actor if it has one of these roles (user roles or device kinds): 401
    for nobody, else 403. For a view whose rule depends on the request (`?all=1`)."""
    a = actor()
    if a is None:
        raise Refused(401, "unauthenticated", "Log in or send a bearer token")
    if a.role not in roles:
        raise Refused(403, "forbidden", f"This needs one of: {', '.join(roles)}")
    return a


def require(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only these roles (user roles or device kinds) may call the API view: 401, else 403."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            demand(*roles)
            return fn(*args, **kwargs)
        return wrapper
    return deco


def logged_in() -> bool:
    """Whether this browser holds a session that is still valid (whatever its role)."""
    return _from_session() is not None


def page_actor(*roles: str) -> Actor | None:
    """For a page: the logged-in user if their session is valid and has one of the roles."""
    a = _from_session()
    return a if a is not None and a.kind == "user" and a.role in roles else None


def file_actor(*roles: str) -> Actor | None:
    """For a file a leader downloads (a report, a day's tickets): the user of a bearer token,
    as a script sends it, else the browser's session; None when neither has one of the roles.
    A malformed or unknown token raises Refused (401), as on the API."""
    if request.headers.get("Authorization"):
        a = actor()
        return a if a is not None and a.kind == "user" and a.role in roles else None
    return page_actor(*roles)


def socket_actor(auth_data: dict[str, Any]) -> Actor | None:
    """For the Socket.IO connect handler: the `token` of its auth, else the session cookie."""
    token = auth_data.get("token")
    if isinstance(token, str) and TOKEN_RE.match(token):
        return auth.bearer_actor(center().db, token)
    return _from_session()


def start_session(a: Actor, login: int) -> str:
    """Make this browser's session that of a fresh login; returns its CSRF token."""
    session.clear()
    session.permanent = True
    session["login"] = login
    session["sv"] = _session_version(a)
    session["csrf"] = auth.new_csrf_token()
    g.layso_who = Who(a, via_session=True)
    return str(session["csrf"])


def end_session() -> None:
    """Log out: the login behind this request (its session and its bearer token) ends."""
    w = who()
    login = session.get("login")
    with center().write() as tx:
        if w.token is not None and w.token.startswith("u_"):
            auth.revoke_user_token(tx.conn, w.token)
        if isinstance(login, int):
            auth.revoke_login(tx.conn, login)
    session.clear()
    g.layso_who = Who()


# -- browsers an official logged in from before ----------------------------------------------
#
# OWASP's "device cookie": a browser that once logged in as a user carries a signed cookie
# naming that user; its failed tries count on their own, so a guesser on the waiting room's
# Wi-Fi (or behind the same proxy, one address for everyone) slows only itself.

KNOWN_COOKIE = "layso_known"
_KNOWN_MAX = 8  # users remembered per browser (a counter's terminal is shared by shifts)


def _known_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="layso-known-browser")


def _known_entries() -> list[list[str]]:
    raw = request.cookies.get(KNOWN_COOKIE)
    if not raw:
        return []
    try:
        data = _known_serializer().loads(raw)
    except BadSignature:
        return []
    if not isinstance(data, list):
        return []
    return [e for e in data if isinstance(e, list) and len(e) == 2
            and all(isinstance(x, str) for x in e)]


def known_browser(username: str) -> str | None:
    """This browser's id if it logged in as `username` before (a signed cookie), else None."""
    name = username.lower()
    return next((bid for user, bid in _known_entries() if user == name), None)


def remember_browser(resp: Response, username: str) -> None:
    """After a successful login: this browser is known for this user from now on."""
    import secrets

    name = username.lower()
    entries = [e for e in _known_entries() if e[0] != name]
    entries.insert(0, [name, known_browser(username) or secrets.token_urlsafe(12)])
    resp.set_cookie(KNOWN_COOKIE, _known_serializer().dumps(entries[:_KNOWN_MAX]),
                    max_age=int(current_app.config["KNOWN_BROWSER_DAYS"]) * 86400,
                    httponly=True, samesite="Strict", path="/api/v1/auth/",
                    secure=bool(current_app.config.get("SESSION_COOKIE_SECURE"))
                    or request.is_secure)
