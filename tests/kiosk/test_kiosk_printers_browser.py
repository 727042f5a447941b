"""Two kiosks, each with its own printer, in Debian's Chromium: only the kiosk whose printer is
in trouble warns its citizens; the other goes on as usual."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.test_kiosk_browser import close_contexts, enrol, kiosk_page
from tests.live import LiveServer
from tests.printer_emulator import PrinterEmulator

pytestmark = pytest.mark.browser


def test_only_the_kiosk_with_printer_trouble_shows_it(browser, tmp_path: Path,
                                                      screenshot_dir: Path) -> None:
    with PrinterEmulator("paper_out") as bad, PrinterEmulator() as good, \
            PrinterEmulator() as desk_printer:
        server = LiveServer(tmp_path / "live",
                            env={"LAYSO_PRINTER": desk_printer.uri + "?qr=native"})
        server.init()
        t_bad = server.cli("device", "add", "Kiosk 1", "--kind", "kiosk", "--printer",
                           bad.uri + "?qr=native").strip().splitlines()[-1]
        t_good = server.cli("device", "add", "Kiosk 2", "--kind", "kiosk", "--printer",
                            good.uri + "?qr=native").strip().splitlines()[-1]
        server.start()
        try:
            one = kiosk_page(browser, server, 1920, 1080)
            enrol(one, t_bad)
            two = kiosk_page(browser, server, 1920, 1080)
            enrol(two, t_good)
            one.click("[data-service=social]")
            one.click("#no-priority")
            one.wait_for_selector("#print-status[data-state=trouble]", timeout=15000)
            one.click("#done")
            one.wait_for_selector("#printer-warn:not([hidden])")
            one.screenshot(path=str(screenshot_dir / "kiosk-own-printer-trouble.png"))

            two.click("[data-service=land]")
            two.click("#no-priority")
            two.wait_for_selector("#print-status[data-state=printed]", timeout=5000)
            two.click("#done")
            two.wait_for_selector(".k-service")
            time.sleep(0.5)
            assert two.locator("#printer-warn").is_hidden()
            assert b"\x1dv0" in good.received and b"\x1dv0" not in bad.received
            assert one.errors == [] and two.errors == []

            # the reception desk issues (on the center's printer) and prints again on Kiosk 2's,
            # then on the center's
            server.cli("user", "add", "letan", "--role", "officer",
                       env={"LAYSO_PASSWORD": "password-123"})
            desk = kiosk_page(browser, server, 1920, 1080, "reception")
            desk.evaluate("""async () => { await fetch('/api/v1/auth/login', {method: 'POST',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({username: 'letan', password: 'password-123'})}); }""")
            desk.goto(server.url + "/kiosk/reception")
            desk.wait_for_selector(".k-service")
            desk.click("[data-service=business]")
            desk.click("#no-priority")
            desk.wait_for_selector("#s-ticket:not([hidden])")
            label = desk.inner_text("#t-label")
            assert desk.is_visible("#reprint") and desk.is_visible("#reprint-on")
            options = desk.locator("#reprint-on option").all_inner_texts()
            assert options[1:] == ["Máy in của Trung tâm / The center's printer", "Kiosk 1 ⚠",
                                   "Kiosk 2"]
            desk.select_option("#reprint-on", label="Kiosk 2")
            desk.screenshot(path=str(screenshot_dir / "kiosk-reception-reprint-on.png"))
            reprint_on(desk, str(two_id(server)), good)
            desk.wait_for_selector("#print-status[data-state=printed]", timeout=5000)
            said = desk.inner_text("#print-status")  # the desk's words, not the citizen's
            assert "hand the ticket to the citizen" in said and "printer below" not in said
            reprint_on(desk, "center", desk_printer)
            # later, the desk finds that number again (a citizen whose paper never came)
            desk.click("#done")
            desk.wait_for_selector("#find-form:not([hidden])")
            desk.fill("#find-label", "zz9")
            desk.click("#find-go")
            desk.wait_for_selector("#find-msg:not([hidden])")
            assert "No number ZZ9 is waiting or at a counter today" in desk.inner_text("#find-msg")
            desk.fill("#find-label", label.lower())
            desk.screenshot(path=str(screenshot_dir / "kiosk-reception-find.png"))
            desk.click("#find-go")
            desk.wait_for_selector("#s-ticket:not([hidden])")
            assert desk.inner_text("#t-label") == label and desk.is_visible("#reprint")
            reprint_on(desk, "center", desk_printer)
            assert label.startswith("E") and desk.errors == []
        finally:
            close_contexts()
            server.kill()


def reprint_on(desk: Any, choice: str, printer: PrinterEmulator) -> None:
    """Choose the printer under 'Print on', press Reprint, and see one more ticket come out."""
    before = printer.received.count(b"\x1dv0")
    desk.select_option("#reprint-on", value=choice)
    desk.click("#reprint")
    deadline = time.monotonic() + 10
    while printer.received.count(b"\x1dv0") == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert printer.received.count(b"\x1dv0") > before


def two_id(server: LiveServer) -> int:
    """Kiosk 2's device id, as the desk's printer list names it."""
    printers = server.api("GET", "/health").json()["printers"]
    return int(next(p["device"] for p in printers if p["name"] == "Kiosk 2"))
