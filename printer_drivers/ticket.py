"""The printed ticket: plain data in, a 1-bit Pillow image exactly the printer's width out."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import qrcode
from PIL import Image, ImageDraw, ImageFont

from printer_drivers import fonts

WIDTHS = (576, 512, 384)
QR_MODES = ("native", "image")
#: Key in ``Image.info`` holding the row where a native QR goes (qr="native" only).
QR_ROW_KEY = "layso_qr_row"
#: English second lines: smaller and tighter than the Vietnamese they follow.
EN_SIZE = 16
EN_SPACING = 1.08


@dataclass
class TicketPrint:
    """What one ticket carries; words come from GLOSSARY.md."""

    center_name: str
    label: str
    service_name: str
    issued_at: datetime
    ahead: int | None
    eta_minutes: int | None
    status_url: str
    priority_name: str | None = None
    lang: str = "vi"
    instruction: str | None = None
    #: English names, printed first on the ticket of a citizen who chose English
    center_name_en: str | None = None
    service_name_en: str | None = None
    priority_name_en: str | None = None


def nfc(text: str) -> str:
    """Return text in Unicode NFC form (precomposed Vietnamese letters)."""
    return unicodedata.normalize("NFC", text)


def check_width(width: int) -> int:
    """Return width if it is a supported printer width, else raise ValueError."""
    if width not in WIDTHS:
        raise ValueError(f"unsupported printer width {width!r}; expected one of 576, 512, 384")
    return width


def check_qr_mode(qr: str) -> str:
    """Return qr if it is 'native' or 'image', else raise ValueError."""
    if qr not in QR_MODES:
        raise ValueError(f"unsupported qr mode {qr!r}; expected 'native' or 'image'")
    return qr


@lru_cache(maxsize=64)
def _font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fonts.font_path(weight)), size)


def qr_module_dots(width: int) -> int:
    """Return the QR module size in dots for a printer width (even, so it scales exactly)."""
    return 6 if width >= 512 else 4


def qr_matrix(data: str) -> list[list[bool]]:
    """Return the QR modules of data (error correction M, no quiet zone)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def qr_image(data: str, module: int) -> Image.Image:
    """Return a 1-bit image of the QR of data, module dots per module, no quiet zone."""
    matrix = qr_matrix(data)
    n = len(matrix)
    img = Image.new("1", (n, n), 1)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                img.putpixel((x, y), 0)
    return img.resize((n * module, n * module), Image.Resampling.NEAREST)


def wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Split text into lines no wider than max_width, breaking words only when they must."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}" if current else word
            if font.getlength(candidate) <= max_width:
                current = candidate
                continue
            if current:
                lines.append(current)
            # A single word wider than the paper is cut between letters, never clipped.
            while font.getlength(word) > max_width:
                cut = len(word) - 1
                while cut > 1 and font.getlength(word[:cut]) > max_width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return [line for line in lines if line] or [""]


