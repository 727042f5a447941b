"""REST API v1: thin views over layso.queue, with auth, validation and idempotency."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, jsonify, request, session
from sqlalchemy import delete, insert, select
from werkzeug.exceptions import HTTPException

from layso import auth, db
from layso.queue import Actor, Center, Invalid, QueueError, Reader, Tx, ops, stats, views

bp = Blueprint("api", __name__, url_prefix="/api/v1")

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
IDEMPOTENCY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
# ids and numbers fit a 32-bit column on every database (PostgreSQL's INTEGER is 32 bits)
MAX_INT = 2**31 - 1
# a NUL that PostgreSQL refuses, and lone surrogates that cannot be stored as UTF-8
BAD_TEXT_RE = re.compile(r"[\x00\ud800-\udfff]")
STAFF = ("officer", "supervisor", "admin")


class ApiError(Exception):
    """An error answered as `{"error": {code, message}}` with its status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def center() -> Center:
    """This app's Center."""
    return current_app.extensions["layso"]


def error(status: int, code: str, message: str, **details: Any) -> Response:
    """The documented error shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    resp = jsonify(error=body)
    resp.status_code = status
    return resp


@bp.errorhandler(ApiError)
def _api_error(e: ApiError) -> Response:
    return error(e.status, e.code, e.message)


@bp.errorhandler(QueueError)
def _queue_error(e: QueueError) -> Response:
    return error(e.status, e.code, e.message, **e.details)


@bp.url_value_preprocessor
def _check_path_numbers(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    # a counter or ticket number no column can hold names nothing: 404, not a database error
    if any(isinstance(v, int) and v > MAX_INT for v in (values or {}).values()):
        raise ApiError(404, "not_found", "No such resource")


@bp.app_errorhandler(405)
def _method_not_allowed(e: HTTPException) -> Any:
    # routing fails before the blueprint is known, so its own handlers never see a 405
    if request.path.startswith(bp.url_prefix + "/"):
        return error(405, "method_not_allowed", e.description or "Method not allowed")
    return e


@bp.errorhandler(HTTPException)
def _http_error(e: HTTPException) -> Response:
    codes = {400: "malformed", 404: "not_found", 405: "method_not_allowed",
             413: "too_large", 415: "unsupported_media_type"}
    code = e.code or 500
    return error(code, codes.get(code, "http_error"), e.description or e.name)


# -- authentication --------------------------------------------------------------------------

@bp.before_request
def _authenticate() -> Response | None:
    g.actor = None
    g.via_session = False
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not TOKEN_RE.match(token.strip()):
            return error(401, "invalid_credentials", "Authorization must be 'Bearer <token>'")
        g.actor = auth.bearer_actor(center().db, token.strip())
        if g.actor is None:
            return error(401, "invalid_credentials", "Unknown, expired or revoked token")
        g.token = token.strip()
        return None
    uid = session.get("uid")
    # logging in replaces the session: a browser still holding another one (an officer sent
    # to /login by a supervisor's page) has no CSRF token to send, and needs none
    if uid is not None and request.endpoint != "api.login":
        g.actor = auth.session_actor(center().db, int(uid))
        if g.actor is not None and session.get("sv") == _session_version(g.actor):
            g.via_session = True
            if request.method not in ("GET", "HEAD", "OPTIONS") and not auth.csrf_matches(
                    session.get("csrf"), request.headers.get("X-CSRF-Token")):
                return error(403, "csrf_failed",
                             "Missing or wrong X-CSRF-Token header for a session request")
        else:
            g.actor = None
    return None


def _session_version(actor: Actor) -> str:
    return f"{actor.id}:{actor.role}"


def require(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only these roles (user roles or device kinds) may call the view."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor: Actor | None = g.actor
            if actor is None:
                raise ApiError(401, "unauthenticated", "Log in or send a bearer token")
            if actor.role not in roles:
                raise ApiError(403, "forbidden", f"This needs one of: {', '.join(roles)}")
            return fn(*args, **kwargs)
        return wrapper
    return deco


# -- request bodies --------------------------------------------------------------------------

def body() -> dict[str, Any]:
    """The JSON object of the request (an empty body is an empty object)."""
    raw = request.get_data(cache=True)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # a chunked body is cut at the limit rather than refused: refuse it here, or the
        # cut body might still be valid JSON and act
        raise ApiError(413, "too_large", "The request body is too large")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", "The body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object")
    return data


def field(data: dict[str, Any], key: str, kind: type | tuple[type, ...], *,
          required: bool = False, default: Any = None) -> Any:
    """A body field of the given JSON type (bools are never numbers)."""
    if key not in data or data[key] is None:
        if required:
            raise Invalid("missing_field", f"{key} is required")
        return default
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise Invalid("invalid_field", f"{key} has the wrong type")
    if not isinstance(value, kinds):
        raise Invalid("invalid_field", f"{key} has the wrong type")
    if isinstance(value, str) and len(value) > 500:
        raise Invalid("invalid_field", f"{key} is too long")
    if isinstance(value, str) and BAD_TEXT_RE.search(value):
        raise Invalid("invalid_field", f"{key} contains characters that are not allowed")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise Invalid("invalid_field", f"{key} is out of range")
    return value


def only(data: dict[str, Any], *keys: str) -> None:
    """Refuse unknown fields, so a typo is an error rather than silently ignored."""
    extra = set(data) - set(keys)
    if extra:
        raise Invalid("unknown_field", f"Unknown fields: {', '.join(sorted(extra))}")


# -- actions with idempotency ----------------------------------------------------------------

def act(fn: Callable[[Tx], Any], status: int = 200) -> Response:
    """Run a domain action in one transaction; an Idempotency-Key replays its first answer.

    The action joins the center's group commit, so `fn` must not touch Flask's request
    context (`g`, `request`): it may run on the thread of another request.
    """
    actor: Actor = g.actor
    key, fingerprint = _idempotency()

    def op(tx: Tx) -> tuple[int, str]:
        since = tx.now - timedelta(hours=24)
        if key is not None and (first := _first_answer(tx, actor, key, fingerprint)):
            return first
        result = fn(tx)
        code = 204 if result is None else status
        text = "" if result is None else json.dumps(result, ensure_ascii=False)
        if key is not None:
            if random.random() < 0.01:  # keys live 24 h; sweep now and then
                tx.conn.execute(delete(db.idempotency_keys).where(
                    db.idempotency_keys.c.created_at <= since))
            tx.conn.execute(delete(db.idempotency_keys).where(
                db.idempotency_keys.c.actor == actor.key, db.idempotency_keys.c.key == key))
            tx.conn.execute(insert(db.idempotency_keys).values(
                actor=actor.key, key=key, fingerprint=fingerprint, status=code, body=text,
                created_at=tx.now))
        return code, text

    code, text = center().run(op)
    return _replay(code, text)


def _idempotency() -> tuple[str | None, str]:
    """The request's Idempotency-Key (checked) and what makes two requests the same one."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_RE.match(key):
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key: 1-200 visible characters")
    fingerprint = f"{request.method} {request.path} " + hashlib.sha256(
        request.get_data(cache=True)).hexdigest()
    return key, fingerprint


