"""The kiosk and the phone page in Debian's Chromium against a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHOTS, poll
from tests.live import LiveServer
from tests.printer_emulator import PrinterEmulator

pytestmark = pytest.mark.browser


@pytest.fixture
def dir_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server printing to a folder (the virtual printer)."""
    server = LiveServer(tmp_path / "live", env={"LAYSO_PRINTER": f"dir://{tmp_path}/tickets"})
    server.init()
    server.start()
    yield server
    close_contexts()
    server.kill()


CONTEXTS: list[Any] = []


def close_contexts() -> None:
    """Close the test's browser contexts (and their routes) before its server stops."""
    while CONTEXTS:
        ctx = CONTEXTS.pop()
        for page in ctx.pages:
            page.unroute_all(behavior="ignoreErrors")
        ctx.close()


def kiosk_page(browser: Any, server: LiveServer, width: int, height: int,
               mode: str = "") -> Any:
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                              has_touch=True)
    CONTEXTS.append(ctx)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto(server.url + "/kiosk/" + mode)
    return page


def enrol(page: Any, token: str) -> None:
    page.wait_for_selector("#s-enrol:not([hidden])")
    page.fill("#enrol-token", token)
    page.click("#enrol-form button")
    page.wait_for_selector(".k-service")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.3)  # let fonts and the QR image settle
    page.screenshot(path=str(SHOTS / name))


def test_kiosk_flow_from_a_tap_to_the_confirmation(browser, dir_server, tmp_path) -> None:
    token = dir_server.device("Kiosk sảnh", "kiosk")
    page = kiosk_page(browser, dir_server, 1080, 1920)
    shot(page, "kiosk-enrol.png")
    page.fill("#enrol-token", "k_wrongwrongwrongwrong")
    page.click("#enrol-form button")
    page.wait_for_selector("#enrol-error:not([hidden])")
    enrol(page, token)
    assert page.locator(".k-service").count() == 6
    assert page.locator(".k-service .vi").first.inner_text() == "Hộ tịch"
    shot(page, "kiosk-portrait.png")
    # no text selection, no context menu, no zoom
    assert page.evaluate("getComputedStyle(document.body).userSelect") == "none"
    assert "user-scalable=no" in page.get_attribute("meta[name=viewport]", "content")
    assert page.evaluate("""() => { const e = new MouseEvent('contextmenu', {bubbles: true,
        cancelable: true}); document.body.dispatchEvent(e); return e.defaultPrevented; }""")
    assert page.locator("a[href^=http]").count() == 0

    page.click("[data-service=civil-status]")  # has procedures: a second step
    page.wait_for_selector("#s-procedure:not([hidden])")
    page.locator(".k-choice", has_text="Đăng ký khai sinh").click()
    page.wait_for_selector("#s-priority:not([hidden])")
    assert page.locator("[data-priority]").count() == 4
    page.click("[data-priority=elderly]")
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert page.inner_text("#t-label") == "A001"
    assert "Người cao tuổi" in page.inner_text("#t-prio")
    page.wait_for_selector("#print-status[data-state=printed]", timeout=5000)
    shot(page, "kiosk-confirmation.png")
    assert (tmp_path / "tickets" / "A001.png").exists()
    t = dir_server.api("GET", "/queue", dir_server.user("canbo9", "officer")).json()["items"][0]
    assert t["label"] == "A001" and t["priority"] == "elderly"
    assert t["procedure"] == "birth-registration"
    assert page.errors == []


def test_double_tap_issues_one_ticket_and_idle_returns_home(browser, dir_server) -> None:
    token = dir_server.device("Kiosk", "kiosk")
    page = kiosk_page(browser, dir_server, 1920, 1080)
    enrol(page, token)
    shot(page, "kiosk-landscape.png")
    page.click("[data-service=land]")
    page.wait_for_selector("#s-priority:not([hidden])")
    # two taps 30 ms apart, and a third through the DOM after the button was disabled
    page.evaluate("""() => { const b = document.getElementById('no-priority');
        b.click(); setTimeout(() => b.click(), 30); }""")
    page.wait_for_selector("#s-ticket:not([hidden])")
    time.sleep(1)
    officer = dir_server.user("canbo9", "officer")
    items = dir_server.api("GET", "/queue?service=land", officer).json()["items"]
    assert [t["label"] for t in items] == ["C001"]
    # English one tap away, then back to Vietnamese at home
    page.click("[data-done]" if page.locator("[data-done]").count() else "#done")
    page.wait_for_selector("#s-home:not([hidden])")
    page.click("#lang")
    assert "lang-en" in page.get_attribute("body", "class")
    page.click("[data-service=land]")
    page.click("#no-priority")
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert page.inner_text("#t-label") == "C002"
    # the confirmation goes home by itself (shortened timer for the test)
    page.evaluate("window.laysoKiosk.home()")
    page.wait_for_selector("#s-home:not([hidden])")
    assert "lang-en" not in page.get_attribute("body", "class")


def test_closed_service_is_shown_with_its_hours(browser, dir_server) -> None:
    token = dir_server.device("Kiosk", "kiosk")
    page = kiosk_page(browser, dir_server, 1920, 1080)

    def close_land(route: Any) -> None:
        response = route.fetch()
        data = response.json()
        for item in data["items"]:
            if item["code"] == "land":
                item.update(open=False, opens_at="07:30", closes_at="11:30")
        route.fulfill(response=response, json=data)

    page.route("**/api/v1/services", close_land)
    enrol(page, token)
    land = page.locator("[data-service=land]")
    assert land.is_disabled()
    assert "07:30–11:30" in land.inner_text()


