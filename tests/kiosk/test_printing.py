"""The print worker against the TCP printer emulator: printing, trouble, recovery, reprint."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from layso import create_app
from layso.cli import init_db
from layso.config import load
from tests.conftest import Api, close_app
from tests.printer_drivers.escpos_decode import decode, read_qr
from tests.printer_emulator import PrinterEmulator


def wait_for(check: Callable[[], Any], timeout: float = 8.0) -> Any:
    """Poll check() until it is truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


@pytest.fixture
def emu() -> Iterator[PrinterEmulator]:
    with PrinterEmulator() as e:
        yield e


def make_app(tmp_path: Path, clock: Any, printer: str) -> Any:
    cfg = {"DATA_DIR": str(tmp_path), "CLOCK": clock, "PUBLIC_URL": "http://layso.test",
           "SECRET_KEY": "test-secret", "PRINTER": printer}
    init_db(load(cfg), demo=True)
    application = create_app(cfg)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def papp(tmp_path: Path, clock: Any, emu: PrinterEmulator) -> Iterator[Any]:
    application = make_app(tmp_path, clock, emu.uri + "?qr=native")
    events: list[Any] = []
    application.extensions["layso"].hub.subscribe(events.append)
    application.extensions["test_events"] = events
    yield application
    application.extensions["layso_print_worker"].stop()
    close_app(application)


def staff_tokens(application: Any) -> dict[str, str]:
    from layso import auth

    with application.extensions["layso"].db.write() as conn:
        uid = auth.add_user(conn, "o1", "password-o1", "officer", "O1")
        return {"kiosk": auth.add_device(conn, "Kiosk", "kiosk"),
                "o1": auth.issue_user_token(conn, uid, 12)}


@pytest.fixture
def papi(papp: Any) -> dict[str, Api]:
    client = papp.test_client()
    return {k: Api(client, v) for k, v in staff_tokens(papp).items()} | {"anon": Api(client)}


def print_state(api: Api, ticket: dict[str, Any]) -> str:
    token = ticket["status_url"].rsplit("/", 1)[1]
    return str(api.get(f"/tickets/{token}").get_json()["print"]["state"])


def issue(api: Api, **body: Any) -> dict[str, Any]:
    r = api.post("/tickets", json={"service": "civil-status", **body})
    assert r.status_code == 201, r.get_json()
    return dict(r.get_json())


def test_issued_ticket_prints_and_its_qr_is_the_status_url(papi, emu) -> None:
    t = issue(papi["kiosk"], priority="elderly")
    assert t["print"]["state"] == "queued"
    wait_for(lambda: print_state(papi["anon"], t) == "printed")
    page = decode(emu.received, 576)
    assert page.cuts == 1
    assert page.qr_data == [t["status_url"]]
    assert read_qr(page.image) == [t["status_url"]]
    assert t["status_url"].startswith("http://layso.test/t/")


def test_paper_out_keeps_issuing_and_alerts_then_prints_when_refilled(papp, papi, emu) -> None:
    emu.mode = "paper_out"
    t = issue(papi["kiosk"])
    wait_for(lambda: print_state(papi["anon"], t) == "waiting_printer", timeout=15)
    assert emu.received.count(b"\x1dv0") == 0  # nothing was sent to an empty printer
    events = papp.extensions["test_events"]
    alert = wait_for(lambda: [e for e in events if e.type == "printer.changed"])[-1]
    assert alert.payload["printer"] == "paper_out" and alert.payload["alert"] is True
    assert papi["anon"].get("/health").get_json()["printer"] == "paper_out"
    # a second citizen still gets a number, quickly
    t2 = issue(papi["kiosk"], service="land")
    wait_for(lambda: print_state(papi["anon"], t2) == "waiting_printer", timeout=15)

    emu.mode = "ok"
    wait_for(lambda: print_state(papi["anon"], t) == "printed", timeout=10)
    wait_for(lambda: print_state(papi["anon"], t2) == "printed", timeout=5)
    page = decode(emu.received, 576)
    assert page.qr_data == [t["status_url"], t2["status_url"]]  # in issue order
    back = [e for e in events if e.type == "printer.changed"][-1]
    assert back.payload["printer"] == "ok" and back.payload["alert"] is False
    assert papi["anon"].get("/health").get_json()["printer"] == "ok"
    printed = [e for e in events if e.type == "ticket.printed"]
    assert {e.payload["print"]["state"] for e in printed} == {"waiting_printer", "printed"}