def _first_answer(r: Reader, actor: Actor, key: str,
                  fingerprint: str) -> tuple[int, str] | None:
    """The stored answer to this actor's key (kept 24 h), or None; 422 for another request."""
    row = r.conn.execute(select(db.idempotency_keys).where(
        db.idempotency_keys.c.actor == actor.key, db.idempotency_keys.c.key == key,
        db.idempotency_keys.c.created_at > r.now - timedelta(hours=24))).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was used for another request")
    return row.status, row.body


def _replay(status: int, text: str) -> Response:
    if status == 204:
        return Response(status=204)
    return Response(text, status=status, mimetype="application/json")


# -- auth endpoints --------------------------------------------------------------------------

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
    with center().read() as r:  # the slow hash check holds no write lock
        actor = auth.check_password(r.conn, username, password)
    if actor is None:
        raise ApiError(401, "invalid_credentials", "Wrong username or password")
    with center().write() as tx:
        auth.upgrade_password_hash(tx.conn, actor.id, password)
        token = auth.issue_user_token(tx.conn, actor.id, current_app.config["TOKEN_HOURS"])
    session.clear()
    session.permanent = True
    session["uid"] = actor.id
    session["sv"] = _session_version(actor)
    session["csrf"] = auth.new_csrf_token()
    return jsonify(token=token, csrf_token=session["csrf"],
                   user={"id": actor.id, "name": actor.name, "role": actor.role,
                         "username": username})


