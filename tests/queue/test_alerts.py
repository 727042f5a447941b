"""Live supervision: alerts appear when their condition starts and clear when it ends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from layso import auth, db
from layso.queue import Actor, Invalid, admin, alerts, catalog, ops
from tests.queue.helpers import run, set_center, set_service


def now_alerts(center: Any, printers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    with center.read() as r:
        return alerts.alerts(r, printers)


def keys(center: Any, printers: dict[str, str] | None = None) -> list[str]:
    return [a["key"] for a in now_alerts(center, printers)]


def test_nothing_to_say_on_a_quiet_morning(center, kiosk_actor):
    run(center, ops.issue, kiosk_actor, "civil-status")
    assert now_alerts(center) == []


def test_the_oldest_wait_past_its_target_appears_and_clears_when_called(
        center, officers, kiosk_actor, clock):
    set_service(center, "A", target_wait_minutes=20)
    run(center, ops.issue, kiosk_actor, "civil-status")
    clock.advance(minutes=5)
    run(center, ops.issue, kiosk_actor, "civil-status")
    clock.advance(minutes=15)
    assert keys(center) == []  # 20 minutes: at the target, not past it
    clock.advance(minutes=2)
    [a] = now_alerts(center)
    assert a["key"] == "wait_over_target:civil-status" and a["severity"] == "bad"
    assert a["minutes"] == 22 and a["target"] == 20
    assert a["message"]["vi"] == "Hộ tịch: công dân chờ lâu nhất 22 phút (mục tiêu 20 phút)"
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.call_next, officers["o1"], 1)  # the oldest goes; the next waited 17 min
    assert keys(center) == []


def test_a_queue_longer_than_the_threshold(center, officers, kiosk_actor):
    for _ in range(3):
        run(center, ops.issue, kiosk_actor, "land")
    assert keys(center) == []  # no threshold set: no such alert
    set_center(center, alert_queue_length=2)
    [a] = now_alerts(center)
    assert a["key"] == "queue_long:land" and a["waiting"] == 3 and a["threshold"] == 2
    assert "3 công dân đang chờ (ngưỡng 2)" in a["message"]["vi"]
    run(center, ops.open_counter, officers["o3"], 3)
    run(center, ops.call_next, officers["o3"], 3)
    assert keys(center) == []  # 2 left: not longer than 2


def test_a_counter_paused_longer_than_the_threshold(center, officers, clock):
    set_center(center, alert_pause_minutes=10)
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.pause_counter, officers["o1"], 1, "Họp giao ban")
    clock.advance(minutes=10)
    assert keys(center) == []
    clock.advance(minutes=1)
    [a] = now_alerts(center)
    assert a["key"] == "counter_paused:1" and a["minutes"] == 11
    assert a["message"]["vi"] == "Quầy 1 tạm dừng 11 phút (Họp giao ban)"
    run(center, ops.open_counter, officers["o1"], 1)
    assert keys(center) == []


def test_printers_in_trouble(center):
    assert keys(center, {"": "ok"}) == []
    got = now_alerts(center, {"": "paper_out", "Kiosk 2": "paper_near_end", "Kiosk 3": "none"})
    assert [(a["key"], a["severity"]) for a in got] == [
        ("printer:center", "bad"), ("printer:Kiosk 2", "warn")]
    assert got[0]["message"] == {"vi": "Máy in hết giấy", "en": "Printer out of paper"}
    assert got[1]["message"]["vi"] == "Máy in sắp hết giấy (Kiosk 2)"


def test_a_kiosk_or_board_gone_silent(center, clock):
    set_center(center, alert_silent_minutes=5)
    with center.db.write() as conn:
        conn.execute(update(db.devices).values(active=False))  # the demo's own: retired here
        auth.add_device(conn, "Kiosk sảnh", "kiosk")
        auth.add_device(conn, "Bảng chính", "display")
        auth.add_device(conn, "Tablet 1", "feedback", 1)
        conn.execute(update(db.devices).where(db.devices.c.active.is_(True))
                     .values(last_seen_at=clock()))
        auth.add_device(conn, "Chưa dùng", "kiosk")  # never seen: never enrolled
        conn.execute(update(db.devices).where(db.devices.c.name == "Chưa dùng")
                     .values(last_seen_at=None))
    clock.advance(minutes=5)
    assert keys(center) == []
    clock.advance(minutes=1)
    got = now_alerts(center)
    assert [a["device"]["name"] for a in got] == ["Bảng chính", "Kiosk sảnh"]  # not tablets
    assert got[1]["message"]["vi"] == "Máy lấy số “Kiosk sảnh” mất liên lạc 6 phút"
    with center.write() as tx:
        from layso.queue import admin

        admin.touch_devices(tx, [got[1]["device"]["id"]])
    assert [a["device"]["name"] for a in now_alerts(center)] == ["Bảng chính"]


def test_most_serious_first(center, kiosk_actor, clock):
    set_center(center, alert_queue_length=1)
    set_service(center, "B", target_wait_minutes=5)
    run(center, ops.issue, kiosk_actor, "certification")
    run(center, ops.issue, kiosk_actor, "certification")
    clock.advance(minutes=6)
    assert keys(center, {"": "cover_open"}) == [
        "wait_over_target:certification", "printer:center", "queue_long:certification"]


def test_the_thresholds_are_checked(center):
    import pytest

    for bad in (0, -1, 1441, 2.5, "10", True):
        with pytest.raises(Invalid) as info:
            catalog.check_center_value("alert_silent_minutes", bad)
        assert info.value.code == "invalid_alert_silent_minutes"
    assert catalog.check_center_value("alert_silent_minutes", None) is None
    assert catalog.check_center_value("alert_silent_minutes", 15) == 15


def test_yesterday_waiting_is_not_today_alert(center, kiosk_actor, clock):
    set_service(center, "A", target_wait_minutes=20)
    run(center, ops.issue, kiosk_actor, "civil-status")
    clock.advance(days=1)
    assert keys(center) == []  # a new local day: yesterday's queue is no one's wait now


def test_a_service_no_counter_takes_is_told_and_worse_when_citizens_wait_in_it(
        center, kiosk_actor):
    adm = Actor(kind="user", id=None, role="admin", name="Quản trị")
    run(center, ops.issue, kiosk_actor, "land")
    with center.read() as r:
        takers = [c for c in admin.list_counters_admin(r) if "land" in c["services"]]
    for c in takers:  # every counter drops the service while a citizen waits in it
        run(center, admin.update_counter, adm, c["number"],
            {"services": [code for code in c["services"] if code != "land"] or ["civil-status"]})
    [a] = now_alerts(center)
    assert a["key"] == "service_unserved:land" and a["severity"] == "bad"
    assert a["waiting"] == 1 and "1 công dân đang chờ" in a["message"]["vi"]
    run(center, admin.create_service, adm, {"code": "justice", "prefix": "G",
                                            "name": {"vi": "Tư pháp", "en": "Justice"}})
    got = {a["key"]: a for a in now_alerts(center)}
    assert got["service_unserved:justice"]["severity"] == "warn"
    assert got["service_unserved:justice"]["message"]["en"] == (
        "Justice: no counter takes it, the kiosk issues no number")
    run(center, admin.update_counter, adm, takers[0]["number"], {"services": ["land", "justice"]})
    assert keys(center) == []
