"""Token mechanics of the API: user tokens from login, device tokens by kind, issuing limits.

(Sessions, permissions and pages are tested in tests/test_auth.py.)
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from layso import auth, db
from layso.db import Database


def test_login_returns_a_working_token_that_lives_token_hours(app: Any, client: Any,
                                                              tokens: dict[str, str]) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "o1", "password": "password-o1"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["token"].startswith("u_") and body["user"]["role"] == "officer"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.get_json()["role"] == "officer" and me.get_json()["kind"] == "user"
    with app.extensions["layso"].db.read() as conn:
        row = conn.execute(select(db.api_tokens).where(
            db.api_tokens.c.token_hash == auth.token_digest(body["token"]))).one()
        stored = [r.token_hash for r in conn.execute(select(db.api_tokens)).all()]
    assert row.expires_at - row.created_at == timedelta(hours=app.config["TOKEN_HOURS"])
    assert body["token"] not in stored  # only its digest is kept


def test_a_deactivated_user_cannot_log_in_and_their_token_stops(app: Any, client: Any,
                                                                 api: dict[str, Any]) -> None:
    with app.extensions["layso"].db.write() as conn:
        conn.execute(db.users.update().where(db.users.c.username == "o2").values(active=False))
        auth.forget_actors(conn)  # as every writer of the auth tables in this process does
    r = client.post("/api/v1/auth/login", json={"username": "o2", "password": "password-o2"})
    assert r.status_code == 401
    assert api["o2"].get("/auth/me").status_code == 401


def test_logout_revokes_only_the_token_used(client: Any, api: dict[str, Any]) -> None:
    second = client.post("/api/v1/auth/login",
                         json={"username": "o1", "password": "password-o1"}).get_json()["token"]
    client.delete_cookie("layso_session")  # the bearer token alone, not the session
    r = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {second}"})
    assert r.status_code == 200
    assert client.get("/api/v1/auth/me",
                      headers={"Authorization": f"Bearer {second}"}).status_code == 401
    assert api["o1"].get("/auth/me").status_code == 200


def test_device_tokens_say_their_kind(app: Any, api: dict[str, Any]) -> None:
    for name, prefix in (("kiosk", "dk_"), ("display", "dd_"), ("feedback", "df_")):
        assert api[name].token.startswith(prefix)
        me = api[name].get("/auth/me").get_json()
        assert me["kind"] == "device" and me["role"] == name
    assert api["feedback"].get("/auth/me").get_json()["counter"]["number"] == 1
    assert api["kiosk"].post("/tickets", {"service": "land"}).status_code == 201
    assert api["display"].post("/tickets", {"service": "land"}).status_code == 403
    assert api["feedback"].post("/tickets", {"service": "land"}).status_code == 403
    with app.extensions["layso"].db.write() as conn:
        conn.execute(db.devices.update().where(
            db.devices.c.token_hash == auth.token_digest(api["kiosk"].token)).values(active=False))
        auth.forget_actors(conn)  # as every writer of the auth tables in this process does
    assert api["kiosk"].post("/tickets", {"service": "land"}).status_code == 401


def test_a_device_switched_off_by_another_process_stops_within_the_cache_time(
        app: Any, api: dict[str, Any], monkeypatch: Any) -> None:
    monkeypatch.setattr(auth, "TOKEN_TTL", 0.3)
    assert api["kiosk"].post("/tickets", {"service": "land"}).status_code == 201  # remembered
    other = Database(app.config["DATABASE_URL"])  # the CLI, say: it cannot tell this process
    try:
        with other.write() as conn:
            conn.execute(db.devices.update().where(
                db.devices.c.token_hash == auth.token_digest(api["kiosk"].token)
            ).values(active=False))
    finally:
        other.dispose()
    time.sleep(0.4)
    assert api["kiosk"].post("/tickets", {"service": "land"}).status_code == 401


def test_issuing_is_limited_per_kiosk_but_not_for_staff(app: Any, api: dict[str, Any]) -> None:
    limit = app.config["KIOSK_RATE_PER_MINUTE"]
    assert limit == 60
    for i in range(limit):
        r = api["kiosk"].post("/tickets", {"service": "land"})
        assert r.status_code == 201, (i, r.get_json())
    r = api["kiosk"].post("/tickets", {"service": "land"})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
    assert api["o1"].get("/queue?service=land").get_json()["items"][-1]["label"] == "C060"
    with app.extensions["layso"].db.write() as conn:
        other = auth.add_device(conn, "Kiosk 2", "kiosk")
    r = api["kiosk"].client.post("/api/v1/tickets", json={"service": "land"},
                                 headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 201 and r.get_json()["label"] == "C061"
    for _ in range(limit + 10):
        assert api["o1"].post("/tickets", {"service": "social"}).status_code == 201


def test_a_kiosk_at_its_limit_still_gets_the_ticket_it_is_retrying(app: Any,
                                                                   api: dict[str, Any]) -> None:
    # the kiosk's answer was lost on the network; by the time it retries, the limit is reached
    first = api["kiosk"].post("/tickets", {"service": "land"},
                              headers={"Idempotency-Key": "citizen-1"})
    assert first.status_code == 201
    for _ in range(app.config["KIOSK_RATE_PER_MINUTE"] - 1):
        assert api["kiosk"].post("/tickets", {"service": "social"}).status_code == 201
    again = api["kiosk"].post("/tickets", {"service": "land"},
                              headers={"Idempotency-Key": "citizen-1"})
    assert again.status_code == 201 and again.get_data() == first.get_data()
    # a new citizen, or the same key for another request, is still refused
    r = api["kiosk"].post("/tickets", {"service": "land"}, headers={"Idempotency-Key": "c-2"})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
    r = api["kiosk"].post("/tickets", {"service": "social"},
                          headers={"Idempotency-Key": "citizen-1"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "idempotency_key_reused"
    assert api["o1"].get("/queue?service=land").get_json()["items"][-1]["label"] == "C001"


def test_the_issue_limit_window_slides() -> None:
    limiter = auth.RateLimiter(3, window=0.2)
    assert all(limiter.allow("k") for _ in range(3)) and not limiter.allow("k")
    assert limiter.allow("other")
    time.sleep(0.25)
    assert limiter.allow("k")
