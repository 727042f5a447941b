"""Logging in on a Wi-Fi full of strangers' phones: login CSRF, floods, guessers, sessions."""

from __future__ import annotations

from typing import Any

import pytest

CREDS = {"username": "o1", "password": "password-o1"}


def code(r: Any) -> str:
    return r.get_json()["error"]["code"]


def no_session(client: Any) -> bool:
    return client.get("/api/v1/auth/me").status_code == 401


# -- point 5: login CSRF ---------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["null", "NULL", "", "file://"])
def test_an_opaque_origin_cannot_log_the_browser_in(client: Any, tokens: dict[str, str],
                                                    origin: str) -> None:
    # a sandboxed frame or a data: page of another site sends `Origin: null`
    r = client.post("/api/v1/auth/login", json=CREDS, headers={"Origin": origin})
    assert r.status_code == 403 and code(r) == "csrf_failed"
    assert client.get_cookie("layso_session") is None and no_session(client)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_browser_request_from_another_site_without_origin_is_refused(
        client: Any, tokens: dict[str, str], site: str) -> None:
    r = client.post("/api/v1/auth/login", json=CREDS, headers={"Sec-Fetch-Site": site})
    assert r.status_code == 403 and code(r) == "csrf_failed"
    assert no_session(client)


def test_the_own_page_and_clients_that_are_no_browser_still_log_in(
        client: Any, tokens: dict[str, str]) -> None:
    assert client.post("/api/v1/auth/login", json=CREDS,
                       headers={"Origin": "http://localhost",
                                "Sec-Fetch-Site": "same-origin"}).status_code == 200
    # a script or the CLI sends neither Origin nor Sec-Fetch-Site
    assert client.post("/api/v1/auth/login", json=CREDS).status_code == 200


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", None])
def test_a_body_that_is_not_declared_json_is_refused(client: Any, tokens: dict[str, str],
                                                     ctype: str | None) -> None:
    # a foreign form posts text/plain without a CORS preflight; it was read as JSON
    import json

    headers = {"Content-Type": ctype} if ctype else {}
    r = client.post("/api/v1/auth/login", data=json.dumps(CREDS), headers=headers)
    assert r.status_code == 415 and code(r) == "unsupported_media_type"
    assert client.get_cookie("layso_session") is None and no_session(client)


def test_every_write_refuses_a_body_not_declared_json(api: dict[str, Any]) -> None:
    # the sibling: a kiosk's issue (bearer) and any other body-reading endpoint
    r = api["kiosk"].post("/tickets", data='{"service": "civil-status"}',
                          headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and code(r) == "unsupported_media_type"
    ok = api["kiosk"].post("/tickets", data='{"service": "civil-status"}',
                           headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 201
    assert ok.get_json()["label"] == "A001"  # the refused one issued nothing


# -- point 1: a login flood takes bounded memory ---------------------------------------------

@pytest.fixture
def strict_app(tmp_path: Any, clock: Any) -> Any:
    """The demo center with small login limits, behind one trusted proxy."""
    from layso import auth, create_app
    from layso.cli import init_db
    from layso.config import load

    cfg = {"DATA_DIR": str(tmp_path), "CLOCK": clock, "PUBLIC_URL": "http://layso.test",
           "SECRET_KEY": "test-secret", "LOGIN_ATTEMPTS_PER_MINUTE": 3,
           "LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE": 6, "PROXY_HOPS": 1}
    init_db(load(cfg), demo=False)
    application = create_app(cfg)
    application.config["TESTING"] = True
    center = application.extensions["layso"]
    with center.db.write() as conn:
        auth.add_user(conn, "o1", "password-o1", "officer", "O1")
    yield application
    center.db.dispose()


def from_addr(addr: str) -> dict[str, str]:
    return {"X-Forwarded-For": addr}


def test_random_usernames_from_one_address_are_limited(strict_app: Any) -> None:
    client = strict_app.test_client()
    for i in range(6):
        r = client.post("/api/v1/auth/login", json={"username": f"guess{i}", "password": "x" * 8},
                        headers=from_addr("10.0.0.66"))
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "guess99", "password": "x" * 8},
                    headers=from_addr("10.0.0.66"))
    assert r.status_code == 429 and code(r) == "rate_limited"
    # another phone is not held back by that one
    other = strict_app.test_client()
    assert other.post("/api/v1/auth/login", json=CREDS,
                      headers=from_addr("10.0.0.7")).status_code == 200


