"""Bad input on every API endpoint: the documented 4xx with the error shape, never a 5xx,
and nothing in the database changed.

The cases are generated from `layso.api.openapi.OPERATIONS`, so an endpoint added there is
swept automatically; a test checks that the table and the app's routes agree.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from layso import auth, create_app, db
from layso.api.openapi import OPERATIONS
from layso.cli import init_db
from layso.config import DEFAULTS, load
from tests.conftest import Clock

HUGE = 10**30  # beyond every integer column
STAFF_WHO = "officer, supervisor or admin"


# -- the world every case runs against -------------------------------------------------------

@dataclass
class World:
    """One app with a known state: a waiting, a done (rated) and an absent ticket."""

    app: Any
    client: Any
    session_client: Any
    tokens: dict[str, str]
    waiting: dict[str, Any]
    done: dict[str, Any]
    absent: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)

    def call(self, method: str, path: str, actor: str | None = None, data: bytes | None = None,
             headers: dict[str, str] | None = None, client: Any = None,
             chunked: bool = False) -> Any:
        """One request; `actor` names a bearer token (None: no Authorization header);
        `chunked` sends the body without Content-Length, as gunicorn passes a chunked one."""
        h = dict(headers or {})
        if actor is not None:
            h["Authorization"] = f"Bearer {self.tokens[actor]}"
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        if chunked:
            h["Transfer-Encoding"] = "chunked"
            return (client or self.client).open(
                "/api/v1" + path, method=method.upper(), input_stream=io.BytesIO(data or b""),
                headers=h, environ_overrides={"wsgi.input_terminated": True})
        return (client or self.client).open("/api/v1" + path, method=method.upper(),
                                            data=data, headers=h)


def fingerprint(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: a bad request must leave all of them as they were."""
    center = app.extensions["layso"]
    with center.db.read() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t)).all()]
                for t in db.metadata.sorted_tables}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo center with tickets in every interesting state."""
    tmp: Path = tmp_path_factory.mktemp("bad-input")
    cfg = {"DATA_DIR": str(tmp), "CLOCK": Clock(), "PUBLIC_URL": "http://layso.test",
           "SECRET_KEY": "test-secret", "KIOSK_RATE_PER_MINUTE": 100000}
    init_db(load(cfg), demo=True)
    app = create_app(cfg)
    app.config["TESTING"] = True
    center = app.extensions["layso"]
    tokens: dict[str, str] = {}
    with center.db.write() as conn:
        cid = conn.execute(select(db.counters.c.id).where(db.counters.c.number == 1)).scalar()
        tokens["kiosk"] = auth.add_device(conn, "Kiosk", "kiosk")
        tokens["display"] = auth.add_device(conn, "Board", "display")
        tokens["feedback"] = auth.add_device(conn, "Tablet", "feedback", cid)
        for name, role in (("o1", "officer"), ("o2", "officer"), ("sup", "supervisor"),
                           ("adm", "admin"), ("lo", "officer")):
            uid = auth.add_user(conn, name, "password-" + name, role, name.upper())
            tokens[name] = auth.issue_user_token(conn, uid, 12)
            if name == "o1":
                tokens["expired"] = auth.issue_user_token(conn, uid, 12)
                tokens["revoked"] = auth.issue_user_token(conn, uid, 12)
        conn.execute(update(db.api_tokens)
                     .where(db.api_tokens.c.token_hash == auth.token_digest(tokens["expired"]))
                     .values(expires_at=db.utcnow() - timedelta(minutes=1)))
        auth.revoke_user_token(conn, tokens["revoked"])
    client = app.test_client()
    w = World(app, client, app.test_client(), tokens, {}, {}, {})

    def ok(r: Any, status: int = 200) -> Any:
        assert r.status_code == status, r.get_data(as_text=True)
        return r.get_json()

    issue = [ok(w.call("post", "/tickets", "kiosk", json.dumps({"service": "civil-status"})
                       .encode()), 201) for _ in range(3)]
    ok(w.call("post", "/counters/1/open", "o1"))
    w.done = ok(w.call("post", "/counters/1/call-next", "o1"))
    ok(w.call("post", "/counters/1/start", "o1"))
    ok(w.call("post", "/counters/1/complete", "o1", b'{"outcome": "done"}'))
    ok(w.call("post", "/ratings", "feedback",
              json.dumps({"ticket": w.done["id"], "score": 5}).encode()), 201)
    w.absent = ok(w.call("post", "/counters/1/call-next", "o1"))
    ok(w.call("post", "/counters/1/no-show", "o1"))
    w.waiting = issue[2]
    assert [w.done["label"], w.absent["label"], w.waiting["label"]] == ["A001", "A002", "A003"]
    r = w.session_client.post("/api/v1/auth/login",
                              json={"username": "sup", "password": "password-sup"})
    w.refs["csrf"] = ok(r)["csrf_token"]
    yield w
    center.db.dispose()


# -- what the table says about each operation -----------------------------------------------

OPS = [(m, p, who, req) for m, p, _s, who, req, _st, _r in OPERATIONS]


def allowed_actor(who: str) -> str | None:
    """A bearer actor the operation accepts (None: no credentials needed)."""
    actors = {"anyone": None, "anyone with the token": None, "a logged-in user": "lo",
              "anyone authenticated": "display", STAFF_WHO: "o1",
              "kiosk device, " + STAFF_WHO: "kiosk", "supervisor or admin": "sup",
              "feedback device": "feedback", "admin": "adm"}
    if who not in actors:
        raise AssertionError(f"add {who!r} to allowed_actor and forbidden_actors")
    return actors[who]


def forbidden_actors(who: str) -> list[str]:
    """Authenticated actors the operation must refuse with 403."""
    return {STAFF_WHO: ["kiosk", "display", "feedback"],
            "kiosk device, " + STAFF_WHO: ["display", "feedback"],
            "supervisor or admin": ["o1", "kiosk", "display", "feedback"],
            "feedback device": ["o1", "sup", "kiosk", "display"],
            "admin": ["o1", "sup", "kiosk", "display", "feedback"]}.get(who, [])


#: what names a service, a category and a user in a path
PATH_CODES = {"/services/{code}": "civil-status", "/categories/{code}": "elderly"}
#: writes whose session is not checked for a CSRF token (the token or code is the secret)
NO_CSRF = ("/auth/login", "/devices/enrol")


def concrete(path: str, w: World, n: Any = 1, ticket_id: Any = None, token: Any = None,
             device_id: Any = 1, code: Any = None, username: Any = "o2") -> str:
    """The path with its parameters filled in."""
    if "{code}" in path:
        path = path.replace("{code}", str(code or PATH_CODES[path]))
    return (path.replace("{n}", str(n)).replace("{device_id}", str(device_id))
            .replace("{username}", str(username))
            .replace("{id}", str(ticket_id if ticket_id is not None else w.waiting["id"]))
            .replace("{token}", str(token or w.waiting["status_url"].rsplit("/", 1)[1])))


SAMPLES: dict[tuple[str, str], Any] = {
    ("/auth/login", "username"): "o1", ("/auth/login", "password"): "not-the-password",
    ("/tickets", "service"): "no-such-service", ("/counters/{n}/pause", "reason"): "Nghỉ trưa",
    ("/counters/{n}/call", "ticket"): "Z999", ("/ratings", "ticket"): 999999,
    ("/counters/{n}/transfer", "service"): "land",
    # a password the center accepts, so that a refusal is for the case, not for it
    ("/users", "password"): "a-long-password", ("/users/{username}", "password"): "a-long-pw-2",
}


def sample_body(path: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A body whose every field has the right JSON type (it need not succeed)."""
    out: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if (path, name) in SAMPLES:
            out[name] = SAMPLES[(path, name)]
        elif "enum" in prop:
            out[name] = next(v for v in prop["enum"] if v is not None)
        else:
            types = prop.get("type", "string")
            types = [types] if isinstance(types, str) else types
            out[name] = {"string": "x", "integer": 1, "boolean": True, "object": {},
                         "array": []}[
                next(t for t in types if t != "null")]
    return out


