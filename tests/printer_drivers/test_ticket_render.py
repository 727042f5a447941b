"""The ticket image: size, mode, readable QR, wrapping, glyph coverage, time format."""

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image, ImageChops

from printer_drivers import fonts
from printer_drivers.ticket import QR_ROW_KEY, WIDTHS, _Canvas, render_ticket, wrap
from tests.conftest import SHOTS
from tests.printer_drivers.escpos_decode import read_qr
from tests.printer_drivers.helpers import CENTER, CENTER_EN, URL, sample_ticket

SCREENSHOT = SHOTS / "ticket-576.png"

SERVICES = [
    "Hộ tịch",
    "Chứng thực",
    "Đất đai",
    "Lao động – Thương binh và Xã hội",
    "Đăng ký kinh doanh",
    "Hỗ trợ dịch vụ công trực tuyến",
]
TICKET_WORDS = [
    CENTER,
    "Số thứ tự của bạn",
    "Your number",
    "Ưu tiên",
    "Priority",
    "Số người đang chờ trước bạn",
    "People ahead of you",
    "Thời gian chờ dự kiến: khoảng 18 phút",
    "Estimated wait: about 18 min",
    "Vui lòng chờ đến lượt được gọi",
    "Please wait until your number is called",
    "Quét mã QR để theo dõi lượt của bạn",
    "Scan the QR code to follow your turn",
    "Máy in tạm thời gặp sự cố. Vui lòng chụp lại số này và liên hệ bàn hướng dẫn.",
    "Người cao tuổi",
    "Người khuyết tật",
    "Phụ nữ mang thai hoặc có con nhỏ",
    "Người có công với cách mạng",
    "Lĩnh vực",
    "Thủ tục hành chính",
    "In thử máy in",
    "Bản in thử: máy in đã sẵn sàng",
    "0123456789/:–-.",
]


def vietnamese_letters() -> list[str]:
    """Return the 134 Vietnamese letters outside ASCII, lower and upper case."""
    tones = ["\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]
    vowels = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]
    lower = [unicodedata.normalize("NFC", v + t) for v in vowels for t in tones]
    lower += ["ă", "â", "ê", "ô", "ơ", "ư", "đ"]
    letters = lower + [c.upper() for c in lower]
    assert all(len(c) == 1 for c in letters)
    return letters


def test_there_are_134_vietnamese_letters() -> None:
    assert len(set(vietnamese_letters())) == 134


@pytest.mark.parametrize("weight", fonts.WEIGHTS)
def test_font_has_every_glyph_the_ticket_uses(weight: str) -> None:
    text = "".join(SERVICES + TICKET_WORDS + vietnamese_letters())
    assert fonts.missing_glyphs(text, fonts.font_path(weight)) == set()


def test_missing_glyphs_finds_characters_the_font_lacks() -> None:
    missing = fonts.missing_glyphs("Hộ tịch 中 😀", fonts.regular())
    assert missing == {"中", "😀"}


def test_missing_glyphs_normalizes_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Đăng ký kinh doanh")
    assert fonts.missing_glyphs(decomposed, fonts.bold()) == set()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("qr", ["image", "native"])
def test_image_is_one_bit_and_exactly_the_paper_width(width: int, qr: str) -> None:
    img = render_ticket(sample_ticket(priority_name="Người cao tuổi"), width, qr)
    assert img.mode == "1"
    assert img.width == width
    assert 300 < img.height < 1200


@pytest.mark.parametrize("width", WIDTHS)
def test_drawn_qr_reads_back_as_the_status_url(width: int) -> None:
    assert read_qr(render_ticket(sample_ticket(), width, "image")) == [URL]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_qr_has_its_quiet_zone_of_four_modules(width: int) -> None:
    """White of four modules above and below the drawn QR (the text under it came at two)."""
    from printer_drivers.ticket import qr_image, qr_module_dots

    ticket = sample_ticket()
    img = render_ticket(ticket, width, "image").convert("L")
    px = img.load()
    runs: list[list[int]] = []  # runs of consecutive rows with ink: [first, last]
    for y in range(img.height):
        if any(px[x, y] == 0 for x in range(img.width)):
            if runs and runs[-1][1] == y - 1:
                runs[-1][1] = y
            else:
                runs.append([y, y])
    height = qr_image(ticket.status_url, qr_module_dots(width)).height
    [at] = [i for i, (a, b) in enumerate(runs) if b - a + 1 == height]
    quiet = 4 * qr_module_dots(width)
    assert runs[at][0] - runs[at - 1][1] - 1 >= quiet, runs
    assert runs[at + 1][0] - runs[at][1] - 1 >= quiet, runs


@pytest.mark.parametrize("width", WIDTHS)
def test_native_mode_leaves_no_qr_in_the_image(width: int) -> None:
    img = render_ticket(sample_ticket(), width, "native")
    assert read_qr(img) == []
    assert 0 < img.info[QR_ROW_KEY] < img.height


def test_rejects_unsupported_width_and_qr_mode() -> None:
    with pytest.raises(ValueError, match="width"):
        render_ticket(sample_ticket(), 640)
    with pytest.raises(ValueError, match="qr"):
        render_ticket(sample_ticket(), 576, "both")


def test_rejects_naive_issued_at() -> None:
    with pytest.raises(ValueError, match="aware"):
        render_ticket(sample_ticket(issued_at=datetime(2025, 7, 14, 8, 35)))