def wrap_balanced(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Wrap text into as few lines as wrap() needs, with line lengths as even as possible."""
    lines = wrap(text, font, max_width)
    if len(lines) < 2:
        return lines
    lo, hi = 1, max_width
    while lo < hi:
        mid = (lo + hi) // 2
        if len(wrap(text, font, mid)) <= len(lines) and all(
            font.getlength(line) <= mid for line in wrap(text, font, mid)
        ):
            hi = mid
        else:
            lo = mid + 1
    return wrap(text, font, lo)


@lru_cache(maxsize=256)
def _wrapped(text: str, weight: str, size: int, max_width: int) -> tuple[str, ...]:
    """wrap_balanced, remembered: a center's tickets repeat the same lines all day."""
    return tuple(wrap_balanced(text, _font(weight, size), max_width))


@lru_cache(maxsize=512)
def _line_mask(line: str, weight: str, size: int, width: int) -> tuple[Image.Image, int]:
    """One centred line of text as a paste mask (1 = ink) and how far above the line's top
    it starts; rendering the same line (the center's name, the instructions) once, not per
    ticket, spares FreeType most of each ticket's work."""
    font = _font(weight, size)
    ascent, descent = font.getmetrics()
    pad = ascent  # room for marks stacked above the ascent (Vietnamese ẫ, Ỗ)
    mask = Image.new("1", (width, pad + 2 * (ascent + descent)), 0)
    draw = ImageDraw.Draw(mask)
    draw.fontmode = "1"
    draw.text((width / 2, pad + ascent), line, font=font, fill=1, anchor="ms")
    return mask, pad


class _Canvas:
    """A tall white 1-bit page we draw on top to bottom, cropped at the end."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.scale = width / 576
        self.margin = max(12, round(16 * self.scale))
        self.content = width - 2 * self.margin
        self.img = Image.new("1", (width, 4000), 1)
        self.draw = ImageDraw.Draw(self.img)
        self.draw.fontmode = "1"
        self.y = round(8 * self.scale)

    def px(self, value: float) -> int:
        return max(1, round(value * self.scale))

    def font(self, weight: str, size: float, floor: int = 16) -> ImageFont.FreeTypeFont:
        return _font(weight, max(floor, round(size * self.scale)))

    def _grow(self, need: int) -> None:
        if self.y + need > self.img.height:
            bigger = Image.new("1", (self.width, self.img.height + need + 1000), 1)
            bigger.paste(self.img, (0, 0))
            self.img = bigger
            self.draw = ImageDraw.Draw(self.img)
            self.draw.fontmode = "1"

    def gap(self, dots: float) -> None:
        self.y += self.px(dots)

    def white(self, dots: int) -> None:
        """White rows of this many real dots (not scaled to the paper: a QR's quiet zone)."""
        self.y += dots

    def text(self, text: str, weight: str, size: float, spacing: float = 1.18) -> None:
        """Draw text centred, wrapped to the content width."""
        font = self.font(weight, size)
        ascent, descent = font.getmetrics()
        line_h = round((ascent + descent) * spacing)
        for line in _wrapped(nfc(text), weight, font.size, self.content):
            self._grow(line_h)
            mask, pad = _line_mask(line, weight, font.size, self.width)
            self.img.paste(0, (0, self.y - pad), mask)
            self.y += line_h

    def pair(self, prefix: str, value: str, size: float) -> None:
        """Draw 'prefix value' centred, value in bold; wrap plainly if it is too wide."""
        regular, strong = self.font("Regular", size), self.font("Bold", size)
        prefix, value = nfc(prefix), nfc(value)
        total = regular.getlength(prefix) + strong.getlength(value)
        if total > self.content:
            self.text(prefix + value, "Regular", size)
            return
        ascent, descent = strong.getmetrics()
        line_h = round((ascent + descent) * 1.18)
        self._grow(line_h)
        x = (self.width - total) / 2
        base = self.y + ascent
        self.draw.text((x, base), prefix, font=regular, fill=0, anchor="ls")
        x_value = x + regular.getlength(prefix)
        self.draw.text((x_value, base), value, font=strong, fill=0, anchor="ls")
        self.y += line_h

    def rule(self) -> None:
        """Draw a thin dotted separator across the content width."""
        self._grow(4)
        step = self.px(8)
        for x in range(self.margin, self.width - self.margin, step):
            self.draw.rectangle((x, self.y, x + step // 2 - 1, self.y + 1), fill=0)
        self.y += 2

    def label(self, label: str) -> None:
        """Draw the ticket label as large as the paper allows, at 2x2 dots per pixel.

        The label is drawn at half resolution and doubled, so the encoder can send it with
        GS v 0 quadruple density: a quarter of the bytes, still crisp at this size.
        """
        label = nfc(label)
        target_w, max_h = self.content * 0.9 / 2, self.px(190) / 2
        lo, hi = 10, 200
        while lo < hi:
            size = (lo + hi + 1) // 2
            left, top, right, bottom = _font("ExtraBold", size).getbbox(label, anchor="ls")
            if right - left <= target_w and bottom - top <= max_h:
                lo = size
            else:
                hi = size - 1
        font = _font("ExtraBold", lo)
        left, top, right, bottom = font.getbbox(label, anchor="ls")
        half = Image.new("1", (int(right - left), int(bottom - top)), 1)
        draw = ImageDraw.Draw(half)
        draw.fontmode = "1"
        draw.text((-left, -top), label, font=font, fill=0, anchor="ls")
        big = half.resize((half.width * 2, half.height * 2), Image.Resampling.NEAREST)
        self.y += self.y % 2
        self._grow(big.height)
        self.img.paste(big, (((self.width - big.width) // 2) & ~1, self.y))
        self.y += big.height

    def badge(self, text: str, size: float) -> None:
        """Draw text white on a black rounded band, for the priority category."""
        font = self.font("Bold", size)
        pad = self.px(10)
        lines = wrap_balanced(nfc(text), font, self.content - 2 * pad)
        ascent, descent = font.getmetrics()
        line_h = ascent + descent
        widest = max(font.getlength(line) for line in lines)
        box_w = min(self.content, round(widest) + 2 * pad)
        box_h = line_h * len(lines) + pad
        self._grow(box_h)
        x0 = (self.width - box_w) // 2
        self.draw.rounded_rectangle(
            (x0, self.y, x0 + box_w - 1, self.y + box_h - 1), radius=self.px(10), fill=0
        )
        y = self.y + pad // 2
        for line in lines:
            self.draw.text((self.width / 2, y + ascent), line, font=font, fill=1, anchor="ms")
            y += line_h
        self.y += box_h

    def paste_qr(self, data: str) -> None:
        """Paste the QR of data centred at even coordinates (so it can be sent at half size)."""
        qr = qr_image(data, qr_module_dots(self.width))
        self.y += self.y % 2
        self._grow(qr.height)
        x = ((self.width - qr.width) // 2) & ~1
        self.img.paste(qr, (x, self.y))
        self.y += qr.height

    def finish(self) -> Image.Image:
        bottom = self.y + self.px(8)
        self._grow(bottom - self.y)
        return self.img.crop((0, 0, self.width, bottom))


@dataclass(frozen=True)
class _Words:
    """The fixed words of a ticket in one language (GLOSSARY.md)."""

    heading: str
    priority: str
    ahead: str
    soon: str
    eta_label: str
    eta: str
    scan: str
    wait: str


_WORDS = {
    # No English "Your number" on a Vietnamese ticket: the huge label says it, and the line
    # cost 0.9 KiB.
    "vi": _Words(
        heading="Số thứ tự của bạn",
        priority="Ưu tiên: {}",
        ahead="Số người đang chờ trước bạn: ",
        # nobody ahead: "about 1 minute" would be a guess dressed as a promise
        soon="Sắp đến lượt của bạn",
        eta_label="Thời gian chờ dự kiến: ",
        eta="khoảng {} phút",
        scan="Quét mã QR để theo dõi lượt của bạn",
        wait="Vui lòng chờ đến lượt được gọi",
    ),
    "en": _Words(
        heading="Your number",
        priority="Priority: {}",
        ahead="People ahead of you: ",
        soon="Your turn is next",
        eta_label="Estimated wait: ",
        eta="about {} min",
        scan="Scan the QR code to follow your turn",
        wait="Please wait until your number is called",
    ),
}


def render_ticket(t: TicketPrint, width: int = 576, qr: str = "image") -> Image.Image:
    """Render the ticket as a 1-bit image exactly width dots wide.

    A citizen who chose English gets English first with the Vietnamese service name and
    waiting line small under it (the officials and the reception desk still read them)."""
    check_width(width)
    check_qr_mode(qr)
    if t.issued_at.tzinfo is None or t.issued_at.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    en = t.lang == "en"
    w = _WORDS["en" if en else "vi"]
    c = _Canvas(width)
    c.text((t.center_name_en if en else None) or t.center_name, "Bold", 24)
    c.gap(6)
    c.rule()
    c.gap(12)
    c.text(w.heading, "Medium", 26)
    c.gap(10)
    c.label(t.label)
    c.gap(18)
    c.text((t.service_name_en if en else None) or t.service_name, "Bold", 30)
    if en and t.service_name_en and t.service_name_en != t.service_name:
        c.text(t.service_name, "Regular", EN_SIZE, EN_SPACING)
    if t.priority_name:
        c.gap(6)
        c.badge(w.priority.format((t.priority_name_en if en else None) or t.priority_name), 22)
    c.gap(6)
    c.text(t.issued_at.strftime("%d/%m/%Y  %H:%M"), "Regular", 22)
    c.gap(8)
    c.rule()
    c.gap(10)
    if t.ahead is not None:
        c.pair(w.ahead, str(t.ahead), 23)
    if t.eta_minutes is not None:
        if t.eta_minutes <= 0:
            c.text(w.soon, "Bold", 23)
        else:
            c.pair(w.eta_label, w.eta.format(t.eta_minutes), 23)
    # the QR's quiet zone: four modules of white above and below, as the QR standard asks (the
    # text under it came 2 modules close, and a phone's reader may stumble on that)
    quiet = 4 * qr_module_dots(width)
    c.white(max(c.px(14), quiet))
    qr_row = _qr(c, t, qr)
    c.white(quiet + c.px(6))  # and room for the marks Vietnamese stacks above a line (ế)
    c.text(w.scan, "Regular", 21)
    c.gap(8)
    c.text(t.instruction or w.wait, "SemiBold", 23)
    if en and not t.instruction:
        c.text(_WORDS["vi"].wait, "Regular", EN_SIZE, EN_SPACING)
    return _finish(c, qr_row)


def _qr(c: _Canvas, t: TicketPrint, qr: str) -> int | None:
    """Draw the QR (image mode) or leave its row for the printer's own QR (native)."""
    if qr == "image":
        c.paste_qr(t.status_url)
        return None
    return c.y


def _finish(c: _Canvas, qr_row: int | None) -> Image.Image:
    img = c.finish()
    if qr_row is not None:
        img.info[QR_ROW_KEY] = qr_row
    return img
