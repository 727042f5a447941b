"""Status and printing against the TCP printer emulator, and the file, dir and none printers."""

from pathlib import Path

import pytest
from PIL import Image

from printer_drivers import status as st
from printer_drivers.connection import (
    CONNECT_TIMEOUT,
    FAILED,
    PRINTED,
    SKIPPED,
    STATUS_TIMEOUT,
    WAITING_PRINTER,
    open_printer,
    print_ticket,
    test_ticket,
)
from tests.printer_drivers.escpos_decode import decode, read_qr
from tests.printer_drivers.helpers import CENTER, URL, sample_ticket
from tests.printer_emulator import PrinterEmulator


@pytest.fixture
def emu():
    with PrinterEmulator() as emulator:
        yield emulator


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("ok", "ok"),
        ("near_end", "paper_near_end"),
        ("paper_out", "paper_out"),
        ("cover_open", "cover_open"),
    ],
)
def test_status_in_each_mode(emu: PrinterEmulator, mode: str, expected: str) -> None:
    emu.mode = mode
    printer = open_printer(emu.uri)
    assert printer.status() == expected
    assert emu.status_requests[:3] == [1, 2, 4]
    printer.close()


def test_silent_printer_is_offline_within_the_timeout(emu: PrinterEmulator) -> None:
    emu.mode = "silent"
    printer = open_printer(emu.uri)
    assert printer.status() == "offline"
    assert "no valid status reply within 1 s" in (printer.last_error or "")


def test_down_printer_is_offline(emu: PrinterEmulator) -> None:
    emu.mode = "down"
    printer = open_printer(emu.uri)
    assert printer.status() == "offline"
    assert printer.last_error


def test_status_recovers_after_the_printer_comes_back(emu: PrinterEmulator) -> None:
    printer = open_printer(emu.uri)
    assert printer.status() == "ok"
    emu.mode = "down"  # drops the open connection too
    assert printer.status() == "offline"
    emu.mode = "ok"
    assert printer.status() == "ok"


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ((0x12, 0x12, 0x12), "ok"),
        ((0x16, 0x12, 0x1E), "paper_near_end"),
        ((0x1E, 0x32, 0x7E), "paper_out"),
        ((0x12, 0x32, 0x12), "paper_out"),
        ((0x1E, 0x16, 0x12), "cover_open"),
        ((0x1E, 0x12, 0x12), "offline"),
        ((0x1E, 0x52, 0x12), "offline"),
        ((0x00, 0x12, 0x12), "offline"),
        ((0x12, 0xFF, 0x12), "offline"),
    ],
)
def test_interpret_status_bits(replies: tuple[int, int, int], expected: str) -> None:
    assert st.interpret(*replies) == expected


@pytest.mark.parametrize("qr", ["image", "native"])
def test_print_ticket_sends_a_ticket_whose_qr_is_the_url(emu: PrinterEmulator, qr: str) -> None:
    printer = open_printer(f"{emu.uri}?width=512&qr={qr}")
    assert print_ticket(printer, sample_ticket()) == PRINTED
    page = decode(emu.received, 512)
    assert page.cuts == 1
    assert read_qr(page.image) == [URL]
    assert page.qr_data == ([URL] if qr == "native" else [])
    # Status was read before and after the job.
    assert page.status_requests == [1, 2, 4, 1, 2, 4]


def test_near_end_still_prints(emu: PrinterEmulator) -> None:
    emu.mode = "near_end"
    assert print_ticket(open_printer(emu.uri), sample_ticket()) == PRINTED
    assert decode(emu.received).cuts == 1


@pytest.mark.parametrize("mode", ["paper_out", "cover_open", "silent", "down"])
def test_unready_printer_waits_and_sends_no_ticket(emu: PrinterEmulator, mode: str) -> None:
    emu.mode = mode
    printer = open_printer(emu.uri)
    assert print_ticket(printer, sample_ticket()) == WAITING_PRINTER
    assert b"\x1dv0" not in emu.received
    assert b"\x1b@" not in emu.received