WRONG_VALUES = [12345, "wrong-value", True, 1.5, {"nested": {"a": 1}}, [1, 2]]


def json_types(prop: dict[str, Any]) -> set[str]:
    """The JSON types a schema property accepts."""
    if "enum" in prop:
        return {"null" if v is None else "string" if isinstance(v, str) else "integer"
                for v in prop["enum"]}
    types = prop.get("type", "string")
    return {types} if isinstance(types, str) else set(types)


def wrong_values(prop: dict[str, Any], required: bool) -> list[Any]:
    """Values of a type the field does not take (an enum takes only its own strings)."""
    kinds = json_types(prop)
    out = []
    for v in WRONG_VALUES:
        kind = ("boolean" if isinstance(v, bool) else "integer" if isinstance(v, int)
                else "number" if isinstance(v, float) else "string" if isinstance(v, str)
                else "object" if isinstance(v, dict) else "array")
        if kind not in kinds or (kind == "string" and "enum" in prop):
            out.append(v)
    if required:
        out.append(None)
    return out


# -- the cases -------------------------------------------------------------------------------

@dataclass
class Case:
    """One bad request and the answer it must get."""

    id: str
    method: str
    path: str  # template; filled in at run time
    actor: str | None
    body: Any = None  # bytes as sent, or a JSON value, or a callable(world) -> JSON value
    status: tuple[int, ...] = (400,)
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    session: bool = False
    path_args: dict[str, Any] = field(default_factory=dict)
    chunked: bool = False


