"""The board as the back of a waiting room reads it: 1920×1080 and 1080×1920, six counters busy,
the demo's longest names, a pause reason. No visible text under 24 px, nothing cut with "…",
nothing off screen, AA contrast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import poll
from tests.layout import assert_fits
from tests.live import LiveServer

pytestmark = pytest.mark.browser

SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}
BOARD_BG = "rgb(11, 22, 38)"  # the board's page colour
MIN_FONT = 24  # px: read from 3–5 m by elderly citizens
PASS = "layso-demo"


class Room:
    """A live demo center with a sixth counter, driven through the API as a supervisor."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.kiosk = server.device("Kiosk", "kiosk")
        self.admin = server.login("admin", PASS)

    def post(self, path: str, token: str | None = None, **body: Any) -> Any:
        r = self.server.api("POST", path, token or self.admin, json=body or None)
        assert r.status_code in (200, 201, 204), r.text
        return r.json() if r.status_code in (200, 201) else None

    def issue(self, service: str, priority: str | None = None) -> dict[str, Any]:
        return self.post("/tickets", self.kiosk, service=service,
                         **({"priority": priority} if priority else {}))


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    """Six counters, each calling or serving a citizen, and people waiting in every service."""
    server = LiveServer(tmp_path_factory.mktemp("board-layout") / "live")
    server.init()
    server.start()
    try:
        yield busy(Room(server))
    finally:
        server.kill()


def busy(r: Room) -> Room:
    """A sixth counter, the six each calling or serving, people waiting in every service."""
    r.post("/counters", number=6, services=["online-help", "social"])
    # the longest demo names: social affairs (D) and online help (F) on the busy counters
    for service in ("social", "online-help", "civil-status", "certification", "land",
                    "business"):
        for _ in range(3):
            r.issue(service)
    r.issue("social", "elderly")
    for n in range(1, 7):
        r.post(f"/counters/{n}/open")
        r.post(f"/counters/{n}/call-next")
    for n in (2, 4):
        r.post(f"/counters/{n}/start")  # some serving, some calling
    return r


def open_board(browser: Any, server: LiveServer, size: str) -> Any:
    w, h = SIZES[size]
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="vi-VN")
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server.url + "/display/")
    poll(page, "window.LaysoBoard && LaysoBoard.snapshots >= 1", timeout=10)
    time.sleep(0.3)  # fonts
    return page


def check(page: Any, where: str) -> None:
    """The board holds: no text under 24 px, none cut or off screen, AA contrast."""
    # the scrolling notice moves across the screen by design; the sound prompt is not shown
    assert_fits(page, where, min_font=MIN_FONT, gradient=BOARD_BG)
    cut = page.evaluate("""() => {
      // text clipped by a line clamp, or hidden under the edge of a panel that hides overflow
      const out = [];
      const parts = '.top *, #call *, #counters *, #recent *, #waiting *';
      for (const e of document.querySelectorAll(parts)) {
        const s = getComputedStyle(e);
        const r = e.getBoundingClientRect();
        if (!r.width || !r.height || s.display === 'none' || e.closest('[hidden]')) continue;
        // (the big label is fitted to its width by the board itself; its glyphs pass the line)
        if (e.id !== 'call-label' && e.scrollHeight > e.clientHeight + 2 &&
            s.overflow !== 'visible') out.push(e);
        for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
          if (getComputedStyle(p).overflow === 'visible') continue;
          const b = p.getBoundingClientRect();
          if (r.bottom > b.bottom + 1 || r.right > b.right + 1 || r.top < b.top - 1 ||
              r.left < b.left - 1) out.push(e);
          break;
        }
      }
      return [...new Set(out)].map(
        e => e.className + ' «' + e.textContent.trim().slice(0, 40) + '»');
    }""")
    assert not cut, f"{where}: text clipped {cut}"


@pytest.mark.parametrize("size", list(SIZES))
def test_six_busy_counters_and_the_longest_names_read_from_the_back(
        browser: Any, room: Room, screenshot_dir: Path, size: str) -> None:
    page = open_board(browser, room.server, size)
    shown = page.locator("#counters li").count()
    assert shown == 6
    assert page.locator("#counters .counter-ticket:not(:empty)").count() == 6
    page.screenshot(path=str(screenshot_dir / f"board-six-{size}.png"))
    check(page, f"six busy {size}")
    # every service's name shows whole (Vietnamese and English)
    names = page.locator("#waiting .service-name").all_inner_texts()
    assert any("Lao động – Thương binh và Xã hội" in n for n in names), names
    assert any("Help with online public services" in n for n in names), names
    assert not page.errors
    page.context.close()



@pytest.mark.parametrize("size", list(SIZES))
def test_a_recalled_priority_citizens_tags_cover_no_words(
        browser: Any, room: Room, screenshot_dir: Path, size: str) -> None:
    """In portrait the "Gọi lại · Call again" tag sat on the English "Number" of the invite."""
    state = room.server.api("GET", "/counters/5", room.admin).json()
    if state["state"] != "calling":
        room.post("/counters/5/open")
        room.post("/counters/5/call-next")
    room.post("/counters/5/recall")
    page = open_board(browser, room.server, size)
    poll(page, "!document.getElementById('call-recall').hidden")
    overlaps = page.evaluate("""() => {
      const boxes = (sel) => [...document.querySelectorAll(sel)].flatMap(e => {
        const range = document.createRange(); range.selectNodeContents(e);
        return [...range.getClientRects()];
      });
      const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom &&
                            b.top < a.bottom;
      const tags = [...document.querySelectorAll('#call .tag:not([hidden])')]
        .map(t => t.getBoundingClientRect());
      // the number's own box (its font's line box is taller than the glyphs it draws)
      const words = boxes('.call-invite, .call-counter')
        .concat([document.getElementById('call-label').getBoundingClientRect()]);
      return tags.flatMap(t => words.filter(w => hit(t, w)).map(w => [t.toJSON(), w.toJSON()]));
    }""")
    page.screenshot(path=str(screenshot_dir / f"board-recall-{size}.png"))
    assert not overlaps, f"{size}: a tag covers words {overlaps}"
    check(page, f"recall {size}")
    page.context.close()