def test_printer_trouble_shows_the_ticket_and_the_help_desk(browser, tmp_path) -> None:
    with PrinterEmulator("paper_out") as emu:
        server = LiveServer(tmp_path / "live", env={"LAYSO_PRINTER": emu.uri + "?qr=native"})
        server.init()
        server.start()
        try:
            token = server.device("Kiosk", "kiosk")
            page = kiosk_page(browser, server, 1920, 1080)
            enrol(page, token)
            page.click("[data-service=social]")
            page.click("#no-priority")
            page.wait_for_selector("#print-status[data-state=trouble]", timeout=15000)
            assert page.inner_text("#t-label") == "D001"
            assert "chụp lại số này" in page.inner_text("#print-status")
            qr = page.locator("#t-qr").bounding_box()
            assert qr["width"] >= 300  # large enough to photograph
            shot(page, "kiosk-printer-trouble.png")
            assert server.api("GET", "/health").json()["printer"] == "paper_out"
            # the home screen now warns before the next citizen chooses
            page.click("#done")
            page.wait_for_selector("#printer-warn:not([hidden])")
        finally:
            close_contexts()
            server.kill()


def test_phone_page_turns_to_called_when_a_counter_calls(browser, live_server) -> None:
    kiosk = live_server.device("Kiosk", "kiosk")
    first = live_server.api("POST", "/tickets", kiosk, json={"service": "land"}).json()
    mine = live_server.api("POST", "/tickets", kiosk, json={"service": "land"}).json()
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                              is_mobile=True, has_touch=True, device_scale_factor=2)
    page = ctx.new_page()
    page.goto(mine["status_url"])
    poll(page, "window.laysoPhone && window.laysoPhone.updates > 0")
    assert page.inner_text("#label") == "C002"
    assert page.inner_text("#ahead") == "1"
    body = page.inner_text("body")
    assert "C001" not in body  # nothing about the other citizen
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    officer = live_server.user("canbo9", "officer")
    live_server.api("POST", "/counters/3/open", officer)
    live_server.api("POST", "/counters/3/call-next", officer)  # calls C001: one ahead less
    poll(page, "document.getElementById('ahead').textContent === '0'")
    live_server.api("POST", "/counters/3/no-show", officer)
    r = live_server.api("POST", "/counters/3/call-next", officer)
    assert r.json()["label"] == "C002" and first["label"] == "C001"
    page.wait_for_selector("#called:not([hidden])", timeout=5000)
    assert page.inner_text("#called-label") == "C002"
    assert "Quầy số 3" in page.inner_text("#called-counter")
    page.click("#called-ok")
    assert page.get_attribute("body", "data-state") == "called"
    ctx.close()


def test_unknown_phone_token_shows_nothing(browser, live_server) -> None:
    ctx = browser.new_context(viewport={"width": 360, "height": 740})
    page = ctx.new_page()
    page.goto(live_server.url + "/t/AAAAAAAAAAAAAAAAAAAAAAAA")
    page.wait_for_selector("#missing:not([hidden])")
    ctx.close()


def test_reception_mode_needs_an_official_and_issues_priority(browser, dir_server) -> None:
    page = kiosk_page(browser, dir_server, 1920, 1080, "reception")
    page.wait_for_selector("#reception-login:not([hidden])")
    dir_server.cli("user", "add", "letan", "--role", "officer",
                   env={"LAYSO_PASSWORD": "password-123"})
    page.goto(dir_server.url + "/login")
    page.evaluate("""async () => { await fetch('/api/v1/auth/login', {method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({username: 'letan', password: 'password-123'})}); }""")
    page.goto(dir_server.url + "/kiosk/reception")
    page.wait_for_selector(".k-service")
    assert page.is_visible("#reception-tag")
    page.click("[data-service=business]")
    page.click("[data-priority=disability]")
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert page.inner_text("#t-label") == "E001"
    assert page.is_visible("#reprint")


def test_a_storage_fault_sends_the_citizen_to_the_help_desk(browser, dir_server,
                                                            screenshot_dir) -> None:
    # the server answers 503 storage_unavailable (a full disk, a stopped PostgreSQL)
    token = dir_server.device("Kiosk", "kiosk")
    page = kiosk_page(browser, dir_server, 1080, 1920)
    enrol(page, token)
    body = ('{"error": {"code": "storage_unavailable", "message": "The server\'s disk is full",'
            ' "details": {"fault": "disk_full"}}}')
    page.route("**/api/v1/tickets", lambda route: route.fulfill(
        status=503, content_type="application/json", body=body))
    page.click("[data-service=land]")
    page.wait_for_selector("#s-priority:not([hidden])")
    page.click("#no-priority")
    page.wait_for_selector("#s-error:not([hidden])")
    assert "bàn hướng dẫn" in page.inner_text("#error-vi")
    assert "help desk" in page.inner_text("#error-en")
    page.screenshot(path=str(screenshot_dir / "kiosk-storage-fault.png"))
    assert page.errors == []