def generated_cases() -> list[Case]:
    """Malformed bodies, wrong types, unknown fields, size, credentials and roles per op."""
    cases: list[Case] = []
    max_body = DEFAULTS["MAX_BODY_BYTES"]
    for method, path, who, req in OPS:
        op = f"{method.upper()} {path}"
        actor = allowed_actor(who)
        if method in ("post", "patch"):
            for label, raw in (("open-brace", b"{"), ("array", b"[1,2]"), ("string", b'"x"'),
                               ("number", b"42"), ("null", b"null"),
                               ("invalid-utf8", b'{"service": "\xff\xfe"}'),
                               ("trailing", b'{"a": 1} x'),
                               ("deep-nesting", b"[" * 40000),
                               ("lone-surrogate", b'{"x": "\\ud800"}' if req is None else None)):
                if raw is None:
                    continue
                want = (422,) if label == "lone-surrogate" else (400,)
                cases.append(Case(f"{op} malformed {label}", method, path, actor, raw, want))
            base = sample_body(path, req or {})
            cases.append(Case(f"{op} unknown field", method, path, actor,
                              {**base, "zz_unknown": 1}, (422,), "unknown_field"))
            big = json.dumps({"x": "a" * (max_body + 10)}).encode()
            cases.append(Case(f"{op} too large", method, path, actor, big, (413,), "too_large"))
            # chunked: no Content-Length, and valid JSON if it were cut at the limit
            cut = json.dumps(base).encode() + b" " * (max_body + 10)
            cases.append(Case(f"{op} too large chunked", method, path, actor, cut, (413,),
                              "too_large", chunked=True))
            for name, prop in (req or {}).get("properties", {}).items():
                required = name in (req or {}).get("required", [])
                for v in wrong_values(prop, required):
                    cases.append(Case(f"{op} {name}={json.dumps(v)}", method, path, actor,
                                      {**base, name: v}, (422,)))
                if prop.get("type") == "string" or "string" in json_types(prop):
                    for bad, label in (("a" * 600, "too long"), ("a\x00b", "NUL"),
                                       ("\ud800", "lone surrogate")):
                        cases.append(Case(f"{op} {name} {label}", method, path, actor,
                                          {**base, name: bad}, (422,)))
            if path not in NO_CSRF:
                for hdr, label in (({}, "no header"), ({"X-CSRF-Token": "wrong"}, "wrong")):
                    cases.append(Case(f"{op} session without CSRF ({label})", method, path,
                                      None, base or None, (403,), "csrf_failed", hdr,
                                      session=True))
        for label, header in (("garbage", "Bearer not a token!"), ("basic", "Basic YWJjOmRlZg=="),
                              ("unknown", "Bearer u_" + "A" * 43),
                              ("unknown device", "Bearer dk_" + "B" * 43),
                              ("too long", "Bearer " + "C" * 300)):
            cases.append(Case(f"{op} bearer {label}", method, path, None, None, (401,),
                              headers={"Authorization": header}))
        for stale in ("expired", "revoked"):
            cases.append(Case(f"{op} {stale} token", method, path, stale, None, (401,)))
        if actor is not None and path != "/auth/logout":
            cases.append(Case(f"{op} no credentials", method, path, None, None, (401,)))
        for other in forbidden_actors(who):
            cases.append(Case(f"{op} as {other}", method, path, other, None, (403,)))
        body = sample_body(path, req) if req else None
        if "{n}" in path:
            for n in (99, HUGE):
                cases.append(Case(f"{op} counter {n}", method, path, actor or "o1", body,
                                  (404,), path_args={"n": n}))
        if "{device_id}" in path:
            for i in (999999, HUGE):
                cases.append(Case(f"{op} device {i}", method, path, actor, body, (404,),
                                  path_args={"device_id": i}))
        for name, unknown in (("{code}", "no-such-code"), ("{username}", "nobody")):
            if name in path:
                cases.append(Case(f"{op} unknown {name[1:-1]}", method, path, actor, body,
                                  (404,), path_args={name[1:-1]: unknown}))
        if "{id}" in path:
            # reprint answers 409 no_printer first: this app has no printer
            want = (404, 409) if path.endswith("/reprint") else (404,)
            for i in (999999, HUGE):
                cases.append(Case(f"{op} ticket id {i}", method, path, "o1", body, want,
                                  path_args={"ticket_id": i}))
        if "{token}" in path:
            for tok in ("A" * 24, "short", "bad token!", "x" * 65):
                cases.append(Case(f"{op} token {tok[:10]}", method, path, None, None, (404,),
                                  path_args={"token": tok}))
    return cases


