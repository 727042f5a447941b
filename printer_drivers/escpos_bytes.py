"""ESC/POS encoding of a rendered ticket: raster bands (GS v 0), optional native QR (GS ( k), cut.

Bytes matter (a 44 KB ticket takes 46 s over a 9600-baud serial line), so the image is not
sent as one full-width raster. It is cut into horizontal bands at blank rows; each band is
cropped by whole bytes equally on both sides and printed centred (ESC a 1), so it lands
exactly where it was drawn. Blank rows between bands are sent as a 1-byte-wide blank raster
(exact in dots, unlike ESC J whose unit differs by model). A band that is an exact 2x2
upscale (the QR, drawn at even module sizes) is sent at half resolution with GS v 0 m=3
(quadruple density), a quarter of the bytes for the same dots.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageChops

from printer_drivers.ticket import (
    QR_ROW_KEY,
    TicketPrint,
    check_qr_mode,
    check_width,
    qr_module_dots,
    render_ticket,
)

ESC_INIT = b"\x1b@"
ALIGN_CENTER = b"\x1ba\x01"
ALIGN_LEFT = b"\x1ba\x00"
FEED_AND_CUT = b"\x1bd\x04" + b"\x1dV\x01"  # feed 4 lines past the cutter, then partial cut
MAX_BAND_ROWS = 960
QR_EC_LEVEL_M = 49


_INVERT = bytes(range(255, -1, -1))


def raster(bits: Image.Image, mode: int = 0) -> bytes:
    """Return one GS v 0 command printing a 1-bit image (black = 0) with density mode 0-3."""
    img = bits.convert("1")
    width_bytes = (img.width + 7) // 8
    padded = Image.new("1", (width_bytes * 8, img.height), 1)
    padded.paste(img, (0, 0))
    # Pillow packs "1" images with 1 = white; ESC/POS wants 1 = print dot.
    data = padded.tobytes().translate(_INVERT)
    header = b"\x1dv0" + bytes([mode, width_bytes & 0xFF, width_bytes >> 8])
    return header + bytes([img.height & 0xFF, img.height >> 8]) + data


def blank_rows(rows: int) -> bytes:
    """Return a blank 1-byte-wide raster that advances the paper by exactly rows dots."""
    out = b""
    while rows > 0:
        chunk = min(rows, MAX_BAND_ROWS)
        out += b"\x1dv0\x00\x01\x00" + bytes([chunk & 0xFF, chunk >> 8]) + bytes(chunk)
        rows -= chunk
    return out


def native_qr(data: str, module: int) -> bytes:
    """Return GS ( k commands that store and print data as a model 2 QR, error correction M."""
    payload = data.encode("utf-8")
    store_len = len(payload) + 3

    def fn(body: bytes) -> bytes:
        return b"\x1d(k" + bytes([len(body) & 0xFF, len(body) >> 8]) + body

    return (
        fn(b"1A2\x00")
        + fn(b"1C" + bytes([module]))
        + fn(b"1E" + bytes([QR_EC_LEVEL_M]))
        + b"\x1d(k" + bytes([store_len & 0xFF, store_len >> 8]) + b"1P0" + payload
        + fn(b"1Q0")
    )


def _ink_rows(img: Image.Image) -> list[bool]:
    width_bytes = img.width // 8
    raw = img.tobytes()
    return [
        raw[y * width_bytes : (y + 1) * width_bytes] != b"\xff" * width_bytes
        for y in range(img.height)
    ]


def _is_double(img: Image.Image) -> bool:
    """Return True if img is exactly a 2x nearest-neighbour upscale of a half-size image."""
    if img.width % 2 or img.height % 2:
        return False
    half = img.resize((img.width // 2, img.height // 2), Image.Resampling.NEAREST)
    return half.resize(img.size, Image.Resampling.NEAREST).tobytes() == img.tobytes()


def _band(img: Image.Image, top: int, bottom: int) -> bytes:
    """Encode rows [top, bottom) cropped symmetrically by whole bytes, halved when exact."""
    strip = img.crop((0, top, img.width, bottom))
    return _strip_bytes(strip.width, strip.height, strip.tobytes())


@lru_cache(maxsize=512)
def _strip_bytes(width: int, height: int, raw: bytes) -> bytes:
    """One band's commands, remembered by its dots: most bands (the center's name, the
    instructions) are the same on every ticket of the day."""
    img = strip = Image.frombytes("1", (width, height), raw)
    bbox = ImageChops.invert(strip.convert("L")).getbbox()
    if bbox is None:
        return blank_rows(height)
    left, right = bbox[0], img.width - bbox[2]
    side = min(left, right) // 8
    if (img.width // 8 - 2 * side) % 2:
        side -= 1  # keep an even byte count so a half-size band stays byte-aligned
    strip = strip.crop((side * 8, 0, img.width - side * 8, strip.height))
    if _is_double(strip):
        half = strip.resize((strip.width // 2, strip.height // 2), Image.Resampling.NEAREST)
        return raster(half, mode=3)
    return raster(strip)


def encode_image(img: Image.Image) -> bytes:
    """Return GS v 0 commands printing img at its own width, without init or cut."""
    img = img.convert("1")
    if img.width % 8:
        raise ValueError("image width must be a multiple of 8 dots")
    ink = _ink_rows(img)
    out = bytearray()
    y = 0
    height = img.height
    while y < height:
        if not ink[y]:
            start = y
            while y < height and not ink[y]:
                y += 1
            out += blank_rows(y - start)
            continue
        start = y
        while y < height and ink[y] and y - start < MAX_BAND_ROWS:
            y += 1
        top, bottom = start, y
        # One spare blank row below lets an odd-height band still be tested for halving.
        if (bottom - top) % 2 and bottom < height and not ink[bottom]:
            bottom += 1
        out += _band(img, top, bottom)
        y = bottom
    return bytes(out)


def encode_ticket_image(img: Image.Image, status_url: str | None = None) -> bytes:
    """Return the whole job for a rendered ticket: init, bands, native QR if marked, cut."""
    out = bytearray(ESC_INIT + ALIGN_CENTER)
    qr_row = img.info.get(QR_ROW_KEY)
    if qr_row is None:
        out += encode_image(img)
    else:
        if not status_url:
            raise ValueError("a ticket rendered for a native QR needs its status_url")
        out += encode_image(img.crop((0, 0, img.width, qr_row)))
        out += native_qr(status_url, qr_module_dots(img.width))
        out += encode_image(img.crop((0, qr_row, img.width, img.height)))
    out += ALIGN_LEFT + FEED_AND_CUT
    return bytes(out)


def encode_ticket(t: TicketPrint, width: int = 576, qr: str = "image") -> bytes:
    """Render the ticket and return the ESC/POS bytes of the whole print job."""
    check_width(width)
    check_qr_mode(qr)
    return encode_ticket_image(render_ticket(t, width, qr), t.status_url)
