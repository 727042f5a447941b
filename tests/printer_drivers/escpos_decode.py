"""Decode ESC/POS bytes back into what the paper shows: a PIL image, native QR data, cuts.

Understands what Lấy Số sends (ESC @, ESC a, ESC d, ESC J, GS v 0 with density modes 0-3,
GS ( k QR, GS V cut, DLE EOT) and skips other bytes as text. Native QR codes are drawn
into the image from their stored data, so the decoded paper can be read by a QR reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import qrcode
import zxingcpp
from PIL import Image

LINE_FEED_DOTS = 30  # ESC d n feeds n text lines; the exact height does not matter here
_QR_EC = {48: qrcode.constants.ERROR_CORRECT_L, 49: qrcode.constants.ERROR_CORRECT_M,
          50: qrcode.constants.ERROR_CORRECT_Q, 51: qrcode.constants.ERROR_CORRECT_H}


@dataclass
class Decoded:
    """What a byte stream prints."""

    image: Image.Image
    qr_data: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    rasters: list[tuple[int, int, int]] = field(default_factory=list)  # (mode, bytes/row, rows)
    cuts: int = 0
    inits: int = 0
    status_requests: list[int] = field(default_factory=list)
    text: bytes = b""


def _native_qr_image(data: str, module: int, ec: int) -> Image.Image:
    code = qrcode.QRCode(error_correction=ec, box_size=module, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("1")


def decode(data: bytes, width: int = 576) -> Decoded:
    """Decode ESC/POS bytes into the printed page, width dots wide."""
    pieces: list[tuple[int, int, Image.Image]] = []
    out = Decoded(image=Image.new("1", (width, 1), 1))
    align, y, i = 0, 0, 0
    qr_module, qr_ec, qr_store = 3, qrcode.constants.ERROR_CORRECT_L, None

    def place(img: Image.Image) -> None:
        nonlocal y
        x = {0: 0, 1: (width - img.width) // 2, 2: width - img.width}[align]
        pieces.append((x, y, img))
        y += img.height

    n = len(data)
    while i < n:
        b = data[i]
        two = data[i : i + 2]
        if two == b"\x1b@":
            out.commands.append("ESC @")
            out.inits += 1
            align = 0
            i += 2
        elif two == b"\x1ba":
            align = data[i + 2] % 48 if data[i + 2] >= 48 else data[i + 2]
            out.commands.append(f"ESC a {align}")
            i += 3
        elif two == b"\x1bd":
            y += data[i + 2] * LINE_FEED_DOTS
            out.commands.append(f"ESC d {data[i + 2]}")
            i += 3
        elif two == b"\x1bJ":
            y += data[i + 2]
            out.commands.append(f"ESC J {data[i + 2]}")
            i += 3
        elif two == b"\x10\x04":
            out.status_requests.append(data[i + 2])
            out.commands.append(f"DLE EOT {data[i + 2]}")
            i += 3
        elif data[i : i + 3] == b"\x1dv0":
            mode, xl, xh, yl, yh = data[i + 3 : i + 8]
            row_bytes, rows = xl + 256 * xh, yl + 256 * yh
            payload = data[i + 8 : i + 8 + row_bytes * rows]
            if len(payload) != row_bytes * rows:
                raise ValueError(f"truncated GS v 0 at byte {i}")
            img = Image.frombytes("1", (row_bytes * 8, rows), bytes(v ^ 0xFF for v in payload))
            sx, sy = (2 if mode & 1 else 1), (2 if mode & 2 else 1)
            if (sx, sy) != (1, 1):
                img = img.resize((img.width * sx, img.height * sy), Image.Resampling.NEAREST)
            out.rasters.append((mode, row_bytes, rows))
            out.commands.append(f"GS v 0 m={mode} {row_bytes}x{rows}")
            place(img)
            i += 8 + row_bytes * rows
        elif data[i : i + 3] == b"\x1d(k":
            p = data[i + 3] + 256 * data[i + 4]
            body = data[i + 5 : i + 5 + p]
            cn, fn = body[0:1], body[1:2]
            if cn == b"1" and fn == b"C":
                qr_module = body[2]
            elif cn == b"1" and fn == b"E":
                qr_ec = _QR_EC.get(body[2], qr_ec)
            elif cn == b"1" and fn == b"P":
                qr_store = body[3:].decode("utf-8")
                out.qr_data.append(qr_store)
            elif cn == b"1" and fn == b"Q" and qr_store is not None:
                place(_native_qr_image(qr_store, qr_module, qr_ec))
            out.commands.append(f"GS ( k {cn.decode()}{fn.decode()}")
            i += 5 + p
        elif two == b"\x1dV":
            m = data[i + 2]
            out.cuts += 1
            out.commands.append(f"GS V {m}")
            i += 4 if m >= 65 else 3
        elif two == b"\x1d!":
            i += 3
        else:
            out.text += bytes([b])
            i += 1
    height = max([py + img.height for _, py, img in pieces] + [y, 1])
    page = Image.new("1", (width, height), 1)
    for x, py, img in pieces:
        page.paste(img, (x, py))
    out.image = page
    return out


def read_qr(image: Image.Image) -> list[str]:
    """Return the texts of the QR codes a reader finds in the image."""
    padded = Image.new("L", (image.width + 40, image.height + 40), 255)
    padded.paste(image.convert("L"), (20, 20))
    found = zxingcpp.read_barcodes(padded)
    return [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode]
