"""The citizen's phone page at 360×740 in both languages: it leads in the language the citizen
chose at the kiosk, fits the screen's width, cuts nothing, and passes AA contrast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import poll
from tests.layout import assert_langs, measure
from tests.live import LiveServer

pytestmark = pytest.mark.browser

PHONE_BG = "rgb(244, 246, 250)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("phone-layout") / "live")
    live.init()
    live.start()
    yield live
    live.kill()


def phone(browser: Any, url: str) -> Any:
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                              is_mobile=True, has_touch=True,
                              device_scale_factor=2)
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    poll(page, "window.laysoPhone && window.laysoPhone.updates > 0")
    time.sleep(0.2)  # fonts
    return page


def check(page: Any, where: str) -> None:
    """Nothing wider than the phone, nothing cut, readable sizes, AA contrast (the page may
    scroll down: a phone does)."""
    m = measure(page, min_font=13, gradient=PHONE_BG, base=PHONE_BG)
    assert m["scrollW"] <= m["W"], f"{where}: {m['scrollW']} px wide on a 360 px phone"
    for key in ("small", "cut", "lowContrast"):
        assert not m[key], f"{where}: {key} {m[key]}"
    off = [o for o in m["offscreen"] if "«" in o and m["scrollH"] <= m["H"]]
    assert not off, f"{where}: off screen {off}"
    assert_langs(page, where)


def lead_lang(page: Any, selector: str) -> str:
    """The language of the first (larger) line of a bilingual element."""
    return str(page.evaluate("""(sel) => {
      const lead = document.querySelector(sel + ' .lead');
      const second = document.querySelector(sel + ' .second');
      if (parseFloat(getComputedStyle(lead).fontSize) <=
          parseFloat(getComputedStyle(second).fontSize)) return 'same size';
      return lead.lang;
    }""", selector))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_phone_page_leads_in_the_citizens_language_and_fits(
        browser: Any, server: LiveServer, screenshot_dir: Path, lang: str) -> None:
    kiosk = server.device(f"Kiosk {lang}", "kiosk")
    r = server.api("POST", "/tickets", kiosk, json={"service": "social", "lang": lang})
    assert r.status_code == 201 and r.json()["lang"] == lang
    mine = r.json()
    page = phone(browser, mine["status_url"])
    assert page.evaluate("document.documentElement.lang") == lang
    for part in (".p-your", "#service", "#state", "#note", ".p-facts dt"):
        assert lead_lang(page, part) == lang, f"{lang}: {part} does not lead in {lang}"
    title = page.title()
    assert title.endswith("Waiting" if lang == "en" else "Đang chờ"), title
    check(page, f"waiting {lang}")
    page.screenshot(path=str(screenshot_dir / f"phone-waiting-{lang}.png"), full_page=True)

    officer = server.login("lanhdao", "layso-demo")
    server.api("POST", "/counters/4/open", officer)
    called = server.api("POST", "/counters/4/call-next", officer).json()
    assert called["label"] == mine["label"]
    page.wait_for_selector("#called:not([hidden])", timeout=5000)
    assert lead_lang(page, "#called-counter") == lang
    check(page, f"called {lang}")
    page.screenshot(path=str(screenshot_dir / f"phone-called-{lang}.png"))
    # the overlay's button is on screen without scrolling
    box = page.locator("#called-ok").bounding_box()
    assert box and box["y"] + box["height"] <= 740
    server.api("POST", "/counters/4/no-show", officer)
    server.api("POST", "/counters/4/close", officer)
    assert not page.errors
    page.context.close()


def state_of(page: Any) -> str:
    return str(page.evaluate("document.body.dataset.state"))


@pytest.mark.parametrize("size", [(360, 740), (412, 915)])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_ticket_state_reads_on_the_phone(browser: Any, server: LiveServer,
                                               screenshot_dir: Path, lang: str,
                                               size: tuple[int, int]) -> None:
    """Called, serving, moved to another service, back in the queue, no-show, done and
    cancelled, each at AA in the citizen's language first (no-show and cancelled were
    3.66:1, the call overlay's second lines 3.32:1 while it pulsed), and the citizen is told
    why their number is waiting again or names another service."""
    w, h = size
    kiosk = server.device(f"Kiosk states {lang} {w}", "kiosk")
    officer = server.login("lanhdao", "layso-demo")

    def act(path: str, **body: Any) -> Any:
        r = server.api("POST", path, officer, json=body or None)
        assert r.status_code in (200, 201), r.text
        return r.json()

    for n in (4, 5):
        server.api("POST", f"/counters/{n}/open", officer)
    mine = server.api("POST", "/tickets", kiosk, json={"service": "online-help",
                                                     "lang": lang}).json()
    page = phone(browser, mine["status_url"])
    page.set_viewport_size({"width": w, "height": h})
    tag = f"{lang}-{w}"

    def shown(state: str, where: str) -> None:
        poll(page, f"document.body.dataset.state === {state!r}", timeout=10)
        time.sleep(0.3)  # the overlay's pulse: measured at its darkest too
        check(page, f"{where} {tag}")
        assert lead_lang(page, "#state") == lang, f"{where} {tag}: state not {lang}-first"

    assert act("/counters/4/call-next")["label"] == mine["label"]
    page.wait_for_selector("#called:not([hidden])", timeout=5000)
    for _ in range(4):  # through the whole pulse
        check(page, f"call overlay {tag}")
        time.sleep(0.35)
    page.click("#called-ok")
    act("/counters/4/start")
    shown("serving", "serving")
    act("/counters/4/transfer", service="business", position="back")
    shown("waiting", "transferred")
    moved = page.inner_text("#moved")
    assert ("Business registration" if lang == "en" else "Đăng ký kinh doanh") in moved, moved
    assert lead_lang(page, "#moved") == lang
    page.screenshot(path=str(screenshot_dir / f"phone-moved-{tag}.png"), full_page=True)
    act("/counters/5/call-next")
    shown("called", "called again")
    page.click("#called-ok")
    act("/counters/5/no-show")
    shown("no_show", "no-show")
    assert page.locator("#moved").is_hidden()
    page.screenshot(path=str(screenshot_dir / f"phone-no-show-{tag}.png"), full_page=True)
    act(f"/tickets/{mine['id']}/reactivate")
    shown("waiting", "back in the queue")
    back = page.inner_text("#moved")
    assert ("back in the queue" if lang == "en" else "trở lại hàng chờ") in back, back
    act("/counters/5/call-next")
    shown("called", "called a third time")
    page.click("#called-ok")
    act("/counters/5/start")
    act("/counters/5/complete", outcome="received")
    shown("done", "done")
    # a dossier received: the citizen is told to keep the receipt (not the code: staff only)
    note = page.inner_text("#note")
    assert ("keep the receipt" if lang == "en" else "giữ giấy biên nhận") in note, note
    assert lead_lang(page, "#note") == lang
    page.screenshot(path=str(screenshot_dir / f"phone-received-{tag}.png"), full_page=True)
    other = server.api("POST", "/tickets", kiosk, json={"service": "land", "lang": lang}).json()
    page.goto(other["status_url"])
    poll(page, "window.laysoPhone && window.laysoPhone.updates > 0")
    act(f"/tickets/{other['id']}/cancel")
    shown("cancelled", "cancelled")
    page.screenshot(path=str(screenshot_dir / f"phone-cancelled-{tag}.png"), full_page=True)
    for n in (4, 5):
        server.api("POST", f"/counters/{n}/close", officer)
    assert not page.errors
    page.context.close()


def test_a_ticket_that_does_not_exist_says_so_and_nothing_else(
        browser: Any, server: LiveServer, screenshot_dir: Path) -> None:
    """A mistyped or old link: "not found" and what to do, not "please wait until your
    number is called" above it, and the tab's title says it too."""
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                              is_mobile=True, has_touch=True, device_scale_factor=2)
    page = ctx.new_page()
    page.goto(server.url + "/t/" + "x" * 43)
    poll(page, "window.laysoPhone && window.laysoPhone.missing")
    assert page.locator("#note").is_hidden(), "a missing ticket is told to wait"
    assert page.locator("#missing-help").is_visible()
    assert "Không tìm thấy" in page.title()
    check(page, "missing")
    page.screenshot(path=str(screenshot_dir / "phone-missing.png"), full_page=True)
    ctx.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_page_opened_after_a_transfer_says_the_number_moved(
        browser: Any, server: LiveServer, screenshot_dir: Path, lang: str) -> None:
    """The "moved to another service" line showed only on a page that was open when the
    transfer happened; the citizen who scans the QR afterwards saw "Business registration"
    on a number they took for civil status, with no word why."""
    kiosk = server.device(f"Kiosk moved {lang}", "kiosk")
    officer = server.login("lanhdao", "layso-demo")
    mine = server.api("POST", "/tickets", kiosk, json={"service": "civil-status",
                                                     "lang": lang}).json()
    server.api("POST", "/counters/1/open", officer)
    try:
        called = server.api("POST", "/counters/1/call-next", officer).json()
        assert called["label"] == mine["label"]
        r = server.api("POST", "/counters/1/transfer", officer,
                       json={"service": "business", "position": "back"})
        assert r.status_code == 200, r.text
    finally:
        server.api("POST", "/counters/1/close", officer)
    page = phone(browser, mine["status_url"])  # opened only now
    assert state_of(page) == "waiting"
    assert page.locator("#moved").is_visible(), "a page opened after the move says nothing"
    moved = page.inner_text("#moved")
    assert ("Your number was moved from Civil status to Business registration" if lang == "en"
            else "chuyển từ lĩnh vực Hộ tịch sang lĩnh vực Đăng ký kinh doanh") in moved, moved
    assert lead_lang(page, "#moved") == lang
    check(page, f"moved, opened later {lang}")
    page.screenshot(path=str(screenshot_dir / f"phone-moved-opened-later-{lang}.png"),
                    full_page=True)
    assert not page.errors
    page.context.close()


