"""The administration's rules: validation, conflicts, retirement keeps history, audit + event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from layso import auth, db
from layso.queue import (
    SYSTEM,
    Actor,
    Center,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    admin,
    ops,
    reading,
)
from tests.queue.helpers import refused, run, run_logged, snapshot

ADMIN = Actor(kind="user", id=None, role="admin", name="Quản trị")


def audit_rows(center: Center) -> list[Any]:
    with center.db.read() as conn:
        return conn.execute(select(db.audit).order_by(db.audit.c.id)).all()


def test_a_change_writes_one_audit_row_and_one_config_changed_event(center: Center) -> None:
    view, types = run_logged(center, admin.update_center, ADMIN,
                             {"name": {"vi": "Trung tâm xã Mới", "en": "New commune center"},
                              "recall_limit": 2, "rating_scale": "three"})
    assert types == ["config.changed"]
    assert view["name"] == {"vi": "Trung tâm xã Mới", "en": "New commune center"}
    assert view["recall_limit"] == 2 and view["rating_scale"] == "three"
    rows = audit_rows(center)
    assert len(rows) == 1 and rows[0].action == "center.updated"
    assert rows[0].changes == {"name_vi": "Trung tâm xã Mới", "name_en": "New commune center",
                               "recall_limit": 2, "rating_scale": "three"}
    assert rows[0].actor_name == "Quản trị"


def test_a_change_that_changes_nothing_writes_nothing(center: Center) -> None:
    run(center, admin.update_center, ADMIN, {"recall_limit": 2})
    before = snapshot(center)
    _, types = run_logged(center, admin.update_center, ADMIN, {"recall_limit": 2})
    assert types == [] and snapshot(center) == before


@pytest.mark.parametrize("data,field,code", [
    ({"recall_limit": 21}, "recall_limit", "invalid_recall_limit"),
    ({"timezone": "Mars/Base"}, "timezone", "invalid_timezone"),
    ({"speech_mode": "song"}, "speech_mode", "invalid_speech_mode"),
    ({"speak_english": "yes"}, "speak_english", "invalid_speak_english"),
    ({"rating_scale": "ten"}, "rating_scale", "invalid_rating_scale"),
    ({"citizen_daily_limit": 0}, "citizen_daily_limit", "invalid_citizen_daily_limit"),
    ({"alert_queue_length": 1.5}, "alert_queue_length", "invalid_alert_queue_length"),
    ({"alert_pause_minutes": True}, "alert_pause_minutes", "invalid_alert_pause_minutes"),
    ({"name": {"vi": ""}}, "name", "invalid_name"),
    ({"name": "Trung tâm"}, "name", "invalid_name"),
    ({"colour": "red"}, "colour", "unknown_field"),
])
def test_center_settings_are_checked_and_name_their_field(center: Center, data: dict[str, Any],
                                                          field: str, code: str) -> None:
    err = refused(center, Invalid, code, admin.update_center, ADMIN, data)
    assert err.details["field"] == field


def test_null_limits_mean_none(center: Center) -> None:
    run(center, admin.update_center, ADMIN, {"citizen_daily_limit": 2})
    view = run(center, admin.update_center, ADMIN, {"citizen_daily_limit": None})
    assert view["citizen_daily_limit"] is None


def test_only_an_admin_changes_the_configuration(center: Center) -> None:
    officer = Actor(kind="user", id=1, role="officer", name="O")
    refused(center, Forbidden, "forbidden", admin.update_center, officer, {"recall_limit": 1})


def test_a_service_with_procedures_is_added_and_offered(center: Center, kiosk_actor: Actor
                                                        ) -> None:
    view, types = run_logged(center, admin.create_service, ADMIN, {
        "code": "justice", "prefix": "G", "name": {"vi": "Tư pháp", "en": "Justice"},
        "procedures": [{"code": "p1", "name": {"vi": "Thủ tục 1", "en": "Procedure 1"}},
                       {"code": "p2", "name": {"vi": "Thủ tục 2", "en": "Procedure 2"}}]})
    assert types == ["config.changed"]
    assert [p["code"] for p in view["procedures"]] == ["p1", "p2"]
    assert view["active"] is True and view["position"] == 6
    assert view["served"] is False and view["open"] is False
    refused(center, Conflict, "service_unserved", ops.issue, kiosk_actor, "justice", None, "p2")
    run(center, admin.update_counter, ADMIN, 1, {"services": ["civil-status", "justice"]})
    t = run(center, ops.issue, kiosk_actor, "justice", None, "p2")
    assert t["label"] == "G001"


def test_a_service_is_unserved_once_its_last_counter_is_retired_or_drops_it(
        center: Center, kiosk_actor: Actor) -> None:
    """Closed counters still count (they open later); a retired one, or one that no longer
    lists the service, does not: the kiosk then stops issuing numbers nobody can call."""
    with center.read() as r:
        land = next(s for s in reading.list_services(r) if s["code"] == "land")
    assert land["served"] is True
    with center.read() as r:
        servers = [c for c in admin.list_counters_admin(r) if "land" in c["services"]]
    assert servers
    for c in servers:
        rest = [code for code in c["services"] if code != "land"] or ["civil-status"]
        run(center, admin.update_counter, ADMIN, c["number"], {"services": rest})
    with center.read() as r:
        land = next(s for s in reading.list_services(r) if s["code"] == "land")
        board_land = next(s for s in reading.board(r)["services"] if s["code"] == "land")
    assert land["served"] is False and land["open"] is False and board_land["open"] is False
    refused(center, Conflict, "service_unserved", ops.issue, kiosk_actor, "land")
    run(center, admin.update_counter, ADMIN, servers[0]["number"],
        {"services": servers[0]["services"]})
    assert run(center, ops.issue, kiosk_actor, "land")["label"].startswith("C")
    run(center, admin.update_counter, ADMIN, servers[0]["number"], {"active": False})
    refused(center, Conflict, "service_unserved", ops.issue, kiosk_actor, "land")


@pytest.mark.parametrize("data,status,code", [
    ({"code": "land", "prefix": "G", "name": {"vi": "X"}}, Conflict, "duplicate_code"),
    ({"code": "new", "prefix": "C", "name": {"vi": "X"}}, Conflict, "duplicate_prefix"),
    ({"code": "new", "prefix": "g", "name": {"vi": "X"}}, Invalid, "invalid_prefix"),
    ({"code": "new", "prefix": "GHIJ", "name": {"vi": "X"}}, Invalid, "invalid_prefix"),
    ({"code": "a b", "prefix": "G", "name": {"vi": "X"}}, Invalid, "invalid_code"),
    ({"code": "new", "prefix": "G"}, Invalid, "missing_field"),
    ({"code": "new", "prefix": "G", "name": {"vi": "X"}, "opens_at": "25:00"}, Invalid,
     "invalid_hours"),
    ({"code": "new", "prefix": "G", "name": {"vi": "X"}, "opens_at": "17:00",
      "closes_at": "07:00"}, Invalid, "invalid_hours"),
    ({"code": "new", "prefix": "G", "name": {"vi": "X"}, "start_number": 0}, Invalid,
     "invalid_start_number"),
    ({"code": "new", "prefix": "G", "name": {"vi": "X"}, "daily_cap": -1}, Invalid,
     "invalid_daily_cap"),
    ({"code": "new", "prefix": "G", "name": {"vi": "X\x00"}}, Invalid, "invalid_name"),
    ({"code": "new", "prefix": "G", "name": {"vi": "X"},
      "procedures": [{"code": "p", "name": {"vi": "P"}}, {"code": "p", "name": {"vi": "Q"}}]},
     Conflict, "duplicate_code"),
])
def test_a_new_service_is_checked(center: Center, data: dict[str, Any], status: type,
                                  code: str) -> None:
    refused(center, status, code, admin.create_service, ADMIN, data)


def test_procedures_are_reordered_renamed_and_retired_never_deleted(center: Center) -> None:
    view = run(center, admin.update_service, ADMIN, "civil-status", {"procedures": [
        {"code": "marriage-registration", "name": {"vi": "Kết hôn", "en": "Marriage"}},
        {"code": "birth-registration", "name": {"vi": "Khai sinh", "en": "Birth"}}]})
    assert [p["code"] for p in view["procedures"] if p["active"]] == [
        "marriage-registration", "birth-registration"]
    assert {p["code"] for p in view["procedures"] if not p["active"]} == {
        "death-registration", "marital-status"}
    with center.read() as r:
        from layso.queue import reading
        public = next(s for s in reading.list_services(r) if s["code"] == "civil-status")
    assert [p["code"] for p in public["procedures"]] == ["marriage-registration",
                                                         "birth-registration"]


def test_a_retired_procedure_is_not_offered_but_can_be_recorded(center: Center,
                                                                kiosk_actor: Actor) -> None:
    run(center, admin.update_service, ADMIN, "civil-status", {"procedures": [
        {"code": "birth-registration", "name": {"vi": "Khai sinh"}, "active": False}]})
    refused(center, Invalid, "unknown_procedure", ops.issue, kiosk_actor, "civil-status", None,
            "birth-registration")


def test_prefix_cannot_change_while_the_service_has_tickets_today(center: Center,
                                                                  kiosk_actor: Actor,
                                                                  clock: Any) -> None:
    run(center, admin.update_service, ADMIN, "land", {"prefix": "L"})  # no tickets yet: fine
    run(center, ops.issue, kiosk_actor, "land")
    err = refused(center, Conflict, "service_in_use", admin.update_service, ADMIN, "land",
                  {"prefix": "M"})
    assert err.details["field"] == "prefix"
    clock.advance(days=1)
    view = run(center, admin.update_service, ADMIN, "land", {"prefix": "M"})
    assert view["prefix"] == "M"


def test_a_retired_service_keeps_its_tickets_and_is_not_offered(center: Center,
                                                                kiosk_actor: Actor) -> None:
    t = run(center, ops.issue, kiosk_actor, "land")
    view, types = run_logged(center, admin.update_service, ADMIN, "land", {"active": False})
    assert view["active"] is False and types == ["config.changed"]
    assert audit_rows(center)[-1].action == "service.retired"
    refused(center, Invalid, "unknown_service", ops.issue, kiosk_actor, "land")
    with center.read() as r:
        from layso.queue import reading
        assert "land" not in {s["code"] for s in reading.list_services(r)}
        assert "land" in {s["code"] for s in admin.list_services_admin(r)}
        row = reading.get_ticket_row(r, t["id"])
        assert row.label == "C001" and row.state == "waiting"


def test_a_change_mid_day_never_renumbers_or_loses_a_waiting_ticket(
        center: Center, kiosk_actor: Actor, officers: dict[str, Actor]) -> None:
    first = [run(center, ops.issue, kiosk_actor, "civil-status") for _ in range(3)]
    run(center, admin.update_service, ADMIN, "civil-status",
        {"name": {"vi": "Hộ tịch mới", "en": "New civil status"}, "start_number": 100,
         "target_wait_minutes": 10, "procedures": []})
    run(center, admin.update_counter, ADMIN, 1, {"services": ["certification", "civil-status"],
                                                 "mode": "ordered"})
    run(center, admin.create_service, ADMIN, {"code": "new", "prefix": "G",
                                              "name": {"vi": "Mới"}})
    run(center, admin.update_center, ADMIN, {"priority_policy": "ratio:2"})
    later = run(center, ops.issue, kiosk_actor, "civil-status")
    assert later["label"] == "A004"  # the day's numbering goes on; start_number is for tomorrow
    run(center, ops.open_counter, officers["o1"], 1)
    called = [run(center, ops.call_next, officers["o1"], 1) for _ in range(1)]
    assert called[0]["label"] == "A001"
    with center.read() as r:
        from layso.queue import reading
        labels = [t["label"] for t in reading.queue_for(r, "civil-status")]
    assert labels == ["A002", "A003", "A004"]
    assert [t["label"] for t in first] == ["A001", "A002", "A003"]


def test_counters_are_added_changed_and_retired_only_when_closed(
        center: Center, officers: dict[str, Actor]) -> None:
    view = run(center, admin.create_counter, ADMIN, {"number": 6, "services": ["land", "social"],
                                                     "mode": "ordered"})
    assert view["name"] == {"vi": "Quầy 6", "en": "Counter 6"}
    assert view["services"] == ["land", "social"] and view["mode"] == "ordered"
    refused(center, Conflict, "duplicate_number", admin.create_counter, ADMIN, {"number": 6})
    refused(center, Conflict, "duplicate_number", admin.update_counter, ADMIN, 6, {"number": 1})
    refused(center, Invalid, "unknown_service", admin.create_counter, ADMIN,
            {"number": 7, "services": ["nope"]})
    refused(center, Invalid, "invalid_mode", admin.update_counter, ADMIN, 6, {"mode": "x"})
    run(center, ops.open_counter, officers["o1"], 6)
    err = refused(center, Conflict, "counter_busy", admin.update_counter, ADMIN, 6,
                  {"active": False})
    assert err.details["field"] == "active"
    run(center, ops.close_counter, officers["o1"], 6)
    view = run(center, admin.update_counter, ADMIN, 6, {"active": False})
    assert view["active"] is False
    refused(center, Conflict, "counter_retired", ops.open_counter, officers["o1"], 6)
    with center.read() as r:
        from layso.queue import reading
        assert 6 not in [c["number"] for c in reading.board(r)["counters"]]
    refused(center, NotFound, "unknown_counter", admin.update_counter, ADMIN, 99, {})


def test_categories_are_added_renamed_and_retired(center: Center, kiosk_actor: Actor) -> None:
    run(center, admin.create_category, ADMIN, {"code": "veteran",
                                                "name": {"vi": "Cựu chiến binh", "en": "Veteran"}})
    refused(center, Conflict, "duplicate_code", admin.create_category, ADMIN,
            {"code": "veteran", "name": {"vi": "X"}})
    t = run(center, ops.issue, kiosk_actor, "land", "veteran")
    run(center, admin.update_category, ADMIN, "veteran", {"active": False})
    refused(center, Invalid, "unknown_priority", ops.issue, kiosk_actor, "land", "veteran")
    with center.read() as r:
        from layso.queue import reading
        assert reading.get_ticket_row(r, t["id"]).priority == "veteran"


def _add_user(center: Center, username: str, role: str) -> None:
    run(center, admin.create_user, SYSTEM, {"username": username, "role": role},
        auth.hash_password("password-" + username))


def test_the_last_active_admin_is_neither_deactivated_nor_demoted(center: Center) -> None:
    # the demo seeds one admin ("admin")
    refused(center, Conflict, "last_admin", admin.update_user, ADMIN, "admin", {"active": False})
    refused(center, Conflict, "last_admin", admin.update_user, ADMIN, "admin",
            {"role": "officer"})
    _add_user(center, "admin2", "admin")
    view = run(center, admin.update_user, ADMIN, "admin", {"role": "supervisor"})
    assert view["role"] == "supervisor"
    refused(center, Conflict, "last_admin", admin.update_user, ADMIN, "admin2", {"active": False})


def test_deactivating_a_user_ends_their_logins_at_once(center: Center) -> None:
    _add_user(center, "can-bo", "officer")
    with center.db.write() as conn:
        uid = conn.execute(select(db.users.c.id).where(db.users.c.username == "can-bo")).scalar()
        token = auth.issue_user_token(conn, uid, 12)
    assert auth.bearer_actor(center.db, token) is not None
    _, types = run_logged(center, admin.update_user, ADMIN, "can-bo", {"active": False})
    assert types == ["config.changed"]
    assert auth.bearer_actor(center.db, token) is None
    with center.db.read() as conn:
        assert auth.check_password(conn, "can-bo", "password-can-bo") is None
    with center.read() as r:
        assert {"username": "can-bo", "name": "can-bo", "role": "officer",
                "active": False} in admin.list_users(r)


def test_a_password_reset_ends_logins_and_the_new_one_works(center: Center) -> None:
    _add_user(center, "can-bo", "officer")
    with center.db.write() as conn:
        uid = conn.execute(select(db.users.c.id).where(db.users.c.username == "can-bo")).scalar()
        token = auth.issue_user_token(conn, uid, 12)
    run(center, admin.update_user, ADMIN, "can-bo", {"password": "x"},
        auth.hash_password("a-new-password"))
    assert auth.bearer_actor(center.db, token) is None
    with center.db.read() as conn:
        assert auth.check_password(conn, "can-bo", "a-new-password") is not None
    assert audit_rows(center)[-1].changes == {"password": "reset"}


def test_users_are_checked(center: Center) -> None:
    refused(center, Invalid, "invalid_role", admin.create_user, ADMIN,
            {"username": "x", "role": "king"})
    refused(center, Invalid, "invalid_username", admin.create_user, ADMIN,
            {"username": "a b", "role": "officer"})
    refused(center, Conflict, "duplicate_username", admin.create_user, ADMIN,
            {"username": "admin", "role": "officer"})
    with pytest.raises(Invalid):
        admin.hash_password("short")


def test_a_user_without_a_password_cannot_log_in(center: Center) -> None:
    run(center, admin.create_user, ADMIN, {"username": "moi", "role": "officer"})
    with center.db.read() as conn:
        assert auth.check_password(conn, "moi", "") is None
        assert auth.check_password(conn, "moi", "!") is None


def test_a_device_gets_a_token_and_a_one_time_enrolment_code(center: Center, clock: Any) -> None:
    out = run(center, admin.create_device, ADMIN, {"name": "Kiosk 2", "kind": "kiosk",
                                                   "printer": "dir:///tmp/p"})
    assert out["token"].startswith("dk_") and len(out["enrol_code"]) == admin.ENROL_DIGITS
    assert auth.bearer_actor(center.db, out["token"]) is not None
    with center.db.read() as conn:
        row = conn.execute(select(db.devices).where(db.devices.c.id == out["id"])).one()
        assert out["enrol_code"] not in (row.enrol_code_hash or "")
    got = run(center, admin.enrol, out["enrol_code"])
    assert got["device"]["id"] == out["id"] and got["token"].startswith("dk_")
    assert auth.bearer_actor(center.db, got["token"]).id == out["id"]
    refused(center, Invalid, "invalid_enrol_code", admin.enrol, out["enrol_code"])


def test_an_enrolment_code_expires_after_15_minutes(center: Center, clock: Any) -> None:
    out = run(center, admin.create_device, ADMIN, {"name": "Bảng", "kind": "display"})
    clock.advance(minutes=15, seconds=1)
    refused(center, Invalid, "invalid_enrol_code", admin.enrol, out["enrol_code"])
    fresh = run(center, admin.new_enrol_code, ADMIN, out["id"])
    clock.advance(minutes=14)
    assert run(center, admin.enrol, fresh["enrol_code"])["device"]["kind"] == "display"


def test_a_revoked_device_is_refused_at_once(center: Center) -> None:
    out = run(center, admin.create_device, ADMIN, {"name": "Kiosk 3", "kind": "kiosk"})
    assert auth.bearer_actor(center.db, out["token"]) is not None
    with center.write() as tx:
        view = admin.revoke_device(tx, ADMIN, out["id"])
        events = list(tx.events)
    assert view["active"] is False
    assert events[-1].payload["ends"] == f"device:{out['id']}"
    assert auth.bearer_actor(center.db, out["token"]) is None
    refused(center, Invalid, "invalid_enrol_code", admin.enrol, out["enrol_code"])
    refused(center, Conflict, "device_revoked", admin.new_enrol_code, ADMIN, out["id"])


def test_devices_are_checked(center: Center) -> None:
    refused(center, Invalid, "counter_required", admin.create_device, ADMIN,
            {"name": "Tablet", "kind": "feedback"})
    refused(center, Invalid, "unknown_counter", admin.create_device, ADMIN,
            {"name": "Tablet", "kind": "feedback", "counter": 99})
    refused(center, Invalid, "invalid_kind", admin.create_device, ADMIN,
            {"name": "Tablet", "kind": "phone"})
    refused(center, Invalid, "invalid_printer", admin.create_device, ADMIN,
            {"name": "Board", "kind": "display", "printer": "tcp://10.0.0.9"})
    out = run(center, admin.create_device, ADMIN, {"name": "Tablet", "kind": "feedback",
                                                   "counter": 2})
    view = run(center, admin.update_device, ADMIN, out["id"], {"counter": 3, "name": "Máy 3"})
    assert view["counter"] == 3 and view["name"] == "Máy 3"
    refused(center, Invalid, "counter_required", admin.update_device, ADMIN, out["id"],
            {"counter": None})


def test_the_audit_lists_changes_newest_first_within_the_range(center: Center,
                                                               clock: Any) -> None:
    run(center, admin.update_center, ADMIN, {"recall_limit": 1})
    clock.advance(hours=1)
    run(center, admin.update_center, ADMIN, {"recall_limit": 2})
    with center.read() as r:
        items = admin.audit_items(r)
        assert [i["changes"] for i in items] == [{"recall_limit": 2}, {"recall_limit": 1}]
        assert items[0]["actor"] == {"kind": "user", "name": "Quản trị"}
        assert len(admin.audit_items(r, start=clock.now - timedelta(minutes=30))) == 1
        assert len(admin.audit_items(r, end=clock.now - timedelta(minutes=30))) == 1


def test_deactivating_an_official_at_work_hands_their_citizen_back_and_closes_the_counter(
        center: Center, officers: dict[str, Actor], kiosk_actor: Actor) -> None:
    """An account deactivated while its official has a citizen called would leave that
    citizen "called" at a counter nobody can work at, and the board showing it: it is left
    as their logging out leaves it. Another official's counter is untouched."""
    first = run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.open_counter, officers["o2"], 2)
    called = run(center, ops.call_next, officers["o1"], 1)
    assert called["label"] == first["label"]
    _, types = run_logged(center, admin.update_user, ADMIN, "o1", {"active": False})
    assert "ticket.released" in types and "counter.changed" in types
    with center.read() as r:
        one = r.conn.execute(select(db.counters).where(db.counters.c.number == 1)).one()
        two = r.conn.execute(select(db.counters).where(db.counters.c.number == 2)).one()
        back = r.conn.execute(select(db.tickets).where(db.tickets.c.id == first["id"])).one()
    assert one.state == "closed" and one.officer_id is None and one.current_ticket_id is None
    assert two.state == "open" and two.officer_id == officers["o2"].id
    assert back.state == "waiting" and back.counter_id is None
    # and the handed-back citizen is the next one called, at the other counter
    assert run(center, ops.call_next, officers["o2"], 2)["label"] == first["label"]


def test_deactivating_an_official_from_the_command_line_releases_their_counter(
        center: Center, officers: dict[str, Actor]) -> None:
    from layso.queue import SYSTEM

    run(center, ops.open_counter, officers["o3"], 3)
    run(center, admin.update_user, SYSTEM, "o3", {"active": False})
    with center.read() as r:
        assert r.conn.execute(select(db.counters.c.state).where(
            db.counters.c.number == 3)).scalar() == "closed"