@bp.post("/auth/logout")
def logout() -> Any:
    """End the session and revoke the bearer token used."""
    only(body())
    if getattr(g, "token", None) and g.token.startswith("u_"):
        with center().write() as tx:
            auth.revoke_user_token(tx.conn, g.token)
    session.clear()
    return jsonify(ok=True)


@bp.get("/auth/me")
def me() -> Any:
    """Who the request is authenticated as."""
    a: Actor | None = g.actor
    if a is None:
        raise ApiError(401, "unauthenticated", "Not logged in")
    out = {"kind": a.kind, "id": a.id, "role": a.role, "name": a.name}
    if a.kind == "device" and a.counter_id is not None:
        with center().read() as r:
            c = r.conn.execute(select(db.counters).where(db.counters.c.id == a.counter_id)).first()
            out["counter"] = views.counter_brief(c)
            # the feedback tablet greets the citizen with the name of the official serving them
            out["officer"] = stats.counter_officer(r, a.counter_id)
    if g.via_session:
        out["csrf_token"] = session.get("csrf")
    return jsonify(out)


# -- reading ---------------------------------------------------------------------------------

@bp.get("/services")
def services() -> Any:
    """Services with waiting counts and the open flag."""
    with center().read() as r:
        return jsonify(items=views.list_services(r))


@bp.get("/categories")
def categories() -> Any:
    """Priority categories the kiosk offers."""
    with center().read() as r:
        return jsonify(items=views.list_categories(r))


@bp.get("/tickets/<token>")
def public_ticket(token: str) -> Any:
    """The citizen's view of their ticket, by its unguessable token."""
    if not TOKEN_RE.match(token):
        raise ApiError(404, "unknown_ticket", "No such ticket")
    with center().read() as r:
        t = views.ticket_by_token(r, token)
        if t is None:
            raise ApiError(404, "unknown_ticket", "No such ticket")
        return jsonify(views.ticket_view(r, t, public=True))


@bp.get("/queue")
@require(*STAFF)
def queue() -> Any:
    """Waiting tickets in call order (`service=` one queue, `counter=` a counter's)."""
    service = request.args.get("service")
    counter = request.args.get("counter")
    with center().read() as r:
        if service is not None and (BAD_TEXT_RE.search(service) or r.conn.execute(
                select(db.services.c.id).where(db.services.c.code == service)).first() is None):
            raise Invalid("unknown_service", f"No service {service!r}")
        number = None
        if counter is not None:
            # ASCII digits only: "²".isdigit() is true but int() refuses it
            if not (counter.isascii() and counter.isdigit()) or len(counter) > 9:
                raise Invalid("invalid_field", "counter must be a counter number")
            number = int(counter)
            if r.conn.execute(select(db.counters.c.id).where(
                    db.counters.c.number == number)).first() is None:
                raise Invalid("unknown_counter", f"No counter number {number}")
        return jsonify(items=views.queue_for(r, service, number))


@bp.get("/counters")
@require(*STAFF)
def counters() -> Any:
    """Every counter with its state and current ticket."""
    with center().read() as r:
        rows = r.conn.execute(select(db.counters).order_by(db.counters.c.number)).all()
        return jsonify(items=[views.counter_view(r, c) for c in rows])


@bp.get("/counters/<int:n>")
@require(*STAFF)
def counter(n: int) -> Any:
    """One counter."""
    with center().read() as r:
        c = r.conn.execute(select(db.counters).where(db.counters.c.number == n)).first()
        if c is None:
            raise ApiError(404, "unknown_counter", f"No counter number {n}")
        return jsonify(views.counter_view(r, c))


@bp.get("/counters/<int:n>/absent")
@require(*STAFF)
def counter_absent(n: int) -> Any:
    """Today's absent tickets of a counter's services, latest first (to reactivate)."""
    with center().read() as r:
        items = stats.absent_for_counter(r, n)
        if items is None:
            raise ApiError(404, "unknown_counter", f"No counter number {n}")
        return jsonify(items=items)


