"""The leaders' figures of a day, the CSV export and who may see them."""

import csv
import io
from typing import Any


def _serve(api: dict[str, Any], clock: Any, counter: int, officer: str, minutes: float) -> dict:
    t = api[officer].post(f"/counters/{counter}/call-next").get_json()
    api[officer].post(f"/counters/{counter}/start")
    clock.advance(minutes=minutes)
    api[officer].post(f"/counters/{counter}/complete", {"outcome": "done"})
    return t


def test_day_report_counts_waits_services_and_ratings(api: dict[str, Any], clock: Any) -> None:
    for _ in range(3):
        assert api["kiosk"].post("/tickets", {"service": "civil-status"}).status_code == 201
    api["kiosk"].post("/tickets", {"service": "land"})
    clock.advance(minutes=10)
    api["o1"].post("/counters/1/open")
    first = _serve(api, clock, 1, "o1", 4)
    # each citizen rates at the tablet as their visit ends (an earlier visit is closed once
    # the next one started: issue 16)
    api["feedback"].post("/ratings", {"ticket": first["id"], "score": 5})
    second = _serve(api, clock, 1, "o1", 6)
    api["feedback"].post("/ratings", {"ticket": second["id"], "score": 2, "reason": "long_wait"})
    api["o1"].post("/counters/1/call-next")
    api["o1"].post("/counters/1/no-show")

    rep = api["sup"].get("/reports/day").get_json()
    assert rep["totals"] == {"issued": 4, "served": 2, "waiting": 1, "no_show": 1,
                             "cancelled": 0, "expired": 0, "transferred": 0}
    assert rep["service_minutes"]["mean"] == 5.0
    civil = next(s for s in rep["services"] if s["code"] == "civil-status")
    assert (civil["issued"], civil["served"], civil["no_show"]) == (3, 2, 1)
    assert civil["wait_minutes"]["median"] == 14.0  # waits 10, 14, 20 minutes
    assert rep["ratings"]["count"] == 2 and rep["ratings"]["mean"] == 3.5
    assert rep["ratings"]["reasons"] == {"long_wait": 1}
    assert rep["counters"][0]["number"] == 1 and rep["counters"][0]["served"] == 2
    assert rep["officials"][0]["name"] == "O1" and rep["officials"][0]["mean_rating"] == 3.5
    assert sum(rep["hours"].values()) == 4


def test_report_is_for_leaders_only(api: dict[str, Any]) -> None:
    assert api["o1"].get("/reports/day").status_code == 403
    assert api["kiosk"].get("/reports/day").status_code == 403
    assert api["anon"].get("/reports/day").status_code == 401
    assert api["sup"].get("/reports/day?day=25-11-2026").status_code == 422
    empty = api["adm"].get("/reports/day?day=2020-01-01").get_json()
    assert empty["totals"]["issued"] == 0 and empty["day"] == "2020-01-01"


def _login(client: Any, username: str) -> None:
    r = client.post("/api/v1/auth/login", json={"username": username,
                                                "password": "password-" + username})
    assert r.status_code == 200


def test_dashboard_page_and_csv_export(app: Any, api: dict[str, Any]) -> None:
    api["kiosk"].post("/tickets", {"service": "civil-status", "priority": "elderly"})
    browser = app.test_client()
    r = browser.get("/admin/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    _login(browser, "o1")
    assert browser.get("/admin/").status_code == 403
    # an official opening the export is refused, not sent to the login page they passed
    r = browser.get("/admin/export.csv")
    assert r.status_code == 403 and "Location" not in r.headers
    assert browser.get("/admin/reports.csv?from=2026-01-01&to=2026-01-02").status_code == 403
    leader = app.test_client()
    _login(leader, "sup")
    page = leader.get("/admin/")
    assert page.status_code == 200 and "Thọ Xuân" in page.get_data(as_text=True)
    r = leader.get("/admin/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(x["label"], x["priority"], x["state"]) for x in rows] == [
        ("A001", "elderly", "waiting")]
