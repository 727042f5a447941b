"""The counter pages and the small API they add: today's figures, absent tickets, the tablet's
greeting."""

from __future__ import annotations

from typing import Any

from tests.conftest import Clock


def login(client: Any, username: str = "o1", password: str = "password-o1") -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200
    return str(r.get_json()["csrf_token"])


def test_the_terminal_needs_a_login_and_the_tablet_does_not(client: Any,
                                                             tokens: dict[str, str]) -> None:
    r = client.get("/counter/")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/counter/"
    page = client.get("/counter/feedback")
    assert page.status_code == 200 and 'id="screen-enrol"' in page.get_data(as_text=True)
    login(client)
    html = client.get("/counter/").get_data(as_text=True)
    assert "O1" in html and 'id="btn-call-next"' in html
    for asset in ("terminal.js", "feedback.js", "common.js", "counter.css"):
        assert client.get(f"/counter/static/{asset}").status_code == 200, asset


def test_the_login_page_offers_the_next_page(client: Any) -> None:
    html = client.get("/login?next=/counter/").get_data(as_text=True)
    assert '"/counter/"' in html and 'id="login-form"' in html


def test_today_figures_count_only_this_officers_work(api: dict[str, Any], clock: Clock) -> None:
    empty = api["o1"].get("/me/stats").get_json()
    assert empty["served"] == 0 and empty["mean_rating"] is None and empty["counters"] == []
    assert empty["recall_limit"] == 3
    ids = [api["kiosk"].post("/tickets", {"service": "civil-status"}).get_json()["id"]
           for _ in range(3)]
    api["o1"].post("/counters/1/open")
    for minutes, score in ((4, 5), (8, 2)):
        api["o1"].post("/counters/1/call-next")
        api["o1"].post("/counters/1/start")
        clock.advance(minutes=minutes)
        done = api["o1"].post("/counters/1/complete", {"outcome": "done"}).get_json()
        api["feedback"].post("/ratings", {"ticket": done["id"], "score": score})
    api["o1"].post("/counters/1/call-next")
    api["o1"].post("/counters/1/no-show")
    s = api["o1"].get("/me/stats").get_json()
    assert (s["served"], s["no_show"], s["mean_service_minutes"]) == (2, 1, 6.0)
    assert (s["ratings"], s["mean_rating"], s["counters"]) == (2, 3.5, [1])
    assert s["day"] == "2026-11-25" and s["now"].endswith("+07:00")
    other = api["o2"].get("/me/stats").get_json()
    assert (other["served"], other["ratings"], other["counters"]) == (0, 0, [])
    absent = api["o1"].get("/counters/1/absent").get_json()["items"]
    assert [t["id"] for t in absent] == [ids[2]] and absent[0]["state"] == "no_show"
    assert api["o2"].get("/counters/3/absent").get_json()["items"] == []
    assert api["o1"].get("/counters/9/absent").status_code == 404
    # a reactivated ticket leaves the absent list
    api["o1"].post(f"/tickets/{ids[2]}/reactivate")
    assert api["o1"].get("/counters/1/absent").get_json()["items"] == []


def test_yesterdays_figures_do_not_count_today(api: dict[str, Any], clock: Clock) -> None:
    api["kiosk"].post("/tickets", {"service": "civil-status"})
    api["o1"].post("/counters/1/open")
    api["o1"].post("/counters/1/call-next")
    api["o1"].post("/counters/1/start")
    api["o1"].post("/counters/1/complete", {"outcome": "done"})
    assert api["o1"].get("/me/stats").get_json()["served"] == 1
    clock.advance(days=1)
    s = api["o1"].get("/me/stats").get_json()
    assert s["served"] == 0 and s["day"] is None


def test_the_tablet_learns_its_counter_and_the_official_there(api: dict[str, Any]) -> None:
    me = api["feedback"].get("/auth/me").get_json()
    assert me["role"] == "feedback" and me["counter"]["number"] == 1
    assert me["officer"] is None
    api["o1"].post("/counters/1/open")
    assert api["feedback"].get("/auth/me").get_json()["officer"] == {"name": "O1"}
    api["o1"].post("/counters/1/close")
    assert api["feedback"].get("/auth/me").get_json()["officer"] is None


def test_the_openapi_document_lists_the_new_endpoints(api: dict[str, Any]) -> None:
    paths = api["anon"].get("/openapi.json").get_json()["paths"]
    assert "get" in paths["/me/stats"] and "get" in paths["/counters/{n}/absent"]


def test_the_login_page_says_why_when_a_session_ended(client: Any) -> None:
    """A terminal whose session ended under it (expired, revoked, account deactivated) sends
    the official to /login?ended=1: the page says why, in both languages; a plain visit not."""
    html = client.get("/login?ended=1&next=/counter/").get_data(as_text=True)
    assert 'id="login-ended"' in html
    assert "Phiên làm việc đã kết thúc" in html and "Your session ended" in html
    assert 'data-next="/counter/"' in html
    assert 'id="login-ended"' not in client.get("/login?next=/counter/").get_data(as_text=True)
