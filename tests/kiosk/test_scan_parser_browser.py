"""The kiosk's one parser of scans (kiosk/static/scan.js), run in Debian's Chromium: chip ID
card QR layouts, the age rule at its boundary, and receipts' dossier codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

SCAN_JS = Path(__file__).resolve().parents[2] / "kiosk" / "static" / "scan.js"


@pytest.fixture(scope="module")
def scan(browser: Any) -> Iterator[Any]:
    """`scan(fn, *args)`: call LaysoScan.fn in the browser and return its answer (one page
    for the module: the parser keeps no state)."""
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto("about:blank")
    page.add_script_tag(path=str(SCAN_JS))

    def call(fn: str, *args: Any) -> Any:
        return page.evaluate("([fn, args]) => window.LaysoScan[fn](...args)", [fn, list(args)])
    yield call
    ctx.close()


TODAY = {"y": 2026, "m": 12, "d": 3}
ADDRESS = "Thôn 3, Xã Thọ Xuân, Tỉnh Thanh Hóa"


@pytest.mark.parametrize("text,card", [
    # the chip card's layout, with the old 9-digit ID
    (f"038060001234|172345678|Nguyễn Văn A|15041960|Nam|{ADDRESS}|12082021",
     {"id": "038060001234", "birth": {"y": 1960, "m": 4, "d": 15}, "birthYear": 1960}),
    # no old ID (a first card), and the scanner's CR/LF at the end
    (f"038165001234||Lê Thị B|01021965|Nữ|{ADDRESS}|20042021\r\n",
     {"id": "038165001234", "birth": {"y": 1965, "m": 2, "d": 1}, "birthYear": 1965}),
    # a scanner that cannot type Vietnamese letters drops or garbles them: fields still count
    ("001056012345|012345678|Nguyn Vn C|29021956|Nam|Thn 3, X Th Xun|01072022",
     {"id": "001056012345", "birth": {"y": 1956, "m": 2, "d": 29}, "birthYear": 1956}),
    # fields missing at the end, or only the number: the birth year from the number itself
    ("001058012345|012345678|Nguyễn Văn C",
     {"id": "001058012345", "birth": None, "birthYear": 1958}),
    ("001158012345", {"id": "001158012345", "birth": None, "birthYear": 1958}),
    ("079203001234||", {"id": "079203001234", "birth": None, "birthYear": 2003}),
    # wrong dates: 31 February (the issue date is never taken for it), zeros, another
    # format, a birth in the future, a date that is not the number's birth year
    ("038060001234||A|31021960|Nam|X|12082021",
     {"id": "038060001234", "birth": None, "birthYear": 1960}),
    ("038060001234||A|15041961|Nam|X|12082021",
     {"id": "038060001234", "birth": None, "birthYear": 1960}),
    ("038060001234||A|00000000|Nam|X|",
     {"id": "038060001234", "birth": None, "birthYear": 1960}),
    ("038060001234||A|1960-04-15|Nam|X|",
     {"id": "038060001234", "birth": None, "birthYear": 1960}),
    ("038060001234||A|15042030|Nam|X|",
     {"id": "038060001234", "birth": None, "birthYear": 1960}),
    # the newer card (thẻ căn cước, 2024) lists other fields: the date is found where it is,
    # the earliest date of the text (its issue date comes later)
    ("038060001234|172345678|NGUYEN VAN A|Nam|01072024|15041960|Cha: NGUYEN VAN X|038030000001",
     {"id": "038060001234", "birth": {"y": 1960, "m": 4, "d": 15}, "birthYear": 1960}),
    ("038060001234|172345678|NGUYEN VAN A|Cha: NGUYEN VAN X|038030000001|Mẹ: LE THI Y",
     {"id": "038060001234", "birth": None, "birthYear": 1960}),
    # spaces around fields, a BOM
    ("\ufeff 038060001234 | 172345678 | A | 15041960 | Nam ",
     {"id": "038060001234", "birth": {"y": 1960, "m": 4, "d": 15}, "birthYear": 1960}),
])
def test_card_layouts(scan, text, card) -> None:
    assert scan("parseCard", text, TODAY) == card


@pytest.mark.parametrize("text", ["", "hello", "000.00.17.H56-251202-0007", "12345678901",
                                  "0380600012345|x", "|||", "172345678|Nguyễn Văn A|15041960",
                                  "https://example.invalid/?q=038060001234"])
def test_what_is_not_a_card(scan, text) -> None:
    assert scan("parseCard", text, TODAY) is None


@pytest.mark.parametrize("birth,today,elderly", [
    ("03121966", {"y": 2026, "m": 12, "d": 3}, True),    # 60 today
    ("04121966", {"y": 2026, "m": 12, "d": 3}, False),   # 60 tomorrow
    ("31121966", {"y": 2026, "m": 12, "d": 3}, False),
    ("02121966", {"y": 2026, "m": 12, "d": 3}, True),
    ("01011930", {"y": 2026, "m": 12, "d": 3}, True),
    ("01011990", {"y": 2026, "m": 12, "d": 3}, False),
    ("29021964", {"y": 2024, "m": 2, "d": 28}, False),   # born on 29 February
    ("29021964", {"y": 2024, "m": 2, "d": 29}, True),
    ("29021964", {"y": 2025, "m": 2, "d": 28}, True),
])
def test_the_elderly_age_at_its_boundary(scan, birth, today, elderly) -> None:
    # a man born in the 1900s: the number's 4th digit 0, then the year's last two digits
    number = f"0380{birth[-2:]}001234"
    card = scan("parseCard", f"{number}||A|{birth}|Nam|X|01012021", today)
    assert card["birth"] is not None
    assert scan("isElderly", card, today) is elderly


@pytest.mark.parametrize("today,elderly", [
    ({"y": 2026, "m": 12, "d": 30}, False),  # born in 1966: 60 by now only if not in December
    ({"y": 2026, "m": 12, "d": 31}, True),   # 60 whatever the birthday
    ({"y": 2027, "m": 1, "d": 1}, True),
])
def test_with_only_the_birth_year_elderly_is_proposed_when_certain(scan, today,
                                                                  elderly) -> None:
    card = scan("parseCard", "038066001234||A", today)
    assert card == {"id": "038066001234", "birth": None, "birthYear": 1966}
    assert scan("isElderly", card, today) is elderly


@pytest.mark.parametrize("text,code", [
    ("000.00.17.H56-251202-0007", "000.00.17.H56-251202-0007"),
    ("000.00.17.h56-251202-0007\r\n", "000.00.17.H56-251202-0007"),
    ("H56.22-240101-12345", "H56.22-240101-12345"),
    ("https://dichvucong.example.invalid/tra-cuu-ho-so?maHoSo=000.00.17.H56-251202-0007&x=1",
     "000.00.17.H56-251202-0007"),
    ("https://dichvucong.example.invalid/tra-cuu/000.00.17.H56-251202-0007",
     "000.00.17.H56-251202-0007"),
    ("Mã hồ sơ: 000.00.17.H56-251202-0007 - Ngày hẹn trả: 09/12/2025",
     "000.00.17.H56-251202-0007"),
])
def test_receipts(scan, text, code) -> None:
    assert scan("dossierFromScan", text) == code


@pytest.mark.parametrize("text", ["", "038060001234|172345678|A|15041960", "038060001234",
                                  "mã hồ sơ không có", "x" * 41])
def test_what_is_not_a_receipt(scan, text) -> None:
    assert scan("dossierFromScan", text) is None