def _ink_columns(img: Image.Image) -> tuple[int, int]:
    bbox = ImageChops.invert(img.convert("L")).getbbox()
    assert bbox is not None
    return bbox[0], bbox[2]


@pytest.mark.parametrize("width", WIDTHS)
def test_long_names_wrap_instead_of_clipping(width: int) -> None:
    short = render_ticket(sample_ticket(service_name="Hộ tịch"), width)
    long_name = (
        "Hỗ trợ dịch vụ công trực tuyến, tiếp nhận và trả kết quả giải quyết thủ tục "
        "hành chính về đất đai, hộ tịch, chứng thực và đăng ký kinh doanh"
    )
    long_center = CENTER + " thuộc Ủy ban nhân dân tỉnh Thanh Hóa"
    tall = render_ticket(sample_ticket(service_name=long_name, center_name=long_center), width)
    assert tall.height > short.height + 60  # several extra lines, at any width
    left, right = _ink_columns(tall)
    margin = 8
    assert left >= margin and right <= width - margin


def test_a_word_wider_than_the_paper_is_broken_not_clipped() -> None:
    font = __import__("printer_drivers.ticket", fromlist=["_font"])._font("Bold", 30)
    lines = wrap("Đ" * 80, font, 300)
    assert len(lines) > 1
    assert all(font.getlength(line) <= 300 for line in lines)
    assert "".join(lines) == "Đ" * 80


def _top_lines(*lines: tuple[str, str, int]) -> Image.Image:
    """The head of a ticket drawn line by line as render_ticket starts it."""
    c = _Canvas(576)
    c.text(lines[0][0], lines[0][1], lines[0][2])
    c.gap(6)
    c.rule()
    c.gap(12)
    for text, weight, size in lines[1:]:
        c.text(text, weight, size)
    return c.img.crop((0, 0, 576, c.y))


def test_a_citizen_who_chose_english_gets_an_english_first_ticket() -> None:
    en = render_ticket(sample_ticket(lang="en", center_name_en=CENTER_EN,
                                     service_name_en="Labour, invalids and social affairs"), 576)
    head = _top_lines((CENTER_EN, "Bold", 24), ("Your number", "Medium", 26))
    assert en.crop((0, 0, 576, head.height)).tobytes() == head.tobytes()
    vi = render_ticket(sample_ticket(), 576)
    head_vi = _top_lines((CENTER, "Bold", 24), ("Số thứ tự của bạn", "Medium", 26))
    assert vi.crop((0, 0, 576, head_vi.height)).tobytes() == head_vi.tobytes()
    # the Vietnamese service name still follows (small) for the officials
    only_en = render_ticket(sample_ticket(lang="en", service_name="Labour",
                                          service_name_en="Labour"), 576)
    assert en.height > only_en.height


def test_time_is_shown_in_the_tickets_own_offset() -> None:
    utc = datetime(2025, 7, 14, 1, 35, tzinfo=UTC)
    as_utc = render_ticket(sample_ticket(issued_at=utc), 576)
    as_ict = render_ticket(sample_ticket(issued_at=utc.astimezone(timezone(timedelta(hours=7)))))
    assert as_utc.tobytes() != as_ict.tobytes()
    same = render_ticket(sample_ticket(issued_at=datetime(2025, 7, 14, 8, 35, tzinfo=timezone(
        timedelta(hours=7)))))
    assert same.tobytes() == as_ict.tobytes()


def test_label_is_very_large() -> None:
    img = render_ticket(sample_ticket(label="A023"), 576)
    no_label = render_ticket(sample_ticket(label=""), 576)
    # The label band is the difference in height; it must be big and span most of the width.
    assert img.height - no_label.height > 120
    label_rows = img.crop((0, 100, 576, 300))
    left, right = _ink_columns(label_rows)
    assert right - left > 0.75 * 576


def test_save_screenshot() -> None:
    img = render_ticket(sample_ticket(priority_name="Người cao tuổi"), 576, "image")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    img.save(SCREENSHOT)
    assert read_qr(Image.open(SCREENSHOT)) == [URL]


def _catalog_names() -> list[str]:
    from layso.queue import catalog

    names = [n for _code, vi, en in catalog.DEFAULT_CATEGORIES for n in (vi, en)]
    names += list(catalog.DEMO_CENTER)
    for _prefix, _code, vi, en, procedures in catalog.DEMO_SERVICES:
        names += [vi, en] + [n for _c, pvi, pen in procedures for n in (pvi, pen)]
    return names


@pytest.mark.parametrize("weight", ["Regular", "Medium", "SemiBold", "Bold", "ExtraBold"])
def test_font_covers_every_service_procedure_and_category_name(weight: str) -> None:
    names = _catalog_names()
    assert any("Đăng ký khai sinh" in n for n in names)  # procedures are really included
    assert fonts.missing_glyphs("".join(names), fonts.font_path(weight)) == set()


def test_no_one_ahead_says_next_instead_of_about_one_minute() -> None:
    soon = render_ticket(sample_ticket(ahead=0, eta_minutes=0), 576, "native")
    one = render_ticket(sample_ticket(ahead=0, eta_minutes=1), 576, "native")
    assert soon.tobytes() != one.tobytes()
    # the eta line is the only difference, so the ink differs only in that band
    diff = ImageChops.difference(soon.convert("L"), one.convert("L")).getbbox()
    assert diff is not None and diff[1] > 400
