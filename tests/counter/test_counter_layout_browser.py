"""The counter terminal on a 1366×768 laptop (nothing cut, the main keys on screen without
scrolling, in every state and dialog), the tablet in English for a citizen who chose it, and
an official logging out with a citizen called."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.counter.browser import pick_counter, press, staff_page, tablet_page
from tests.layout import measure

pytestmark = pytest.mark.browser

PAGE_BG = "rgb(244, 246, 250)"


def fits(page: Any, where: str, *main: str) -> None:
    """No page scroll, no text cut or off screen, AA contrast; `main` buttons fully visible."""
    time.sleep(0.15)
    m = measure(page, min_font=12, base=PAGE_BG)
    problems = []
    if m["scrollH"] > m["H"] or m["scrollW"] > m["W"]:
        problems.append(f"page is {m['scrollW']}×{m['scrollH']} on {m['W']}×{m['H']}")
    for key in ("offscreen", "small", "cut", "lowContrast"):
        if m[key]:
            problems.append(f"{key}: {m[key]}")
    for sel in main:
        box = page.locator(sel).bounding_box()
        if not box or box["y"] < 0 or box["y"] + box["height"] > m["H"] or \
                box["x"] + box["width"] > m["W"]:
            problems.append(f"{sel} not fully on screen: {box}")
    assert not problems, f"{where}: " + "; ".join(problems)


def start_and_complete(page: Any) -> None:
    """S, then C and Enter: the citizen at the counter is served with the default outcome."""
    from playwright.sync_api import expect

    expect(page.locator("#btn-start")).to_be_visible()
    press(page, "s")
    expect(page.locator("#btn-complete")).to_be_visible()
    press(page, "c")
    expect(page.locator("#dlg-complete")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "open")


def test_a_working_morning_fits_a_laptop_and_logging_out_releases_the_citizen(
        browser: Any, live_server: Any, screenshot_dir: Path) -> None:
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    tablet_token = live_server.device("Tablet 4", "feedback", 4)

    def issue(service: str, lang: str = "vi", priority: str | None = None) -> dict[str, Any]:
        body = {"service": service, "lang": lang, **({"priority": priority} if priority else {})}
        r = live_server.api("POST", "/tickets", kiosk, json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    english = issue("social", "en")
    issue("online-help")
    issue("social", priority="disability")
    for _ in range(6):
        issue("online-help")
    page = staff_page(browser, live_server, "canbo3")
    fits(page, "picker")
    # a closed counter's card says that choosing it opens it, and the terminal says it did
    card = page.inner_text("button.pick[data-counter='4']")
    assert "Chọn để mở quầy" in card and "Choosing it opens it for calling" in card
    assert "Closed" in card and "Counter 4" in card
    page.screenshot(path=str(screenshot_dir / "counter-picker.png"))
    pick_counter(page, 4)
    expect(page.locator("#message")).to_contain_text("Counter 4 is open, ready to call.")
    tablet = tablet_page(browser, live_server, tablet_token)
    fits(page, "open, nine waiting", "#btn-call-next")
    # the official's words are in English too: the figures, the state, the queue's buttons
    head = page.inner_text(".t-head")
    for words in ("served", "min per citizen", "ratings", "Open", "Counter 4"):
        assert words in head, f"{words!r} not in the top bar: {head!r}"
    row = page.inner_text("#queue-list tr:first-child")
    for words in ("Priority", "Call", "min"):
        assert words in row, f"{words!r} not in a queue row: {row!r}"
    assert "Call" in page.inner_text("#btn-call-label")
    page.screenshot(path=str(screenshot_dir / "counter-laptop-open.png"))

    page.click("#btn-call-next")  # the priority citizen first (strict)
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "calling")
    press(page, "v")
    expect(page.locator("#dlg-no-show")).to_be_visible()  # never one tap
    fits(page, "no-show dialog", "#no-show-confirm")
    page.keyboard.press("Escape")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "calling")
    start_and_complete(page)

    # the citizen who chose English: the tablet asks in English first
    press(page, "Space")
    expect(page.locator("#cur-label")).to_have_text(english["label"])
    fits(page, "calling", "#btn-recall", "#btn-start", "#btn-no-show", "#btn-transfer")
    press(page, "s")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "serving")
    fits(page, "serving", "#btn-complete", "#btn-transfer")
    page.screenshot(path=str(screenshot_dir / "counter-laptop-serving.png"))
    press(page, "c")
    expect(page.locator("#dlg-complete")).to_be_visible()
    fits(page, "complete dialog", "#complete-confirm")
    page.keyboard.press("Enter")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    title = tablet.locator("#screen-rate .fb-title")
    expect(title).to_have_attribute("lang", "en")
    assert title.inner_text().startswith("How satisfied"), title.inner_text()
    assert tablet.locator(".face").first.inner_text().startswith("Very satisfied")
    assert tablet.locator("#fb-head").inner_text().startswith("Rate our service")
    assert tablet.locator("#rate-about").inner_text().startswith("Number " + english["label"])
    tablet.screenshot(path=str(screenshot_dir / "feedback-rating-en.png"))
    tablet.click(".face[data-score='5']")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "thanks")
    assert tablet.locator(".fb-thanks").inner_text().startswith("Thank you")
    tablet.clock.fast_forward("00:31")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "idle")

    # the next citizen is Vietnamese: the tablet is back to Vietnamese first
    press(page, "Space")
    start_and_complete(page)
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    assert tablet.locator("#screen-rate .fb-title").inner_text().startswith("Bạn có hài lòng")
    assert tablet.locator("#fb-head").inner_text().startswith("Đánh giá")
    tablet.click(".face[data-score='4']")

    # logging out with a citizen called asks, then hands them back and closes the counter
    board_ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    board = board_ctx.new_page()
    board.goto(live_server.url + "/display/")
    press(page, "Space")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "calling")
    called = page.locator("#cur-label").inner_text()
    expect(board.locator("#counters li[data-counter='4'] .counter-ticket")).to_have_text(called)
    page.click("#btn-logout")
    expect(page.locator("#dlg-logout")).to_be_visible()
    expect(page.locator("#logout-hint")).to_contain_text(called)
    fits(page, "logout dialog", "#logout-confirm")
    page.screenshot(path=str(screenshot_dir / "counter-logout.png"))
    page.click("#logout-confirm")
    expect(page).to_have_url(live_server.url + "/login")
    expect(board.locator("#counters li[data-counter='4']")).to_have_count(0)  # closed
    expect(board.locator(f"#recent .recent-label:text-is('{called}')")).to_have_count(0)
    sup = live_server.login("lanhdao", "layso-demo")
    queue = live_server.api("GET", "/queue?service=online-help", sup).json()["items"]
    assert queue[0]["label"] == called and queue[0]["state"] == "waiting"
    assert live_server.api("GET", "/counters/4", sup).json()["state"] == "closed"
    assert not page.js_errors
    board_ctx.close()


def test_a_pause_an_outage_and_a_server_fault_read_clearly_on_a_laptop(
        browser: Any, live_server: Any, screenshot_dir: Path) -> None:
    """The states a walk through the day found unreadable or stuck: the paused pill and the
    lost-connection banner in AA contrast; "cannot reach the server" gone once it is back; a
    5xx without an error body said in words, not as "SERVICE UNAVAILABLE"."""
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    for _ in range(2):
        assert live_server.api("POST", "/tickets", kiosk,
                               json={"service": "civil-status"}).status_code == 201
    page = staff_page(browser, live_server, "canbo1", width=1280, height=720)
    pick_counter(page, 1)
    press(page, "p")
    expect(page.locator("#dlg-pause")).to_be_visible()
    page.click("#pause-chips .chip >> nth=0")
    page.keyboard.press("Enter")
    expect(page.locator("#btn-resume")).to_be_visible()
    fits(page, "paused at 1280×720", "#btn-resume")
    page.screenshot(path=str(screenshot_dir / "counter-paused.png"))
    press(page, "p")
    expect(page.locator("#btn-call-next")).to_be_visible()

    page.context.set_offline(True)
    expect(page.locator("#conn-banner")).to_be_visible()
    page.keyboard.press("Space")  # the official tries anyway
    expect(page.locator("#message.error")).to_contain_text("Không kết nối được máy chủ")
    expect(page.locator("#btn-call-next")).to_be_enabled()
    fits(page, "offline", "#btn-call-next")
    page.screenshot(path=str(screenshot_dir / "counter-offline.png"))
    page.context.set_offline(False)
    expect(page.locator("#conn-banner")).to_be_hidden()
    expect(page.locator("#message")).to_be_hidden()  # the outage is over: so is its message

    page.route("**/api/v1/counters/1/call-next",
               lambda r: r.fulfill(status=503, body="<h1>503 Service Unavailable</h1>",
                                   content_type="text/html"))
    press(page, "Space")
    expect(page.locator("#message.error")).to_contain_text("Máy chủ tạm thời không phản hồi")
    assert "SERVICE UNAVAILABLE" not in page.locator("#message").inner_text().upper()
    fits(page, "a 503", "#btn-call-next")
    page.unroute("**/api/v1/counters/1/call-next")
    press(page, "Space")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "calling")
    expect(page.locator("#message.ok")).to_be_visible()
    assert not page.js_errors


def test_an_official_corrects_a_waiting_citizens_priority(browser: Any, live_server: Any,
                                                          screenshot_dir: Path) -> None:
    """An elderly citizen who pressed "no priority" at the kiosk tells the official: the
    terminal corrects it (the API had it, no page did), the queue reorders, and it undoes."""
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    labels = [live_server.api("POST", "/tickets", kiosk, json={"service": "civil-status"})
              .json()["label"] for _ in range(3)]
    page = staff_page(browser, live_server, "canbo1")
    pick_counter(page, 1)
    last = page.locator(f"#queue-list tr[data-label='{labels[2]}']")
    last.locator(".set-prio").click()
    expect(page.locator("#dlg-priority")).to_be_visible()
    expect(page.locator("#priority-label")).to_have_text(labels[2])
    assert page.locator("#priority-options input:checked").get_attribute("value") == ""
    page.locator("#priority-options label", has_text="Người cao tuổi").click()
    fits(page, "priority dialog", "#priority-confirm")
    page.screenshot(path=str(screenshot_dir / "counter-priority.png"))
    page.keyboard.press("Enter")
    expect(page.locator("#queue-list tr").first).to_have_attribute("data-label", labels[2])
    expect(page.locator("#queue-list tr").first.locator(".badge-prio")).to_be_visible()
    expect(page.locator("#message.ok")).to_contain_text("Người cao tuổi")
    fits(page, "queue with a priority citizen", "#btn-call-next")
    # and back: the citizen was not entitled after all
    page.locator(f"#queue-list tr[data-label='{labels[2]}'] .set-prio").click()
    page.locator("#priority-options label", has_text="Không ưu tiên").click()
    page.keyboard.press("Enter")
    expect(page.locator("#queue-list tr").last).to_have_attribute("data-label", labels[2])
    press(page, "Space")
    expect(page.locator("#cur-label")).to_have_text(labels[0])
    assert not page.js_errors