@pytest.mark.parametrize("mode", ["silent", "cover_open", "down"])
def test_any_printer_trouble_is_reported(papi, emu, mode: str) -> None:
    emu.mode = mode
    t = issue(papi["kiosk"])
    wait_for(lambda: print_state(papi["anon"], t) == "waiting_printer", timeout=15)
    expected = {"silent": "offline", "cover_open": "cover_open", "down": "offline"}[mode]
    assert papi["anon"].get("/health").get_json()["printer"] == expected


def test_staff_reprint_prints_a_second_copy(papi, emu) -> None:
    t = issue(papi["kiosk"])
    wait_for(lambda: print_state(papi["anon"], t) == "printed")
    assert papi["kiosk"].post(f"/tickets/{t['id']}/reprint").status_code == 403
    r = papi["o1"].post(f"/tickets/{t['id']}/reprint")
    assert r.status_code == 200 and r.get_json()["print"]["state"] == "queued"
    wait_for(lambda: decode(emu.received, 576).cuts == 2)
    assert decode(emu.received, 576).qr_data == [t["status_url"]] * 2
    wait_for(lambda: print_state(papi["anon"], t) == "printed")


def test_print_jobs_record_attempts_and_errors(papp, papi, emu) -> None:
    from sqlalchemy import select

    from layso import db

    emu.mode = "cover_open"
    t = issue(papi["kiosk"])
    wait_for(lambda: print_state(papi["anon"], t) == "waiting_printer")
    emu.mode = "ok"
    wait_for(lambda: print_state(papi["anon"], t) == "printed", timeout=10)
    with papp.extensions["layso"].read() as r:
        jobs = r.conn.execute(select(db.print_jobs).where(
            db.print_jobs.c.ticket_id == t["id"])).all()
    assert len(jobs) == 1
    assert jobs[0].state == "printed" and jobs[0].attempts >= 2 and jobs[0].error is None


def test_reprint_without_a_printer_is_a_conflict(api) -> None:
    t = api["kiosk"].post("/tickets", json={"service": "land"}).get_json()
    assert t["print"]["state"] == "none"
    r = api["o1"].post(f"/tickets/{t['id']}/reprint")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_printer"
    assert api["anon"].get("/health").get_json()["printer"] == "none"


def test_tickets_left_waiting_print_when_the_server_starts_again(tmp_path, clock, emu) -> None:
    emu.mode = "paper_out"
    first = make_app(tmp_path, clock, emu.uri)
    client = first.test_client()
    kiosk = Api(client, staff_tokens(first)["kiosk"])
    t = issue(kiosk)
    wait_for(lambda: print_state(kiosk, t) == "waiting_printer")
    first.extensions["layso_print_worker"].stop()
    close_app(first)
    emu.mode = "ok"
    emu.clear()
    second = create_app({"DATA_DIR": str(tmp_path), "CLOCK": clock, "SECRET_KEY": "test-secret",
                         "PUBLIC_URL": "http://layso.test", "PRINTER": emu.uri})
    try:
        anon = Api(second.test_client())
        assert anon.get("/health").get_json()["printer"] == "ok"  # the first use starts it
        wait_for(lambda: print_state(anon, t) == "printed")
        assert read_qr(decode(emu.received, 576).image) == [t["status_url"]]
    finally:
        second.extensions["layso_print_worker"].stop()
        close_app(second)