def yesterday_was_the_day(server: LiveServer) -> None:
    """The server stops for the night; as the next morning finds it, today's business day and
    its tickets are yesterday's (the server runs on the real clock)."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from layso import db
    from layso.db import Database

    server.stop()
    database = Database(f"sqlite:///{server.data_dir / 'layso.db'}")
    try:
        with database.write() as conn:
            for d in conn.execute(select(db.business_days)).all():
                conn.execute(update(db.business_days).where(db.business_days.c.id == d.id)
                             .values(day=d.day - timedelta(days=1),
                                     opened_at=d.opened_at - timedelta(days=1)))
            for t in conn.execute(select(db.tickets)).all():
                conn.execute(update(db.tickets).where(db.tickets.c.id == t.id).values(
                    issued_at=t.issued_at - timedelta(days=1),
                    queue_at=t.queue_at - timedelta(days=1)))
    finally:
        database.dispose()
    server.start()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_number_left_waiting_when_the_day_ended_says_so(
        browser: Any, live_server: LiveServer, screenshot_dir: Path, lang: str) -> None:
    """The citizen's number was still waiting when the working day ended: the phone says
    "Day ended: please take a new number" on a page left open overnight and on one opened
    the next morning, before the center's first ticket (which records the day's end: its
    numbers become `expired`) and after it. Before that first ticket, the page said
    "Waiting" with yesterday's place in the queue."""
    kiosk = live_server.device(f"Kiosk {lang}", "kiosk")
    mine = live_server.api("POST", "/tickets", kiosk, json={"service": "land",
                                                          "lang": lang}).json()
    assert mine["state"] == "waiting"
    token = mine["status_url"].rsplit("/", 1)[1]
    left_open = phone(browser, mine["status_url"])
    assert state_of(left_open) == "waiting"
    yesterday_was_the_day(live_server)
    # the next morning, before anyone takes a number: the page left open (its socket comes
    # back) and the public view already say the day ended
    poll(left_open, "document.body.dataset.state === 'expired'", timeout=20)
    early = live_server.api("GET", "/tickets/" + token).json()
    assert (early["state"], early["ahead"], early["eta_minutes"]) == ("expired", None, None)
    # the morning's first citizen takes a number: the day before is closed for good
    first = live_server.api("POST", "/tickets", kiosk, json={"service": "land"})
    assert first.status_code == 201 and first.json()["label"] == "C001"
    fresh = phone(browser, mine["status_url"])
    for page in (left_open, fresh):
        assert state_of(page) == "expired"
        state = page.inner_text("#state")
        assert ("Day ended" if lang == "en" else "Hết ngày làm việc") in state.splitlines()[0], \
            state
        assert lead_lang(page, "#state") == lang and lead_lang(page, "#note") == lang
        note = page.inner_text("#note")
        assert ("Please take a new number" if lang == "en" else "Vui lòng lấy số mới") in note
        assert page.locator("#facts").is_hidden(), "an ended number shows a wait estimate"
        assert page.title().endswith("Day ended" if lang == "en" else "Hết ngày làm việc")
        check(page, f"expired {lang}")
    assert live_server.api("GET", "/tickets/" + token).json()["state"] == "expired"
    fresh.screenshot(path=str(screenshot_dir / f"phone-expired-{lang}.png"), full_page=True)
    assert not left_open.errors and not fresh.errors
    left_open.context.close()
    fresh.context.close()
