"""The whole path on a real server: kiosk POST → print worker → TCP printer, and its trouble."""

from __future__ import annotations

from pathlib import Path

import pytest
import socketio

from tests.kiosk.test_printing import wait_for
from tests.live import LiveServer
from tests.printer_drivers.escpos_decode import decode, read_qr
from tests.printer_emulator import PrinterEmulator

pytestmark = pytest.mark.slow


def test_live_server_prints_and_survives_paper_out(tmp_path: Path) -> None:
    with PrinterEmulator() as emu:
        server = LiveServer(tmp_path / "live", env={"LAYSO_PRINTER": emu.uri + "?qr=native"})
        server.init()
        server.start()
        sio = socketio.Client()
        try:
            kiosk = server.device("Kiosk", "kiosk")
            sup = server.user("giamsat", "supervisor")
            changes: list[dict] = []
            sio.on("printer.changed", changes.append)
            sio.connect(server.url, auth={"channel": "supervisor", "token": sup},
                        transports=["websocket"])

            def state(ticket: dict) -> str:
                token = ticket["status_url"].rsplit("/", 1)[1]
                return server.api("GET", f"/tickets/{token}").json()["print"]["state"]

            t1 = server.api("POST", "/tickets", kiosk, json={"service": "land"}).json()
            wait_for(lambda: state(t1) == "printed")
            page = decode(emu.received, 576)
            assert read_qr(page.image) == [t1["status_url"]]
            assert t1["status_url"].startswith(server.url + "/t/")

            emu.mode = "paper_out"
            r = server.api("POST", "/tickets", kiosk, json={"service": "land"})
            assert r.status_code == 201
            t2 = r.json()
            assert t2["print"]["state"] == "queued"  # the answer did not wait for the printer
            wait_for(lambda: state(t2) == "waiting_printer", timeout=15)
            wait_for(lambda: any(c["printer"] == "paper_out" for c in changes), timeout=5)
            assert server.api("GET", "/health").json()["printer"] == "paper_out"

            emu.mode = "ok"
            wait_for(lambda: state(t2) == "printed", timeout=10)
            assert decode(emu.received, 576).qr_data == [t1["status_url"], t2["status_url"]]
            wait_for(lambda: changes[-1]["printer"] == "ok", timeout=5)
            assert all(c["type"] == "printer.changed" and "seq" in c for c in changes)
        finally:
            sio.disconnect()
            server.kill()
