"""Who may do what: officers on their own counter, devices on their own job, sessions and CSRF."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path
from typing import Any

import itsdangerous.timed
import pytest
from sqlalchemy import select

from layso import auth, create_app, db
from layso.cli import init_db
from layso.config import load
from tests.conftest import close_app

COUNTER_ACTIONS = [("open", None), ("pause", {"reason": "Nghỉ trưa"}), ("close", None),
                   ("call-next", None), ("call", {"ticket": "A001"}), ("recall", None),
                   ("start", None), ("no-show", None), ("complete", {"outcome": "done"}),
                   ("transfer", {"service": "land", "position": "back"})]


def issue(api: dict[str, Any], service: str = "civil-status") -> dict[str, Any]:
    r = api["kiosk"].post("/tickets", {"service": service})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def code(r: Any) -> str:
    return r.get_json()["error"]["code"]


def login(client: Any, username: str = "o1", password: str = "password-o1") -> Any:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


# -- officers and supervisors ----------------------------------------------------------------

def test_an_officer_acts_only_on_the_counter_they_opened(api: dict[str, Any]) -> None:
    issue(api)
    issue(api)
    assert api["o1"].post("/counters/1/open").status_code == 200
    for action, body in COUNTER_ACTIONS:
        r = api["o2"].post(f"/counters/1/{action}", body)
        assert r.status_code == 403, (action, r.get_json())
        assert code(r) == "not_your_counter"
    assert api["o1"].post("/counters/1/call-next").get_json()["label"] == "A001"
    assert code(api["o2"].post("/counters/1/recall")) == "not_your_counter"
    # the counter is still the first officer's, untouched by the refusals
    c = api["o1"].get("/counters/1").get_json()
    assert c["state"] == "calling" and c["current"]["label"] == "A001"


def test_a_supervisor_may_act_on_any_open_counter(api: dict[str, Any]) -> None:
    issue(api)
    api["o1"].post("/counters/1/open")
    assert api["sup"].post("/counters/1/call-next").get_json()["label"] == "A001"
    assert api["sup"].post("/counters/1/start").get_json()["state"] == "serving"
    assert api["adm"].post("/counters/1/complete", {"outcome": "advised"}).status_code == 200
    # the officer still holds the counter the supervisor helped on
    assert api["o1"].post("/counters/1/call-next").status_code == 204


def test_a_closed_counter_belongs_to_whoever_opens_it(api: dict[str, Any]) -> None:
    assert code(api["o1"].post("/counters/2/call-next")) == "counter_closed"
    assert api["o2"].post("/counters/2/open").status_code == 200
    assert code(api["o1"].post("/counters/2/open")) == "not_your_counter"
    assert api["o2"].post("/counters/2/close").status_code == 200
    assert api["o1"].post("/counters/2/open").status_code == 200


# -- devices ---------------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["kiosk", "display", "feedback"])
def test_devices_can_do_nothing_beyond_their_own_job(api: dict[str, Any], device: str) -> None:
    t = issue(api)
    api["o1"].post("/counters/1/open")
    for action, body in COUNTER_ACTIONS:
        r = api[device].post(f"/counters/1/{action}", body)
        assert r.status_code == 403, (device, action)
    for path in ("/queue", "/counters", "/counters/1", "/counters/1/absent", "/me/stats"):
        assert api[device].get(path).status_code == 403, (device, path)
    for path in (f"/tickets/{t['id']}/reactivate", f"/tickets/{t['id']}/cancel"):
        assert api[device].post(path).status_code == 403, (device, path)
    if device != "kiosk":
        assert api[device].post("/tickets", {"service": "land"}).status_code == 403
    if device != "feedback":
        assert api[device].post("/ratings", {"ticket": t["id"], "score": 5}).status_code == 403
    assert api["o1"].get("/counters/1").get_json()["state"] == "open"
    assert api["o1"].get("/queue?counter=1").get_json()["items"][0]["label"] == "A001"


def test_nobody_anonymous_acts(api: dict[str, Any]) -> None:
    assert api["anon"].post("/counters/1/open").status_code == 401
    assert api["anon"].post("/tickets", {"service": "land"}).status_code == 401
    assert api["anon"].post("/ratings", {"ticket": 1, "score": 5}).status_code == 401
    assert api["anon"].get("/me/stats").status_code == 401


def serve(api: dict[str, Any], officer: str, counter: int, service: str) -> dict[str, Any]:
    t = issue(api, service)
    api[officer].post(f"/counters/{counter}/open")
    assert api[officer].post(f"/counters/{counter}/call-next").get_json()["id"] == t["id"]
    api[officer].post(f"/counters/{counter}/start")
    r = api[officer].post(f"/counters/{counter}/complete", {"outcome": "done"})
    assert r.status_code == 200
    return t


def test_the_tablet_rates_only_its_own_counters_tickets_once(app: Any,
                                                             api: dict[str, Any]) -> None:
    other = serve(api, "o2", 2, "certification")
    r = api["feedback"].post("/ratings", {"ticket": other["id"], "score": 5})
    assert r.status_code == 403 and code(r) == "other_counter"
    mine = serve(api, "o1", 1, "civil-status")
    r = api["feedback"].post("/ratings", {"ticket": mine["id"], "score": 2, "reason": "long_wait"})
    assert r.status_code == 201
    assert code(api["feedback"].post("/ratings", {"ticket": mine["id"], "score": 5})) == \
        "already_rated"
    with app.extensions["layso"].read() as rd:
        rows = rd.conn.execute(select(db.ratings)).all()
        o1 = rd.conn.execute(select(db.users.c.id).where(db.users.c.username == "o1")).scalar()
    assert [(x.ticket_id, x.officer_id, x.score, x.reason) for x in rows] == \
        [(mine["id"], o1, 2, "long_wait")]


# -- sockets ---------------------------------------------------------------------------------

def test_socket_channels_check_who_connects(app: Any, client: Any,
                                            tokens: dict[str, str]) -> None:
    sio = app.extensions["layso_realtime"].socketio

    def joins(auth_data: dict[str, Any]) -> bool:
        c = sio.test_client(app, auth=auth_data, flask_test_client=client)
        ok = c.is_connected()
        if ok:
            c.disconnect()
        return ok

    assert joins({"channel": "counter", "token": tokens["o1"]})
    assert joins({"channel": "feedback", "token": tokens["feedback"]})
    for device in ("kiosk", "display", "feedback"):
        assert not joins({"channel": "counter", "token": tokens[device]}), device
    assert not joins({"channel": "feedback", "token": tokens["kiosk"]})
    assert not joins({"channel": "feedback", "token": tokens["o1"]})
    assert not joins({"channel": "counter"})
    assert not joins({"channel": "supervisor", "token": tokens["o1"]})
    assert joins({"channel": "supervisor", "token": tokens["sup"]})


# -- logins, sessions, CSRF ------------------------------------------------------------------

def test_failed_logins_are_rate_limited_per_user(client: Any, tokens: dict[str, str]) -> None:
    limit = client.application.config["LOGIN_ATTEMPTS_PER_MINUTE"]
    for _ in range(limit):
        assert login(client, "o1", "wrong-password").status_code == 401
    r = login(client, "o1")
    assert r.status_code == 429 and code(r) == "rate_limited"
    assert "uid" not in (client.get_cookie("layso_session") or "")
    # another account from the same address is not locked out by someone guessing this one
    assert login(client, "o2", "password-o2").status_code == 200


def test_a_page_of_another_site_cannot_log_the_browser_in(client: Any,
                                                         tokens: dict[str, str]) -> None:
    # login CSRF: a foreign page posting the attacker's credentials would put this browser in
    # the attacker's session
    r = client.post("/api/v1/auth/login", json={"username": "o1", "password": "password-o1"},
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and code(r) == "csrf_failed"
    assert client.get("/api/v1/auth/me").status_code == 401
    # the center's own login page (same origin) and clients that send no Origin log in
    r = client.post("/api/v1/auth/login", json={"username": "o1", "password": "password-o1"},
                    headers={"Origin": "http://localhost"})
    assert r.status_code == 200
    assert login(client, "o2", "password-o2").status_code == 200
    # behind a reverse proxy that names the public host, as the sockets' rule allows
    r = client.post("/api/v1/auth/login", json={"username": "o1", "password": "password-o1"},
                    headers={"Origin": "https://tiepnhan.example", "Host": "127.0.0.1:8000",
                             "X-Forwarded-Host": "tiepnhan.example, 10.0.0.2"})
    assert r.status_code == 200


@pytest.mark.passwords
def test_a_password_hashed_with_weaker_settings_is_rehashed_at_login(
        app: Any, client: Any) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    center = app.extensions["layso"]
    with center.db.write() as conn:
        uid = auth.add_user(conn, "old.officer", "password-old", "officer")
        conn.execute(db.users.update().where(db.users.c.id == uid)
                     .values(password_hash=weak.hash("password-old")))
    assert login(client, "old.officer", "password-old").status_code == 200
    with center.db.read() as conn:
        stored = conn.execute(select(db.users.c.password_hash)
                              .where(db.users.c.id == uid)).scalar_one()
    assert not auth.password_hasher().check_needs_rehash(stored)
    assert auth.password_hasher().verify(stored, "password-old")
    assert login(client, "old.officer", "password-old").status_code == 200


def test_checking_a_password_holds_no_write_lock(app: Any, client: Any, tokens: dict[str, str],
                                                monkeypatch: Any) -> None:
    # Argon2 takes tens of milliseconds on purpose: kiosks must not wait for an officer's login
    hasher = auth.password_hasher()
    issued: list[str] = []

    class Slow:  # the hasher's own answers, with a kiosk issuing during every check
        def __getattr__(self, name: str) -> Any:
            return getattr(hasher, name)

        def verify(self, stored: str, password: str) -> bool:
            def kiosk_issues() -> None:
                r = app.test_client().post(
                    "/api/v1/tickets", json={"service": "land"},
                    headers={"Authorization": f"Bearer {tokens['kiosk']}"})
                issued.append(r.get_json()["label"])
            t = threading.Thread(target=kiosk_issues)
            t.start()
            t.join(10)  # with a write lock held here, the kiosk would wait for this login
            assert issued, "a ticket could not be issued while a password was being checked"
            return bool(hasher.verify(stored, password))

    auth.set_password_hasher(Slow())  # type: ignore[arg-type]  # the fixture restores it
    assert login(client).status_code == 200
    assert issued == ["C001"]


def test_a_limiter_forgets_keys_whose_window_has_passed(monkeypatch: Any) -> None:
    now = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    limiter = auth.RateLimiter(per_minute=2)
    for i in range(500):  # a guesser trying many usernames
        assert limiter.allow(f"10.0.0.9:user{i}")
    assert len(limiter) == 500
    now[0] += 61
    assert limiter.allow("10.0.0.9:someone") and len(limiter) == 1
    assert limiter.allow("10.0.0.9:someone") and not limiter.allow("10.0.0.9:someone")


def test_a_session_logs_in_and_out(client: Any, tokens: dict[str, str]) -> None:
    assert client.get("/counter/").status_code == 302
    r = login(client)
    assert r.status_code == 200
    csrf = r.get_json()["csrf_token"]
    assert client.get("/counter/").status_code == 200
    me = client.get("/api/v1/auth/me").get_json()
    assert me["role"] == "officer" and me["csrf_token"] == csrf
    assert client.post("/api/v1/auth/logout").status_code == 403  # CSRF applies to logout too
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401
    r = client.get("/counter/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_logout_revokes_a_bearer_token(api: dict[str, Any]) -> None:
    assert api["o1"].get("/me/stats").status_code == 200
    assert api["o1"].post("/auth/logout").status_code == 200
    r = api["o1"].get("/me/stats")
    assert r.status_code == 401 and code(r) == "invalid_credentials"


def test_session_writes_need_the_csrf_token(client: Any, tokens: dict[str, str]) -> None:
    csrf = login(client).get_json()["csrf_token"]
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        r = client.post("/api/v1/counters/1/open", headers=headers)
        assert r.status_code == 403 and code(r) == "csrf_failed"
    assert client.get("/api/v1/counters/1").get_json()["state"] == "closed"
    r = client.post("/api/v1/counters/1/open", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.get_json()["state"] == "open"


def test_sessions_expire_after_session_hours(client: Any, tokens: dict[str, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    hours = client.application.config["SESSION_HOURS"]
    login(client)
    cookie = client.get_cookie("layso_session")
    assert cookie is not None and cookie.expires is not None
    real = itsdangerous.timed.TimestampSigner.get_timestamp

    def later(seconds: int) -> None:
        monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                            lambda self: real(self) + seconds)

    later(hours * 3600 - 120)
    assert client.get("/api/v1/auth/me").status_code == 200
    # the hours count from the login (the cookie is not re-sent on every request, so a request
    # in flight at logout cannot bring the session back): a terminal left alone is logged out
    later(2 * hours * 3600)
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/counter/").status_code == 302
    assert client.post("/api/v1/counters/1/open").status_code == 401


def test_expired_and_revoked_tokens_are_refused(app: Any, api: dict[str, Any]) -> None:
    center = app.extensions["layso"]
    with center.db.write() as conn:
        uid = conn.execute(select(db.users.c.id).where(db.users.c.username == "o1")).scalar()
        expired = auth.issue_user_token(conn, uid, 0)
    api["anon"].token = expired
    assert api["anon"].get("/me/stats").status_code == 401
    assert api["anon"].post("/counters/1/open").status_code == 401


def test_a_role_change_ends_the_session(app: Any, client: Any, tokens: dict[str, str]) -> None:
    login(client, "sup", "password-sup")
    assert client.get("/counter/").status_code == 200
    with app.extensions["layso"].db.write() as conn:
        conn.execute(db.users.update().where(db.users.c.username == "sup").values(role="officer"))
        auth.forget_actors(conn)  # as every writer of the auth tables in this process does
    assert client.get("/counter/").status_code == 302
    assert client.get("/api/v1/auth/me").status_code == 401


# -- rate limits shared by several server processes (Redis) ----------------------------------

def _needs_redis() -> str:
    from tests.conftest import REDIS_URL

    if not REDIS_URL:
        pytest.skip("needs Redis: set LAYSO_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    return REDIS_URL


def test_limiters_in_two_processes_share_one_budget_through_redis() -> None:
    url = _needs_redis()
    name = "test:" + secrets.token_hex(8)  # this run's own keys
    a = auth.SharedRateLimiter(url, name, per_minute=3)
    b = auth.SharedRateLimiter(url, name, per_minute=3)
    assert a.allow("kiosk-1") and b.allow("kiosk-1") and a.allow("kiosk-1")
    assert not b.allow("kiosk-1") and not a.allow("kiosk-1")
    assert b.allow("kiosk-2")  # each key has its own window
    # another center (another name) on the same Redis counts nothing of this one's
    assert auth.SharedRateLimiter(url, name + ":other", per_minute=3).allow("kiosk-1")


def test_a_shared_window_slides() -> None:
    url = _needs_redis()
    limiter = auth.SharedRateLimiter(url, "test:" + secrets.token_hex(8), per_minute=2,
                                     window=0.5)
    assert limiter.allow("k") and limiter.allow("k") and not limiter.allow("k")
    time.sleep(0.6)
    assert limiter.allow("k")


def test_without_redis_the_limit_is_kept_in_the_process(caplog: Any, monkeypatch: Any) -> None:
    # nothing listens on port 1: the kiosk keeps issuing, still within its own limit
    limiter = auth.SharedRateLimiter("redis://127.0.0.1:1/0", "test:down", per_minute=2)
    asked: list[int] = []
    script = limiter._script
    monkeypatch.setattr(limiter, "_script", lambda **kw: asked.append(1) or script(**kw))
    assert limiter.allow("k") and limiter.allow("k") and not limiter.allow("k")
    assert "Redis did not answer" in caplog.text
    assert len(asked) == 1  # a Redis that failed is not asked again for every ticket
    limiter._retry_at = 0.0  # RETRY_AFTER later: asked again
    assert not limiter.allow("k") and len(asked) == 2


def test_a_center_on_redis_shares_its_limits_and_one_without_keeps_its_own(
        tmp_path: Path, clock: Any) -> None:
    assert isinstance(auth.rate_limiter(None, "sqlite:///x", "issue", 5), auth.RateLimiter)
    url = _needs_redis()
    data = tmp_path / "center"
    cfg = {"DATA_DIR": str(data), "CLOCK": clock, "SECRET_KEY": "test-secret",
           "MESSAGE_QUEUE": url, "KIOSK_RATE_PER_MINUTE": 3}
    init_db(load(cfg), demo=True)
    # two apps on one database and one Redis: what two server processes of a center are
    first, second = create_app(dict(cfg)), create_app(dict(cfg))
    try:
        with first.extensions["layso"].db.write() as conn:
            token = auth.add_device(conn, "Kiosk 1", "kiosk")
        headers = {"Authorization": f"Bearer {token}"}

        def issue_on(app: Any) -> int:
            return app.test_client().post("/api/v1/tickets", json={"service": "land"},
                                          headers=headers).status_code

        assert [issue_on(first), issue_on(second), issue_on(first)] == [201, 201, 201]
        assert issue_on(second) == 429 and issue_on(first) == 429
        assert isinstance(first.extensions["layso_login_limiter"], auth.SharedRateLimiter)
    finally:
        for app in (first, second):
            close_app(app)