@bp.get("/me/stats")
@require(*STAFF)
def my_stats() -> Any:
    """The logged-in official's figures for today, the counters they hold, the recall limit."""
    with center().read() as r:
        return jsonify(stats.officer_today(r, g.actor.id))


@bp.get("/board")
def board() -> Any:
    """The board snapshot (the same as the socket snapshot)."""
    with center().read() as r:
        return jsonify({**views.board(r), "build": current_app.config["BUILD"]})


@bp.post("/notice")
@require("supervisor", "admin")
def set_notice() -> Any:
    """Set the board's scrolling notice line `{vi, en}`; empty strings clear it."""
    from layso.queue import catalog

    data = body()
    only(data, "vi", "en")
    vi = field(data, "vi", str, default="").strip()
    en = field(data, "en", str, default="").strip()

    def run(tx: Tx) -> dict[str, str]:
        catalog.update_center(tx, notice_vi=vi, notice_en=en)
        return {"vi": vi, "en": en}

    return act(run)


@bp.get("/health")
def health() -> Any:
    """`{ok, db, printer}`."""
    db_ok = True
    try:
        with center().read() as r:
            r.conn.execute(select(1)).scalar()
    except Exception:
        db_ok = False
    printer = current_app.extensions.get("layso_printer_status", lambda: "none")()
    return jsonify(ok=db_ok, db="ok" if db_ok else "down", printer=printer,
                   build=current_app.config["BUILD"]), 200 if db_ok else 503


# -- writing ---------------------------------------------------------------------------------

@bp.post("/tickets")
@require("kiosk", *STAFF)
def issue_ticket() -> Any:
    """Issue a ticket (kiosk device or staff on a citizen's behalf)."""
    data = body()
    only(data, "service", "priority", "procedure", "lang")
    service = field(data, "service", str, required=True)
    priority = field(data, "priority", str)
    procedure = field(data, "procedure", str)
    lang = field(data, "lang", str, default="vi")
    actor: Actor = g.actor
    if actor.kind == "device":
        limiter: auth.Limiter = current_app.extensions["layso_issue_limiter"]
        if not limiter.allow(actor.key):
            # a retry of a ticket already issued still gets its ticket, not a refusal
            key, fingerprint = _idempotency()
            if key is not None:
                with center().read() as r:
                    first = _first_answer(r, actor, key, fingerprint)
                if first is not None:
                    return _replay(*first)
            raise ApiError(429, "rate_limited", "Too many tickets from this kiosk; wait a minute")
    print_state = "queued" if current_app.config.get("PRINTER", "none") != "none" else "none"
    return act(lambda tx: ops.issue(tx, actor, service, priority, procedure, lang,
                                    print_state=print_state), status=201)


def _counter_action(fn: Callable[..., Any], *fields_: tuple[str, type, bool]) -> Any:
    data = body()
    only(data, *(f[0] for f in fields_))
    args = [field(data, name, kind, required=req) for name, kind, req in fields_]
    actor = g.actor
    return act(lambda tx: fn(tx, actor, *args))


@bp.post("/counters/<int:n>/open")
@require(*STAFF)
def counter_open(n: int) -> Any:
    """Open or resume a counter."""
    return _counter_action(lambda tx, a: ops.open_counter(tx, a, n))


@bp.post("/counters/<int:n>/pause")
@require(*STAFF)
def counter_pause(n: int) -> Any:
    """Pause a counter with a reason."""
    return _counter_action(lambda tx, a, reason: ops.pause_counter(tx, a, n, reason),
                           ("reason", str, True))


@bp.post("/counters/<int:n>/close")
@require(*STAFF)
def counter_close(n: int) -> Any:
    """Close a counter."""
    return _counter_action(lambda tx, a: ops.close_counter(tx, a, n))


@bp.post("/counters/<int:n>/call-next")
@require(*STAFF)
def counter_call_next(n: int) -> Any:
    """Call the next ticket: 200 with it, or 204 when nothing waits."""
    return _counter_action(lambda tx, a: ops.call_next(tx, a, n))