def pause(room: Room, n: int, reason: str) -> None:
    """Finish counter n's citizen if it has one, then pause it with a reason."""
    state = room.server.api("GET", f"/counters/{n}", room.admin).json()["state"]
    if state == "calling":
        room.post(f"/counters/{n}/start")
    if state in ("calling", "serving"):
        room.post(f"/counters/{n}/complete", outcome="done")
    room.post(f"/counters/{n}/pause", reason=reason)


@pytest.mark.parametrize("size", list(SIZES))
def test_a_paused_counter_shows_its_reason_in_both_orientations(
        browser: Any, room: Room, screenshot_dir: Path, size: str) -> None:
    pause(room, 3, "Nghỉ trưa")
    page = open_board(browser, room.server, size)
    paused = page.locator("#counters li[data-counter='3']")
    assert "state-paused" in (paused.get_attribute("class") or "")
    state = paused.locator(".counter-state")
    assert state.is_visible(), f"{size}: a paused counter shows no state"
    text = state.inner_text()
    # a reason of the dialog's chips reads in English too, a typed one as it was typed
    assert "Tạm dừng: Nghỉ trưa" in text and "Paused: Lunch break" in text, text
    page.screenshot(path=str(screenshot_dir / f"board-{size}.png"))
    check(page, f"paused {size}")
    # the pause reason arrives live too
    room.post("/counters/3/pause", reason="Đang họp")
    poll(page, """() => document.querySelector("#counters li[data-counter='3']")
                              .innerText.includes('Đang họp')""", timeout=10)
    assert "Paused: In a meeting" in state.inner_text()
    check(page, f"paused live {size}")
    room.post("/counters/3/pause", reason="Đi lấy con dấu")
    poll(page, """() => document.querySelector("#counters li[data-counter='3']")
                              .innerText.includes('Đi lấy con dấu')""", timeout=10)
    assert state.locator(".en").inner_text() == "Paused"
    check(page, f"paused with a typed reason {size}")
    assert not page.errors
    page.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_offline_badge_reads_from_the_back(browser: Any, live_server: LiveServer,
                                               screenshot_dir: Path, size: str) -> None:
    """The server away: the board says so in text of 24 px at least, both languages (the badge
    was 23.8 px and its English 19 px on a 1920×1080 board), and the badge covers no text of
    the board (laid over it, it hid the counters' heading), six counters busy."""
    busy(Room(live_server))
    page = open_board(browser, live_server, size)
    live_server.kill()
    page.wait_for_selector("#offline", state="visible", timeout=15_000)
    time.sleep(0.3)  # the board makes room for it
    page.screenshot(path=str(screenshot_dir / f"board-offline-{size}.png"))
    covered = page.evaluate(COVERED, "#offline")
    assert not covered, f"{size}: the offline badge covers {covered}"
    check(page, f"offline {size}")
    for part in (".vi", ".en"):  # each language's line whole, on screen, at 24 px or more
        line = page.locator(f"#offline {part}")
        assert line.is_visible(), f"{size}: the badge's {part} line is not shown"
        box = line.bounding_box()
        w, h = SIZES[size]
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= w and box["y"] >= 0
        assert float(line.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 24
    assert page.locator("#counters li").count() == 6
    page.context.close()


#: the visible texts of the board (outside `sel`) whose box meets the box of `sel`
COVERED = """(sel) => {
  const badge = document.querySelector(sel).getBoundingClientRect();
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest(sel) || e.closest('[hidden]')) continue;
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const s = getComputedStyle(e);
    if (s.display === 'none' || s.visibility === 'hidden') continue;
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.left < badge.right && badge.left < r.right && r.top < badge.bottom &&
        badge.top < r.bottom) out.push(e.tagName + ' «' + e.textContent.trim().slice(0, 30) + '»');
  }
  return out;
}"""


def test_a_quiet_portrait_board_keeps_its_recent_calls_in_one_band(
        browser: Any, live_server: LiveServer, screenshot_dir: Path) -> None:
    """One counter open, three citizens served: the recent calls' panel spread over a third
    of a portrait board, its heading adrift in the middle and the calls at the top."""
    room = Room(live_server)
    room.post("/counters/1/open")
    for _ in range(3):
        room.issue("civil-status")
    for _ in range(3):
        room.post("/counters/1/call-next")
        room.post("/counters/1/start")
        room.post("/counters/1/complete", outcome="done")
    page = open_board(browser, live_server, "portrait")
    assert page.locator("#recent li:not([hidden])").count() == 3
    panel = page.locator(".panel.recent").bounding_box()
    calls = page.locator("#recent").bounding_box()
    heading = page.locator(".panel.recent h2").bounding_box()
    assert panel and calls and heading
    # as tall as its one row of calls (and its padding), not the screen's leftover
    assert panel["height"] <= max(calls["height"], heading["height"]) + 0.02 * 1920, panel
    # the heading beside the calls, not below them
    assert abs((heading["y"] + heading["height"] / 2) - (calls["y"] + calls["height"] / 2)) \
        < calls["height"] / 2
    page.screenshot(path=str(screenshot_dir / "board-quiet-portrait.png"))
    check(page, "quiet portrait")
    assert not page.errors
    page.context.close()
