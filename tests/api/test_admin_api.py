"""The administration API: who may call it, what each endpoint answers, its conflicts and
refusals, the audit rows and `config.changed` events, and what a revocation stops at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from layso import db

ADMIN_WRITES = [
    ("patch", "/center", {"recall_limit": 2}),
    ("post", "/services", {"code": "justice", "prefix": "G", "name": {"vi": "Tư pháp"}}),
    ("patch", "/services/land", {"target_wait_minutes": 20}),
    ("post", "/counters", {"number": 9}),
    ("patch", "/counters/3", {"mode": "ordered"}),
    ("post", "/categories", {"code": "veteran", "name": {"vi": "Cựu chiến binh"}}),
    ("patch", "/categories/merit", {"position": 9}),
    ("post", "/users", {"username": "moi", "role": "officer"}),
    ("patch", "/users/o2", {"name": "Cán bộ 2"}),
    ("post", "/devices", {"name": "Kiosk 2", "kind": "kiosk"}),
    ("patch", "/devices/1", {"name": "Kiosk sảnh"}),
    ("post", "/devices/1/enrol-code", None),
    ("post", "/devices/2/revoke", None),
]
SUPERVISOR_READS = ["/users", "/devices", "/audit", "/services?all=1", "/categories?all=1",
                    "/counters?all=1"]


def call(api: Any, method: str, path: str, data: Any = None) -> Any:
    """One request of this client (GET, POST or PATCH with a JSON body)."""
    if method == "patch":
        return api.client.patch("/api/v1" + path, json=data, headers=api._headers())
    if method == "post":
        return api.post(path, data)
    return api.get(path)


def count(app: Any, table: Any, **where: Any) -> int:
    q = select(func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with app.extensions["layso"].db.read() as conn:
        return int(conn.execute(q).scalar_one())


def err(r: Any) -> dict[str, Any]:
    return r.get_json()["error"]


@pytest.mark.parametrize("method,path,data", ADMIN_WRITES, ids=[f"{m} {p}" for m, p, _ in
                                                                 ADMIN_WRITES])
def test_every_change_is_for_admins_only(app: Any, api: dict[str, Any], method: str, path: str,
                                        data: Any) -> None:
    before = count(app, db.audit)
    assert call(api["anon"], method, path, data).status_code == 401
    for who in ("o1", "sup", "kiosk", "display", "feedback"):
        r = call(api[who], method, path, data)
        assert r.status_code == 403 and err(r)["code"] == "forbidden", who
    assert count(app, db.audit) == before
    r = call(api["adm"], method, path, data)
    assert r.status_code in (200, 201), r.get_json()
    assert count(app, db.audit) == before + 1
    assert count(app, db.events, type="config.changed") >= 1


@pytest.mark.parametrize("path", SUPERVISOR_READS)
def test_supervisors_and_admins_read_officers_do_not(api: dict[str, Any], path: str) -> None:
    assert api["anon"].get(path).status_code == 401
    assert api["o1"].get(path).status_code == 403
    assert api["kiosk"].get(path).status_code == 403
    for who in ("sup", "adm"):
        r = api[who].get(path)
        assert r.status_code == 200 and isinstance(r.get_json()["items"], list)


def test_the_center_shows_its_public_part_to_anyone_and_all_to_admins(api: dict[str, Any]
                                                                      ) -> None:
    public = api["anon"].get("/center").get_json()
    assert public["name"]["vi"].startswith("Trung tâm") and "recall_limit" not in public
    assert public["configured"] is True
    assert "recall_limit" not in api["sup"].get("/center").get_json()
    full = api["adm"].get("/center").get_json()
    assert set(full) >= {"name", "timezone", "priority_policy", "recall_limit", "speech_mode",
                         "speak_english", "default_service_minutes", "rating_scale",
                         "citizen_daily_limit", "alert_queue_length", "alert_pause_minutes"}


def test_a_change_is_audited_and_announced(app: Any, api: dict[str, Any]) -> None:
    seen: list[Any] = []
    app.extensions["layso"].hub.subscribe(seen.append)
    r = call(api["adm"], "patch", "/center", {"name": {"vi": "Trung tâm xã A", "en": "A"}})
    assert r.status_code == 200 and r.get_json()["name"] == {"vi": "Trung tâm xã A", "en": "A"}
    assert [e.type for e in seen] == ["config.changed"]
    assert seen[0].payload == {"what": "center", "action": "center.updated", "ref": None}
    items = api["sup"].get("/audit").get_json()["items"]
    assert items[0]["action"] == "center.updated" and items[0]["target"] == "center"
    assert items[0]["actor"] == {"kind": "user", "name": "ADM"}
    assert items[0]["changes"] == {"name_vi": "Trung tâm xã A", "name_en": "A"}
    assert api["anon"].get("/board").get_json()["center"]["name"]["vi"] == "Trung tâm xã A"


def test_the_audit_range_is_business_days_in_the_center_time_zone(app: Any, api: dict[str, Any],
                                                                  clock: Any) -> None:
    call(api["adm"], "patch", "/center", {"recall_limit": 1})
    clock.advance(days=1)
    call(api["adm"], "patch", "/center", {"recall_limit": 2})
    today = (clock.now + timedelta(hours=7)).date().isoformat()
    yesterday = (clock.now + timedelta(hours=7) - timedelta(days=1)).date().isoformat()
    assert len(api["sup"].get(f"/audit?from={today}").get_json()["items"]) == 1
    got = api["sup"].get(f"/audit?from={yesterday}&to={yesterday}").get_json()["items"]
    assert [i["changes"] for i in got] == [{"recall_limit": 1}]
    r = api["sup"].get("/audit?from=25-11-2026")
    assert r.status_code == 422 and err(r)["details"]["field"] == "from"


def test_conflicts_are_409_with_their_codes(api: dict[str, Any]) -> None:
    a = api["adm"]
    cases = [
        ("post", "/services", {"code": "land", "prefix": "Q", "name": {"vi": "X"}},
         "duplicate_code"),
        ("post", "/services", {"code": "new", "prefix": "C", "name": {"vi": "X"}},
         "duplicate_prefix"),
        ("post", "/counters", {"number": 2}, "duplicate_number"),
        ("post", "/categories", {"code": "elderly", "name": {"vi": "X"}}, "duplicate_code"),
        ("patch", "/users/admin", {"active": False}, None),  # two admins: allowed below
    ]
    for method, path, data, code in cases[:-1]:
        r = call(a, method, path, data)
        assert r.status_code == 409 and err(r)["code"] == code, (path, r.get_json())


def test_service_in_use_and_counter_busy(api: dict[str, Any]) -> None:
    a = api["adm"]
    assert api["kiosk"].post("/tickets", {"service": "land"}).status_code == 201
    r = call(a, "patch", "/services/land", {"prefix": "L"})
    assert r.status_code == 409 and err(r)["code"] == "service_in_use"
    assert err(r)["details"]["field"] == "prefix"
    assert api["o1"].post("/counters/3/open").status_code == 200
    r = call(a, "patch", "/counters/3", {"active": False})
    assert r.status_code == 409 and err(r)["code"] == "counter_busy"
    assert api["o1"].post("/counters/3/close").status_code == 200
    r = call(a, "patch", "/counters/3", {"active": False})
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert 3 not in [c["number"] for c in api["o1"].get("/counters").get_json()["items"]]
    assert 3 in [c["number"] for c in api["sup"].get("/counters?all=1").get_json()["items"]]
    r = api["o1"].post("/counters/3/open")
    assert r.status_code == 409 and err(r)["code"] == "counter_retired"


def test_the_last_active_admin_stays(api: dict[str, Any]) -> None:
    a = api["adm"]
    # the demo's "admin" and the fixture's "adm": one may go, the other then stays
    assert call(a, "patch", "/users/admin", {"active": False}).status_code == 200
    for change in ({"active": False}, {"role": "supervisor"}):
        r = call(a, "patch", "/users/adm", change)
        assert r.status_code == 409 and err(r)["code"] == "last_admin"
    assert api["adm"].get("/center").status_code == 200  # still an admin


@pytest.mark.parametrize("method,path,data,field", [
    ("patch", "/center", {"recall_limit": -1}, "recall_limit"),
    ("patch", "/center", {"timezone": "Nowhere/City"}, "timezone"),
    ("patch", "/center", {"rating_scale": "ten"}, "rating_scale"),
    ("patch", "/center", {"color": "red"}, "color"),
    ("post", "/services", {"code": "x", "prefix": "x1", "name": {"vi": "X"}}, "prefix"),
    ("post", "/services", {"code": "x", "prefix": "X", "name": {"vi": "X"}, "opens_at": "7h"},
     "opens_at"),
    ("post", "/services", {"code": "x", "prefix": "X"}, "name"),
    ("patch", "/services/land", {"procedures": [{"code": "p"}]}, "procedures[0]"),
    ("patch", "/services/land", {"code": "other"}, "code"),
    ("post", "/counters", {"number": 0}, "number"),
    ("post", "/counters", {"number": 7, "services": ["land", "nope"]}, "services[1]"),
    ("patch", "/counters/1", {"mode": "random"}, "mode"),
    ("post", "/users", {"username": "x y", "role": "officer"}, "username"),
    ("post", "/users", {"username": "xy", "role": "boss"}, "role"),
    ("post", "/users", {"username": "xy", "role": "officer", "password": "short"}, "password"),
    ("patch", "/users/o1", {"active": "no"}, "active"),
    ("post", "/devices", {"name": "T", "kind": "feedback", "counter": 42}, "counter"),
    ("post", "/devices", {"name": "T", "kind": "toaster"}, "kind"),
    ("patch", "/devices/1", {"printer": "not a uri"}, "printer"),
])
def test_invalid_fields_are_422_naming_the_field(app: Any, api: dict[str, Any], method: str,
                                                 path: str, data: Any, field: str) -> None:
    before = count(app, db.audit)
    r = call(api["adm"], method, path, data)
    assert r.status_code == 422, r.get_json()
    assert err(r)["details"]["field"] == field
    assert count(app, db.audit) == before


#: names nobody could read as typed: invisible only, a second line, a direction override
UNREADABLE = ["\u200b\u200b", "Quầy\n3", "\u202eayưrt ỉhgN", "a\u2066b", "\x1b[31mred"]


@pytest.mark.parametrize("text", UNREADABLE)
@pytest.mark.parametrize("method,path,data,field", [
    ("patch", "/center", lambda t: {"name": {"vi": t}}, "name"),
    ("patch", "/center", lambda t: {"name": {"vi": "Trung tâm", "en": t}}, "name"),
    ("post", "/services", lambda t: {"code": "x", "prefix": "X", "name": {"vi": t}}, "name"),
    ("patch", "/services/land", lambda t: {"procedures": [{"code": "p", "name": {"vi": t}}]},
     "procedures[0].name"),
    ("post", "/counters", lambda t: {"number": 7, "name": {"vi": t}}, "name"),
    ("post", "/users", lambda t: {"username": "xy", "role": "officer", "name": t}, "name"),
    ("patch", "/users/o1", lambda t: {"name": t}, "name"),
    ("post", "/devices", lambda t: {"name": t, "kind": "display"}, "name"),
])
def test_a_name_the_room_sees_must_read_as_typed(app: Any, api: dict[str, Any], method: str,
                                                 path: str, data: Any, field: str,
                                                 text: str) -> None:
    before = count(app, db.audit)
    r = call(api["adm"], method, path, data(text))
    assert r.status_code == 422, (text, r.get_json())
    assert err(r)["details"]["field"] == field
    assert count(app, db.audit) == before


@pytest.mark.parametrize("text", UNREADABLE)
def test_the_board_notice_must_read_as_typed(api: dict[str, Any], text: str) -> None:
    assert api["adm"].post("/notice", {"vi": "Làm việc từ 7 giờ 30"}).status_code == 200
    r = api["adm"].post("/notice", {"vi": text, "en": "Open from 7:30"})
    assert r.status_code == 422 and err(r)["details"]["field"] in ("vi", "notice")
    assert api["anon"].get("/board").get_json()["notice"]["vi"] == "Làm việc từ 7 giờ 30"


@pytest.mark.parametrize("raw", [b"{", b"[1]", b'"x"', b"\xff"])
def test_malformed_json_is_400(api: dict[str, Any], raw: bytes) -> None:
    a = api["adm"]
    for method, path in (("PATCH", "/center"), ("POST", "/services"), ("POST", "/users"),
                         ("POST", "/devices/enrol")):
        r = a.client.open("/api/v1" + path, method=method, data=raw,
                          headers={**a._headers(), "Content-Type": "application/json"})
        assert r.status_code == 400 and err(r)["code"] == "malformed_json", (path, raw)


def test_unknown_names_are_404(api: dict[str, Any]) -> None:
    a = api["adm"]
    for method, path in (("patch", "/services/nope"), ("patch", "/counters/77"),
                         ("patch", "/categories/nope"), ("patch", "/users/nobody"),
                         ("patch", "/devices/999"), ("post", "/devices/999/revoke")):
        assert call(a, method, path, {}).status_code == 404, path


def test_a_service_with_procedures_is_offered_at_once_and_retired_keeps_its_history(
        api: dict[str, Any]) -> None:
    a = api["adm"]
    r = call(a, "post", "/services", {
        "code": "justice", "prefix": "G", "name": {"vi": "Tư pháp", "en": "Justice"},
        "target_wait_minutes": 15, "opens_at": "07:30", "closes_at": "17:00",
        "procedures": [{"code": "p1", "name": {"vi": "Một", "en": "One"}},
                       {"code": "p2", "name": {"vi": "Hai", "en": "Two"}}]})
    assert r.status_code == 201
    body = r.get_json()
    assert body["active"] is True and [p["code"] for p in body["procedures"]] == ["p1", "p2"]
    kiosk_list = api["anon"].get("/services").get_json()["items"]
    listed = next(s for s in kiosk_list if s["code"] == "justice")
    # listed at once, but no number is issued while no counter serves it: nobody could call it
    assert listed["served"] is False and listed["open"] is False
    r = api["kiosk"].post("/tickets", {"service": "justice", "procedure": "p2"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "service_unserved"
    r = call(a, "patch", "/counters/1", {"services": ["civil-status", "certification", "justice"]})
    assert r.status_code == 200
    listed = next(s for s in api["anon"].get("/services").get_json()["items"]
                  if s["code"] == "justice")
    assert listed["served"] is True and listed["open"] is True
    t = api["kiosk"].post("/tickets", {"service": "justice", "procedure": "p2"}).get_json()
    assert t["label"] == "G001"
    r = call(a, "patch", "/services/justice", {"active": False})
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert "justice" not in [s["code"] for s in api["anon"].get("/services").get_json()["items"]]
    every = api["sup"].get("/services?all=1").get_json()["items"]
    assert next(s for s in every if s["code"] == "justice")["active"] is False
    r = api["kiosk"].post("/tickets", {"service": "justice"})
    assert r.status_code == 422
    queue = api["o1"].get("/queue").get_json()["items"]
    assert t["id"] in [q["id"] for q in queue]  # the waiting citizen is not lost
    r = api["anon"].get("/tickets/" + t["status_url"].rsplit("/", 1)[1])
    assert r.status_code == 200 and r.get_json()["label"] == "G001"


def test_a_deactivated_user_gets_401_at_once(api: dict[str, Any], client: Any) -> None:
    assert api["o2"].get("/auth/me").status_code == 200
    session = client.application.test_client()
    r = session.post("/api/v1/auth/login", json={"username": "o2", "password": "password-o2"})
    assert r.status_code == 200
    assert session.get("/api/v1/auth/me").status_code == 200
    r = call(api["adm"], "patch", "/users/o2", {"active": False})
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert api["o2"].get("/auth/me").status_code == 401
    assert session.get("/api/v1/auth/me").status_code == 401
    r = session.post("/api/v1/auth/login", json={"username": "o2", "password": "password-o2"})
    assert r.status_code == 401


def test_a_password_reset_lets_the_new_password_in(api: dict[str, Any], client: Any) -> None:
    r = call(api["adm"], "patch", "/users/o2", {"password": "a-brand-new-one"})
    assert r.status_code == 200 and "password" not in r.get_json()
    assert api["o2"].get("/auth/me").status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "o2", "password": "a-brand-new-one"})
    assert r.status_code == 200
    items = api["adm"].get("/audit").get_json()["items"]
    assert items[0]["changes"] == {"password": "reset"}
    assert "a-brand-new-one" not in str(items)


def test_a_new_user_with_a_password_logs_in(api: dict[str, Any], client: Any) -> None:
    r = call(api["adm"], "post", "/users", {"username": "canbo9", "name": "Cán bộ 9",
                                            "role": "officer", "password": "mat-khau-9"})
    assert r.status_code == 201
    assert r.get_json() == {"username": "canbo9", "name": "Cán bộ 9", "role": "officer",
                            "active": True}
    r = client.post("/api/v1/auth/login", json={"username": "canbo9", "password": "mat-khau-9"})
    assert r.status_code == 200 and r.get_json()["user"]["role"] == "officer"
    users = api["sup"].get("/users").get_json()["items"]
    assert all("password" not in str(u) for u in users)


def test_a_device_is_enrolled_once_by_its_code(app: Any, api: dict[str, Any],
                                               clock: Any) -> None:
    r = call(api["adm"], "post", "/devices", {"name": "Kiosk tầng 2", "kind": "kiosk",
                                              "printer": "dir:///tmp/kiosk2"})
    assert r.status_code == 201
    made = r.get_json()
    assert made["token"] and len(made["enrol_code"]) == 8 and made["enrol_expires_at"]
    listed = api["sup"].get("/devices").get_json()["items"]
    assert "token" not in str(listed) and made["enrol_code"] not in str(listed)
    r = api["anon"].post("/devices/enrol", {"code": made["enrol_code"]})
    assert r.status_code == 200
    token = r.get_json()["token"]
    assert r.get_json()["device"]["id"] == made["id"]
    r = api["anon"].post("/devices/enrol", {"code": made["enrol_code"]})
    assert r.status_code == 422 and err(r)["code"] == "invalid_enrol_code"
    r = api["kiosk"].client.post("/api/v1/tickets", json={"service": "land"},
                                 headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201
    seen = next(d for d in api["sup"].get("/devices").get_json()["items"]
                if d["id"] == made["id"])
    assert seen["last_seen_at"] is not None and seen["printer"] == "dir:///tmp/kiosk2"


def test_an_enrolment_code_expires_and_a_new_one_can_be_made(api: dict[str, Any],
                                                             clock: Any) -> None:
    made = call(api["adm"], "post", "/devices", {"name": "Bảng", "kind": "display"}).get_json()
    clock.advance(minutes=16)
    r = api["anon"].post("/devices/enrol", {"code": made["enrol_code"]})
    assert r.status_code == 422
    r = call(api["adm"], "post", f"/devices/{made['id']}/enrol-code")
    assert r.status_code == 200
    r = api["anon"].post("/devices/enrol", {"code": r.get_json()["enrol_code"]})
    assert r.status_code == 200


def test_enrolment_needs_no_csrf_token_and_is_rate_limited(app: Any, api: dict[str, Any]
                                                           ) -> None:
    browser = app.test_client()
    browser.post("/api/v1/auth/login", json={"username": "o1", "password": "password-o1"})
    codes = [browser.post("/api/v1/devices/enrol", json={"code": "1234 5678"}).status_code
             for _ in range(12)]
    assert codes[:10] == [422] * 10 and codes[-1] == 429


def test_a_revoked_device_gets_401_at_once_and_its_socket_is_closed(app: Any,
                                                                    api: dict[str, Any],
                                                                    tokens: dict[str, str]
                                                                    ) -> None:
    rt = app.extensions["layso_realtime"]
    tablet = rt.socketio.test_client(app, auth={"channel": "feedback",
                                                "token": tokens["feedback"]})
    board = rt.socketio.test_client(app, auth={"channel": "board"})
    assert tablet.is_connected() and board.is_connected()
    assert api["kiosk"].post("/tickets", {"service": "land"}).status_code == 201
    with app.extensions["layso"].db.read() as conn:
        ids = {d.name: d.id for d in conn.execute(select(db.devices)).all()}
    r = call(api["adm"], "post", f"/devices/{ids['Tablet 1']}/revoke")
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert not tablet.is_connected()
    assert board.is_connected()
    assert api["feedback"].post("/ratings", {"ticket": 1, "score": 5}).status_code == 401
    r = call(api["adm"], "post", f"/devices/{ids['Kiosk 1']}/revoke")
    assert api["kiosk"].post("/tickets", {"service": "land"}).status_code == 401
    refused = rt.socketio.test_client(app, auth={"channel": "feedback",
                                                 "token": tokens["feedback"]})
    assert not refused.is_connected()
    changed = [p["args"][0] for p in board.get_received() if p["name"] == "config.changed"]
    assert [c["what"] for c in changed] == ["device", "device"]
    assert all("token" not in str(c) for c in changed)
    board.disconnect()


def test_a_deactivated_officer_s_counter_socket_is_closed(app: Any, api: dict[str, Any],
                                                          tokens: dict[str, str]) -> None:
    rt = app.extensions["layso_realtime"]
    terminal = rt.socketio.test_client(app, auth={"channel": "counter", "token": tokens["o2"]})
    assert terminal.is_connected()
    call(api["adm"], "patch", "/users/o2", {"active": False})
    assert not terminal.is_connected()


def test_boards_hear_config_changed_without_personal_data(app: Any, api: dict[str, Any]
                                                          ) -> None:
    rt = app.extensions["layso_realtime"]
    board = rt.socketio.test_client(app, auth={"channel": "board"})
    board.get_received()
    call(api["adm"], "patch", "/services/land", {"name": {"vi": "Đất đai mới", "en": "Land"}})
    call(api["adm"], "post", "/users", {"username": "someone", "name": "Nguyễn Văn A",
                                        "role": "officer"})
    got = [p["args"][0] for p in board.get_received() if p["name"] == "config.changed"]
    assert [(g["what"], g["ref"]) for g in got] == [("service", "land"), ("user", None)]
    assert "Nguyễn" not in str(got) and "someone" not in str(got)
    board.emit("sync", {})
    snap = [p["args"][0] for p in board.get_received() if p["name"] == "snapshot"][0]
    assert next(s for s in snap["services"] if s["code"] == "land")["name"]["vi"] == \
        "Đất đai mới"
    board.disconnect()


def test_an_empty_change_answers_200_and_writes_nothing(app: Any, api: dict[str, Any]) -> None:
    before = (count(app, db.audit), count(app, db.events))
    for path in ("/center", "/services/land", "/counters/1", "/categories/elderly",
                 "/users/o1", "/devices/1"):
        assert call(api["adm"], "patch", path, {}).status_code == 200, path
    r = call(api["adm"], "patch", "/center", {"recall_limit": 3})  # the value it has
    assert r.status_code == 200
    assert (count(app, db.audit), count(app, db.events)) == before


def test_a_device_revoked_while_its_socket_connects_is_closed_too(
        app: Any, api: dict[str, Any], tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The revoke commits while the tablet's connect handler is running (Socket.IO ignores a
    disconnect then): the socket must not stay open with a revoked token."""
    import time

    from layso.queue import reading

    rt = app.extensions["layso_realtime"]
    with app.extensions["layso"].db.read() as conn:
        tablet_id = conn.execute(select(db.devices.c.id).where(
            db.devices.c.name == "Tablet 1")).scalar_one()
    rating_due = reading.rating_due

    def revoke_meanwhile(r: Any, c: Any) -> Any:  # the feedback connect handler reads this
        assert call(api["adm"], "post", f"/devices/{tablet_id}/revoke").status_code == 200
        return rating_due(r, c)

    monkeypatch.setattr(reading, "rating_due", revoke_meanwhile)
    tablet = rt.socketio.test_client(app, auth={"channel": "feedback",
                                                "token": tokens["feedback"]})
    deadline = time.monotonic() + 5
    while tablet.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not tablet.is_connected()
