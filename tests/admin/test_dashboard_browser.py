"""The dashboard in Debian's Chromium: a leader logs in and sees the day move live."""

from typing import Any

import pytest

from tests.conftest import SHOTS, poll


@pytest.mark.browser
def test_leader_sees_figures_update_live(live_server: Any, page: Any) -> None:
    kiosk = live_server.device("Kiosk", "kiosk")
    officer = live_server.login("canbo1", "layso-demo")
    for service in ("civil-status", "civil-status", "land", "business"):
        assert live_server.api("POST", "/tickets", kiosk, json={"service": service}).ok
    live_server.api("POST", "/counters/1/open", officer)
    live_server.api("POST", "/counters/1/call-next", officer)

    page.goto(live_server.url + "/admin/")
    page.wait_for_url("**/login**")
    page.fill("#username", "lanhdao")
    page.fill("#password", "layso-demo")
    page.click("#login-submit")
    page.wait_for_selector("#t-issued")
    poll(page, "document.getElementById('t-issued').textContent === '4'")
    assert page.text_content("#t-waiting") == "3"
    row = page.locator("#counters tbody tr[data-number='1']")
    assert "A001" in row.inner_text() and "Đang gọi" in row.inner_text()

    live_server.api("POST", "/tickets", kiosk, json={"service": "land"})
    poll(page, "document.getElementById('t-issued').textContent === '5'",
                           timeout=5)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=str(SHOTS / "admin-dashboard.png"), full_page=True)
