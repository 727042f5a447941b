"""Helpers for the counter pages' browser tests: log in, enrol a tablet, age a ticket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from layso import db
from layso.db import Database, utcnow

DEMO_PASSWORD = "layso-demo"


def staff_page(browser: Any, server: Any, username: str, width: int = 1366,
               height: int = 768, clock: bool = False) -> Any:
    """A new browser context logged in as a demo official, on the terminal's counter picker."""
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = ctx.new_page()
    if clock:
        page.clock.install()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(server.url + "/counter/")
    expect(page).to_have_url(server.url + "/login?next=/counter/")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(server.url + "/counter/")
    return page


def pick_counter(page: Any, number: int) -> None:
    """Choose a counter on the picker (it opens when closed) and wait for the call key."""
    from playwright.sync_api import expect

    page.click(f"button.pick[data-counter='{number}']")
    expect(page.locator("#counter-state")).to_have_attribute("data-state", "open")
    expect(page.locator("#btn-call-next")).to_be_visible()
    # a counter already open shows its keys before the page's own open has answered, and
    # keys pressed while a request is in flight are dropped on purpose (one intent, one call)
    expect(page.locator("#btn-call-next")).to_be_enabled()


def tablet_page(browser: Any, server: Any, token: str, clock: bool = True) -> Any:
    """A feedback tablet (1280×800) enrolled with a device token through its first screen."""
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN",
                              has_touch=True)
    page = ctx.new_page()
    if clock:
        page.clock.install()
    page.goto(server.url + "/counter/feedback")
    expect(page.locator("body")).to_have_attribute("data-screen", "enrol")
    page.fill("#enrol-token", token)
    page.click("#enrol-submit")
    expect(page.locator("body")).to_have_attribute("data-screen", "idle")
    return page


def age_ticket(server: Any, label: str, minutes: int) -> None:
    """Pretend a ticket was issued `minutes` ago (the server runs on the real clock)."""
    database = Database(f"sqlite:///{server.data_dir / 'layso.db'}")
    try:
        with database.write() as conn:
            conn.execute(update(db.tickets).where(db.tickets.c.label == label)
                         .values(issued_at=utcnow() - timedelta(minutes=minutes)))
    finally:
        database.dispose()


def issue(server: Any, kiosk: str, service: str, priority: str | None = None) -> dict[str, Any]:
    """Issue a ticket through the API as a kiosk."""
    body: dict[str, Any] = {"service": service}
    if priority:
        body["priority"] = priority
    r = server.api("POST", "/tickets", kiosk, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


#: the terminal's command keys and the button each stands for (counter/static/terminal.js)
KEY_BUTTONS = {"Space": "btn-call-next", "F1": "btn-call-next", "o": "btn-open",
               "r": "btn-recall", "s": "btn-start", "c": "btn-complete", "v": "btn-no-show",
               "t": "btn-transfer"}


def press(page: Any, key: str) -> None:
    """Press a command key once its button is shown and enabled: the terminal ignores a
    command while a request is under way (its buttons are disabled then), as an official's
    second press of the same key would be."""
    from playwright.sync_api import expect

    # P pauses an open counter and resumes a paused one: whichever key is shown
    button = (page.locator("#btn-pause:not([hidden]), #btn-resume:not([hidden])") if key == "p"
              else page.locator("#" + KEY_BUTTONS[key]))
    expect(button).to_be_visible()
    expect(button).to_be_enabled()
    page.keyboard.press(key)


class TabletAtCounter4:
    """Counter 4 with its feedback tablet enrolled, a kiosk and a supervisor's token."""

    def __init__(self, browser: Any, server: Any) -> None:
        self.server = server
        self.kiosk = server.device("Kiosk", "kiosk")
        self.officer = server.login("lanhdao", "layso-demo")
        self.tablet = tablet_page(browser, server, server.device("Tablet 4", "feedback", 4))

    def act(self, path: str, **body: Any) -> None:
        r = self.server.api("POST", path, self.officer, json=body or None)
        assert r.status_code in (200, 201, 204), r.text

    def issue(self, n: int, lang: str) -> None:
        for _ in range(n):
            r = self.server.api("POST", "/tickets", self.kiosk,
                                json={"service": "social", "lang": lang})
            assert r.status_code == 201, r.text

    def serve(self) -> None:
        """Call, serve and complete the next citizen: the tablet asks for a rating."""
        for step in ("call-next", "start"):
            self.act(f"/counters/4/{step}")
        self.act("/counters/4/complete", outcome="done")

