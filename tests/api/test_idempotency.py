"""Idempotency-Key: a retried action acts once and answers as the first time did."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from layso import auth, db


def count_tickets(app: Any, state: str | None = None) -> int:
    """How many tickets exist (in one state)."""
    q = select(func.count()).select_from(db.tickets)
    if state is not None:
        q = q.where(db.tickets.c.state == state)
    with app.extensions["layso"].db.read() as conn:
        return int(conn.execute(q).scalar_one())


def key(k: str) -> dict[str, str]:
    """The Idempotency-Key header."""
    return {"headers": {"Idempotency-Key": k}}


def test_a_repeated_issue_answers_the_same_ticket_and_issues_one(app: Any,
                                                                 api: dict[str, Any]) -> None:
    first = api["kiosk"].post("/tickets", {"service": "land"}, **key("kiosk-press-1"))
    again = api["kiosk"].post("/tickets", {"service": "land"}, **key("kiosk-press-1"))
    assert first.status_code == again.status_code == 201
    assert first.get_data() == again.get_data()
    assert count_tickets(app) == 1
    other = api["kiosk"].post("/tickets", {"service": "land"}, **key("kiosk-press-2"))
    assert other.get_json()["label"] == "C002" and count_tickets(app) == 2


def test_a_repeated_call_next_calls_one_citizen(app: Any, api: dict[str, Any]) -> None:
    for _ in range(2):
        api["kiosk"].post("/tickets", {"service": "civil-status"})
    api["o1"].post("/counters/1/open")
    first = api["o1"].post("/counters/1/call-next", **key("call-1"))
    again = api["o1"].post("/counters/1/call-next", **key("call-1"))
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json() and first.get_json()["label"] == "A001"
    assert count_tickets(app, "called") == 1 and count_tickets(app, "waiting") == 1
    with app.extensions["layso"].db.read() as conn:
        calls = conn.execute(select(func.count()).select_from(db.events)
                             .where(db.events.c.type == "ticket.called")).scalar_one()
    assert calls == 1


def test_a_replayed_204_stays_204_even_when_a_ticket_arrived(app: Any,
                                                              api: dict[str, Any]) -> None:
    api["o1"].post("/counters/1/open")
    assert api["o1"].post("/counters/1/call-next", **key("empty")).status_code == 204
    api["kiosk"].post("/tickets", {"service": "civil-status"})
    assert api["o1"].post("/counters/1/call-next", **key("empty")).status_code == 204
    assert count_tickets(app, "waiting") == 1
    assert api["o1"].post("/counters/1/call-next", **key("fresh")).status_code == 200


def test_a_refused_action_is_not_remembered(app: Any, api: dict[str, Any]) -> None:
    """An error changes nothing, so the retry after fixing the cause acts."""
    api["kiosk"].post("/tickets", {"service": "civil-status"})
    assert api["o1"].post("/counters/1/call-next", **key("k")).status_code == 409  # closed
    api["o1"].post("/counters/1/open")
    r = api["o1"].post("/counters/1/call-next", **key("k"))
    assert r.status_code == 200 and r.get_json()["label"] == "A001"


def test_the_same_key_with_another_body_is_refused(app: Any, api: dict[str, Any]) -> None:
    assert api["kiosk"].post("/tickets", {"service": "land"}, **key("k1")).status_code == 201
    r = api["kiosk"].post("/tickets", {"service": "social"}, **key("k1"))
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "idempotency_key_reused"
    assert count_tickets(app) == 1
    # the same key on another endpoint is another request too
    api["o1"].post("/counters/3/open")
    r = api["o1"].post("/counters/3/call-next", **key("c"))
    assert r.status_code == 200
    assert api["o1"].post("/counters/3/start", **key("c")).status_code == 422
    assert count_tickets(app, "called") == 1


def test_keys_belong_to_one_actor(app: Any, api: dict[str, Any]) -> None:
    center = app.extensions["layso"]
    with center.db.write() as conn:
        second = auth.add_device(conn, "Kiosk 2", "kiosk")
    a = api["kiosk"].post("/tickets", {"service": "land"}, **key("same"))
    b = api["kiosk"].client.post("/api/v1/tickets", json={"service": "land"},
                                 headers={"Authorization": f"Bearer {second}",
                                          "Idempotency-Key": "same"})
    assert a.status_code == b.status_code == 201
    assert {a.get_json()["label"], b.get_json()["label"]} == {"C001", "C002"}
    c = api["o1"].post("/tickets", {"service": "land"}, **key("same"))
    assert c.status_code == 201 and c.get_json()["label"] == "C003"


def test_concurrent_retries_with_one_key_act_once(live_server: Any) -> None:
    kiosk = live_server.device("Kiosk", "kiosk")
    officer = live_server.user("officer1", "officer")
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()
    go = threading.Barrier(8)

    def press(path: str, token: str, body: Any, k: str) -> None:
        s = requests.Session()
        go.wait()
        r = s.post(live_server.url + "/api/v1" + path, json=body, timeout=30,
                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": k})
        with lock:
            results.append((r.status_code, r.content))

    def burst(path: str, token: str, body: Any, k: str) -> list[tuple[int, bytes]]:
        results.clear()
        threads = [threading.Thread(target=press, args=(path, token, body, k))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return list(results)

    got = burst("/tickets", kiosk, {"service": "business"}, "double-tap")
    assert len(got) == 8 and len(set(got)) == 1 and got[0][0] == 201
    queue = live_server.api("GET", "/queue?service=business", officer).json()["items"]
    assert [t["label"] for t in queue] == ["E001"]

    live_server.api("POST", "/tickets", kiosk, json={"service": "business"})
    assert live_server.api("POST", "/counters/5/open", officer).status_code == 200
    got = burst("/counters/5/call-next", officer, None, "call-once")
    assert len(got) == 8 and len(set(got)) == 1 and got[0][0] == 200
    queue = live_server.api("GET", "/queue?service=business", officer).json()["items"]
    assert [t["label"] for t in queue] == ["E002"]


# -- every action the API takes replays, and a key lives 24 hours ----------------------------

def everything(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    with app.extensions["layso"].db.read() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t)).all()]
                for t in db.metadata.sorted_tables}


def _issue(api: dict[str, Any], service: str = "civil-status") -> dict[str, Any]:
    r = api["kiosk"].post("/tickets", {"service": service})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _called(api: dict[str, Any]) -> dict[str, Any]:
    t = _issue(api)
    assert api["o1"].post("/counters/1/open").status_code == 200
    assert api["o1"].post("/counters/1/call-next").status_code == 200
    return t


def _serving(api: dict[str, Any]) -> dict[str, Any]:
    t = _called(api)
    assert api["o1"].post("/counters/1/start").status_code == 200
    return t


def _absent(api: dict[str, Any]) -> dict[str, Any]:
    t = _called(api)
    assert api["o1"].post("/counters/1/no-show").status_code == 200
    return t


def _done(api: dict[str, Any]) -> dict[str, Any]:
    t = _serving(api)
    assert api["o1"].post("/counters/1/complete", {"outcome": "done"}).status_code == 200
    return t


def _opened(api: dict[str, Any]) -> None:
    assert api["o1"].post("/counters/1/open").status_code == 200


# action: (set-up returning a ticket or None, actor, path (may name {id}), body, first status)
ACTIONS: dict[str, tuple[Any, str, str, Any, int]] = {
    "issue": (lambda api: None, "kiosk", "/tickets", {"service": "land"}, 201),
    "issue by staff": (lambda api: None, "o1", "/tickets", {"service": "land"}, 201),
    "open": (lambda api: None, "o1", "/counters/1/open", None, 200),
    "pause": (_opened, "o1", "/counters/1/pause", {"reason": "Họp giao ban"}, 200),
    "close": (_opened, "o1", "/counters/1/close", None, 200),
    "call-next": (lambda api: (_issue(api), _opened(api))[0], "o1", "/counters/1/call-next",
                  None, 200),
    "call-next empty": (_opened, "o1", "/counters/1/call-next", None, 204),
    "call": (lambda api: (_issue(api), _issue(api), _opened(api))[0], "o1", "/counters/1/call",
             {"ticket": "A002"}, 200),
    "recall": (_called, "o1", "/counters/1/recall", None, 200),
    "start": (_called, "o1", "/counters/1/start", None, 200),
    "no-show": (_called, "o1", "/counters/1/no-show", None, 200),
    "complete": (_serving, "o1", "/counters/1/complete", {"outcome": "advised"}, 200),
    "transfer": (_called, "o1", "/counters/1/transfer", {"service": "land", "position": "front"},
                 200),
    "reactivate": (_absent, "o1", "/tickets/{id}/reactivate", None, 200),
    "cancel": (_issue, "o1", "/tickets/{id}/cancel", None, 200),
    "priority": (_issue, "o1", "/tickets/{id}/priority", {"priority": "elderly"}, 200),
    "rating": (_done, "feedback", "/ratings", "rate", 201),
    "notice": (lambda api: None, "sup", "/notice", {"vi": "Thông báo", "en": "Notice"}, 200),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_retried_with_its_key_acts_once_and_answers_the_same(
        app: Any, api: dict[str, Any], action: str) -> None:
    setup, actor, path, body, status = ACTIONS[action]
    t = setup(api)
    path = path.replace("{id}", str(t["id"])) if t else path
    if body == "rate":
        body = {"ticket": t["id"], "score": 4}
    first = api[actor].post(path, body, **key("retry-" + action.replace(" ", "-")))
    assert first.status_code == status, first.get_data(as_text=True)
    before = everything(app)
    for _ in range(2):
        again = api[actor].post(path, body, **key("retry-" + action.replace(" ", "-")))
        assert (again.status_code, again.get_data()) == (first.status_code, first.get_data())
        assert again.mimetype == first.mimetype
    assert everything(app) == before, "a replayed request changed the database"


def test_a_key_is_kept_24_hours_then_forgotten(app: Any, api: dict[str, Any],
                                               clock: Any) -> None:
    first = api["kiosk"].post("/tickets", {"service": "land"}, **key("press"))
    assert first.status_code == 201
    clock.advance(hours=23, minutes=59)
    again = api["kiosk"].post("/tickets", {"service": "land"}, **key("press"))
    assert (again.status_code, again.get_data()) == (201, first.get_data())
    assert count_tickets(app) == 1
    clock.advance(minutes=2)  # 24 h and a minute after the first press: a new request
    later = api["kiosk"].post("/tickets", {"service": "land"}, **key("press"))
    assert later.status_code == 201 and later.get_json()["id"] != first.get_json()["id"]
    assert count_tickets(app) == 2


def test_a_session_and_a_bearer_token_of_one_user_share_their_keys(
        app: Any, client: Any, api: dict[str, Any]) -> None:
    """Keys are per user, however the user authenticates."""
    _issue(api)
    _issue(api)
    _opened(api)
    first = api["o1"].post("/counters/1/call-next", **key("one-press"))
    csrf = client.post("/api/v1/auth/login",
                       json={"username": "o1", "password": "password-o1"}).get_json()["csrf_token"]
    again = client.post("/api/v1/counters/1/call-next",
                        headers={"X-CSRF-Token": csrf, "Idempotency-Key": "one-press"})
    assert (again.status_code, again.get_data()) == (200, first.get_data())
    assert count_tickets(app, "called") == 1