@bp.post("/counters/<int:n>/call")
@require(*STAFF)
def counter_call(n: int) -> Any:
    """Call a chosen waiting ticket (id or label)."""
    return _counter_action(lambda tx, a, t: ops.call_ticket(tx, a, n, t),
                           ("ticket", (int, str), True))


@bp.post("/counters/<int:n>/recall")
@require(*STAFF)
def counter_recall(n: int) -> Any:
    """Announce the current ticket again."""
    return _counter_action(lambda tx, a: ops.recall(tx, a, n))


@bp.post("/counters/<int:n>/start")
@require(*STAFF)
def counter_start(n: int) -> Any:
    """Start serving the called citizen."""
    return _counter_action(lambda tx, a: ops.start(tx, a, n))


@bp.post("/counters/<int:n>/no-show")
@require(*STAFF)
def counter_no_show(n: int) -> Any:
    """Mark the called citizen absent."""
    return _counter_action(lambda tx, a: ops.no_show(tx, a, n))


@bp.post("/counters/<int:n>/complete")
@require(*STAFF)
def counter_complete(n: int) -> Any:
    """Finish the current ticket with an outcome."""
    return _counter_action(lambda tx, a, o, p: ops.complete(tx, a, n, o, p),
                           ("outcome", str, True), ("procedure", str, False))


@bp.post("/counters/<int:n>/transfer")
@require(*STAFF)
def counter_transfer(n: int) -> Any:
    """Move the current ticket to another service, front or back."""
    return _counter_action(lambda tx, a, s, p: ops.transfer(tx, a, n, s, p),
                           ("service", str, True), ("position", str, True))


@bp.post("/tickets/<int:ticket_id>/reactivate")
@require(*STAFF)
def ticket_reactivate(ticket_id: int) -> Any:
    """An absent citizen is back: waiting again."""
    return _counter_action(lambda tx, a: ops.reactivate(tx, a, ticket_id))


@bp.post("/tickets/<int:ticket_id>/cancel")
@require(*STAFF)
def ticket_cancel(ticket_id: int) -> Any:
    """Cancel a waiting ticket."""
    return _counter_action(lambda tx, a: ops.cancel(tx, a, ticket_id))


@bp.post("/tickets/<int:ticket_id>/priority")
@require(*STAFF)
def ticket_priority(ticket_id: int) -> Any:
    """Correct the priority category of a waiting ticket (null clears it)."""
    data = body()
    only(data, "priority")
    priority = field(data, "priority", str)
    actor = g.actor
    return act(lambda tx: ops.set_priority(tx, actor, ticket_id, priority))


@bp.post("/tickets/<int:ticket_id>/reprint")
@require(*STAFF)
def ticket_reprint(ticket_id: int) -> Any:
    """Print a ticket again (the print worker takes it); 409 when there is no printer."""
    only(body())
    if current_app.config.get("PRINTER", "none") == "none":
        raise ApiError(409, "no_printer", "No printer is configured (LAYSO_PRINTER=none)")
    actor = g.actor
    return act(lambda tx: ops.reprint(tx, actor, ticket_id))


@bp.post("/ratings")
@require("feedback")
def ratings() -> Any:
    """The citizen's rating of a completed ticket (feedback device)."""
    data = body()
    only(data, "ticket", "score", "reason", "comment")
    ticket = field(data, "ticket", int, required=True)
    score = field(data, "score", int, required=True)
    reason = field(data, "reason", str)
    comment = field(data, "comment", str)
    actor = g.actor
    return act(lambda tx: ops.rate(tx, actor, ticket, score, reason, comment), status=201)


@bp.get("/reports/day")
@require("supervisor", "admin")
def report_day() -> Any:
    """How a day went (`?day=YYYY-MM-DD`, default today): services, counters, officials."""
    from datetime import date

    from layso.queue import reports

    text = request.args.get("day")
    day = None
    if text:
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise Invalid("invalid_day", "day must be YYYY-MM-DD") from exc
    with center().read() as r:
        return jsonify(reports.day_report(r, day))


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3.1 document of this API."""
    from layso.api.openapi import document

    return jsonify(document())