def test_same_printer_object_prints_again_after_paper_is_refilled(emu: PrinterEmulator) -> None:
    printer = open_printer(emu.uri)
    emu.mode = "paper_out"
    assert print_ticket(printer, sample_ticket()) == WAITING_PRINTER
    emu.mode = "down"
    assert print_ticket(printer, sample_ticket()) == WAITING_PRINTER
    emu.mode = "ok"
    assert print_ticket(printer, sample_ticket()) == PRINTED
    assert read_qr(decode(emu.received).image) == [URL]
    assert emu.connections >= 2


def test_unrenderable_ticket_fails_without_retry(emu: PrinterEmulator) -> None:
    printer = open_printer(emu.uri)
    assert print_ticket(printer, sample_ticket(), width=600) == FAILED
    assert "width" in (printer.last_error or "")
    assert emu.received == b""


def test_dir_printer_writes_bin_and_png(tmp_path: Path) -> None:
    folder = tmp_path / "tickets"
    printer = open_printer(f"dir://{folder}?width=384")
    assert printer.status() == "ok"
    assert print_ticket(printer, sample_ticket()) == PRINTED
    data = (folder / "A023.bin").read_bytes()
    png = Image.open(folder / "A023.png")
    assert png.width == 384
    assert read_qr(decode(data, 384).image) == [URL]
    assert read_qr(png) == [URL]
    # A reprint overwrites: the folder keeps the latest print of each label.
    assert print_ticket(printer, sample_ticket(ahead=0)) == PRINTED
    assert sorted(p.name for p in folder.iterdir()) == ["A023.bin", "A023.png"]


def test_dir_printer_png_shows_the_qr_in_native_mode(tmp_path: Path) -> None:
    printer = open_printer(f"dir://{tmp_path}?qr=native")
    assert print_ticket(printer, sample_ticket()) == PRINTED
    assert decode((tmp_path / "A023.bin").read_bytes()).qr_data == [URL]
    assert read_qr(Image.open(tmp_path / "A023.png")) == [URL]


def test_file_printer_writes_raw_bytes(tmp_path: Path) -> None:
    target = tmp_path / "lp0"
    target.touch()
    printer = open_printer(f"file://{target}")
    assert printer.status() == "ok"
    assert print_ticket(printer, sample_ticket()) == PRINTED
    assert read_qr(decode(target.read_bytes()).image) == [URL]
    assert open_printer("file:///nonexistent-dir/lp0").status() == "offline"


def test_none_printer_skips() -> None:
    printer = open_printer("none")
    assert printer.status() == "none"
    assert print_ticket(printer, sample_ticket()) == SKIPPED


def test_usb_without_pyusb_is_offline_not_a_crash() -> None:
    pytest.importorskip("escpos")
    printer = open_printer("usb://04b8:0202")
    state = printer.status()
    assert state == "offline"
    assert printer.last_error


def test_serial_to_a_missing_port_is_offline() -> None:
    printer = open_printer("serial:///dev/ttyNOPE0?baudrate=115200")
    assert printer.status() == "offline"
    assert printer.last_error


def test_cups_status_depends_on_lp(monkeypatch: pytest.MonkeyPatch) -> None:
    printer = open_printer("cups://Thermal80")
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert printer.status() == "offline"
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/lp")
    assert printer.status() == "ok"


def test_test_ticket_renders_and_prints(tmp_path: Path) -> None:
    ticket = test_ticket(CENTER, URL)
    assert ticket.label == "TEST"
    assert ticket.issued_at.tzinfo is not None
    printer = open_printer(f"dir://{tmp_path}")
    assert print_ticket(printer, ticket) == PRINTED
    assert (tmp_path / "TEST.png").exists()



def test_a_kiosk_learns_of_printer_trouble_within_3_seconds_by_its_timeouts() -> None:
    # a down printer costs one connect, a silent one a connect and one status query whose
    # timeout covers all three of its requests: the bound is in the timeouts, speed in bench/
    assert CONNECT_TIMEOUT + STATUS_TIMEOUT < 3
    asked: list[float] = []
    assert st.query(lambda b: None, lambda t: asked.append(t) or b"", 0.5) == "offline"
    assert len(asked) == 1 and asked[0] <= 0.5
