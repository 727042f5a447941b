"""The counter terminal and the feedback tablet in Debian's Chromium, against a real server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SHOTS
from tests.counter.browser import age_ticket, issue, pick_counter, press, staff_page, tablet_page

pytestmark = pytest.mark.browser


def labels(page: Any) -> list[str]:
    return page.locator("#queue-list tr").evaluate_all("rs => rs.map(r => r.dataset.label)")


def complete(page: Any) -> None:
    """Complete the current citizen with the default outcome (C, then Enter)."""
    from playwright.sync_api import expect

    press(page, "c")
    expect(page.locator("#dlg-complete")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#dlg-complete")).to_be_hidden()


def test_an_official_serves_a_citizen_with_single_keys(browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    issue(live_server, kiosk, "civil-status")
    issue(live_server, kiosk, "certification", priority="elderly")
    issue(live_server, kiosk, "civil-status")
    issue(live_server, kiosk, "land")  # counter 1 does not serve land: never in its list
    age_ticket(live_server, "A001", 47)
    page = staff_page(browser, live_server, "canbo1")
    expect(page.locator("#officer-name")).to_have_text("Cán bộ Quầy 1")
    pick_counter(page, 1)
    # the waiting list in the counter's call order: priority first, then the oldest
    expect(page.locator("#queue-list tr")).to_have_count(3)
    assert labels(page) == ["B001", "A001", "A002"]
    overdue = page.locator("#queue-list tr.overdue")
    expect(overdue).to_have_count(1)
    expect(overdue).to_have_attribute("data-label", "A001")
    expect(overdue.locator(".waited")).to_contain_text("47 phút")
    expect(page.locator("#queue-list tr[data-label=B001] .badge-prio")).to_be_visible()
    for hidden in ("#btn-start", "#btn-recall", "#btn-complete", "#btn-no-show"):
        expect(page.locator(hidden)).to_be_hidden()
    page.screenshot(path=str(SHOTS / "counter-idle.png"))

    press(page, "Space")
    expect(page.locator("#cur-label")).to_have_text("B001")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "calling")
    expect(page.locator("#cur-tags")).to_contain_text("Người cao tuổi")
    expect(page.locator("#cur-service")).to_contain_text("Chứng thực")
    expect(page.locator("#btn-call-next")).to_be_hidden()
    assert labels(page) == ["A001", "A002"]

    press(page, "r")
    expect(page.locator("#recall-count")).to_have_text("1/3")
    expect(page.locator("#cur-recalls")).to_have_text("1 / 3")
    press(page, "s")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "serving")
    expect(page.locator("#btn-start")).to_be_hidden()
    expect(page.locator("#btn-complete")).to_be_visible()
    page.screenshot(path=str(SHOTS / "counter-serving.png"))

    issue(live_server, kiosk, "land")  # since the page loaded: the dialog counts it
    press(page, "t")
    expect(page.locator("#dlg-transfer")).to_be_visible()
    expect(page.locator("#transfer-services input[value=certification]")).to_have_count(0)
    land = page.locator("#transfer-services label:has(input[value=land]) .svc-waiting")
    expect(land).to_have_text("2 chờ2 waiting")
    expect(land.locator(".en")).to_have_attribute("lang", "en")
    page.screenshot(path=str(SHOTS / "counter-transfer.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#dlg-transfer")).to_be_hidden()

    press(page, "c")
    expect(page.locator("#dlg-complete")).to_be_visible()
    page.select_option("#complete-procedure", index=1)
    page.locator("#complete-confirm").focus()
    page.keyboard.press("2")
    expect(page.locator("#outcomes input[value=received]")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "open")
    expect(page.locator("#stat-served")).to_have_text("1")
    expect(page.locator("#message")).to_contain_text("Đã hoàn thành số B001")
    me = live_server.api("GET", "/me/stats", live_server.login("canbo1", "layso-demo")).json()
    assert me["served"] == 1 and me["counters"] == [1]
    assert not page.js_errors


def test_letters_typed_in_a_field_are_not_commands(browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    issue(live_server, kiosk, "civil-status")
    issue(live_server, kiosk, "civil-status")
    page = staff_page(browser, live_server, "canbo1")
    pick_counter(page, 1)
    page.click("#call-label")
    page.keyboard.type("a002 ")  # a space in the field must not call the next citizen
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "open")
    page.keyboard.press("Enter")
    expect(page.locator("#cur-label")).to_have_text("A002")
    assert labels(page) == ["A001"]
    page.keyboard.press("p")  # calling: pausing is not offered, the key does nothing
    expect(page.locator("#dlg-pause")).to_be_hidden()
    press(page, "v")
    expect(page.locator("#dlg-no-show")).to_be_visible()  # never one tap
    page.keyboard.press("Enter")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "open")
    expect(page.locator("#absent-list li[data-label=A002]")).to_have_count(1)
    press(page, "p")
    expect(page.locator("#dlg-pause")).to_be_visible()
    page.click("#pause-chips .chip[data-reason='Nghỉ trưa']")
    page.keyboard.press("Enter")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "paused")
    expect(page.locator("#cur-state")).to_contain_text("Nghỉ trưa")
    page.keyboard.press("Space")  # paused: no call
    expect(page.locator("#cur-label")).to_be_hidden()
    press(page, "p")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "open")


def test_a_double_press_calls_one_citizen_and_a_retry_reuses_its_key(
        browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    for _ in range(3):
        issue(live_server, kiosk, "civil-status")
    page = staff_page(browser, live_server, "canbo1")
    pick_counter(page, 1)
    sent: list[str | None] = []
    page.on("request", lambda r: sent.append(r.headers.get("idempotency-key"))
            if r.method == "POST" and r.url.endswith("/call-next") else None)
    # two key presses in the same instant: the second finds the first in flight
    page.evaluate("""() => {
      for (let i = 0; i < 2; i++)
        document.dispatchEvent(new KeyboardEvent('keydown', {key: ' ', bubbles: true}));
    }""")
    expect(page.locator("#cur-label")).to_have_text("A001")
    expect(page.locator("#queue-list tr")).to_have_count(2)
    assert len(sent) == 1 and sent[0]

    # the answer to the next call is lost once: the terminal retries with the same key,
    # and the server replays its answer instead of calling a second citizen
    press(page, "v")
    expect(page.locator("#dlg-no-show")).to_be_visible()  # never one tap
    page.keyboard.press("Enter")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "open")
    sent.clear()
    state = {"failed": False}

    def lose_first_answer(route: Any) -> None:
        if not state["failed"]:
            state["failed"] = True
            route.fetch()  # the server acts...
            route.abort("connectionreset")  # ...but the answer never arrives
        else:
            route.continue_()

    page.route("**/api/v1/counters/1/call-next", lose_first_answer)
    press(page, "Space")
    # the message comes from the answer, so it is there only once the retry has been answered
    expect(page.locator("#message")).to_contain_text("Đã gọi số A002")
    expect(page.locator("#cur-label")).to_have_text("A002")
    assert len(sent) == 2 and sent[0] == sent[1]
    tok = live_server.login("canbo1", "layso-demo")
    waiting = live_server.api("GET", "/queue?counter=1", tok).json()["items"]
    assert [t["label"] for t in waiting] == ["A003"]


def test_plain_vietnamese_when_an_action_is_refused(browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    one = staff_page(browser, live_server, "canbo1")
    pick_counter(one, 1)
    two = staff_page(browser, live_server, "canbo2")
    two.click("button.pick[data-counter='1']")
    expect(two.locator("#picker-message")).to_contain_text(
        "Quầy này đang do cán bộ khác phụ trách.")
    expect(two.locator("#picker-message .en")).to_contain_text("opened by another official")
    expect(two.locator("#desk")).to_be_hidden()
    pick_counter(two, 2)
    expect(two.locator("#counter-name")).to_contain_text("Quầy 2")
    # the first official logs out: the terminal then sends the browser to the login page
    one.click("#btn-logout")
    one.click("#logout-confirm")  # the counter is open: logging out asks, then closes it
    expect(one).to_have_url(live_server.url + "/login")
    one.goto(live_server.url + "/counter/")
    expect(one).to_have_url(live_server.url + "/login?next=/counter/")


def test_the_tablet_asks_for_a_rating_and_a_reason(browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    tablet_token = live_server.device("Tablet 1", "feedback", 1)
    issue(live_server, kiosk, "civil-status")
    issue(live_server, kiosk, "certification")
    officer = staff_page(browser, live_server, "canbo1")
    pick_counter(officer, 1)
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    wrong = ctx.new_page()
    wrong.goto(live_server.url + "/counter/feedback")
    wrong.fill("#enrol-token", kiosk)
    wrong.click("#enrol-submit")
    expect(wrong.locator("#enrol-error")).to_contain_text("không phải của máy đánh giá")
    ctx.close()

    tablet = tablet_page(browser, live_server, tablet_token)
    expect(tablet.locator("#idle-counter")).to_contain_text("Quầy 1")
    expect(tablet.locator("#idle-officer")).to_contain_text("Cán bộ Quầy 1")
    press(officer, "Space")
    expect(tablet.locator("#idle-serving b")).to_have_text("A001")
    press(officer, "s")
    expect(tablet.locator("#idle-serving")).to_contain_text("Đang phục vụ số")
    tablet.screenshot(path=str(SHOTS / "feedback-idle.png"))
    complete(officer)
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    expect(tablet.locator("#rate-about")).to_contain_text("A001")
    expect(tablet.locator(".face")).to_have_count(5)
    expect(tablet.locator(".face").first).to_contain_text("Rất hài lòng")
    tablet.screenshot(path=str(SHOTS / "feedback-rating.png"))
    tablet.click(".face[data-score='3']")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "reason")
    expect(tablet.locator("#reason-send")).to_be_disabled()
    tablet.click(".reason[data-reason=unclear_guidance]")
    tablet.fill("#reason-comment", "Cần thêm bảng hướng dẫn ở quầy")
    tablet.screenshot(path=str(SHOTS / "feedback-reason.png"))
    tablet.click("#reason-send")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "thanks")
    expect(officer.locator("#stat-rating")).to_have_text("3,0/5")
    # nobody touches the tablet: after about 8 s it is idle again (the next citizen must not
    # find these thanks)
    tablet.clock.fast_forward("00:06")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "thanks")
    tablet.clock.fast_forward("00:03")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "idle")
    expect(tablet.locator("#idle-serving")).to_contain_text("Xin mời công dân tiếp theo")

    # the next citizen walks away without rating: the rating screen gives up after 30 s too
    press(officer, "Space")
    press(officer, "s")
    complete(officer)
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    tablet.clock.fast_forward("00:31")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "idle")
    stats = live_server.api("GET", "/me/stats", live_server.login("canbo1", "layso-demo")).json()
    assert (stats["served"], stats["ratings"], stats["mean_rating"]) == (2, 1, 3.0)


def test_a_tablet_that_was_away_still_asks_for_the_rating(browser: Any,
                                                          live_server: Any) -> None:
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    enrolled = tablet_page(browser, live_server, live_server.device("Tablet 1", "feedback", 1),
                           clock=False)
    ctx = enrolled.context
    enrolled.close()  # the tablet's page is gone (Wi-Fi lost, browser restarted) ...
    officer = live_server.login("canbo1", "layso-demo")
    issue(live_server, kiosk, "civil-status")
    for step, body in (("open", None), ("call-next", None), ("start", None),
                       ("complete", {"outcome": "done"})):
        assert live_server.api("POST", f"/counters/1/{step}", officer, json=body).ok
    tablet = ctx.new_page()  # ... and comes back just after the visit ended
    errors: list[str] = []
    tablet.on("pageerror", lambda e: errors.append(str(e)))
    tablet.goto(live_server.url + "/counter/feedback")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    expect(tablet.locator("#rate-about")).to_contain_text("A001")
    expect(tablet.locator("#rate-about")).to_contain_text("Cán bộ Quầy 1")
    tablet.click(".face[data-score='5']")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "thanks")
    tablet.reload()  # rated: nothing more to ask
    expect(tablet.locator("body")).to_have_attribute("data-screen", "idle")
    tablet.wait_for_timeout(500)  # the socket has connected and sent what it had by now
    expect(tablet.locator("body")).to_have_attribute("data-screen", "idle")
    assert errors == []


def test_the_terminal_fits_a_1366_laptop(browser: Any, live_server: Any) -> None:
    kiosk = live_server.device("Kiosk", "kiosk")
    for _ in range(12):
        issue(live_server, kiosk, "civil-status")
    page = staff_page(browser, live_server, "canbo1")
    pick_counter(page, 1)
    press(page, "Space")
    page.locator("#btn-start").wait_for()
    # no page scroll: the header, the current citizen and every action button are on screen
    assert page.evaluate("document.documentElement.scrollHeight") <= 768
    for sel in ("#btn-recall", "#btn-start", "#btn-no-show", "#btn-transfer", "#cur-label"):
        box = page.locator(sel).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 768, sel


def test_switching_counter_asks_and_hands_the_citizen_back(browser: Any,
                                                           live_server: Any) -> None:
    """Switching counter with a citizen called is leaving the counter: like logging out it
    asks, then the citizen goes back to the front of the queue and the old counter closes, so
    the board stops showing them at a counter nobody works at."""
    from playwright.sync_api import expect

    kiosk = live_server.device("Kiosk", "kiosk")
    first = issue(live_server, kiosk, "civil-status")
    issue(live_server, kiosk, "civil-status")
    board = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    board.goto(live_server.url + "/display/")
    page = staff_page(browser, live_server, "canbo1")
    pick_counter(page, 1)
    press(page, "Space")
    expect(page.locator("#cur-label")).to_have_text(first["label"])
    expect(board.locator("#counters li[data-counter='1'] .counter-ticket")).to_have_text(
        first["label"])

    page.click("#btn-switch")
    expect(page.locator("#dlg-switch")).to_be_visible()  # never silently
    expect(page.locator("#switch-counter")).to_have_text("Quầy 1")
    expect(page.locator("#switch-hint")).to_contain_text(first["label"])
    expect(page.locator("#switch-hint .en")).to_contain_text("front of the queue")
    page.keyboard.press("Escape")  # staying keeps everything as it was
    expect(page.locator("#dlg-switch")).to_be_hidden()
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "calling")
    expect(page.locator("#desk")).to_be_visible()

    page.click("#btn-switch")
    page.click("#switch-confirm")
    expect(page.locator("#picker")).to_be_visible()
    expect(page.locator("button.pick[data-counter='1'] .state-pill")).to_have_attribute(
        "data-state", "closed")
    expect(board.locator("#counters li[data-counter='1']")).to_have_count(0)  # closed
    sup = live_server.login("lanhdao", "layso-demo")
    queue = live_server.api("GET", "/queue?service=civil-status", sup).json()["items"]
    assert queue[0]["label"] == first["label"] and queue[0]["state"] == "waiting"
    assert live_server.api("GET", "/counters/1", sup).json()["state"] == "closed"

    # on the new counter the handed-back citizen is the next one called
    pick_counter(page, 2)
    press(page, "Space")
    expect(page.locator("#cur-label")).to_have_text(first["label"])
    assert not page.js_errors


def test_switching_from_a_closed_counter_asks_nothing(browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    page = staff_page(browser, live_server, "canbo1")
    pick_counter(page, 1)
    page.click("#btn-close")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "closed")
    page.click("#btn-switch")
    expect(page.locator("#picker")).to_be_visible()
    expect(page.locator("#dlg-switch")).to_be_hidden()
    assert not page.js_errors


def test_a_terminal_whose_account_is_deactivated_goes_to_login_and_says_why(
        browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    page = staff_page(browser, live_server, "canbo3")
    pick_counter(page, 3)
    admin = live_server.login("admin", "layso-demo")
    assert live_server.api("PATCH", "/users/canbo3", admin,
                           json={"active": False}).status_code == 200
    page.keyboard.press("Space")  # the next thing the official does (the page may have gone)
    expect(page).to_have_url(live_server.url + "/login?ended=1&next=%2Fcounter%2F")
    expect(page.locator("#login-ended")).to_be_visible()
    expect(page.locator("#login-ended .en")).to_contain_text("session ended")
    assert not page.js_errors
