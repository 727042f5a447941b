"""Every kiosk screen in both languages on both kiosk screens: nothing to scroll, every button
on screen, touch targets of 64 px, AA contrast, `lang` on every part, and usable by keyboard."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import poll
from tests.layout import assert_fits, assert_langs
from tests.live import LiveServer

pytestmark = pytest.mark.browser

SIZES = {"portrait": (1080, 1920), "landscape": (1920, 1080)}
GRADIENT = "rgb(244, 246, 250)"  # the kiosk's page colour under its gradient


@pytest.fixture(scope="module")
def kiosk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server for the module, printing to a folder."""
    tmp = tmp_path_factory.mktemp("kiosk-layout")
    server = LiveServer(tmp / "live", env={"LAYSO_PRINTER": f"dir://{tmp}/tickets"})
    server.init()
    server.start()
    yield server
    server.kill()


def open_kiosk(browser: Any, server: LiveServer, size: str, token: str) -> Any:
    w, h = SIZES[size]
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="vi-VN", has_touch=True)
    ctx.add_init_script(f"localStorage.setItem('layso.kiosk.token', {json.dumps(token)})")
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server.url + "/kiosk/")
    page.wait_for_selector(".k-service")
    return page


def check(page: Any, where: str, shots: Path, name: str) -> None:
    time.sleep(0.25)  # fonts and the QR image
    page.screenshot(path=str(shots / name))
    assert_fits(page, where, min_target=64, gradient=GRADIENT)
    assert_langs(page, where)


def set_lang(page: Any, lang: str) -> None:
    if page.evaluate("document.body.classList.contains('lang-en')") != (lang == "en"):
        page.click("#lang")
    assert page.evaluate("document.documentElement.lang") == lang


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_kiosk_screen_fits(browser, kiosk_server, screenshot_dir, size, lang) -> None:
    from playwright.sync_api import expect

    token = kiosk_server.device(f"Kiosk {size} {lang}", "kiosk")
    page = open_kiosk(browser, kiosk_server, size, token)
    tag = f"{lang}-{size}"
    set_lang(page, lang)
    check(page, f"home {tag}", screenshot_dir, f"kiosk-home-{tag}.png")
    page.click("[data-service=civil-status]")
    page.wait_for_selector("#s-procedure:not([hidden])")
    check(page, f"procedure {tag}", screenshot_dir, f"kiosk-procedure-{tag}.png")
    # breadcrumb and Back stay on one line each, Back not under the crumb's width
    page.locator("#procedures .k-choice").first.click()
    page.wait_for_selector("#s-priority:not([hidden])")
    check(page, f"priority {tag}", screenshot_dir, f"kiosk-priority-{tag}.png")
    # a priority ticket, the tallest: it has the priority line (in English its Done button was
    # a three-line column that went below both screens)
    page.locator("#s-priority [data-priority]").first.click()
    page.wait_for_selector("#s-ticket:not([hidden])")
    expect(page.locator("#t-prio")).to_be_visible()
    page.wait_for_selector("#print-status[data-state=printed]", timeout=10000)
    check(page, f"ticket {tag}", screenshot_dir, f"kiosk-ticket-{tag}.png")
    done = page.locator("#done").bounding_box()
    words = page.locator("#done > span:visible").all()
    tops = [w.bounding_box()["y"] for w in words]  # one line: side by side, not stacked
    assert done and done["height"] < 130 and max(tops) - min(tops) < 20, (
        f"{tag}: Done is {done}, its words at {tops}")
    # exactly one print message at a time
    seen = page.locator("#print-status > *:visible").count()
    assert seen == 1, f"{tag}: {seen} print messages on screen"
    # the chosen language leads: its line is not smaller than the other one
    lead, other = ("en", "vi") if lang == "en" else ("vi", "en")
    sizes = page.evaluate(f"""() => {{
      const t = document.querySelector('.k-your');
      return [parseFloat(getComputedStyle(t.querySelector('.{lead}')).fontSize),
              parseFloat(getComputedStyle(t.querySelector('.{other}')).fontSize)];
    }}""")
    assert sizes[0] > sizes[1], f"{tag}: {lead} line {sizes[0]} px ≤ {other} {sizes[1]} px"
    page.evaluate("window.laysoKiosk.printState('failed')")
    check(page, f"printer trouble {tag}", screenshot_dir, f"kiosk-printer-trouble-{tag}.png")
    assert page.locator("#print-status > *:visible").count() == 1
    page.click("#done")
    page.wait_for_selector("#s-home:not([hidden])")
    # a closed service: its card on the home screen and the message when the kiosk learns late
    page.route("**/api/v1/services", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(closed(route.fetch().json()))))
    page.evaluate("window.laysoKiosk.home()")
    page.wait_for_selector(".k-service.is-closed")
    set_lang(page, lang)
    unserved = page.inner_text("[data-service=certification]")
    assert "chưa có quầy tiếp nhận" in unserved and "No counter takes this service" in unserved
    assert "Giờ cấp số" not in unserved and page.is_disabled("[data-service=certification]")
    check(page, f"closed service {tag}", screenshot_dir, f"kiosk-closed-{tag}.png")
    page.unroute("**/api/v1/services")
    page.route("**/api/v1/tickets", lambda route: route.fulfill(
        status=409, content_type="application/json",
        body=json.dumps({"error": {"code": "service_closed", "message": "closed"}})))
    page.evaluate("window.laysoKiosk.home()")
    set_lang(page, lang)
    page.click("[data-service=land]")
    page.click("#no-priority")
    page.wait_for_selector("#s-error:not([hidden])")
    check(page, f"closed message {tag}", screenshot_dir, f"kiosk-closed-message-{tag}.png")
    # the message leads in the chosen language too (it stayed Vietnamese-first in English)
    assert lead_lang(page, "#s-error .k-error-title") == lang, f"{tag}: error not {lang}-first"
    assert lead_lang(page, ".k-brand") == lang, f"{tag}: the center's name not {lang}-first"
    # the green button's leading line is white in either language, the second one pale
    colours = page.evaluate(f"""() => ['{lang}', '{'vi' if lang == 'en' else 'en'}'].map(
      l => getComputedStyle(document.querySelector('#error-ok .' + l)).color)""")
    assert colours == ["rgb(255, 255, 255)", "rgb(216, 239, 230)"], f"{tag}: {colours}"
    page.unroute_all(behavior="ignoreErrors")
    assert not page.errors
    page.context.close()


