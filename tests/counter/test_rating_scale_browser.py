"""The feedback tablet follows the center's rating scale live: five faces or three levels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.counter.browser import issue, tablet_page


def serve(server: Any, officer: str) -> None:
    for step in ("open", "call-next", "start"):
        server.api("POST", f"/counters/1/{step}", officer)
    r = server.api("POST", "/counters/1/complete", officer, json={"outcome": "done"})
    assert r.status_code == 200, r.text


@pytest.mark.browser
def test_the_three_official_levels_without_a_reload(browser: Any, live_server: Any,
                                                      screenshot_dir: Path) -> None:
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    tablet = tablet_page(browser, live_server, live_server.device("Tablet 1", "feedback", 1),
                         clock=False)
    errors: list[str] = []
    tablet.on("pageerror", lambda e: errors.append(str(e)))
    expect(tablet.locator("#faces")).to_have_attribute("data-scale", "five")
    admin = live_server.login("admin", "layso-demo")
    officer = live_server.login("canbo1", "layso-demo")
    r = live_server.api("PATCH", "/center", admin, json={"rating_scale": "three"})
    assert r.status_code == 200, r.text
    # the tablet hears config.changed and redraws its faces: no reload
    expect(tablet.locator("#faces")).to_have_attribute("data-scale", "three")
    tablet.evaluate("window.__same_page = true")

    issue(live_server, kiosk, "civil-status")
    serve(live_server, officer)
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    faces = tablet.locator(".face")
    expect(faces).to_have_count(3)
    assert faces.all_inner_texts()[0].startswith("Rất hài lòng")
    assert [f.get_attribute("data-score") for f in faces.all()] == ["5", "4", "1"]
    tablet.screenshot(path=str(screenshot_dir / "feedback-three-levels.png"))
    tablet.click(".face[data-score='1']")  # Không hài lòng: the tablet asks why
    expect(tablet.locator("body")).to_have_attribute("data-screen", "reason")
    tablet.click(".reason[data-reason=long_wait]")
    tablet.click("#reason-send")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "thanks")

    issue(live_server, kiosk, "civil-status")
    serve(live_server, officer)
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    tablet.click(".face[data-score='4']")  # Hài lòng: stored as 4, no reason asked
    expect(tablet.locator("body")).to_have_attribute("data-screen", "thanks")
    assert tablet.evaluate("window.__same_page") is True

    # back to five faces, live again; the reports give both views of the same ratings
    live_server.api("PATCH", "/center", admin, json={"rating_scale": "five"})
    expect(tablet.locator("#faces")).to_have_attribute("data-scale", "five")
    expect(tablet.locator(".face")).to_have_count(5)
    sup = live_server.login("lanhdao", "layso-demo")
    rep = live_server.api("GET", "/reports", sup).json()["totals"]["ratings"]
    assert rep["by_score"] == {"1": 1, "2": 0, "3": 0, "4": 1, "5": 0}
    assert rep["by_level"] == {"very_satisfied": 0, "satisfied": 1, "unsatisfied": 1}
    assert errors == []
