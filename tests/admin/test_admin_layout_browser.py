"""Every admin page on a 1366×768 laptop, as an admin and as a supervisor: nothing wider than
the screen, no text cut with "…", nothing under 12 px, AA contrast (a page may scroll down)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import poll
from tests.layout import measure
from tests.live import LiveServer

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PAGE_BG = "rgb(244, 246, 250)"
PAGES = ("/admin/", "/admin/settings", "/admin/services", "/admin/counters",
         "/admin/categories", "/admin/users", "/admin/devices", "/admin/audit",
         "/admin/reports", "/login")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("admin-layout") / "live")
    live.init()
    live.start()
    kiosk = live.device("Kiosk sảnh chờ", "kiosk")
    for service in ("social", "online-help", "civil-status"):
        live.api("POST", "/tickets", kiosk, json={"service": service})
    yield live
    live.kill()


def logged_in(browser: Any, server: LiveServer, username: str) -> Any:
    ctx = browser.new_context(viewport=LAPTOP, locale="vi-VN")
    page = ctx.new_page()
    page.goto(server.url + "/login?next=/admin/")
    page.fill("#username", username)
    page.fill("#password", "layso-demo")
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


@pytest.mark.parametrize("username", ["admin", "lanhdao"])
def test_every_admin_page_holds_on_a_laptop(browser: Any, server: LiveServer,
                                            username: str) -> None:
    page = logged_in(browser, server, username)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    problems = []
    for path in PAGES:
        if path == "/login":
            page.context.clear_cookies()
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        time.sleep(0.2)
        m = measure(page, min_font=12, base=PAGE_BG, gradient=PAGE_BG)
        if m["scrollW"] > m["W"]:
            problems.append(f"{path}: {m['scrollW']} px wide on a {m['W']} px laptop")
        for key in ("small", "cut", "lowContrast"):
            if m[key]:
                problems.append(f"{path}: {key} {m[key][:6]}")
        # the tabs are one row on a laptop (ten of them took two, "Báo cáo" alone below)
        rows = page.evaluate("""() => new Set([...document.querySelectorAll('.admin-nav a')]
          .filter(a => a.getBoundingClientRect().width)
          .map(a => Math.round(a.getBoundingClientRect().top))).size""")
        if rows > 1:
            problems.append(f"{path}: the tabs take {rows} rows")
    assert not problems, f"{username}: " + "; ".join(problems)
    assert not errors
    page.context.close()


#: what shows a supervisor an edit they may not make (admin.js hides and disables them)
_EDIT_CONTROLS = r"""
() => {
  const shown = (e) => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
  const out = [];
  document.querySelectorAll('[data-edit]').forEach((e) => {
    if (shown(e)) out.push(e.id || e.textContent.trim().slice(0, 30)); });
  document.querySelectorAll('form:not([data-query]) input, form:not([data-query]) select')
    .forEach((e) => { if (shown(e) && !e.disabled) out.push('field ' + (e.name || e.id)); });
  return out;
}
"""

#: search boxes whose hint is wider than the box (the hint is then cut mid-word)
_CUT_PLACEHOLDERS = r"""
() => {
  const ctx = document.createElement('canvas').getContext('2d');
  const out = [];
  document.querySelectorAll('input[placeholder]').forEach((e) => {
    const r = e.getBoundingClientRect();
    if (!r.width) return;
    const s = getComputedStyle(e);
    ctx.font = s.font;
    const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    if (ctx.measureText(e.placeholder).width > room + 1) out.push(e.placeholder);
  });
  return out;
}
"""


@pytest.mark.parametrize("size", [LAPTOP, {"width": 1920, "height": 1080}])
def test_a_supervisor_is_offered_no_edit_and_every_hint_is_whole(
        browser: Any, server: LiveServer, size: dict[str, int]) -> None:
    """Read-only means no "+ Add" button that opens a form nobody may save (a `hidden` button
    was shown by `.btn`'s display rule), and a search box shows its whole hint."""
    page = logged_in(browser, server, "lanhdao")
    page.set_viewport_size(size)
    problems = []
    for path in PAGES[1:-1]:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        page.locator("body[data-ready='1']").wait_for()
        view = page.locator("#list tbody tr .actions .btn")  # the audit's rows have none
        if view.count():  # "Xem / View" opens the form, read only
            view.first.click()
        controls = page.evaluate(_EDIT_CONTROLS)
        if controls:
            problems.append(f"{path}: a supervisor is offered {controls}")
        cut = page.evaluate(_CUT_PLACEHOLDERS)
        if cut:
            problems.append(f"{path}: hint cut {cut}")
    assert not problems, "; ".join(problems)
    page.context.close()


def test_the_priority_rule_asks_for_n_only_when_it_uses_one(browser: Any,
                                                            server: LiveServer) -> None:
    """"Priority first" has no N: the settings showed an empty, unlabelled number box under it."""
    page = logged_in(browser, server, "admin")
    page.goto(server.url + "/admin/settings")
    page.locator("body[data-ready='1']").wait_for()
    n = page.locator("input[name=policy_n]")
    poll(page, "document.querySelector('select[name=policy_kind]').value === 'strict'")
    assert not n.is_visible()
    page.select_option("select[name=policy_kind]", "ratio")
    assert n.is_visible() and "N" in (n.get_attribute("placeholder") or "")
    page.select_option("select[name=policy_kind]", "aging")
    assert "phút" in (n.get_attribute("placeholder") or "")
    page.select_option("select[name=policy_kind]", "strict")
    assert not n.is_visible()
    # the counters list says each state in both languages, like every other list
    page.goto(server.url + "/admin/counters")
    page.locator("#list tbody tr").first.wait_for()
    assert "Closed" in page.locator("#list tbody tr").first.inner_text()
    page.context.close()


def test_a_list_that_cannot_be_read_says_so_instead_of_looking_empty(
        browser: Any, server: LiveServer) -> None:
    """A 503 (or no network) while a list loads left an empty table that looked like an empty
    center: the page says it could not read its data, in words, and offers to reload."""
    page = logged_in(browser, server, "admin")
    page.route("**/api/v1/services?all=1", lambda r: r.fulfill(
        status=503, body="<h1>503 Service Unavailable</h1>", content_type="text/html"))
    page.goto(server.url + "/admin/services")
    page.locator("#load-error").wait_for()
    text = page.inner_text("#load-error")
    assert "Máy chủ tạm thời không phản hồi" in text and "Tải lại" in text
    assert "<h1>" not in text
    page.unroute("**/api/v1/services?all=1")
    page.route("**/api/v1/users", lambda r: r.abort())
    page.goto(server.url + "/admin/users")
    page.locator("#load-error").wait_for()
    assert "Không kết nối được máy chủ" in page.inner_text("#load-error")
    page.unroute("**/api/v1/users")
    page.click("#load-error button")  # reload: the list is back, and the warning gone
    page.locator("#list tbody tr").first.wait_for()
    assert page.locator("#load-error").count() == 0
    page.context.close()
