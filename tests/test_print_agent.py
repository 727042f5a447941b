"""`layso print-agent` against a real server and the TCP printer emulator: killed and restarted
agents, a restarted server, a power cut between printing and acknowledging; every ticket
printed once, in order, its bytes decoded back to the image and its QR read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from layso import db
from tests.kiosk.test_printing import wait_for
from tests.live import LiveServer
from tests.printer_drivers.escpos_decode import decode, read_qr
from tests.printer_emulator import PrinterEmulator

pytestmark = pytest.mark.slow


class Agent:
    """`layso print-agent` in a subprocess."""

    def __init__(self, server: LiveServer, token: str, printer: str, state: Path) -> None:
        self.args = [sys.executable, "-m", "layso.cli", "print-agent", "--server", server.url,
                     "--printer", printer, "--state", str(state)]
        self.env = {**os.environ, "LAYSO_AGENT_TOKEN": token,
                    "LAYSO_DATA_DIR": str(state.parent)}
        self.log = state.parent / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Agent:
        fh = open(self.log, "ab")  # noqa: SIM115 - kept open for the process's life
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=fh,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=15)
        self.proc = None


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with PrinterEmulator() as emu:
        server = LiveServer(tmp_path / "live")
        server.init()
        token = server.cli("device", "add", "Kiosk 1", "--kind", "kiosk",
                           "--printer", "agent://").strip().splitlines()[-1]
        server.start()
        agent = Agent(server, token, emu.uri + "?qr=native", tmp_path / "kiosk" / "state.json")
        (tmp_path / "kiosk").mkdir()
        try:
            yield {"server": server, "agent": agent, "emu": emu, "kiosk": token,
                   "tmp": tmp_path}
        finally:
            agent.kill()
            server.kill()


def issue(server: LiveServer, token: str, service: str = "land") -> dict[str, Any]:
    r = server.api("POST", "/tickets", token, json={"service": service})
    assert r.status_code == 201, r.text
    return dict(r.json())


def state(server: LiveServer, ticket: dict[str, Any]) -> str:
    token = ticket["status_url"].rsplit("/", 1)[1]
    return str(server.api("GET", f"/tickets/{token}").json()["print"]["state"])


def agent_state(server: LiveServer) -> str:
    printers = server.api("GET", "/health").json()["printers"]
    return str(next(p["state"] for p in printers if p["uri"] == "agent://"))


def printed(emu: PrinterEmulator) -> list[str]:
    return decode(emu.received, 576).qr_data


def test_the_agent_prints_its_kiosks_tickets_once_across_agent_and_server_restarts(
        setup) -> None:
    server, agent, emu, kiosk = setup["server"], setup["agent"], setup["emu"], setup["kiosk"]
    agent.start()
    wait_for(lambda: agent_state(server) == "ok", timeout=15)
    t1 = issue(server, kiosk)
    wait_for(lambda: state(server, t1) == "printed", timeout=10)
    page = decode(emu.received, 576)
    assert page.cuts == 1 and page.qr_data == [t1["status_url"]]
    assert read_qr(page.image) == [t1["status_url"]]

    # the agent is killed (a kiosk power cut): tickets are still issued, then all print once
    agent.kill()
    wait_for(lambda: agent_state(server) == "offline", timeout=5)
    waiting = [issue(server, kiosk, s) for s in ("land", "social", "business")]
    assert {state(server, t) for t in waiting} == {"queued"}
    agent.start()
    for t in waiting:
        wait_for(lambda t=t: state(server, t) == "printed", timeout=15)
    assert printed(emu) == [t1["status_url"]] + [t["status_url"] for t in waiting]

    # the server is killed and started again under the running agent
    server.kill()
    server.start()
    t5 = issue(server, kiosk)
    wait_for(lambda: state(server, t5) == "printed", timeout=20)
    assert printed(emu) == [t["status_url"] for t in [t1, *waiting, t5]]
    time.sleep(1.5)  # any duplicate would have come by now
    page = decode(emu.received, 576)
    assert page.cuts == 5 and len(set(page.qr_data)) == 5
    assert wait_for(lambda: agent_state(server) == "ok", timeout=10)


def test_a_job_printed_before_a_power_cut_is_acknowledged_not_printed_again(setup) -> None:
    """The agent printed a job and recorded it, then lost power before its acknowledgement
    reached the server: on restart the server sends the job again, and the agent only says
    it was printed."""
    server, agent, emu, kiosk = setup["server"], setup["agent"], setup["emu"], setup["kiosk"]
    t1 = issue(server, kiosk)
    engine = create_engine(f"sqlite:///{server.data_dir / 'layso.db'}")
    try:
        with engine.connect() as conn:
            job_id = conn.execute(select(db.print_jobs.c.id).where(
                db.print_jobs.c.ticket_id == t1["id"])).scalar_one()
    finally:
        engine.dispose()
    state_file = setup["tmp"] / "kiosk" / "state.json"
    state_file.write_text(json.dumps({"last_printed": job_id, "printed": [job_id]}))
    t2 = issue(server, kiosk)
    agent.start()
    wait_for(lambda: state(server, t2) == "printed", timeout=15)
    wait_for(lambda: state(server, t1) == "printed", timeout=5)
    assert printed(emu) == [t2["status_url"]]
    saved = json.loads(state_file.read_text())
    assert saved["printed"][-2:] == [job_id, saved["last_printed"]]


def test_the_agent_reports_paper_out_and_prints_when_refilled(setup) -> None:
    server, agent, emu, kiosk = setup["server"], setup["agent"], setup["emu"], setup["kiosk"]
    agent.start()
    wait_for(lambda: agent_state(server) == "ok", timeout=15)
    emu.mode = "paper_out"
    t = issue(server, kiosk)
    wait_for(lambda: state(server, t) == "waiting_printer", timeout=15)
    wait_for(lambda: agent_state(server) == "paper_out", timeout=5)
    assert server.api("GET", "/health").json()["printer"] == "paper_out"
    assert b"\x1dv0" not in emu.received
    emu.mode = "ok"
    wait_for(lambda: state(server, t) == "printed", timeout=15)
    assert printed(emu) == [t["status_url"]]
    wait_for(lambda: agent_state(server) == "ok", timeout=5)


def test_an_agent_the_server_refuses_says_why_not_that_it_cannot_reach_it(setup) -> None:
    """A wrong token, or a kiosk whose printer is not agent://: the agent logged 'cannot
    reach' for ever, and the staff following the docs' journalctl step chased the network."""
    server, tmp = setup["server"], setup["tmp"]
    other = server.cli("device", "add", "Kiosk 2", "--kind", "kiosk").strip().splitlines()[-1]
    for token, why in ((other, "printer is not agent://"),
                       ("x" * 43, "connects with a kiosk's device token")):
        folder = tmp / f"refused-{len(why)}"
        folder.mkdir()
        agent = Agent(server, token, setup["emu"].uri, folder / "state.json").start()
        try:
            wait_for(lambda agent=agent: "refused this print agent" in agent.log.read_text(),
                     timeout=20)
            said = agent.log.read_text()
            assert why in said, said
            assert "cannot reach" not in said, said
        finally:
            agent.kill()
