"""A USB scanner's keystrokes at the kiosk: a chip ID card proposes the elderly priority and
counts against the daily limit, showing nothing from the card; a receipt becomes a pickup
ticket whose dossier the counter sees first and the public never does. Debian's Chromium
against a real server."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from layso import db
from layso.db import Database
from tests.counter.browser import pick_counter, staff_page
from tests.live import LiveServer

pytestmark = pytest.mark.browser

ELDER = "038055001234"  # a man born in 1955
ELDER_CARD = f"{ELDER}|172345678|Nguyễn Văn A|15041955|Nam|Thôn 3, Xã Thọ Xuân|12082021"
YOUNG = "038190001234"  # a woman born in 1990
YOUNG_CARD = f"{YOUNG}||Lê Thị B|01021990|Nữ|Thôn 1, Xã Thọ Xuân|20042021"
DOSSIER = "000.00.17.H56-251202-0007"
#: what the card says that must never appear on a screen, paper or the wire back
CARD_WORDS = (ELDER, YOUNG, "172345678", "Nguyễn", "15041955", "1955", "Thôn")


def kiosk(browser: Any, server: LiveServer) -> Any:
    token = server.device("Kiosk sảnh", "kiosk")
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="vi-VN",
                              has_touch=True)
    ctx.add_init_script(f"localStorage.setItem('layso.kiosk.token', {json.dumps(token)})")
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.sent = []  # every issue request the kiosk sent
    page.on("request", lambda r: page.sent.append(r.post_data or "")
            if r.url.endswith("/api/v1/tickets") and r.method == "POST" else None)
    page.responses = []  # and its answers (read after the fact: not inside the handler)
    page.on("response", lambda r: page.responses.append(r)
            if r.url.endswith("/api/v1/tickets") and r.request.method == "POST" else None)
    page.goto(server.url + "/kiosk/")
    page.wait_for_selector(".k-service")
    return page


def scanner(page: Any, text: str) -> None:
    """What a USB barcode scanner does: type the code's text fast, then Enter.

    The keys go in one burst from the page itself, as a scanner's arrive (milliseconds
    apart): Playwright's keyboard sends one key per round trip, and on a loaded test box the
    gaps grew past the kiosk's 120 ms, which is how a person typing is told from a scan."""
    page.evaluate("""text => {
      const to = document.activeElement || document.body;
      for (const key of [...text, 'Enter']) {
        for (const type of ['keydown', 'keyup']) {
          to.dispatchEvent(new KeyboardEvent(type, {key, bubbles: true, cancelable: true}));
        }
      }
    }""", text)


def on_screen(page: Any) -> str:
    return page.evaluate("document.body.innerText")


def shot(page: Any, shots: Path, name: str) -> None:
    time.sleep(0.3)
    page.screenshot(path=str(shots / name))