def d(key: str, attr: str) -> Any:
    """A value of the world known at run time: d('done', 'id')."""
    return lambda w: getattr(w, key)[attr]


EXPLICIT = [
    # unknown names and ids inside bodies and query strings
    Case("issue unknown service", "post", "/tickets", "kiosk", {"service": "nope"}, (422,),
         "unknown_service"),
    Case("issue unknown priority", "post", "/tickets", "kiosk",
         {"service": "land", "priority": "nope"}, (422,), "unknown_priority"),
    Case("issue unknown procedure", "post", "/tickets", "kiosk",
         {"service": "land", "procedure": "nope"}, (422,), "unknown_procedure"),
    Case("issue lang fr", "post", "/tickets", "kiosk", {"service": "land", "lang": "fr"},
         (422,)),
    Case("issue empty service", "post", "/tickets", "kiosk", {"service": ""}, (422,)),
    Case("issue empty body", "post", "/tickets", "kiosk", b"", (422,), "missing_field"),
    Case("call unknown label", "post", "/counters/1/call", "o1", {"ticket": "Z999"}, (404,)),
    Case("call unknown id", "post", "/counters/1/call", "o1", {"ticket": 999999}, (404,)),
    Case("call huge id", "post", "/counters/1/call", "o1", {"ticket": HUGE}, (404, 422)),
    Case("call empty label", "post", "/counters/1/call", "o1", {"ticket": ""}, (422,)),
    Case("rate unknown ticket", "post", "/ratings", "feedback", {"ticket": 999999, "score": 5},
         (404,)),
    Case("rate huge ticket", "post", "/ratings", "feedback", {"ticket": HUGE, "score": 5},
         (404, 422)),
    Case("rate score 0", "post", "/ratings", "feedback",
         lambda w: {"ticket": w.done["id"], "score": 0}, (422,)),
    Case("rate score 6", "post", "/ratings", "feedback",
         lambda w: {"ticket": w.done["id"], "score": 6}, (422,)),
    Case("rate score huge", "post", "/ratings", "feedback",
         lambda w: {"ticket": w.done["id"], "score": HUGE}, (422,)),
    Case("rate unknown reason", "post", "/ratings", "feedback",
         lambda w: {"ticket": w.done["id"], "score": 2, "reason": "nope"}, (422,)),
    Case("complete unknown outcome", "post", "/counters/1/complete", "o1", {"outcome": "nope"},
         (422,)),
    Case("transfer unknown service", "post", "/counters/1/transfer", "o1",
         {"service": "nope", "position": "back"}, (422,)),
    Case("transfer position middle", "post", "/counters/1/transfer", "o1",
         {"service": "land", "position": "middle"}, (422,)),
    Case("pause blank reason", "post", "/counters/1/pause", "o1", {"reason": "   "}, (422,)),
    Case("priority unknown", "post", "/tickets/{id}/priority", "o1", {"priority": "nope"},
         (422,)),
    Case("queue unknown service", "get", "/queue?service=nope", "o1", None, (422,)),
    Case("queue counter not a number", "get", "/queue?counter=abc", "o1", None, (422,)),
    Case("queue counter huge", "get", f"/queue?counter={HUGE}", "o1", None, (422,)),
    Case("queue unknown counter", "get", "/queue?counter=99", "o1", None, (422,)),
    Case("queue counter superscript", "get", "/queue?counter=%C2%B2", "o1", None, (422,)),
    Case("queue service NUL", "get", "/queue?service=a%00b", "o1", None, (422,)),
    Case("report bad day", "get", "/reports/day?day=2026-13-45", "sup", None, (422,)),
    Case("report period backwards", "get", "/reports?from=2026-11-26&to=2026-11-25", "sup",
         None, (422,), "invalid_period"),
    Case("report period too long", "get", "/reports?from=2025-01-01&to=2026-01-02", "sup",
         None, (422,), "period_too_long"),
    Case("report unknown grouping", "get", "/reports?from=2026-11-25&to=2026-11-25&by=week",
         "sup", None, (422,), "invalid_by"),
    Case("comments bad date", "get", "/reports/comments?from=2026-02-30&to=2026-03-01", "sup",
         None, (422,), "invalid_period"),
    Case("login unknown user", "post", "/auth/login", None,
         {"username": "nobody", "password": "whatever1"}, (401,)),
    Case("login wrong password", "post", "/auth/login", None,
         {"username": "o1", "password": "wrong-password"}, (401,)),
    Case("login empty body", "post", "/auth/login", None, b"", (422,)),
    Case("bad idempotency key", "post", "/counters/1/open", "o1", None, (400,),
         headers={"Idempotency-Key": "has spaces in it"}),
    Case("idempotency key too long", "post", "/counters/1/open", "o1", None, (400,),
         headers={"Idempotency-Key": "k" * 201}),
    Case("unknown endpoint", "get", "/nope", None, None, (404,)),
    Case("wrong method", "get", "/counters/1/open", "o1", None, (405,)),
    Case("wrong method on tickets", "delete", "/tickets", "kiosk", None, (405,)),
    # officers act only on counters they opened
    Case("other officer's counter", "post", "/counters/1/call-next", "o2", None, (403,),
         "not_your_counter"),
    Case("other officer closes", "post", "/counters/1/close", "o2", None, (403,)),
    # illegal transitions: counter 1 is open and idle, counter 2 closed
    Case("recall with nobody called", "post", "/counters/1/recall", "o1", None, (409,)),
    Case("start with nobody called", "post", "/counters/1/start", "o1", None, (409,)),
    Case("no-show with nobody called", "post", "/counters/1/no-show", "o1", None, (409,)),
    Case("complete with nobody served", "post", "/counters/1/complete", "o1",
         {"outcome": "done"}, (409,)),
    Case("transfer with nobody called", "post", "/counters/1/transfer", "o1",
         {"service": "land", "position": "back"}, (409,)),
    Case("call a done ticket", "post", "/counters/1/call", "o1",
         lambda w: {"ticket": w.done["label"]}, (409,), "ticket_not_waiting"),
    Case("call-next on a closed counter", "post", "/counters/2/call-next", "o1", None, (409,),
         "counter_closed"),
    Case("pause a closed counter", "post", "/counters/2/pause", "o1", {"reason": "Họp"},
         (409,)),
    Case("reactivate a waiting ticket", "post", "/tickets/{id}/reactivate", "o1", None,
         (409,)),
    Case("cancel a done ticket", "post", "/tickets/{id}/cancel", "o1", None, (409,),
         path_args={"ticket_id": d("done", "id")}),
    Case("cancel an absent ticket", "post", "/tickets/{id}/cancel", "o1", None, (409,),
         path_args={"ticket_id": d("absent", "id")}),
    Case("priority of a done ticket", "post", "/tickets/{id}/priority", "o1",
         {"priority": None}, (409,), path_args={"ticket_id": d("done", "id")}),
    Case("reprint a done ticket", "post", "/tickets/{id}/reprint", "o1", None, (409,),
         path_args={"ticket_id": d("done", "id")}),
    Case("rate a waiting ticket", "post", "/ratings", "feedback",
         lambda w: {"ticket": w.waiting["id"], "score": 5}, (409,)),
    Case("rate an absent ticket", "post", "/ratings", "feedback",
         lambda w: {"ticket": w.absent["id"], "score": 5}, (409,)),
    # the administration's conflicts: counter 1 is open, civil-status has tickets today
    Case("service code taken", "post", "/services", "adm",
         {"code": "land", "prefix": "Q", "name": {"vi": "Q"}}, (409,), "duplicate_code"),
    Case("service prefix taken", "post", "/services", "adm",
         {"code": "new", "prefix": "A", "name": {"vi": "Q"}}, (409,), "duplicate_prefix"),
    Case("prefix of a service with tickets today", "patch", "/services/{code}", "adm",
         {"prefix": "Q"}, (409,), "service_in_use"),
    Case("procedure listed twice", "patch", "/services/{code}", "adm",
         {"procedures": [{"code": "p", "name": {"vi": "P"}}, {"code": "p", "name": {"vi": "P"}}]},
         (409,), "duplicate_code"),
    Case("service closes before it opens", "patch", "/services/{code}", "adm",
         {"opens_at": "17:00", "closes_at": "07:00"}, (422,), "invalid_hours"),
    Case("counter number taken", "post", "/counters", "adm", {"number": 1}, (409,),
         "duplicate_number"),
    Case("counter renumbered onto another", "patch", "/counters/{n}", "adm", {"number": 2},
         (409,), "duplicate_number"),
    Case("retire an open counter", "patch", "/counters/{n}", "adm", {"active": False}, (409,),
         "counter_busy"),
    Case("counter serves an unknown service", "patch", "/counters/{n}", "adm",
         {"services": ["nope"]}, (422,), "unknown_service"),
    Case("category code taken", "post", "/categories", "adm",
         {"code": "elderly", "name": {"vi": "X"}}, (409,), "duplicate_code"),
    Case("username taken", "post", "/users", "adm", {"username": "o1", "role": "officer"},
         (409,), "duplicate_username"),
    Case("weak password", "post", "/users", "adm",
         {"username": "new", "role": "officer", "password": "short"}, (422,), "weak_password"),
    Case("feedback tablet without a counter", "post", "/devices", "adm",
         {"name": "T", "kind": "feedback"}, (422,), "counter_required"),
    Case("enrol with an unknown code", "post", "/devices/enrol", None, {"code": "12345678"},
         (422,), "invalid_enrol_code"),
    Case("audit from a bad day", "get", "/audit?from=2026-02-30", "sup", None, (422,)),
    Case("audit to before from", "get", "/audit?from=2026-02-03&to=2026-02-01", "sup", None,
         (422,)),
    Case("retired services as an officer", "get", "/services?all=1", "o1", None, (403,)),
    Case("retired services without credentials", "get", "/services?all=1", None, None,
         (401,)),
    Case("retired counters as an officer", "get", "/counters?all=1", "o1", None, (403,)),
    Case("rate twice", "post", "/ratings", "feedback",
         lambda w: {"ticket": w.done["id"], "score": 1, "reason": "other"}, (409,),
         "already_rated"),
]
CASES = generated_cases() + EXPLICIT


