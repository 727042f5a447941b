"""A printer per kiosk: each kiosk's tickets print on its own TCP printer, trouble stays with
that kiosk, the reception desk reprints anywhere; and the `printer` channel of print agents."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from layso import auth, create_app, db
from layso.queue import printing
from tests.conftest import Api, close_app
from tests.kiosk.test_printing import issue, make_app, print_state, wait_for
from tests.printer_drivers.escpos_decode import decode, read_qr
from tests.printer_emulator import PrinterEmulator


@pytest.fixture
def emus() -> Iterator[tuple[PrinterEmulator, PrinterEmulator]]:
    with PrinterEmulator() as a, PrinterEmulator() as b:
        yield a, b


@pytest.fixture
def kapp(tmp_path, clock) -> Iterator[Any]:
    """The app with no center printer (every printer is a kiosk's own)."""
    application = make_app(tmp_path, clock, "none")
    events: list[Any] = []
    application.extensions["layso"].hub.subscribe(events.append)
    application.extensions["test_events"] = events
    yield application
    application.extensions["layso_printers"].stop()
    close_app(application)


def devices(application: Any) -> dict[str, Any]:
    """Two kiosks, an admin and an officer, as API clients; the kiosks' ids."""
    client = application.test_client()
    with application.extensions["layso"].db.write() as conn:
        adm = auth.issue_user_token(conn, auth.add_user(conn, "adm", "password-adm", "admin",
                                                        "ADM"), 12)
        o1 = auth.issue_user_token(conn, auth.add_user(conn, "o1", "password-o1", "officer",
                                                       "O1"), 12)
        k1 = auth.add_device(conn, "Kiosk 1", "kiosk")
        k2 = auth.add_device(conn, "Kiosk 2", "kiosk")
        ids = [conn.execute(select(db.devices.c.id).where(
            db.devices.c.token_hash == auth.token_digest(k))).scalar() for k in (k1, k2)]
    return {"client": client, "adm": adm, "k1": Api(client, k1), "k2": Api(client, k2),
            "o1": Api(client, o1), "anon": Api(client), "ids": ids}


def set_printer(d: dict[str, Any], device_id: int, uri: str | None) -> Any:
    return d["client"].patch(f"/api/v1/devices/{device_id}", json={"printer": uri},
                             headers={"Authorization": f"Bearer {d['adm']}"})


def test_a_reprint_on_the_centers_printer_when_it_has_none_is_a_conflict(kapp) -> None:
    d = devices(kapp)
    t = issue(d["k1"])
    r = d["o1"].post(f"/tickets/{t['id']}/reprint", json={"center": True})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_printer"


@pytest.mark.parametrize("uri, says", [
    ("tcp://", "host"), ("usb://zz:01", "VID:PID"), ("lpt1", "no scheme"),
    ("agent://kiosk-1", "agent://"), ("tcp://127.0.0.1:99999", "port"),
    ("tcp://127.0.0.1?width=600", "width"),
])
def test_a_bad_printer_uri_is_422_with_the_reason(kapp, uri: str, says: str) -> None:
    d = devices(kapp)
    r = set_printer(d, d["ids"][0], uri)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "invalid_printer" and says in err["message"]


def test_two_kiosks_print_on_their_own_printers_and_trouble_stays_with_one(kapp, emus) -> None:
    a, b = emus
    d = devices(kapp)
    k1, k2 = d["ids"]
    assert set_printer(d, k1, a.uri + "?qr=native").status_code == 200
    assert set_printer(d, k2, b.uri + "?qr=native").get_json()["printer"] == b.uri + "?qr=native"
    t1 = issue(d["k1"])
    t2 = issue(d["k2"], service="land")
    wait_for(lambda: print_state(d["anon"], t1) == "printed")
    wait_for(lambda: print_state(d["anon"], t2) == "printed")
    assert decode(a.received, 576).qr_data == [t1["status_url"]]
    assert read_qr(decode(b.received, 576).image) == [t2["status_url"]]

    health = d["anon"].get("/health").get_json()
    assert {(p["device"], p["uri"], p["state"]) for p in health["printers"]} == {
        (k1, a.uri + "?qr=native", "ok"), (k2, b.uri + "?qr=native", "ok")}
    assert health["printer"] == "ok"

    a.mode = "paper_out"
    b.clear()
    t3 = issue(d["k1"])
    wait_for(lambda: print_state(d["anon"], t3) == "waiting_printer", timeout=3)
    t4 = issue(d["k2"])
    wait_for(lambda: print_state(d["anon"], t4) == "printed")
    assert decode(b.received, 576).qr_data == [t4["status_url"]]
    events = kapp.extensions["test_events"]
    change = wait_for(lambda: [e for e in events if e.type == "printer.changed"])[-1]
    assert change.payload["printer"] == "paper_out"
    assert change.payload["device"] == {"id": k1, "name": "Kiosk 1"}
    health = d["anon"].get("/health").get_json()
    assert {p["device"]: p["state"] for p in health["printers"]} == {
        k1: "paper_out", k2: "ok"}
    assert health["printer"] == "paper_out"  # the worst of them

    # the reception desk reprints the waiting ticket on the other kiosk's printer
    r = d["o1"].post(f"/tickets/{t3['id']}/reprint", json={"device": k2})
    assert r.status_code == 200 and r.get_json()["print"]["state"] == "queued"
    wait_for(lambda: print_state(d["anon"], t3) == "printed")
    assert decode(b.received, 576).qr_data == [t4["status_url"], t3["status_url"]]
    a.mode = "ok"  # the replaced job on the first printer is never printed
    wait_for(lambda: [e for e in events if e.type == "printer.changed"][-1]
             .payload["printer"] == "ok", timeout=10)
    assert decode(a.received, 576).qr_data == [t1["status_url"]]
    with kapp.extensions["layso"].read() as rd:
        jobs = rd.conn.execute(select(db.print_jobs).where(
            db.print_jobs.c.ticket_id == t3["id"]).order_by(db.print_jobs.c.id)).all()
    assert [(j.device_id, j.state) for j in jobs] == [(k1, "failed"), (k2, "printed")]
    assert jobs[0].error == "replaced by a reprint"



def test_a_restart_prints_a_kiosks_waiting_ticket_on_that_kiosk_only(tmp_path, clock,
                                                                     emus) -> None:
    """The center's printer takes up the day's open jobs of its own route when it starts,
    never another printer's: a kiosk's ticket waiting for paper is not printed twice."""
    a, b = emus
    b.mode = "paper_out"
    first = make_app(tmp_path, clock, a.uri + "?qr=native")
    try:
        d = devices(first)
        assert set_printer(d, d["ids"][1], b.uri + "?qr=native").status_code == 200
        waiting = issue(d["k2"])
        wait_for(lambda: print_state(d["anon"], waiting) == "waiting_printer")
    finally:
        first.extensions["layso_printers"].stop()
        close_app(first)
    assert b"\x1dv0" not in a.received + b.received
    second = create_app({"DATA_DIR": str(tmp_path), "CLOCK": clock, "SECRET_KEY": "test-secret",
                         "PUBLIC_URL": "http://layso.test", "PRINTER": a.uri + "?qr=native"})
    try:
        k1 = Api(second.test_client(), d["k1"].token)
        anon = Api(second.test_client())
        later = issue(k1)  # the center's worker starts here, and takes up its open jobs first
        wait_for(lambda: print_state(anon, later) == "printed")
        assert decode(a.received, 576).qr_data == [later["status_url"]]
        assert print_state(anon, waiting) == "waiting_printer"
        b.mode = "ok"
        wait_for(lambda: print_state(anon, waiting) == "printed", timeout=15)
        assert decode(b.received, 576).qr_data == [waiting["status_url"]]
        assert decode(a.received, 576).qr_data == [later["status_url"]]
    finally:
        second.extensions["layso_printers"].stop()
        close_app(second)


def test_a_kiosk_without_its_own_printer_uses_the_centers(tmp_path, clock, emus) -> None:
    a, b = emus
    application = make_app(tmp_path, clock, a.uri + "?qr=native")
    try:
        d = devices(application)
        k1, k2 = d["ids"]
        assert set_printer(d, k2, b.uri + "?qr=native").status_code == 200
        t1, t2 = issue(d["k1"]), issue(d["k2"])
        wait_for(lambda: print_state(d["anon"], t1) == "printed")
        wait_for(lambda: print_state(d["anon"], t2) == "printed")
        assert decode(a.received, 576).qr_data == [t1["status_url"]]
        assert decode(b.received, 576).qr_data == [t2["status_url"]]
        # a reprint with no device goes where the ticket printed first
        assert d["o1"].post(f"/tickets/{t2['id']}/reprint").status_code == 200
        wait_for(lambda: decode(b.received, 576).cuts == 2)
        printers = d["anon"].get("/health").get_json()["printers"]
        assert [(p["device"], p["state"]) for p in printers] == [(None, "ok"), (k2, "ok")]
        # a kiosk whose printer is none prints nothing; reprinting there is a conflict
        assert set_printer(d, k1, "none").status_code == 200
        t3 = issue(d["k1"])
        assert t3["print"]["state"] == "none"
        r = d["o1"].post(f"/tickets/{t3['id']}/reprint", json={"device": k1})
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_printer"
        r = d["o1"].post(f"/tickets/{t3['id']}/reprint", json={"device": 999})
        assert r.status_code == 404
        # the help desk reprints the second kiosk's ticket on the center's printer
        r = d["o1"].post(f"/tickets/{t2['id']}/reprint", json={"center": True})
        assert r.status_code == 200, r.get_json()
        wait_for(lambda: decode(a.received, 576).qr_data == [t1["status_url"], t2["status_url"]])
        for bad in ({"center": True, "device": k2}, {"center": "yes"}):
            r = d["o1"].post(f"/tickets/{t2['id']}/reprint", json=bad)
            assert r.status_code == 422, bad
    finally:
        application.extensions["layso_printers"].stop()
        close_app(application)


# -- the `printer` channel, in process ---------------------------------------------------------

def agent_client(application: Any, token: str, **auth_data: Any) -> Any:
    rt = application.extensions["layso_realtime"]
    return rt.socketio.test_client(application, auth={"channel": "printer", "token": token,
                                                       **auth_data})


def jobs_of(client: Any) -> list[dict[str, Any]]:
    """The jobs a test agent received, once each (a job made while it connected can come both
    in the connect replay and live: the agent keeps one)."""
    got: dict[int, dict[str, Any]] = {}
    for m in client.get_received():
        if m["name"] == "print.job":
            got.setdefault(m["args"][0]["job"], m["args"][0])
    return sorted(got.values(), key=lambda j: j["job"])


def test_the_printer_channel_sends_jobs_in_order_and_acks_are_idempotent(kapp) -> None:
    d = devices(kapp)
    k1, k2 = d["ids"]
    assert set_printer(d, k1, "agent://").status_code == 200
    # a kiosk whose printer is not agent:// cannot connect as an agent, nor can a stranger
    assert not agent_client(kapp, d["k2"].token).is_connected()
    assert not agent_client(kapp, "dk_not-a-real-token-000").is_connected()
    t1, t2 = issue(d["k1"]), issue(d["k1"], service="land")
    issue(d["k2"])  # the other kiosk's ticket is not this agent's
    sock = agent_client(kapp, d["k1"].token, status="ok")
    assert sock.is_connected()
    got = jobs_of(sock)
    assert [j["ticket"]["label"] for j in got] == [t1["label"], t2["label"]]
    assert got[0]["job"] < got[1]["job"]
    assert got[0]["ticket"]["status_url"] == t1["status_url"]
    assert 0 < got[0]["expires_in"] <= printing.MAX_WAIT_SECONDS
    health = d["anon"].get("/health").get_json()
    assert {p["device"]: p["state"] for p in health["printers"]} == {k1: "ok"}

    ack = sock.emit("print.ack", {"job": got[0]["job"], "state": "printed"}, callback=True)
    assert ack == {"ok": True, "job": got[0]["job"]}
    assert print_state(d["anon"], t1) == "printed"
    # a repeated ack (after a cut) changes nothing; a stranger's job id is refused
    assert sock.emit("print.ack", {"job": got[0]["job"], "state": "failed"},
                     callback=True)["ok"] is True
    assert print_state(d["anon"], t1) == "printed"
    assert sock.emit("print.ack", {"job": 10_000, "state": "printed"},
                     callback=True)["error"]["code"] == "unknown_job"
    assert sock.emit("print.ack", {"job": got[1]["job"], "state": "lost"},
                     callback=True)["error"]["code"] == "invalid_print_state"

    # a new ticket reaches the connected agent; sync sends what is still open
    # (a job made while the agent connected may come again, live, after its replay: the agent
    # keeps one of each, and so does this test)
    seen = {j["job"] for j in got}
    t3 = issue(d["k1"])
    live = wait_for(lambda: [j for j in jobs_of(sock) if j["job"] not in seen] or None)
    assert [j["ticket"]["label"] for j in live] == [t3["label"]]
    assert sock.emit("print.sync", {}, callback=True) == {"ok": True, "jobs": 2}
    assert [j["ticket"]["label"] for j in jobs_of(sock)] == [t2["label"], t3["label"]]

    # status reports become printer.changed naming the kiosk; a gone agent is offline
    assert sock.emit("print.status", {"status": "paper_out", "error": "no paper"},
                     callback=True) == {"ok": True}
    events = kapp.extensions["test_events"]
    change = [e for e in events if e.type == "printer.changed"][-1]
    assert change.payload["printer"] == "paper_out" and change.payload["device"]["id"] == k1
    sock.disconnect()
    assert d["anon"].get("/health").get_json()["printers"][0]["state"] == "offline"


def test_a_job_that_waited_too_long_is_marked_not_sent(kapp, clock) -> None:
    d = devices(kapp)
    k1 = d["ids"][0]
    assert set_printer(d, k1, "agent://").status_code == 200
    old = issue(d["k1"])
    clock.advance(seconds=printing.MAX_WAIT_SECONDS + 1)
    fresh = issue(d["k1"])
    sock = agent_client(kapp, d["k1"].token, status="ok")
    replayed = jobs_of(sock)
    assert [j["ticket"]["label"] for j in replayed] == [fresh["label"]]
    assert print_state(d["anon"], old) == "failed"
    with kapp.extensions["layso"].read() as rd:
        job = rd.conn.execute(select(db.print_jobs).where(
            db.print_jobs.c.ticket_id == old["id"])).first()
    assert job.state == "failed" and job.error.startswith("expired")
    # the desk can still print it now, on purpose: a fresh job (the fresh ticket's job may come
    # again, live, after its replay; the agent keeps one of each, and so does this test)
    seen = {j["job"] for j in replayed}
    assert d["o1"].post(f"/tickets/{old['id']}/reprint").status_code == 200
    again = wait_for(lambda: [j for j in jobs_of(sock) if j["job"] not in seen] or None)
    assert [j["ticket"]["label"] for j in again] == [old["label"]]
    sock.disconnect()


def test_the_server_worker_marks_a_late_job_instead_of_printing_it(kapp, clock, emus) -> None:
    a, _ = emus
    d = devices(kapp)
    assert set_printer(d, d["ids"][0], a.uri).status_code == 200
    a.mode = "paper_out"
    t = issue(d["k1"])
    wait_for(lambda: print_state(d["anon"], t) == "waiting_printer", timeout=3)
    clock.advance(seconds=printing.MAX_WAIT_SECONDS + 1)
    a.mode = "ok"
    wait_for(lambda: print_state(d["anon"], t) == "failed", timeout=10)
    assert b"\x1dv0" not in a.received


def test_a_printer_no_kiosk_uses_any_more_stops_and_a_moved_one_names_its_new_kiosk(
        kapp, emus) -> None:
    """A printer taken off a kiosk was polled for ever (a typo'd address logged 'offline'
    every 3 s), and its paper-out still came as that kiosk's alert; moved to another kiosk,
    its events kept naming the first."""
    a, _ = emus
    d = devices(kapp)
    k1, k2 = d["ids"]
    events = kapp.extensions["test_events"]
    assert set_printer(d, k1, a.uri).status_code == 200
    t1 = issue(d["k1"])
    wait_for(lambda: print_state(d["anon"], t1) == "printed")
    a.mode = "paper_out"
    t2 = issue(d["k1"])
    wait_for(lambda: print_state(d["anon"], t2) == "waiting_printer", timeout=3)
    # the kiosk's printer is taken off: its worker stops, the waiting job fails for a reprint
    assert set_printer(d, k1, None).status_code == 200
    wait_for(lambda: print_state(d["anon"], t2) == "failed")
    router = kapp.extensions["layso_printers"]
    wait_for(lambda: a.uri not in router.workers)
    health = d["anon"].get("/health").get_json()
    assert [p["uri"] for p in health["printers"]] == []
    seen = len(events)
    connections = a.connections
    a.mode = "ok"
    time.sleep(4)  # longer than a troubled printer's poll: nobody asks it any more
    assert [e for e in events[seen:] if e.type == "printer.changed"] == []
    assert a.connections == connections
    # given to the second kiosk, the printer is that kiosk's in its events
    assert set_printer(d, k2, a.uri).status_code == 200
    t3 = issue(d["k2"])
    wait_for(lambda: print_state(d["anon"], t3) == "printed")
    a.mode = "paper_out"
    issue(d["k2"])
    change = wait_for(lambda: [e for e in events[seen:] if e.type == "printer.changed"
                               and e.payload["printer"] == "paper_out"])[-1]
    assert change.payload["device"] == {"id": k2, "name": "Kiosk 2"}
    with kapp.extensions["layso"].read() as rd:
        job = rd.conn.execute(select(db.print_jobs).where(
            db.print_jobs.c.ticket_id == t2["id"])).first()
    assert job.state == "failed" and job.error == "the kiosk's printer was changed"
