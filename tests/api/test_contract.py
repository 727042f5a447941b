"""The HTTP API v1 contract of DESIGN.md, row by row: who may call each endpoint, its success
status and the shape of what it answers.

(Bad input on every endpoint is swept in test_bad_input.py, Idempotency-Key in
test_idempotency.py, tokens and limits in test_auth_api.py.)
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from layso import db
from layso.api.openapi import OPERATIONS
from tests.api.test_bad_input import route_table

# the shapes DESIGN.md documents; an answer may carry more (the contract only grows)
SERVICE_KEYS = {"code", "prefix", "name", "open", "opens_at", "waiting", "target_wait_minutes",
                "procedures"}
COUNTER_KEYS = {"number", "name", "state", "services", "current", "pause_reason"}
TICKET_KEYS = {"id", "label", "service", "priority", "procedure", "state", "issued_at",
               "called_at", "started_at", "finished_at", "counter", "recalls", "outcome",
               "ahead", "eta_minutes", "status_url", "print"}
TIME_KEYS = ("issued_at", "called_at", "started_at", "finished_at")
PRINT_STATES = {"none", "queued", "printed", "waiting_printer", "failed"}
PRINTER_STATES = {"none", "ok", "paper_near_end", "paper_out", "cover_open", "offline"}


def is_name(value: Any) -> bool:
    """Every name is `{vi, en}`."""
    return (isinstance(value, dict) and set(value) == {"vi", "en"}
            and all(isinstance(v, str) and v for v in value.values()))


def has_offset(text: str) -> bool:
    """An ISO-8601 time with its offset."""
    return datetime.fromisoformat(text).utcoffset() is not None


def check_ticket(t: dict[str, Any], public: bool = False) -> None:
    """The documented ticket shape (the public view: the same minus `id`)."""
    assert TICKET_KEYS - {"id"} <= set(t), set(t) ^ TICKET_KEYS
    assert ("id" in t) is not public
    assert isinstance(t["label"], str) and re.fullmatch(r"[A-Z]{1,3}\d{3,}", t["label"])
    assert set(t["service"]) >= {"code", "prefix", "name"} and is_name(t["service"]["name"])
    assert t["state"] in {"waiting", "called", "serving", "done", "no_show", "cancelled"}
    for k in TIME_KEYS:
        assert t[k] is None or has_offset(t[k]), (k, t[k])
    assert has_offset(t["issued_at"])
    assert t["counter"] is None or (set(t["counter"]) >= {"number", "name"}
                                    and is_name(t["counter"]["name"]))
    assert isinstance(t["recalls"], int)
    assert t["print"]["state"] in PRINT_STATES
    assert t["status_url"].startswith("http://layso.test/t/")
    if t["state"] == "waiting":
        assert isinstance(t["ahead"], int) and isinstance(t["eta_minutes"], int)


def check_counter(c: dict[str, Any]) -> None:
    """The documented counter shape."""
    assert COUNTER_KEYS <= set(c), set(c)
    assert isinstance(c["number"], int) and is_name(c["name"])
    assert c["state"] in {"closed", "open", "calling", "serving", "paused"}
    assert all(isinstance(s, str) for s in c["services"])
    if c["current"] is not None:
        check_ticket(c["current"])


def issue(api: dict[str, Any], service: str = "civil-status", **extra: Any) -> dict[str, Any]:
    r = api["kiosk"].post("/tickets", {"service": service, **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def token_of(t: dict[str, Any]) -> str:
    return t["status_url"].rsplit("/", 1)[1]


def events_of(app: Any, type_: str | None = None) -> int:
    q = select(func.count()).select_from(db.events)
    if type_ is not None:
        q = q.where(db.events.c.type == type_)
    with app.extensions["layso"].db.read() as conn:
        return int(conn.execute(q).scalar_one())


# -- one test per row of the table -----------------------------------------------------------

def test_login_answers_token_and_user_and_sets_the_session_cookie(client: Any,
                                                                  tokens: dict[str, str]) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "o1", "password": "password-o1"})
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert {"token", "user"} <= set(body)
    assert body["user"]["role"] == "officer" and body["user"]["username"] == "o1"
    # (a second cookie, layso_known, marks a browser its official logged in from: issue 16)
    (session_cookie,) = [c for c in r.headers.getlist("Set-Cookie")
                         if c.startswith("layso_session=")]
    assert "HttpOnly" in session_cookie
    # the cookie alone now authenticates reads
    assert client.get("/api/v1/queue").status_code == 200


def test_services_list_the_demo_services_with_waiting_and_open(api: dict[str, Any]) -> None:
    issue(api, "land")
    issue(api, "land")
    r = api["anon"].get("/services")
    assert r.status_code == 200 and set(r.get_json()) == {"items"}
    items = r.get_json()["items"]
    assert [(s["prefix"], s["code"]) for s in items] == [
        ("A", "civil-status"), ("B", "certification"), ("C", "land"), ("D", "social"),
        ("E", "business"), ("F", "online-help")]
    for s in items:
        assert SERVICE_KEYS <= set(s), set(s)
        assert is_name(s["name"]) and s["open"] is True
        assert all(set(p) >= {"code", "name"} and is_name(p["name"]) for p in s["procedures"])
    assert items[0]["name"] == {"vi": "Hộ tịch", "en": "Civil status"}
    assert {s["code"]: s["waiting"] for s in items}["land"] == 2


def test_issuing_answers_201_with_the_ticket_for_a_kiosk_and_for_staff(
        api: dict[str, Any]) -> None:
    t = issue(api, "land")
    check_ticket(t)
    assert (t["label"], t["state"], t["ahead"], t["priority"]) == ("C001", "waiting", 0, None)
    assert t["print"] == {"state": "none"}  # the test app has no printer
    r = api["o1"].post("/tickets", {"service": "land", "lang": "en"})
    assert r.status_code == 201 and r.get_json()["label"] == "C002"
    assert r.get_json()["ahead"] == 1


def test_a_kiosk_may_issue_a_priority_ticket_which_is_called_first(api: dict[str, Any]) -> None:
    first = issue(api, "civil-status")
    proc = api["anon"].get("/services").get_json()["items"][0]["procedures"][0]["code"]
    elder = issue(api, "civil-status", priority="elderly", procedure=proc)
    assert elder["priority"] == "elderly" and elder["procedure"] == proc
    # strict policy (the demo's): priority first in the call order
    r = api["o1"].get("/queue?service=civil-status")
    assert r.status_code == 200
    assert [t["label"] for t in r.get_json()["items"]] == [elder["label"], first["label"]]
    for t in r.get_json()["items"]:
        check_ticket(t)
    api["o1"].post("/counters/1/open")
    assert api["o1"].post("/counters/1/call-next").get_json()["label"] == elder["label"]


def test_the_public_ticket_view_is_the_ticket_minus_its_id(api: dict[str, Any]) -> None:
    t = issue(api)
    r = api["anon"].get("/tickets/" + token_of(t))
    assert r.status_code == 200
    pub = r.get_json()
    check_ticket(pub, public=True)
    # the staff's shape gained the dossier code (DESIGN "Citizens' ID cards and dossiers"),
    # which the public view never shows
    assert set(pub) == set(t) - {"id", "dossier"}
    assert {k: v for k, v in t.items() if k not in ("id", "dossier")} == pub


def test_counter_open_pause_close_answer_the_counter(api: dict[str, Any]) -> None:
    r = api["o1"].post("/counters/1/open")
    assert r.status_code == 200
    check_counter(r.get_json())
    assert r.get_json()["state"] == "open" and r.get_json()["services"] == [
        "civil-status", "certification"]
    r = api["o1"].post("/counters/1/pause", {"reason": "Nghỉ trưa"})
    assert r.status_code == 200
    check_counter(r.get_json())
    assert (r.get_json()["state"], r.get_json()["pause_reason"]) == ("paused", "Nghỉ trưa")
    r = api["o1"].post("/counters/1/open")  # resume
    assert r.status_code == 200 and r.get_json()["state"] == "open"
    r = api["o1"].post("/counters/1/close")
    assert r.status_code == 200 and r.get_json()["state"] == "closed"
    check_counter(r.get_json())


def test_call_next_answers_the_ticket_or_204_with_no_body(api: dict[str, Any]) -> None:
    api["o1"].post("/counters/1/open")
    r = api["o1"].post("/counters/1/call-next")
    assert r.status_code == 204 and r.get_data() == b""
    t = issue(api)
    r = api["o1"].post("/counters/1/call-next")
    assert r.status_code == 200
    check_ticket(r.get_json())
    assert r.get_json()["id"] == t["id"] and r.get_json()["state"] == "called"
    assert r.get_json()["counter"]["number"] == 1 and r.get_json()["ahead"] is None


@pytest.mark.parametrize("by", ["id", "label"])
def test_call_takes_a_waiting_ticket_by_id_or_label(api: dict[str, Any], by: str) -> None:
    issue(api)
    second = issue(api)
    api["o1"].post("/counters/1/open")
    r = api["o1"].post("/counters/1/call", {"ticket": second[by]})
    assert r.status_code == 200, r.get_json()
    check_ticket(r.get_json())
    assert r.get_json()["label"] == "A002" and r.get_json()["state"] == "called"


def test_recall_start_no_show_complete_answer_the_ticket(api: dict[str, Any]) -> None:
    a, b = issue(api), issue(api)
    api["o1"].post("/counters/1/open")
    api["o1"].post("/counters/1/call-next")
    r = api["o1"].post("/counters/1/recall")
    assert r.status_code == 200 and r.get_json()["recalls"] == 1
    check_ticket(r.get_json())
    r = api["o1"].post("/counters/1/no-show")
    assert r.status_code == 200 and r.get_json()["state"] == "no_show"
    assert r.get_json()["id"] == a["id"]
    check_ticket(r.get_json())
    api["o1"].post("/counters/1/call-next")
    r = api["o1"].post("/counters/1/start")
    assert r.status_code == 200 and r.get_json()["state"] == "serving"
    assert has_offset(r.get_json()["started_at"])
    r = api["o1"].post("/counters/1/complete", {"outcome": "needs_more_documents",
                                                "procedure": "birth-registration"})
    assert r.status_code == 200, r.get_json()
    t = r.get_json()
    check_ticket(t)
    assert (t["id"], t["state"], t["outcome"], t["procedure"]) == (
        b["id"], "done", "needs_more_documents", "birth-registration")
    assert has_offset(t["finished_at"])


def test_the_recall_limit_is_a_409_recall_limit(app: Any, api: dict[str, Any]) -> None:
    issue(api)
    api["o1"].post("/counters/1/open")
    api["o1"].post("/counters/1/call-next")
    for n in range(1, 4):  # called once, recalled N = 3 times
        r = api["o1"].post("/counters/1/recall")
        assert r.status_code == 200 and r.get_json()["recalls"] == n
    calls = events_of(app, "ticket.called")
    r = api["o1"].post("/counters/1/recall")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "recall_limit"
    assert events_of(app, "ticket.called") == calls
    assert api["o1"].post("/counters/1/no-show").get_json()["state"] == "no_show"


@pytest.mark.parametrize("position", ["front", "back"])
def test_transfer_moves_the_ticket_keeping_its_label(api: dict[str, Any], position: str) -> None:
    waiting = issue(api, "land")
    moved = issue(api, "civil-status")
    api["o1"].post("/counters/1/open")
    api["o1"].post("/counters/1/call-next")
    r = api["o1"].post("/counters/1/transfer", {"service": "land", "position": position})
    assert r.status_code == 200, r.get_json()
    t = r.get_json()
    check_ticket(t)
    assert (t["id"], t["label"], t["state"], t["service"]["code"], t["counter"]) == (
        moved["id"], "A001", "waiting", "land", None)
    order = [x["label"] for x in api["o1"].get("/queue?service=land").get_json()["items"]]
    assert order == (["A001", waiting["label"]] if position == "front"
                     else [waiting["label"], "A001"])
    assert api["o1"].get("/counters/1").get_json()["current"] is None


def test_reactivate_and_cancel_answer_the_ticket(api: dict[str, Any]) -> None:
    absent, waiting = issue(api), issue(api)
    api["o1"].post("/counters/1/open")
    api["o1"].post("/counters/1/call-next")
    api["o1"].post("/counters/1/no-show")
    r = api["o1"].post(f"/tickets/{absent['id']}/reactivate")
    assert r.status_code == 200
    check_ticket(r.get_json())
    assert (r.get_json()["label"], r.get_json()["state"]) == ("A001", "waiting")
    r = api["o1"].post(f"/tickets/{waiting['id']}/cancel")
    assert r.status_code == 200 and r.get_json()["state"] == "cancelled"
    check_ticket(r.get_json())


def test_ratings_take_the_ticket_id_once(app: Any, api: dict[str, Any]) -> None:
    t = issue(api)
    api["o1"].post("/counters/1/open")
    api["o1"].post("/counters/1/call-next")
    api["o1"].post("/counters/1/start")
    api["o1"].post("/counters/1/complete", {"outcome": "done"})
    r = api["feedback"].post("/ratings", {"ticket": t["id"], "score": 3, "reason": "long_wait"})
    assert r.status_code == 201, r.get_json()  # OpenAPI: 201
    r = api["feedback"].post("/ratings", {"ticket": t["id"], "score": 5})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_rated"
    with app.extensions["layso"].db.read() as conn:
        assert conn.execute(select(func.count()).select_from(db.ratings)).scalar_one() == 1


def test_the_board_is_the_socket_snapshot(app: Any, api: dict[str, Any]) -> None:
    issue(api)
    api["o1"].post("/counters/1/open")
    api["o1"].post("/counters/1/call-next")
    r = api["anon"].get("/board")
    assert r.status_code == 200
    sock = app.extensions["layso_realtime"].socketio.test_client(app, auth={"channel": "board"})
    snaps = [p["args"][0] for p in sock.get_received() if p["name"] == "snapshot"]
    sock.disconnect()
    assert len(snaps) == 1
    snap = {k: v for k, v in snaps[0].items() if k != "type"}
    assert r.get_json() == snap


def test_health_answers_ok_db_and_printer(api: dict[str, Any]) -> None:
    r = api["anon"].get("/health")
    assert r.status_code == 200
    h = r.get_json()
    assert {"ok", "db", "printer"} <= set(h)
    assert h["ok"] is True and h["printer"] in PRINTER_STATES


def test_json_out_and_errors_in_the_documented_shape(api: dict[str, Any]) -> None:
    for r in (api["anon"].get("/nope"), api["anon"].get("/counters/1"),
              api["kiosk"].get("/queue"), api["o1"].get("/counters/42")):
        assert r.mimetype == "application/json"
        err = r.get_json()
        assert set(err) == {"error"} and {"code", "message"} <= set(err["error"])
    assert api["anon"].get("/counters/1").status_code == 401
    assert api["kiosk"].get("/queue").status_code == 403
    assert api["o1"].get("/counters/42").status_code == 404


# -- sessions --------------------------------------------------------------------------------

def test_a_browser_with_a_session_can_log_in_again_as_someone_else(
        client: Any, tokens: dict[str, str]) -> None:
    """Login is for anyone: an officer's browser sent to /login (say by /admin/) can log in
    as a supervisor without a CSRF token it cannot have yet."""
    r = client.post("/api/v1/auth/login", json={"username": "o1", "password": "password-o1"})
    assert r.status_code == 200
    r = client.post("/api/v1/auth/login", json={"username": "sup", "password": "password-sup"})
    assert r.status_code == 200, r.get_json()
    me = client.get("/api/v1/auth/me").get_json()
    assert me["role"] == "supervisor" and me["csrf_token"] == r.get_json()["csrf_token"]
    # the new session's writes still need its CSRF token
    assert client.post("/api/v1/counters/1/open").status_code == 403
    r = client.post("/api/v1/counters/1/open",
                    headers={"X-CSRF-Token": r.get_json()["csrf_token"]})
    assert r.status_code == 200


def test_a_session_reads_without_csrf_and_a_bearer_token_needs_none(
        client: Any, api: dict[str, Any]) -> None:
    client.post("/api/v1/auth/login", json={"username": "o1", "password": "password-o1"})
    assert client.get("/api/v1/counters/1").status_code == 200
    # a bearer request from the same client is not a session request: no CSRF token
    r = api["o2"].post("/counters/2/open")
    assert r.status_code == 200 and r.get_json()["state"] == "open"


# -- request size ----------------------------------------------------------------------------

def test_a_chunked_body_over_the_limit_is_413_and_acts_not(app: Any, api: dict[str, Any]) -> None:
    """Without Content-Length (chunked, as gunicorn passes it on) the limit still holds: the
    body is not cut at the limit and then read as if it were whole."""
    limit = app.config["MAX_BODY_BYTES"]
    padded = b'{"service": "land"}' + b" " * (limit + 100)  # valid JSON once cut at the limit
    r = api["kiosk"].client.post(
        "/api/v1/tickets", input_stream=io.BytesIO(padded),
        headers={"Authorization": f"Bearer {api['kiosk'].token}",
                 "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 413, r.get_data(as_text=True)
    assert r.get_json()["error"]["code"] == "too_large"
    assert events_of(app) == 0
    # a small chunked body is read whole
    r = api["kiosk"].client.post(
        "/api/v1/tickets", input_stream=io.BytesIO(b'{"service": "land"}'),
        headers={"Authorization": f"Bearer {api['kiosk'].token}",
                 "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 201 and r.get_json()["label"] == "C001"


# -- the OpenAPI document --------------------------------------------------------------------

def test_the_served_openapi_document_lists_every_route_of_the_app(app: Any,
                                                                   api: dict[str, Any]) -> None:
    r = api["anon"].get("/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"].startswith("3.") and doc["servers"] == [{"url": "/api/v1"}]
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    served = route_table(app)  # Flask's `ticket_id` is the document's `id`
    assert served == documented, {"undocumented": served - documented,
                                  "not served": documented - served}


def test_every_documented_operation_has_its_success_and_error_answers(
        api: dict[str, Any]) -> None:
    doc = api["anon"].get("/openapi.json").get_json()
    error_ref = {"$ref": "#/components/schemas/Error"}
    for method, path, _s, _who, _req, status, _resp in OPERATIONS:
        responses = doc["paths"][path][method]["responses"]
        assert str(status) in responses, (method, path)
        for code in ("400", "401", "403", "404", "409", "413", "422", "429"):
            assert responses[code]["content"]["application/json"]["schema"] == error_ref
    assert "204" in doc["paths"]["/counters/{n}/call-next"]["post"]["responses"]
    assert doc["paths"]["/tickets"]["post"]["responses"].keys() >= {"201"}
    err = doc["components"]["schemas"]["Error"]
    assert err["properties"]["error"]["required"] == ["code", "message"]


# -- who may call what: every operation accepts every role its row names ---------------------

STAFF_WHO = "officer, supervisor or admin"
ACCEPTS = {
    "anyone": [None, "kiosk", "display", "feedback", "o1", "sup", "adm"],
    "anyone with the token": [None, "display", "o1"],
    "anyone authenticated": ["kiosk", "display", "feedback", "o1", "sup", "adm"],
    STAFF_WHO: ["o1", "sup", "adm"],
    "kiosk device, " + STAFF_WHO: ["kiosk", "o1", "sup", "adm"],
    "supervisor or admin": ["sup", "adm"],
    "feedback device": ["feedback"],
    "admin": ["adm"],
}
BODIES = {"/auth/login": {"username": "o2", "password": "password-o2"},
          "/tickets": {"service": "land"}, "/counters/{n}/pause": {"reason": "Họp"},
          "/counters/{n}/call": {"ticket": "C001"},
          "/counters/{n}/complete": {"outcome": "done"},
          "/counters/{n}/transfer": {"service": "social", "position": "back"},
          "/tickets/{id}/priority": {"priority": "elderly"},
          "/ratings": {"ticket": 1, "score": 5}, "/notice": {"vi": "", "en": ""},
          "/devices/enrol": {"code": "00000000"}}


def test_every_role_an_operation_names_is_let_through(api: dict[str, Any]) -> None:
    """The sweep checks that the others are refused; here the named ones are not."""
    for method, path, _summary, who, _req, _status, _resp in OPERATIONS:
        if path == "/auth/logout":  # it would end the token the next operations use
            continue
        assert who in ACCEPTS, f"add {who!r} to ACCEPTS"
        t = issue(api, "land")
        concrete = (path.replace("{n}", "1").replace("{id}", str(t["id"]))
                    .replace("{token}", token_of(t)).replace("{code}", "land")
                    .replace("{username}", "o2").replace("{device_id}", "999"))
        for actor in ACCEPTS[who]:
            client = api[actor] if actor else api["anon"]
            if method == "patch":  # an empty change: allowed, and it changes nothing
                r = client.client.patch("/api/v1" + concrete, json={},
                                        headers=client._headers())
            else:
                r = (client.get(concrete) if method == "get"
                     else client.post(concrete, BODIES.get(path)))
            err = (r.get_json(silent=True) or {}).get("error", {})
            where = (method, path, actor, r.status_code, err)
            assert r.status_code != 401, where
            assert err.get("code") not in ("forbidden", "unauthenticated", "csrf_failed"), where
            assert r.status_code < 500, where


def test_release_hands_the_called_citizen_back_and_the_board_drops_the_call(
        app: Any, api: dict[str, Any]) -> None:
    """An official logging out with a citizen called: the citizen waits again at the front,
    the counter closes, and the board shows neither the call nor the counter."""
    t = issue(api, lang="en")
    assert t["lang"] == "en"
    api["o1"].post("/counters/1/open")
    assert api["o1"].post("/counters/1/call-next").get_json()["id"] == t["id"]
    board = api["anon"].get("/board").get_json()
    assert [c["ticket"]["label"] for c in board["recent"]] == [t["label"]]
    assert api["o2"].post("/counters/1/release").status_code == 403
    r = api["o1"].post("/counters/1/release")
    assert r.status_code == 200
    check_ticket(r.get_json())
    assert (r.get_json()["id"], r.get_json()["state"]) == (t["id"], "waiting")
    board = api["anon"].get("/board").get_json()
    assert board["recent"] == []
    one = next(c for c in board["counters"] if c["number"] == 1)
    assert (one["state"], one["current"]) == ("closed", None)
    # nobody at the counter: release just closes it (answers the counter)
    api["o1"].post("/counters/1/open")
    r = api["o1"].post("/counters/1/release")
    assert r.status_code == 200
    check_counter(r.get_json())
    assert r.get_json()["state"] == "closed"


def test_a_moved_ticket_says_which_service_it_left_to_a_page_opened_later(
        api: dict[str, Any]) -> None:
    """A citizen who opens their page after a transfer must be told why their number names
    another service: the view's `moved` says which service it left (names only), while it
    waits in the new queue; once called there, or back after an absence, it says nothing."""
    t = issue(api)
    pub = api["anon"].get("/tickets/" + token_of(t)).get_json()
    assert t["moved"] is None and pub["moved"] is None
    api["o1"].post("/counters/1/open")
    assert api["o1"].post("/counters/1/call-next").get_json()["label"] == t["label"]
    moved = api["o1"].post("/counters/1/transfer", {"service": "land", "position": "back"})
    assert moved.status_code == 200
    left = {"code": "civil-status", "prefix": "A", "name": {"vi": "Hộ tịch", "en": "Civil status"}}
    assert moved.get_json()["moved"] == {"from": left}
    pub = api["anon"].get("/tickets/" + token_of(t)).get_json()
    assert pub["service"]["code"] == "land" and pub["moved"] == {"from": left}
    check_ticket(pub, public=True)
    # the officials' list says it too, and the public view is still the ticket minus its id
    (queued,) = [q for q in api["o1"].get("/queue?service=land").get_json()["items"]
                 if q["label"] == t["label"]]
    assert queued["moved"] == {"from": left}
    assert {k: v for k, v in queued.items() if k not in ("id", "dossier")} == pub
    # called in the new service: no longer "moved"; absent there and reactivated: back in
    # the queue, not moved again
    api["o1"].post("/counters/1/close")
    api["o1"].post("/counters/3/open")
    called = api["o1"].post("/counters/3/call-next").get_json()
    assert called["label"] == t["label"] and called["moved"] is None
    assert api["o1"].post("/counters/3/no-show").status_code == 200
    again = api["o1"].post(f"/tickets/{t['id']}/reactivate")
    assert again.status_code == 200 and again.get_json()["moved"] is None
    assert api["anon"].get("/tickets/" + token_of(t)).get_json()["moved"] is None


def test_a_number_whose_day_ended_reads_expired_even_before_the_next_days_first_ticket(
        api: dict[str, Any], clock: Any) -> None:
    """The day's end is recorded by the next day's first write; until then a citizen who
    opened their page in the morning was told "waiting, 0 ahead" for yesterday's number."""
    called = issue(api)
    api["o1"].post("/counters/1/open")
    waiting = issue(api)
    assert api["o1"].post("/counters/1/call-next").get_json()["label"] == called["label"]
    clock.advance(days=1)
    for ticket in (called, waiting):
        pub = api["anon"].get("/tickets/" + token_of(ticket)).get_json()
        assert (pub["state"], pub["ahead"], pub["eta_minutes"], pub["counter"], pub["moved"]) \
            == ("expired", None, None, None, None), pub
    issue(api, "land")  # the morning's first ticket records the end of the day before
    for ticket in (called, waiting):
        assert api["anon"].get("/tickets/" + token_of(ticket)).get_json()["state"] == "expired"