def lead_lang(page: Any, selector: str) -> str:
    """The language of the larger of the element's two language parts, the one on top."""
    return str(page.evaluate("""(sel) => {
      const parts = [...document.querySelector(sel).querySelectorAll('[lang]')]
        .filter(e => e.getBoundingClientRect().height > 0);
      const size = (e) => parseFloat(getComputedStyle(e).fontSize);
      parts.sort((a, b) => size(b) - size(a) ||
                 a.getBoundingClientRect().top - b.getBoundingClientRect().top);
      if (parts.length < 2 || size(parts[0]) === size(parts[1])) return 'same size';
      return parts[0].lang;
    }""", selector))


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_printer_warning_fits_the_home_screen(browser, kiosk_server, screenshot_dir,
                                                  size, lang) -> None:
    """The center's printer out of paper: the home screen's warning reads at AA and pushes
    nothing off screen (in portrait English it pushed the help line 97 px below the screen)."""
    token = kiosk_server.device(f"Kiosk warn {size} {lang}", "kiosk")
    w, h = SIZES[size]
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="vi-VN", has_touch=True)
    ctx.add_init_script(f"localStorage.setItem('layso.kiosk.token', {json.dumps(token)})")
    page = ctx.new_page()
    page.route("**/api/v1/health", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({**route.fetch().json(), "printer": "paper_out",
                         "printers": [{"device": None, "name": "", "state": "paper_out"}]})))
    page.goto(kiosk_server.url + "/kiosk/")
    page.wait_for_selector(".k-service")
    page.wait_for_selector("#printer-warn:not([hidden])")
    set_lang(page, lang)
    check(page, f"printer warning {size} {lang}", screenshot_dir,
          f"kiosk-home-printer-warn-{lang}-{size}.png")
    assert lead_lang(page, "#printer-warn") == lang
    page.context.close()


def closed(data: dict[str, Any]) -> dict[str, Any]:
    """The services answer with land and business closed for the day, and certification with no
    counter to take it."""
    for s in data["items"]:
        if s["code"] in ("land", "business"):
            s["open"] = False
            s["opens_at"], s["closes_at"] = "07:30", "11:30"
        if s["code"] == "certification":  # no counter takes it: the hours are not the reason
            s["open"], s["served"] = False, False
    return data


