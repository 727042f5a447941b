"""ESC/POS bytes of a ticket decode back to the same paper, QR included, within byte budgets."""

import pytest
from PIL import Image

from printer_drivers.escpos_bytes import encode_image, encode_ticket, native_qr, raster
from printer_drivers.ticket import QR_ROW_KEY, WIDTHS, render_ticket
from tests.printer_drivers.escpos_decode import decode, read_qr
from tests.printer_drivers.helpers import URL, sample_ticket

BUDGET = {"native": 16 * 1024, "image": 40 * 1024}


@pytest.mark.parametrize("width", WIDTHS)
def test_drawn_qr_round_trip(width: int) -> None:
    ticket = sample_ticket(priority_name="Người cao tuổi")
    data = encode_ticket(ticket, width, "image")
    assert data.startswith(b"\x1b@")
    page = decode(data, width)
    assert page.qr_data == []
    assert page.cuts == 1 and page.commands[-1] == "GS V 1"
    assert read_qr(page.image) == [URL]
    # The raster bands rebuild the rendered ticket dot for dot.
    img = render_ticket(ticket, width, "image")
    assert page.image.crop((0, 0, width, img.height)).tobytes() == img.tobytes()


@pytest.mark.parametrize("width", WIDTHS)
def test_native_qr_round_trip(width: int) -> None:
    ticket = sample_ticket()
    data = encode_ticket(ticket, width, "native")
    page = decode(data, width)
    assert page.qr_data == [URL]
    assert any(c == "GS ( k 1Q" for c in page.commands)
    assert read_qr(page.image) == [URL]
    # Without the native QR the raster is exactly the rendered image, split at the QR row.
    img = render_ticket(ticket, width, "native")
    row = img.info[QR_ROW_KEY]
    assert page.image.crop((0, 0, width, row)).tobytes() == img.crop((0, 0, width, row)).tobytes()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("qr", ["native", "image"])
def test_bytes_stay_within_budget(width: int, qr: str) -> None:
    data = encode_ticket(sample_ticket(priority_name="Người cao tuổi"), width, qr)
    assert len(data) <= BUDGET[qr]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("qr", ["native", "image"])
def test_english_first_ticket_stays_within_budget(width: int, qr: str) -> None:
    ticket = sample_ticket(lang="en", priority_name="Người cao tuổi", priority_name_en="Elderly",
                           center_name_en="Tho Xuan Commune Public Administration Service Center",
                           service_name_en="Labour, invalids and social affairs")
    assert len(encode_ticket(ticket, width, qr)) <= BUDGET[qr]


def test_only_known_commands_are_sent() -> None:
    page = decode(encode_ticket(sample_ticket(), 576, "native"), 576)
    assert page.text == b""
    kinds = {c.split(" m=")[0] for c in page.commands}
    assert kinds <= {"ESC @", "ESC a 1", "ESC a 0", "GS v 0", "ESC d 4", "GS V 1",
                     "GS ( k 1A", "GS ( k 1C", "GS ( k 1E", "GS ( k 1P", "GS ( k 1Q"}


def test_raster_header_and_polarity() -> None:
    img = Image.new("1", (16, 2), 1)
    img.putpixel((0, 0), 0)
    assert raster(img) == b"\x1dv0\x00\x02\x00\x02\x00" + b"\x80\x00\x00\x00"


def test_exact_2x_band_is_sent_at_quadruple_density() -> None:
    half = Image.new("1", (32, 8), 1)
    for x in range(0, 32, 3):
        half.putpixel((x, x % 8), 0)
    big = Image.new("1", (576, 16), 1)
    big.paste(half.resize((64, 16), Image.Resampling.NEAREST), (256, 0))
    data = encode_image(big)
    assert data[:4] == b"\x1dv0\x03"
    assert decode(b"\x1ba\x01" + data, 576).image.tobytes() == big.tobytes()


def test_blank_rows_cost_one_byte_each() -> None:
    img = Image.new("1", (576, 100), 1)
    assert len(encode_image(img)) == 8 + 100


def test_native_qr_store_command_carries_the_url() -> None:
    data = native_qr(URL, 6)
    store = data[data.index(b"1P0") - 5 :]
    length = store[3] + 256 * store[4]
    assert store[5 : 5 + length] == b"1P0" + URL.encode()