def test_a_ticket_served_before_the_printer_came_back_is_not_printed(papi, emu) -> None:
    emu.mode = "paper_out"
    t = issue(papi["kiosk"])
    wait_for(lambda: print_state(papi["anon"], t) == "waiting_printer")
    o1 = papi["o1"]
    assert o1.post("/counters/1/open").status_code == 200
    assert o1.post("/counters/1/call-next").get_json()["label"] == t["label"]
    o1.post("/counters/1/start")
    o1.post("/counters/1/complete", json={"outcome": "done"})
    emu.mode = "ok"
    wait_for(lambda: print_state(papi["anon"], t) == "failed", timeout=10)
    assert b"\x1dv0" not in emu.received


def test_dir_printer_writes_the_ticket_files(tmp_path, clock) -> None:
    out = tmp_path / "tickets"
    application = make_app(tmp_path / "data", clock, f"dir://{out}")
    try:
        kiosk = Api(application.test_client(), staff_tokens(application)["kiosk"])
        t = issue(kiosk, service="social", lang="en")
        wait_for(lambda: print_state(kiosk, t) == "printed")
        assert (out / f"{t['label']}.bin").stat().st_size > 1000
        from PIL import Image

        assert read_qr(Image.open(out / f"{t['label']}.png")) == [t["status_url"]]
    finally:
        application.extensions["layso_print_worker"].stop()
        close_app(application)


def test_printer_test_command_reports_status(emu, capsys) -> None:
    from kiosk.printing import printer_test

    assert printer_test(emu.uri, {"PUBLIC_URL": "http://layso.test"}) == 0
    assert "ok" in capsys.readouterr().out
    assert decode(emu.received, 576).cuts == 1
    emu.mode = "paper_out"
    assert printer_test(emu.uri, {"PUBLIC_URL": "http://layso.test"}) == 1
    out = capsys.readouterr().out
    assert "paper_out" in out and "Hết giấy" in out
    assert printer_test("tcp://", {}) == 2
    assert printer_test("none", {}) == 2


def test_printer_test_prints_the_centers_local_time(tmp_path, monkeypatch) -> None:
    """A box whose clock runs on UTC still prints the test ticket in the center's time zone,
    as real tickets are."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from PIL import Image

    from kiosk.printing import printer_test
    from printer_drivers.connection import test_ticket
    from printer_drivers.ticket import render_ticket

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        zone = ZoneInfo("Asia/Ho_Chi_Minh")
        before = datetime.now(zone)
        cfg = {"PUBLIC_URL": "http://layso.test", "TIMEZONE": "Asia/Ho_Chi_Minh"}
        assert printer_test(f"dir://{tmp_path}", cfg) == 0
        after = datetime.now(zone)
        printed = Image.open(tmp_path / "TEST.png").convert("1").tobytes()
        center = "Trung tâm Phục vụ hành chính công"

        def paper(at: datetime) -> bytes:
            return render_ticket(test_ticket(center, "http://layso.test/t/TEST", at)).tobytes()

        assert printed in (paper(before), paper(after))
        assert printed != paper(before.astimezone(ZoneInfo("UTC")))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_ticket_printed_before_any_counter_opens_promises_no_turn(
        center: Any, officers: Any, kiosk_actor: Any) -> None:
    """At seven, with the counters opening at half past, the paper says how many wait ahead
    and no "almost your turn"; once a counter serving it is open, the estimate is printed."""
    from sqlalchemy import select

    from kiosk.printing import ticket_print
    from layso import db
    from layso.queue import ops
    from tests.queue.helpers import run

    def printed(ticket_id: int) -> Any:
        with center.read() as r:
            row = r.conn.execute(select(db.tickets).where(db.tickets.c.id == ticket_id)).one()
            return ticket_print(r, row)

    early = run(center, ops.issue, kiosk_actor, "civil-status")
    assert (printed(early["id"]).ahead, printed(early["id"]).eta_minutes) == (0, None)
    run(center, ops.open_counter, officers["o1"], 1)
    later = run(center, ops.issue, kiosk_actor, "civil-status")
    assert (printed(later["id"]).ahead, printed(later["id"]).eta_minutes) == (1, 5)
