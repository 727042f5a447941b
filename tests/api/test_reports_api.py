"""GET /api/v1/reports and /reports/comments: roles, periods, groupings, the shape."""

from __future__ import annotations

from typing import Any

import pytest

from layso.queue import reports


def serve_one(api: dict[str, Any], service: str = "certification", score: int | None = None,
              reason: str | None = None, comment: str | None = None) -> dict[str, Any]:
    """Issue, call, start, complete (and rate) a ticket at counter 1 (A and B)."""
    t = api["kiosk"].post("/tickets", {"service": service}).get_json()
    n = 1
    api["o1"].post(f"/counters/{n}/open")
    assert api["o1"].post(f"/counters/{n}/call-next").get_json()["label"] == t["label"]
    api["o1"].post(f"/counters/{n}/start")
    api["o1"].post(f"/counters/{n}/complete", {"outcome": "done"})
    if score is not None:
        body: dict[str, Any] = {"ticket": t["id"], "score": score}
        if reason:
            body["reason"] = reason
        if comment:
            body["comment"] = comment
        r = api["feedback"].post("/ratings", body)
        assert r.status_code == 201, r.get_json()
    return t


def test_only_supervisors_and_admins_read_reports(api):
    for who, status in (("anon", 401), ("kiosk", 403), ("display", 403), ("feedback", 403),
                        ("o1", 403), ("sup", 200), ("adm", 200)):
        for path in ("/reports?from=2026-11-25&to=2026-11-25", "/reports/comments"):
            assert api[who].get(path).status_code == status, (who, path)


@pytest.mark.parametrize("query", [
    "from=2026-11-26&to=2026-11-25", "from=2026-11-25&to=2027-11-26", "from=2026-11-25",
    "from=x&to=y", "from=2026-11-25&to=2026-11-25&by=week", "from=2026-11-31&to=2026-12-01",
    "from=%00&to=2026-11-25", "from=2026-11-25T00:00&to=2026-11-25",
])
def test_a_bad_period_or_grouping_is_422(api, query):
    for path in ("/reports", "/reports/comments"):
        if "by=" in query and path.endswith("comments"):
            continue
        r = api["sup"].get(f"{path}?{query}")
        assert r.status_code == 422, (path, query, r.get_json())
        assert r.get_json()["error"]["code"] in ("invalid_period", "period_too_long",
                                                 "invalid_by")


def test_the_report_of_today_by_every_grouping(api):
    serve_one(api, "certification", 5)
    serve_one(api, "civil-status", 2, "long_wait", "Đợi hơi lâu")
    api["kiosk"].post("/tickets", {"service": "land"})
    default = api["sup"].get("/reports").get_json()
    assert (default["from"], default["to"], default["by"]) == ("2026-11-25", "2026-11-25", "day")
    for by in reports.BYS:
        rep = api["sup"].get(f"/reports?from=2026-11-01&to=2026-11-30&by={by}").get_json()
        assert rep["by"] == by
        t = rep["totals"]
        assert (t["issued"], t["served"], t["no_show"]) == (3, 2, 0)
        assert t["ratings"]["by_score"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
        assert t["ratings"]["by_level"] == {"very_satisfied": 1, "satisfied": 0,
                                            "unsatisfied": 1}
        for item in rep["items"]:
            assert set(item) >= {"key", "name", "issued", "served", "within_target_pct"}
            assert set(item["name"]) == {"vi", "en"}
    by_service = api["sup"].get("/reports?from=2026-11-25&to=2026-11-25&by=service").get_json()
    assert {i["key"]: i["issued"] for i in by_service["items"]} == {
        "civil-status": 1, "certification": 1, "land": 1}


def test_comments_list_what_citizens_wrote(api):
    serve_one(api, "certification", 5)
    t = serve_one(api, "civil-status", 1, "attitude", "Cán bộ chưa nhiệt tình")
    got = api["sup"].get("/reports/comments?from=2026-11-25&to=2026-11-25").get_json()
    assert [(c["ticket"], c["reason"]["code"], c["comment"], c["counter"]["number"],
             c["official"]) for c in got["items"]] == [
        (t["label"], "attitude", "Cán bộ chưa nhiệt tình", 1, "O1")]
    assert api["sup"].get("/reports/comments?from=2026-11-26&to=2026-11-26"
                          ).get_json()["items"] == []


def test_the_openapi_document_describes_the_reports(api):
    doc = api["anon"].get("/openapi.json").get_json()
    figures = doc["paths"]["/reports"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["properties"]["totals"]
    assert "p90_wait_minutes" in figures["required"]
    assert "/reports/comments" in doc["paths"]
