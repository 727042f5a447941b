"""A working morning in Debian's Chromium: two officials, the board, a citizen's phone, a tablet."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.counter.browser import issue, pick_counter, press, staff_page, tablet_page

pytestmark = pytest.mark.browser


def queue_labels(page: Any) -> Any:
    return page.locator("#queue-list tr")


def expect_queue(page: Any, wanted: list[str]) -> None:
    """The terminal's waiting list shows exactly these labels, in this order."""
    from playwright.sync_api import expect

    rows = queue_labels(page)
    expect(rows).to_have_count(len(wanted))
    for i, label in enumerate(wanted):
        expect(rows.nth(i)).to_have_attribute("data-label", label)


def test_a_working_morning(browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    server = live_server
    kiosk = server.device("Kiosk", "kiosk")
    tablet_token = server.device("Tablet 2", "feedback", 2)
    a1 = issue(server, kiosk, "civil-status")
    issue(server, kiosk, "civil-status")
    issue(server, kiosk, "certification", priority="elderly")
    issue(server, kiosk, "land")
    supervisor = server.login("lanhdao", "layso-demo")

    board_ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    board = board_ctx.new_page()
    board.goto(server.url + "/display/")
    expect(board.locator("#counters-empty")).to_be_visible()
    # the citizen with A001 follows their turn on their phone, when that page exists
    token = a1["status_url"].rsplit("/", 1)[1]
    phone = None
    if requests.get(server.url + "/t/" + token, timeout=10).status_code == 200:
        phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                        is_mobile=True, has_touch=True)
        phone = phone_ctx.new_page()
        phone.goto(server.url + "/t/" + token)

    def phone_shows(state: str) -> None:
        if phone is not None:
            expect(phone.locator("body")).to_have_attribute("data-state", state)
            expect(phone.locator("#label")).to_have_text("A001")
        got = server.api("GET", "/tickets/" + token).json()
        assert got["state"] == state

    phone_shows("waiting")
    one = staff_page(browser, server, "canbo1")
    two = staff_page(browser, server, "canbo2")
    tablet = tablet_page(browser, server, tablet_token)
    pick_counter(one, 1)
    pick_counter(two, 2)
    expect(board.locator("#counters li[data-counter='1']")).to_be_visible()
    expect(board.locator("#counters li[data-counter='2']")).to_be_visible()
    expect(tablet.locator("#idle-officer")).to_contain_text("Cán bộ Quầy 2")
    # both counters serve A and B: the priority citizen comes first on both lists
    expect_queue(one, ["B001", "A001", "A002"])
    expect_queue(two, ["B001", "A001", "A002"])

    # 1. the first official calls: the priority citizen
    press(one, "Space")
    expect(one.locator("#cur-label")).to_have_text("B001")
    expect(board.locator("#call-label")).to_have_text("B001")
    expect(board.locator("#call-counter-vi")).to_have_text("quầy 1")
    expect(board.locator("#counters li[data-counter='1'] .counter-ticket")).to_have_text("B001")
    expect_queue(two, ["A001", "A002"])  # live on the other terminal, no reload

    # 2. the second official calls A001: board, phone and tablet all know
    press(two, "Space")
    expect(two.locator("#cur-label")).to_have_text("A001")
    expect(board.locator("#call-label")).to_have_text("A001")
    expect(board.locator("#counters li[data-counter='2'] .counter-ticket")).to_have_text("A001")
    phone_shows("called")
    if phone is not None:
        expect(phone.locator("#called")).to_be_visible()
    expect(tablet.locator("#idle-serving b")).to_have_text("A001")
    expect_queue(one, ["A002"])

    # 3. B001 does not come: the first official calls again; the board repeats it
    press(one, "r")
    expect(one.locator("#recall-count")).to_have_text("1/3")
    expect(board.locator("#call-label")).to_have_text("B001")
    expect(board.locator("#call-recall")).to_be_visible()

    # 4. A001 is absent; it shows in the absent list of every counter serving A
    press(two, "v")
    expect(two.locator("#dlg-no-show")).to_be_visible()  # never one tap
    two.keyboard.press("Enter")
    expect(two.locator("#counter-state")).to_have_attribute("data-state", "open")
    phone_shows("no_show")
    expect(one.locator("#absent-count")).to_have_text("1")
    expect(two.locator("#absent-list li[data-label=A001]")).to_have_count(1)
    expect(board.locator("#counters li[data-counter='2'] .counter-ticket")).to_have_text("")

    # 5. the citizen comes back: reactivated, A001 keeps its place ahead of A002
    two.click("#absent summary")
    two.click("#absent-list li[data-label=A001] .reactivate")
    expect_queue(two, ["A001", "A002"])
    expect_queue(one, ["A001", "A002"])
    expect(two.locator("#absent-count")).to_have_text("0")
    phone_shows("waiting")
    if phone is not None:
        expect(phone.locator("#ahead")).to_have_text("0")

    # 6. B001 arrives at last, but needs the land service: transferred to its front
    press(one, "s")
    expect(one.locator("#counter-state")).to_have_attribute("data-state", "serving")
    # the tablet belongs to counter 2, which waits for its next citizen
    expect(tablet.locator("#idle-serving")).to_contain_text("Xin mời công dân tiếp theo")
    press(one, "t")
    expect(one.locator("#dlg-transfer")).to_be_visible()
    one.check("#transfer-services input[value=land]")
    one.check("#transfer-form input[value=front]")
    one.click("#transfer-confirm")
    expect(one.locator("#counter-state")).to_have_attribute("data-state", "open")
    expect(one.locator("#message")).to_contain_text("Đã chuyển số B001 sang Đất đai")
    land = server.api("GET", "/queue?service=land", supervisor).json()["items"]
    assert [t["label"] for t in land] == ["B001", "C001"]
    expect(board.locator("#counters li[data-counter='1'] .counter-ticket")).to_have_text("")

    # 7. the second official serves A001 to the end; the citizen rates on the tablet
    press(two, "Space")
    expect(two.locator("#cur-label")).to_have_text("A001")
    expect(board.locator("#call-label")).to_have_text("A001")
    phone_shows("called")
    expect_queue(one, ["A002"])
    press(two, "s")
    expect(tablet.locator("#idle-serving")).to_contain_text("Đang phục vụ số")
    press(two, "c")
    expect(two.locator("#dlg-complete")).to_be_visible()
    two.keyboard.press("3")  # result returned
    two.keyboard.press("Enter")
    expect(two.locator("#counter-state")).to_have_attribute("data-state", "open")
    phone_shows("done")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    expect(tablet.locator("#rate-about")).to_contain_text("A001")
    tablet.click(".face[data-score='5']")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "thanks")
    expect(two.locator("#stat-served")).to_have_text("1")
    expect(two.locator("#stat-rating")).to_have_text("5,0/5")
    expect(one.locator("#stat-served")).to_have_text("0")
    done = server.api("GET", "/tickets/" + token).json()
    assert done["outcome"] == "result_returned" and done["counter"]["number"] == 2
    for page in (one, two):
        assert not page.js_errors
