"""Every page works under its Content-Security-Policy, enforced (issue 16, point 11)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import poll

pytestmark = pytest.mark.slow


def watched(ctx: Any) -> tuple[Any, list[str]]:
    """A new page of ctx, and the CSP violations and script errors it meets."""
    page = ctx.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: violations.append(str(e)))
    return page, violations


def test_the_pages_run_with_the_csp_enforced(browser: Any, live_server: Any) -> None:
    kiosk = live_server.device("Kiosk CSP", "kiosk")
    ticket = live_server.api("POST", "/tickets", kiosk, json={"service": "land"}).json()
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page, violations = watched(ctx)
    try:
        # the board: its scripts, its socket (connect-src 'self' covers ws://) and a snapshot
        page.goto(live_server.url + "/display/")
        poll(page, "window.LaysoBoard && LaysoBoard.snapshots >= 1")
        # the citizen's phone gets its ticket's updates
        page.goto(ticket["status_url"])
        poll(page, "window.laysoPhone && window.laysoPhone.updates > 0")
        # the kiosk's enrolment screen and the tablet's
        page.goto(live_server.url + "/kiosk/")
        page.wait_for_selector("body")
        page.goto(live_server.url + "/counter/feedback")
        page.wait_for_selector("body")
        # the login page's script (once inline, now a file) logs an official in
        page.goto(live_server.url + "/counter/")
        page.fill("#username", "canbo1")
        page.fill("#password", "layso-demo")
        page.click("#login-submit")
        page.wait_for_url(live_server.url + "/counter/")
        poll(page, "document.querySelectorAll('button.pick').length > 0")
        assert violations == []
    finally:
        ctx.close()


def test_the_admin_pages_run_with_the_csp_enforced(browser: Any, live_server: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page, violations = watched(ctx)
    try:
        page.goto(live_server.url + "/login?next=/admin/settings")
        page.fill("#username", "admin")
        page.fill("#password", "layso-demo")
        page.click("#login-submit")
        page.wait_for_url(live_server.url + "/admin/settings")
        for path in ("settings", "services", "counters", "categories", "users", "devices",
                     "audit"):
            page.goto(f"{live_server.url}/admin/{path}")
            poll(page, "document.body.dataset.ready === '1'")
        page.goto(live_server.url + "/admin/reports?by=day")
        page.wait_for_selector("table.report")
        # Chart.js draws under the CSP (no inline style or script of its own)
        poll(page, "document.body.dataset.chartsReady === '1'")
        # the dashboard's alerts arrive by the API (and its beep needs no inline script)
        page.goto(live_server.url + "/admin/")
        poll(page, "document.getElementById('alerts').dataset.count === '0'")
        assert violations == []
    finally:
        ctx.close()
