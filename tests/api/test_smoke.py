"""The first walk through the API: issue, call, start, complete, rate."""

from typing import Any


def test_a_citizen_is_served_end_to_end(api: dict[str, Any]) -> None:
    r = api["kiosk"].post("/tickets", {"service": "civil-status"})
    assert r.status_code == 201, r.get_json()
    t = r.get_json()
    assert t["label"] == "A001" and t["state"] == "waiting" and t["ahead"] == 0
    assert t["issued_at"].endswith("+07:00")
    assert api["o1"].post("/counters/1/open").status_code == 200
    r = api["o1"].post("/counters/1/call-next")
    assert r.status_code == 200 and r.get_json()["label"] == "A001"
    assert r.get_json()["counter"] == {"number": 1, "name": {"vi": "Quầy 1", "en": "Counter 1"}}
    assert api["o1"].post("/counters/1/start").get_json()["state"] == "serving"
    r = api["o1"].post("/counters/1/complete", {"outcome": "done"})
    assert r.status_code == 200 and r.get_json()["state"] == "done"
    r = api["feedback"].post("/ratings", {"ticket": t["id"], "score": 5})
    assert r.status_code == 201, r.get_json()
    assert api["feedback"].post("/ratings", {"ticket": t["id"], "score": 4}).status_code == 409
    assert api["o1"].post("/counters/1/call-next").status_code == 204
    pub = api["anon"].get("/tickets/" + t["status_url"].rsplit("/", 1)[1]).get_json()
    assert pub["state"] == "done" and "id" not in pub