def test_the_kiosk_works_by_keyboard(browser, kiosk_server) -> None:
    """The reception desk can take a number with Tab and Enter only, and sees where it is."""
    token = kiosk_server.device("Kiosk keyboard", "kiosk")
    page = open_kiosk(browser, kiosk_server, "landscape", token)
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.service") == "land":
            break
    else:
        pytest.fail("Tab never reaches the Land service")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused card shows no focus ring"
    # another kiosk's citizen takes a number: the cards are redrawn with the new count, and the
    # desk's focus stays where it was
    before = page.inner_text("[data-service=land] .k-card-meta")
    other = kiosk_server.device("Kiosk sảnh", "kiosk")
    assert kiosk_server.api("POST", "/tickets", other, json={"service": "land"}).status_code == 201
    poll(page, "document.querySelector('[data-service=land] .k-card-meta').innerText !== "
               + json.dumps(before))
    assert page.evaluate("document.activeElement.dataset.service") == "land"
    page.keyboard.press("Enter")
    page.wait_for_selector("#s-priority:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "no-priority", "focus stays behind"
    page.keyboard.press("Enter")
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "done"
    page.keyboard.press("Enter")
    page.wait_for_selector("#s-home:not([hidden])")
    page.keyboard.press("Escape")
    page.context.close()


@pytest.fixture(scope="module")
def big_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo center with 14 services (eight more, with long names) and a result service."""
    tmp = tmp_path_factory.mktemp("kiosk-big")
    server = LiveServer(tmp / "live", env={"LAYSO_PRINTER": f"dir://{tmp}/tickets"})
    server.init()
    server.start()
    admin = server.login("admin", "layso-demo")
    for i in range(8):
        r = server.api("POST", "/services", admin, json={
            "code": f"extra-{i}", "prefix": "GHJKLMNP"[i],
            "name": {"vi": f"Lĩnh vực bổ sung số {i + 1} có tên khá dài",
                     "en": f"Additional service number {i + 1} with a long name"}})
        assert r.status_code == 201, r.text
    # a counter takes them (the kiosk issues no number for a service no counter takes)
    r = server.api("POST", "/counters", admin, json={
        "number": 6, "name": {"vi": "Quầy 6", "en": "Counter 6"},
        "services": [f"extra-{i}" for i in range(8)]})
    assert r.status_code == 201, r.text
    r = server.api("PATCH", "/center", admin, json={"result_service": "certification"})
    assert r.status_code == 200, r.text
    yield server
    server.kill()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_large_catalogue_pages_with_buttons(browser, big_catalogue, screenshot_dir,
                                              size, lang) -> None:
    """Fourteen services: pages of six turned with Next and Previous, each page fitting the
    screen, every service reachable by a tap (they ran 1,800–3,900 px down a screen that
    cannot scroll: services 7 to 14 could not be reached at all)."""
    token = big_catalogue.device(f"Kiosk big {size} {lang}", "kiosk")
    page = open_kiosk(browser, big_catalogue, size, token)
    set_lang(page, lang)
    page.wait_for_selector("#pager:not([hidden])")
    seen: list[str] = []
    for n in range(14):
        check(page, f"page {n + 1} {size} {lang}", screenshot_dir,
              f"kiosk-catalogue-page{n + 1}-{lang}-{size}.png")
        codes = page.eval_on_selector_all("#services .k-service",
                                          "bs => bs.map(b => b.dataset.service)")
        assert 0 < len(codes) <= 6, codes
        seen += codes
        assert page.locator("#page-prev").is_disabled() == (n == 0)
        if page.locator("#page-next").is_disabled():
            break
        page.click("#page-next")
    assert n <= 3, f"{size} {lang}: {n + 1} pages for 14 services"
    assert len(seen) == 14 and len(set(seen)) == 14, seen
    page.click("#page-prev")
    page.locator("#services .k-service").first.click()
    page.wait_for_selector("#s-priority:not([hidden])")
    page.click("#no-priority")
    page.wait_for_selector("#s-ticket:not([hidden])")
    page.click("#done")
    page.wait_for_selector("#s-home:not([hidden])")
    # a new citizen starts on the first page
    assert page.locator("[data-service=civil-status]").is_visible()
    assert not page.errors
    page.context.close()


def test_a_turned_page_goes_back_to_the_first_when_the_citizen_leaves(browser,
                                                                      big_catalogue) -> None:
    """The next citizen does not find the kiosk on the third page of services."""
    token = big_catalogue.device("Kiosk big idle", "kiosk")
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, has_touch=True)
    ctx.add_init_script(f"localStorage.setItem('layso.kiosk.token', {json.dumps(token)})")
    page = ctx.new_page()
    page.clock.install()
    page.goto(big_catalogue.url + "/kiosk/")
    page.wait_for_selector("#pager:not([hidden])")
    page.click("#page-next")
    assert page.locator("[data-service=civil-status]").count() == 0
    page.clock.fast_forward("01:01")
    page.wait_for_selector("[data-service=civil-status]")
    assert page.locator("#page-prev").is_disabled()
    ctx.close()
