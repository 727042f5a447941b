"""GET /api/v1/alerts (the live supervision) and /reports/arrivals (the staffing chart)."""

from __future__ import annotations

from typing import Any


def patch_center(api: Any, data: dict[str, Any]) -> Any:
    return api.client.patch("/api/v1/center", json=data, headers=api._headers())


def test_only_supervisors_and_admins_read_alerts(api):
    for who, status in (("anon", 401), ("kiosk", 403), ("display", 403), ("feedback", 403),
                        ("o1", 403), ("sup", 200), ("adm", 200)):
        for path in ("/alerts", "/reports/arrivals"):
            assert api[who].get(path).status_code == status, (who, path)


def test_an_alert_appears_and_clears(api, clock):
    assert api["sup"].get("/alerts").get_json()["items"] == []
    r = patch_center(api["adm"], {"alert_queue_length": 1, "alert_pause_minutes": 5,
                                  "alert_silent_minutes": 10})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["alert_silent_minutes"] == 10
    for _ in range(2):
        assert api["kiosk"].post("/tickets", {"service": "land"}).status_code == 201
    body = api["sup"].get("/alerts").get_json()
    assert [a["key"] for a in body["items"]] == ["queue_long:land"]
    assert body["items"][0]["message"]["en"] == "Land: 2 citizens waiting (threshold 1)"
    assert body["at"].endswith("+07:00")
    api["o1"].post("/counters/3/open")
    api["o1"].post("/counters/3/call-next")
    assert api["sup"].get("/alerts").get_json()["items"] == []
    api["o2"].post("/counters/5/open")
    r = api["o2"].post("/counters/5/pause", {"reason": "Nghỉ trưa"})
    assert r.status_code == 200, r.get_json()
    clock.advance(minutes=6)
    items = api["sup"].get("/alerts").get_json()["items"]
    assert [a["key"] for a in items] == ["counter_paused:5"]
    assert items[0]["message"]["vi"] == "Quầy 5 tạm dừng 6 phút (Nghỉ trưa)"
    api["o2"].post("/counters/5/open")
    assert api["sup"].get("/alerts").get_json()["items"] == []


def test_the_thresholds_are_validated(api):
    for bad in (0, -3, 1441, "5", 2.5):
        r = patch_center(api["adm"], {"alert_silent_minutes": bad})
        assert r.status_code == 422, bad
        assert r.get_json()["error"]["code"] == "invalid_alert_silent_minutes"
    assert patch_center(api["sup"], {"alert_silent_minutes": 5}).status_code == 403
    assert patch_center(api["adm"], {"alert_silent_minutes": None}).status_code == 200


def test_arrivals_per_hour_for_each_weekday(api, clock):
    # Wednesday 25 November 2026, 08:30 local: two numbers at 08, one at 09
    api["kiosk"].post("/tickets", {"service": "civil-status"})
    api["kiosk"].post("/tickets", {"service": "land"})
    clock.advance(minutes=40)
    api["kiosk"].post("/tickets", {"service": "land"})
    body = api["sup"].get("/reports/arrivals?from=2026-11-23&to=2026-11-29").get_json()
    assert body["from"] == "2026-11-23" and body["to"] == "2026-11-29"
    assert body["weekdays"] == [{"key": 2, "name": {"vi": "Thứ tư", "en": "Wednesday"},
                                 "days": 1, "hours": {"08": {"issued": 2, "mean": 2.0},
                                                      "09": {"issued": 1, "mean": 1.0}}}]
    assert api["sup"].get("/reports/arrivals?from=2026-11-29&to=2026-11-23").status_code == 422


def test_the_printer_as_the_print_workers_know_it(app, api):
    def printers(*states: tuple[str | None, str]) -> None:  # as health lists them
        app.extensions["layso_printer_list"] = lambda: [
            {"device": None if name is None else 7, "name": name, "uri": "tcp://127.0.0.1:9",
             "state": state} for name, state in states]

    printers((None, "paper_out"))
    [a] = api["sup"].get("/alerts").get_json()["items"]
    assert (a["key"], a["severity"], a["printer"]) == (
        "printer:center", "bad", {"name": "", "state": "paper_out"})
    # a kiosk's own printer is named by its kiosk
    printers((None, "ok"), ("Kiosk sảnh", "cover_open"))
    [a] = api["sup"].get("/alerts").get_json()["items"]
    assert a["message"]["vi"] == "Máy in đang mở nắp (Kiosk sảnh)"
    printers((None, "ok"))
    assert api["sup"].get("/alerts").get_json()["items"] == []


def test_a_jumped_clock_alerts_the_supervisors_until_it_is_right(app, api, clock):
    from layso.queue.unit import ClockGuard

    steady = [1000.0]  # the monotonic clock: it moves with real time, never with a jump
    app.extensions["layso"].clock_guard = ClockGuard(lambda: steady[0])
    assert api["sup"].get("/alerts").get_json()["items"] == []
    clock.advance(days=1)  # only the wall clock leaps
    [a] = api["sup"].get("/alerts").get_json()["items"]
    assert (a["kind"], a["severity"], a["drift_seconds"]) == ("clock", "bad", 86400)
    assert "1440 min ahead" in a["message"]["en"] and "nhanh" in a["message"]["vi"]
    assert api["o1"].get("/alerts").status_code == 403  # for supervisors, not the counters
    clock.advance(days=-1)  # someone set the time right
    assert api["sup"].get("/alerts").get_json()["items"] == []