def test_at_most_the_configured_number_of_hashes_run_at_once(
        strict_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from layso import auth

    real = auth.password_hasher()
    running, peak, lock = [0], [0], threading.Lock()

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            try:
                time.sleep(0.05)
                return real.verify(stored, password)
            finally:
                with lock:
                    running[0] -= 1

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    auth.set_password_hasher(Counting())  # type: ignore[arg-type]  # the fixture restores it
    statuses: list[int] = []

    def attempt(i: int) -> None:
        r = strict_app.test_client().post(
            "/api/v1/auth/login", json={"username": f"u{i}", "password": "x" * 8},
            headers=from_addr(f"10.0.1.{i}"))
        statuses.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == strict_app.config["LOGIN_CONCURRENT_HASHES"] == 2
    assert sorted(set(statuses)) == [401]  # all waited their turn within the wait


def test_a_flood_that_finds_no_free_slot_is_told_to_retry(strict_app: Any) -> None:
    slots = strict_app.extensions["layso_hash_slots"]
    held = [slots.acquire() for _ in range(slots.n)]
    assert all(held)
    slots.wait = 0.05
    try:
        r = strict_app.test_client().post("/api/v1/auth/login", json=CREDS,
                                          headers=from_addr("10.0.2.1"))
        assert r.status_code == 429 and code(r) == "rate_limited"
    finally:
        for _ in held:
            slots.release()


@pytest.mark.passwords
def test_passwords_are_hashed_with_owasp_argon2id_parameters(app: Any) -> None:
    from argon2 import extract_parameters
    from sqlalchemy import select

    from layso import db

    with app.extensions["layso"].db.read() as conn:
        stored = conn.execute(select(db.users.c.password_hash)).scalars().first()
    params = extract_parameters(stored)
    assert (params.type.name, params.memory_cost, params.time_cost, params.parallelism) == (
        "ID", 19 * 1024, 2, 1)


# -- point 4: the lockout slows the guesser, not the official --------------------------------

def test_a_guesser_behind_the_same_proxy_does_not_lock_the_official_out(
        strict_app: Any) -> None:
    official = strict_app.test_client()
    assert official.post("/api/v1/auth/login", json=CREDS,
                         headers=from_addr("10.0.0.5")).status_code == 200
    official.post("/api/v1/auth/logout", json={},
                  headers={"X-CSRF-Token": official.get("/api/v1/auth/me").get_json()
                           ["csrf_token"], **from_addr("10.0.0.5")})
    # a phone on the same address (one proxy, one NAT) guesses the official's password
    guesser = strict_app.test_client()
    answers = [guesser.post("/api/v1/auth/login", json={**CREDS, "password": "wrong-guess"},
                            headers=from_addr("10.0.0.5")).status_code for _ in range(3)]
    assert answers[0] == 401 and answers[-1] == 429  # the guesser is slowed
    assert guesser.post("/api/v1/auth/login", json=CREDS,
                        headers=from_addr("10.0.0.5")).status_code == 429
    # the official's browser logged in before: its tries count on their own
    assert official.post("/api/v1/auth/login", json=CREDS,
                         headers=from_addr("10.0.0.5")).status_code == 200


def test_a_forged_known_browser_cookie_counts_as_a_stranger(strict_app: Any) -> None:
    guesser = strict_app.test_client()
    guesser.set_cookie("layso_known", "W1sibzEiLCJ4Il1d.forged", path="/api/v1/auth/")
    for _ in range(3):
        guesser.post("/api/v1/auth/login", json={**CREDS, "password": "wrong-guess"},
                     headers=from_addr("10.0.0.9"))
    r = guesser.post("/api/v1/auth/login", json=CREDS, headers=from_addr("10.0.0.9"))
    assert r.status_code == 429


def test_without_trusted_proxy_the_forwarded_address_is_ignored(
        client: Any, tokens: dict[str, str]) -> None:
    # PROXY_HOPS = 0: a phone cannot pick a fresh address per guess with a header
    limit = client.application.config["LOGIN_ATTEMPTS_PER_MINUTE"]
    for i in range(limit):
        client.post("/api/v1/auth/login", json={**CREDS, "password": "wrong-guess"},
                    headers=from_addr(f"10.9.0.{i}"))
    r = client.post("/api/v1/auth/login", json=CREDS, headers=from_addr("10.9.9.9"))
    assert r.status_code == 429


# -- point 3: a login ends on logout, on a new password and on deactivation ------------------

def logged_in_browser(app: Any) -> tuple[Any, str, str, str]:
    """A browser logged in as o1: the client, its copied session cookie, token and CSRF."""
    client = app.test_client()
    body = client.post("/api/v1/auth/login", json=CREDS).get_json()
    cookie = client.get_cookie("layso_session").value
    return client, cookie, body["token"], body["csrf_token"]


def still_works(app: Any, cookie: str, token: str) -> tuple[int, int, int]:
    """What a thief's copy of the cookie and of the token get: me by cookie, me by token,
    and the counter page by cookie."""
    thief = app.test_client()
    thief.set_cookie("layso_session", cookie)
    by_cookie = thief.get("/api/v1/auth/me").status_code
    page = thief.get("/counter/").status_code
    by_token = app.test_client().get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
    return by_cookie, by_token, page


def test_a_copied_cookie_and_the_token_of_the_login_stop_at_logout(
        app: Any, tokens: dict[str, str]) -> None:
    client, cookie, token, csrf = logged_in_browser(app)
    assert still_works(app, cookie, token) == (200, 200, 200)
    assert client.post("/api/v1/auth/logout", json={},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    by_cookie, by_token, page = still_works(app, cookie, token)
    assert (by_cookie, by_token) == (401, 401) and page in (302, 303)


def test_a_new_password_ends_every_login_of_the_user(app: Any, tokens: dict[str, str]) -> None:
    from layso import auth

    _client, cookie, token, _csrf = logged_in_browser(app)
    with app.extensions["layso"].db.write() as conn:
        auth.set_password(conn, "o1", "a-new-password")
    by_cookie, by_token, page = still_works(app, cookie, token)
    assert (by_cookie, by_token) == (401, 401) and page in (302, 303)
    # the token the fixture issued for o1 before stops too
    assert app.test_client().get("/api/v1/auth/me", headers={
        "Authorization": f"Bearer {tokens['o1']}"}).status_code == 401


def test_a_deactivated_user_loses_session_and_tokens_at_once(
        app: Any, tokens: dict[str, str]) -> None:
    from layso import auth, db

    _client, cookie, token, _csrf = logged_in_browser(app)
    with app.extensions["layso"].db.write() as conn:
        conn.execute(db.users.update().where(db.users.c.username == "o1").values(active=False))
        auth.forget_actors(conn)
    by_cookie, by_token, page = still_works(app, cookie, token)
    assert (by_cookie, by_token) == (401, 401) and page in (302, 303)
