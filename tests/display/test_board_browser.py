"""The board in Debian's Chromium against a real server: calls, voice, restarts, autoplay."""

from __future__ import annotations

import time
from typing import Any

import pytest

from layso.speech import call_clips
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SHOTS, poll

pytestmark = pytest.mark.browser

SUP = ("lanhdao", "layso-demo")


class Desk:
    """The actions the tests take through the API of a live server."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.kiosk = server.device("Kiosk", "kiosk")
        self.sup = server.login(*SUP)

    def issue(self, service: str, priority: str | None = None) -> dict[str, Any]:
        body = {"service": service, **({"priority": priority} if priority else {})}
        r = self.server.api("POST", "/tickets", self.kiosk, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def post(self, path: str, **body: Any) -> Any:
        r = self.server.api("POST", path, self.sup, json=body or None)
        assert r.status_code in (200, 204), r.text
        return r.json() if r.status_code == 200 else None

    def call(self, counter: int) -> dict[str, Any]:
        return self.post(f"/counters/{counter}/call-next")

    def finish(self, counter: int) -> None:
        self.post(f"/counters/{counter}/start")
        self.post(f"/counters/{counter}/complete", outcome="done")


def open_board(page: Any, url: str, query: str = "") -> list[str]:
    """Open the board, wait for its first snapshot, and return the clip URLs it will request."""
    clip_requests: list[str] = []
    page.on("request", lambda req: clip_requests.append(req.url)
            if "/display/voice/" in req.url and not req.url.endswith(".json") else None)
    page.goto(url + "/display/" + query)
    poll(page, "window.LaysoBoard && LaysoBoard.snapshots >= 1", timeout=10)
    return clip_requests


def label_shown(page: Any) -> str:
    return page.eval_on_selector("#call-label", "e => e.textContent")


def test_call_appears_within_a_second_and_is_spoken_clip_by_clip(live_server, page):
    desk = Desk(live_server)
    desk.post("/counters/1/open")
    desk.issue("civil-status")
    requests = open_board(page, live_server.url)
    assert page.is_visible("#call-idle")
    started = time.monotonic()
    desk.call(1)
    poll(page, "document.getElementById('call-label').textContent === 'A001'",
                           timeout=1)
    print(f"\ncall shown on the board {1000 * (time.monotonic() - started):.0f} ms after the "
          "API call began")
    assert "quầy 1" in page.inner_text("#call-counter-vi")
    assert page.inner_text("#caption-vi") == "Mời công dân có số A một đến quầy số một"
    assert page.inner_text("#caption-en") == "Number A one, please go to counter one"
    expected = call_clips("A001", "A", 1, lang="vi+en")
    poll(page, f"LaysoVoice._log.length >= {len(expected)}", timeout=30)
    assert page.evaluate("LaysoVoice._log") == expected
    # each clip was fetched from the app, in the order of the announcement
    names = [u.split("/display/voice/", 1)[1] for u in requests]
    assert names == list(dict.fromkeys(names))  # fetched once each
    preloaded = ["chime", "vi/moi-cong-dan-co-so", "vi/den-quay-so"]
    assert names[:3] == preloaded
    assert names[3:] == [c for c in dict.fromkeys(expected) if c not in preloaded]
    assert page.evaluate("LaysoBoard.announced.length") == 1
    assert page.is_hidden("#sound-bar")


def test_board_survives_a_server_restart_without_a_reload(live_server, page):
    desk = Desk(live_server)
    desk.post("/counters/3/open")
    for _ in range(3):
        desk.issue("land")
    open_board(page, live_server.url)
    desk.call(3)
    poll(page, "document.getElementById('call-label').textContent === 'C001'")
    page.evaluate("window.notReloaded = true")

    live_server.kill()
    page.wait_for_selector("#offline", state="visible", timeout=15_000)
    live_server.start()
    page.wait_for_selector("#offline", state="hidden", timeout=15_000)
    desk.finish(3)
    desk.call(3)
    poll(page, "document.getElementById('call-label').textContent === 'C002'",
                           timeout=5)
    assert page.evaluate("window.notReloaded") is True
    recent = page.eval_on_selector_all("#recent .recent-label",
                                       "els => els.map(e => e.textContent)")
    assert recent[:2] == ["C002", "C001"]
    announced = page.evaluate("LaysoBoard.announced.map(a => a.label)")
    assert announced == ["C001", "C002"]  # the first call was not announced again



def test_the_big_panel_invites_only_a_citizen_still_expected(live_server, page):
    """A finished call stayed in the big panel ("Mời … A001 đến quầy 1") half an hour later,
    inviting nobody: once its counter is done with the ticket the panel goes to the newest call
    still live, or asks the room to wait; the list of recent calls keeps them all."""
    desk = Desk(live_server)
    desk.post("/counters/1/open")
    desk.post("/counters/3/open")
    desk.issue("civil-status")
    desk.issue("land")
    open_board(page, live_server.url)
    desk.call(1)
    poll(page, "document.getElementById('call-label').textContent === 'A001'")
    desk.call(3)
    poll(page, "document.getElementById('call-label').textContent === 'C001'")
    desk.finish(3)  # the newest call is over: the older one, still at counter 1, is shown
    poll(page, "document.getElementById('call-label').textContent === 'A001'")
    assert "quầy 1" in page.inner_text("#call-counter-vi")
    desk.post("/counters/1/start")  # being served: still at the counter, still shown
    time.sleep(0.5)
    assert label_shown(page) == "A001" and page.is_visible("#call-live")
    desk.post("/counters/1/complete", outcome="done")
    page.wait_for_selector("#call-idle", state="visible")
    assert page.is_hidden("#call-live")
    recent = page.eval_on_selector_all("#recent .recent-label",
                                       "els => els.map(e => e.textContent)")
    assert recent[:2] == ["C001", "A001"]
    # a board that opens now (a snapshot, no live events) shows the same
    page.reload()
    poll(page, "window.LaysoBoard && LaysoBoard.snapshots >= 1", timeout=10)
    assert page.is_visible("#call-idle") and page.is_hidden("#call-live")


def test_a_recall_moves_its_tile_and_a_transfer_takes_it_away(live_server, page):
    """A recall added a second tile for the same citizen, pushing real calls out of the few
    the board has room for; a citizen transferred to another service kept "→ Quầy 1"."""
    desk = Desk(live_server)
    desk.post("/counters/1/open")
    for _ in range(3):
        desk.issue("civil-status")
    open_board(page, live_server.url)

    def tiles() -> list[str]:
        return list(page.eval_on_selector_all("#recent .recent-label",
                                              "els => els.map(e => e.textContent)"))

    desk.call(1)
    desk.finish(1)
    desk.call(1)
    poll(page, "document.getElementById('call-label').textContent === 'A002'")
    desk.post("/counters/1/recall")
    poll(page, "LaysoBoard.announced.length >= 3")
    assert tiles()[:2] == ["A002", "A001"]
    desk.post("/counters/1/start")
    desk.post("/counters/1/transfer", service="certification", position="back")
    poll(page, "document.querySelector('#recent .recent-label').textContent === 'A001'")
    assert tiles() == ["A001"]
    page.reload()  # the snapshot agrees with what the events did
    poll(page, "window.LaysoBoard && LaysoBoard.snapshots >= 1", timeout=10)
    assert tiles() == ["A001"]


def test_replayed_old_calls_are_shown_but_not_spoken(live_server, page):
    desk = Desk(live_server)
    desk.post("/counters/4/open")
    desk.issue("social")
    desk.issue("social")
    open_board(page, live_server.url)
    desk.call(4)
    poll(page, "document.getElementById('call-label').textContent === 'D001'")
    page.evaluate("LaysoBoard.socket.disconnect()")
    desk.finish(4)
    desk.call(4)
    # the board comes back 40 s (by its clock) after that call was made
    page.evaluate("LaysoBoard.state.offsetMs += 40000; LaysoBoard.socket.connect()")
    poll(page, "document.getElementById('call-label').textContent === 'D002'",
                           timeout=5)
    assert page.evaluate("LaysoBoard.announced.map(a => a.label)") == ["D001"]
    assert page.evaluate("LaysoBoard.snapshots") == 1  # replayed events, not a new snapshot


def _check_layout(page: Any) -> None:
    size = page.evaluate("({w: innerWidth, h: innerHeight, sw: document.documentElement"
                         ".scrollWidth, sh: document.documentElement.scrollHeight})")
    assert size["sw"] <= size["w"] and size["sh"] <= size["h"], size  # no scrollbars
    box = page.eval_on_selector("#call-label", "e => e.getBoundingClientRect().toJSON()")
    assert box["height"] >= 0.2 * size["h"], box  # readable from 5 m
    fits = page.eval_on_selector("#call-label", "e => e.scrollWidth <= e.clientWidth + 1")
    assert fits


def _busy_morning(desk: Desk) -> None:
    for svc, n in (("civil-status", 6), ("certification", 4), ("land", 3), ("social", 2),
                   ("business", 1), ("online-help", 2)):
        for i in range(n):
            desk.issue(svc, "elderly" if svc == "land" and i == 1 else None)
    for c in (1, 2, 3, 4, 5):
        desk.post(f"/counters/{c}/open")
    for c in (1, 2, 4, 5, 3):
        desk.call(c)
    for c in (1, 2, 3):
        desk.finish(c)
        desk.call(c)
    desk.post("/notice", vi="Trung tâm làm việc từ 7 giờ 30 đến 17 giờ, thứ Hai đến thứ Sáu. "
              "Công dân vui lòng giữ trật tự và chờ đến lượt.",
              en="Open 7:30 to 17:00, Monday to Friday. Please wait quietly for your turn.")


@pytest.mark.parametrize("orientation,viewport", [
    ("landscape", {"width": 1920, "height": 1080}),
    ("portrait", {"width": 1080, "height": 1920}),
])  # fmt: skip
def test_tv_layouts_and_screenshots(live_server, browser, orientation, viewport):
    desk = Desk(live_server)
    _busy_morning(desk)
    ctx = browser.new_context(viewport=viewport, locale="vi-VN")
    try:
        page = ctx.new_page()
        query = "?orientation=portrait" if orientation == "portrait" else ""
        open_board(page, live_server.url, query)
        assert page.evaluate("document.body.classList.contains('portrait')") == (
            orientation == "portrait")
        desk.finish(4)
        desk.call(4)
        poll(page, "document.getElementById('call-label').textContent === 'D002'")
        # the priority ticket called earlier keeps its own colour in the recent list
        prio = page.eval_on_selector_all("#recent .recent-item.prio .recent-label",
                                         "els => els.map(e => e.textContent)")
        assert prio == ["C002"]
        assert page.inner_text("#notice-text").startswith("Trung tâm làm việc từ 7 giờ 30")
        assert page.inner_text("#center-vi") == "Trung tâm Phục vụ hành chính công xã Thọ Xuân"
        assert page.eval_on_selector("#waiting", "e => e.children.length") == 6
        _check_layout(page)
        # the call's flash (five 1 s pulses) run to its end at once, so the picture is steady
        page.evaluate("document.getElementById('call').getAnimations()"
                      ".forEach(function (a) { a.finish(); })")
        assert page.evaluate("document.getElementById('call').getAnimations().length") == 0
        page.evaluate("document.getElementById('notice-text').style.animationDelay = '-9s';"
                      "document.getElementById('notice-text').style.animationPlayState = "
                      "'paused'")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"board-notice-{orientation}.png"))
    finally:
        ctx.close()


def test_priority_call_has_its_own_colour(live_server, page):
    desk = Desk(live_server)
    desk.post("/counters/3/open")
    desk.issue("land")
    desk.issue("land", "pregnant")
    open_board(page, live_server.url)
    desk.call(3)
    poll(page, "document.getElementById('call-label').textContent === 'C002'")
    assert page.is_visible("#call-prio")
    normal = "rgb(255, 210, 74)"
    color = page.eval_on_selector("#call-label", "e => getComputedStyle(e).color")
    assert color != normal


@pytest.fixture
def strict_browser(browser: Any) -> Any:
    """A second Chromium that blocks sound until the user taps (a browser without the flag)."""
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
    args.append("--autoplay-policy=document-user-activation-required")
    strict = browser.browser_type.launch(executable_path=CHROMIUM, args=args)
    yield strict
    strict.close()


def test_blocked_autoplay_asks_for_one_tap(live_server, strict_browser):
    desk = Desk(live_server)
    desk.post("/counters/2/open")
    desk.issue("certification")
    ctx = strict_browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))

        def wait_console(part: str, count: int = 1) -> None:
            # only Playwright waits that run no script in the page: an evaluate counts as a
            # user gesture and would unlock the sound by itself
            for _ in range(100):
                if sum(part in m for m in console) >= count:
                    return
                page.wait_for_timeout(100)
            raise AssertionError(f"no console message {part!r}: {console}")

        page.goto(live_server.url + "/display/")
        wait_console("Lấy Số board: snapshot")
        wait_console("sound blocked until a tap (probe)")  # said before any call
        desk.call(2)
        wait_console("sound blocked until a tap (voice)")  # the call's chime was refused
        page.screenshot(path=str(SHOTS / "board-sound-blocked.png"))
        text = page.inner_text("#sound-bar")
        assert "Nhấn vào màn hình để bật âm thanh" in text
        assert "Tap the screen to enable sound" in text
        # the prompt has its own band: the board above it, the waiting counts not under it
        bar, board = (page.locator(s).bounding_box() for s in ("#sound-bar", ".board"))
        assert bar and board and board["y"] + board["height"] <= bar["y"] + 1, (board, bar)
        assert page.inner_text("#call-label") == "B001"
        assert page.evaluate("LaysoVoice._log.length") == 0  # nothing was heard
        page.mouse.click(960, 540)
        page.wait_for_selector("#sound-bar", state="hidden", timeout=5000)
        # the waiting announcement is heard from its start after the tap
        poll(page, "LaysoVoice._log.length >= 2", timeout=15)
        assert page.evaluate("LaysoVoice._log.slice(0, 2)") == ["chime", "vi/moi-cong-dan-co-so"]
    finally:
        ctx.close()
