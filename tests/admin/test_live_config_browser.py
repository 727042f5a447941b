"""A change made by an admin reaches the open board and kiosk without a reload, and a revoked
kiosk goes back to its enrolment screen (Debian's Chromium against a real server)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import poll

pytestmark = pytest.mark.browser


def test_board_and_kiosk_follow_a_change_and_a_revoked_kiosk_is_sent_to_enrol(
        live_server: Any, browser: Any, screenshot_dir: Any) -> None:
    server = live_server
    admin = server.user("quantri", "admin")
    made = server.api("post", "/devices", admin, json={"name": "Kiosk sảnh", "kind": "kiosk"})
    assert made.status_code == 201
    kiosk_token = made.json()["token"]
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    try:
        board = ctx.new_page()
        board.goto(server.url + "/display/")
        poll(board, "window.LaysoBoard && LaysoBoard.snapshots >= 1")
        kiosk = ctx.new_page()
        kiosk.add_init_script(f"localStorage.setItem('layso.kiosk.token', '{kiosk_token}')")
        kiosk.goto(server.url + "/kiosk/")
        kiosk.wait_for_selector(".k-service")
        poll(kiosk, "window.laysoKiosk && true")
        r = server.api("patch", "/center", admin,
                       json={"name": {"vi": "Trung tâm xã Đổi Mới", "en": "Doi Moi center"}})
        assert r.status_code == 200
        r = server.api("post", "/services", admin, json={
            "code": "justice", "prefix": "G", "name": {"vi": "Tư pháp", "en": "Justice"}})
        assert r.status_code == 201
        poll(board,
            "document.getElementById('center-vi').textContent === 'Trung tâm xã Đổi Mới'",
            timeout=10)
        # the new service joins the kiosk's pages (a 1280×800 screen holds fewer than seven
        # services, so it may be on a later one: the citizen reaches it with Next)
        poll(kiosk, "document.getElementById('services').dataset.count === '7'", timeout=10)
        for _ in range(5):
            if kiosk.is_visible("[data-service='justice']"):
                break
            kiosk.click("#page-next")
        assert kiosk.is_visible("[data-service='justice']")
        assert kiosk.text_content("#center-vi") == "Trung tâm xã Đổi Mới"
        kiosk.screenshot(path=str(screenshot_dir / "kiosk-after-config-change.png"))
        device_id = made.json()["id"]
        assert server.api("post", f"/devices/{device_id}/revoke", admin).status_code == 200
        kiosk.wait_for_selector("#s-enrol:not([hidden])", timeout=10000)
        assert kiosk.evaluate("localStorage.getItem('layso.kiosk.token')") is None
    finally:
        ctx.close()