def run_case(w: World, case: Case) -> Any:
    """Send the case's request."""
    args = {k: (v(w) if callable(v) else v) for k, v in case.path_args.items()}
    path = concrete(case.path, w, **args)
    body = case.body(w) if callable(case.body) else case.body
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    headers = dict(case.headers)
    if case.session:
        return w.call(case.method, path, None, body, headers, client=w.session_client)
    return w.call(case.method, path, case.actor, body, headers, chunked=case.chunked)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_request_is_refused_and_changes_nothing(world: World, case: Case) -> None:
    before = fingerprint(world.app)
    r = run_case(world, case)
    assert r.status_code < 500, r.get_data(as_text=True)
    assert r.status_code in case.status, (r.status_code, r.get_data(as_text=True))
    err = r.get_json(silent=True)
    assert isinstance(err, dict) and set(err) == {"error"}, r.get_data(as_text=True)
    assert isinstance(err["error"].get("code"), str) and err["error"]["code"]
    assert isinstance(err["error"].get("message"), str) and err["error"]["message"]
    if case.code is not None:
        assert err["error"]["code"] == case.code
    assert fingerprint(world.app) == before, "a refused request changed the database"


def route_table(app: Any) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every API route the app serves."""
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + m.group(1) + "}", rule.rule[7:])
        path = path.replace("{ticket_id}", "{id}")
        for m in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((m.lower(), path))
    return out


def test_the_operations_table_lists_every_api_route(world: World) -> None:
    table = {(m, p) for m, p, *_ in OPERATIONS}
    assert len(table) == len(OPERATIONS), "an operation is listed twice"
    assert route_table(world.app) == table


def test_every_operation_is_swept() -> None:
    swept = {(c.method, c.path) for c in CASES}
    for method, path, *_ in OPERATIONS:
        assert (method, path) in swept
        assert sum(1 for c in CASES if (c.method, c.path) == (method, path)) >= 5


def test_session_write_with_the_right_csrf_token_is_accepted(world: World) -> None:
    """The CSRF cases above fail for the token, not for the session: with it, it works."""
    r = world.call("post", "/counters/3/open", client=world.session_client,
                   headers={"X-CSRF-Token": world.refs["csrf"]})
    assert r.status_code == 200, r.get_json()
    r = world.call("post", "/counters/3/close", client=world.session_client,
                   headers={"X-CSRF-Token": world.refs["csrf"]})
    assert r.status_code == 200 and r.get_json()["state"] == "closed"


def test_every_operation_is_swept_for_each_kind_of_bad_request() -> None:
    """Not only some cases per operation: each kind of bad request, on each operation."""
    for method, path, _s, who, *_ in OPERATIONS:
        op = f"{method.upper()} {path}"
        ids = {c.id for c in CASES if (c.method, c.path) == (method, path)}
        kinds = ["bearer garbage", "bearer basic", "bearer unknown", "expired token",
                 "revoked token"]
        if method in ("post", "patch"):
            kinds += ["malformed open-brace", "malformed array", "malformed invalid-utf8",
                      "malformed deep-nesting", "unknown field", "too large",
                      "too large chunked"]
            if path not in NO_CSRF:
                kinds += ["session without CSRF (no header)", "session without CSRF (wrong)"]
        if allowed_actor(who) is not None and path != "/auth/logout":
            kinds.append("no credentials")
        kinds += [f"as {other}" for other in forbidden_actors(who)]
        if "{n}" in path:
            kinds += ["counter 99", f"counter {HUGE}"]
        if "{id}" in path:
            kinds += ["ticket id 999999", f"ticket id {HUGE}"]
        if "{device_id}" in path:
            kinds += ["device 999999", f"device {HUGE}"]
        missing = [k for k in kinds if f"{op} {k}" not in ids]
        assert not missing, (op, missing)