def test_a_scanned_card_proposes_priority_and_counts_against_the_limit(
        browser, citizen_server, screenshot_dir, tmp_path) -> None:
    server = citizen_server
    page = kiosk(browser, server)
    scanner(page, ELDER_CARD)
    expect(page.locator("#card-read")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-card", "elderly")
    shot(page, screenshot_dir, "kiosk-card-read.png")
    # the wrong service: back to the services keeps the card read (it was forgotten)
    page.click("[data-service=land]")
    page.wait_for_selector("#s-priority:not([hidden])")
    page.locator("#s-priority [data-back]").click()
    page.wait_for_selector("#s-home:not([hidden])")
    expect(page.locator("#card-read")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-card", "elderly")
    page.click("[data-service=land]")
    suggested = page.locator("[data-priority=elderly]")
    expect(suggested).to_have_class(re.compile(r"\bis-suggested\b"))
    assert page.evaluate("document.activeElement.dataset.priority") == "elderly"
    assert page.locator(".is-suggested").count() == 1
    # the tag's two languages stand on one line at one size, large enough to read
    sizes = page.eval_on_selector_all(".k-suggest-tag .vi, .k-suggest-tag .en",
                                      "es => es.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert len(sizes) == 2 and min(sizes) >= 16 and sizes[0] == sizes[1], sizes
    shot(page, screenshot_dir, "kiosk-card-elderly-suggested.png")
    assert not [w for w in CARD_WORDS if w in on_screen(page)]
    suggested.click()  # the citizen confirms
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert page.inner_text("#t-label") == "C001"
    assert "Người cao tuổi" in page.inner_text("#t-prio")
    page.wait_for_selector("#print-status[data-state=printed]", timeout=10000)
    assert not [w for w in CARD_WORDS if w in on_screen(page)]
    # the number went to the server as citizen_id, and nothing else of the card did
    sent = json.loads(page.sent[-1])
    assert sent["citizen_id"] == ELDER and sent["priority"] == "elderly"
    assert set(sent) == {"service", "lang", "priority", "citizen_id"}
    answers = [r.text() for r in page.responses]
    assert not [w for w in CARD_WORDS if any(w in a for a in answers)]
    # nor onto paper: the printed job holds no part of the card
    printed = (tmp_path / "tickets" / "C001.bin").read_bytes()
    assert not [w for w in CARD_WORDS if w.encode() in printed]

    # the same citizen again, same service, same day: refused with what to do
    page.click("#done")
    page.wait_for_selector("#s-home:not([hidden])")
    expect(page.locator("#card-read")).to_be_hidden()  # the card went with the ticket
    scanner(page, ELDER_CARD)
    page.click("[data-service=land]")
    page.click("#no-priority")  # free to take no priority
    page.wait_for_selector("#s-error:not([hidden])")
    assert "Vui lòng chờ đến lượt với số đã lấy" in page.inner_text("#error-vi")
    shot(page, screenshot_dir, "kiosk-citizen-limit.png")
    # a younger citizen's card proposes nothing; the citizen may still choose a priority
    page.click("#error-ok")
    scanner(page, YOUNG_CARD)
    expect(page.locator("body")).to_have_attribute("data-card", "read")
    page.click("[data-service=land]")
    assert page.locator(".is-suggested").count() == 0
    assert page.evaluate("document.activeElement.id") == "no-priority"
    page.click("[data-priority=pregnant]")
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert page.inner_text("#t-label") == "C002"
    # a scan that is neither a card nor a receipt: a message, no ticket
    page.click("#done")
    scanner(page, "hello world")
    page.wait_for_selector("#s-error:not([hidden])")
    # without a limit the kiosk does not even send the number (the board channel's
    # config.changed tells it at once)
    admin = server.login("admin", "layso-demo")
    assert server.api("PATCH", "/center", admin,
                      json={"citizen_daily_limit": None}).status_code == 200
    for _ in range(100):
        if page.evaluate("window.laysoKiosk.state.citizenLimit") is None:
            break
        page.wait_for_timeout(50)
    page.click("#error-ok")
    scanner(page, ELDER_CARD)
    page.click("[data-service=social]")
    page.click("[data-priority=elderly]")
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert "citizen_id" not in json.loads(page.sent[-1])
    assert page.errors == []
    page.context.close()

    # the server kept no number: not in its database files, not in its log
    server.kill()
    for f in server.data_dir.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert ELDER.encode() not in data and YOUNG.encode() not in data, f


def test_a_receipt_becomes_a_pickup_ticket_the_counter_sees_first(
        browser, citizen_server, screenshot_dir) -> None:
    server = citizen_server
    page = kiosk(browser, server)
    expect(page.locator("#pickup")).to_be_visible()
    page.click("#pickup")
    page.wait_for_selector("#s-pickup:not([hidden])")
    shot(page, screenshot_dir, "kiosk-pickup.png")
    scanner(page, "not a code here")
    expect(page.locator("#pickup-error")).to_be_visible()
    scanner(page, DOSSIER.lower())
    page.wait_for_selector("#s-priority:not([hidden])")
    assert "Nhận kết quả" in page.inner_text("#prio-service")
    page.click("#no-priority")
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert page.inner_text("#t-label") == "B001"
    assert DOSSIER not in on_screen(page) and "H56" not in on_screen(page)
    assert json.loads(page.sent[-1])["dossier"] == DOSSIER
    # a receipt scanned on the home screen goes straight to the pickup too
    page.click("#done")
    scanner(page, f"https://dichvucong.example.invalid/tra-cuu?maHoSo={DOSSIER[:-1]}8")
    page.wait_for_selector("#s-priority:not([hidden])")
    page.click("#no-priority")
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert page.inner_text("#t-label") == "B002"
    assert page.errors == []

    # the board and the citizen's phone never show it
    board = page.context.new_page()
    board.goto(server.url + "/display/")
    board.wait_for_selector("body")
    time.sleep(1)
    assert "H56" not in board.content()
    officer = staff_page(browser, server, "canbo2")
    pick_counter(officer, 2)
    # before calling: the waiting list names the dossier to fetch
    expect(officer.locator("tr[data-label=B001] .q-dossier")).to_have_text(DOSSIER)
    expect(officer.locator("#btn-call-next")).to_be_visible()
    officer.keyboard.press("F1")
    expect(officer.locator("#cur-label")).to_have_text("B001")
    expect(officer.locator("#cur-dossier")).to_have_text(DOSSIER)
    shot(officer, screenshot_dir, "counter-pickup-dossier.png")
    ticket = json.loads(page.responses[0].text())
    phone = page.context.new_page()
    phone.goto(ticket["status_url"])
    expect(phone.locator("body")).to_contain_text("B001")
    assert "H56" not in phone.content()
    officer.keyboard.press("s")
    expect(officer.locator("#btn-complete")).to_be_visible()
    officer.keyboard.press("c")
    expect(officer.locator("#dlg-complete")).to_be_visible()
    expect(officer.locator("#complete-dossier")).to_have_value(DOSSIER)
    assert officer.locator("#outcomes input[value=result_returned]").is_checked()
    officer.click("#complete-confirm")
    expect(officer.locator("#message")).to_contain_text("Đã hoàn thành số B001")

    # another visit: a dossier received, its code scanned on complete (Enter keeps the dialog)
    r = server.api("POST", "/tickets", server.device("Kiosk 2", "kiosk"),
                   json={"service": "certification"})
    assert r.status_code == 201
    # B002, the pickup scanned on the home screen, by keys alone
    expect(officer.locator("#btn-call-next")).to_be_visible()
    officer.keyboard.press("F1")
    expect(officer.locator("#cur-dossier")).to_have_text(DOSSIER[:-1] + "8")
    officer.keyboard.press("s")
    expect(officer.locator("#btn-complete")).to_be_visible()
    officer.keyboard.press("c")
    expect(officer.locator("#complete-confirm")).to_be_focused()
    officer.keyboard.press("Enter")
    expect(officer.locator("#message")).to_contain_text("Đã hoàn thành số B002")
    expect(officer.locator("#btn-call-next")).to_be_visible()
    officer.keyboard.press("F1")
    expect(officer.locator("#cur-label")).to_have_text("B003")
    expect(officer.locator("#cur-dossier-box")).to_be_hidden()
    officer.keyboard.press("s")
    expect(officer.locator("#btn-complete")).to_be_visible()
    officer.keyboard.press("c")
    expect(officer.locator("#dlg-complete")).to_be_visible()
    officer.keyboard.press("2")  # received
    officer.click("#complete-dossier")
    officer.keyboard.type("000.00.17/H56 bad")
    officer.keyboard.press("Enter")
    expect(officer.locator("#complete-confirm")).to_be_focused()
    officer.keyboard.press("Enter")
    expect(officer.locator("#complete-error")).to_be_visible()
    shot(officer, screenshot_dir, "counter-complete-dossier-invalid.png")
    officer.fill("#complete-dossier", "")
    officer.keyboard.type("000.00.17.H56-251203-0042")
    expect(officer.locator("#complete-error")).to_be_hidden()
    officer.keyboard.press("Enter")
    expect(officer.locator("#complete-confirm")).to_be_focused()
    shot(officer, screenshot_dir, "counter-complete-dossier.png")
    officer.keyboard.press("Enter")
    expect(officer.locator("#message")).to_contain_text("Đã hoàn thành số B003")
    assert officer.js_errors == []
    database = Database(f"sqlite:///{server.data_dir / 'layso.db'}")
    with database.read() as conn:
        kept = dict(conn.execute(select(db.tickets.c.label, db.tickets.c.dossier)).all())
    database.dispose()
    assert kept == {"B001": DOSSIER, "B002": DOSSIER[:-1] + "8",
                    "B003": "000.00.17.H56-251203-0042"}
    for p in (page, board, phone):
        assert "H56" not in p.content()
    page.context.close()
    officer.context.close()


def test_the_age_counts_on_the_center_date_not_the_kiosk_clock(browser, citizen_server) -> None:
    """A citizen born on 3 December 1966 is 60 from midnight in Hà Nội on 3 December 2026,
    whatever the kiosk's own clock says: the kiosk counts on the server's time and zone."""
    server = citizen_server
    token = server.device("Kiosk giờ", "kiosk")
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="vi-VN",
                              timezone_id="Europe/London")  # a kiosk set to the wrong zone
    ctx.add_init_script(f"localStorage.setItem('layso.kiosk.token', {json.dumps(token)})")
    page = ctx.new_page()
    server_now = {"at": "2026-12-02T16:59:58+00:00"}  # 23:59:58 in Hà Nội

    def board(route: Any) -> None:
        data = route.fetch().json()
        data["now"] = server_now["at"]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(data))

    page.route("**/api/v1/board", board)
    card = "038066001234||A|03121966|Nam|X|01012021"
    for at, today, shown in (("2026-12-02T16:59:58+00:00", [2026, 12, 2], "read"),
                             ("2026-12-02T17:00:01+00:00", [2026, 12, 3], "elderly")):
        server_now["at"] = at
        page.goto(server.url + "/kiosk/")
        page.wait_for_selector(".k-service")
        for _ in range(100):
            if page.evaluate("window.laysoKiosk.today().d") == today[2]:
                break
            page.wait_for_timeout(50)
        assert page.evaluate("Object.values(window.laysoKiosk.today())") == today
        scanner(page, card)
        expect(page.locator("body")).to_have_attribute("data-card", shown)
    ctx.close()
