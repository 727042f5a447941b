"""Font files for the printed ticket and a glyph-coverage check read from the TTF cmap."""

from __future__ import annotations

import functools
import struct
import unicodedata
from pathlib import Path

import fontpkg_be_vietnam_pro

FONT_DIR: Path = Path(fontpkg_be_vietnam_pro.ROOT) / "files"
WEIGHTS = ("Regular", "Medium", "SemiBold", "Bold", "ExtraBold", "Black")


def font_path(weight: str = "Regular") -> Path:
    """Return the path of the Be Vietnam Pro TTF of the given weight."""
    if weight not in WEIGHTS:
        raise ValueError(f"unknown font weight {weight!r}; expected one of {', '.join(WEIGHTS)}")
    path = FONT_DIR / f"BeVietnamPro-{weight}.ttf"
    if not path.is_file():
        raise FileNotFoundError(f"font file missing: {path} (is fontpkg-be-vietnam-pro installed?)")
    return path


def regular() -> Path:
    """Return the path of the regular weight."""
    return font_path("Regular")


def bold() -> Path:
    """Return the path of the bold weight."""
    return font_path("Bold")


def _cmap_format4(data: bytes, off: int) -> set[int]:
    seg_x2 = struct.unpack_from(">H", data, off + 6)[0]
    seg = seg_x2 // 2
    ends = struct.unpack_from(f">{seg}H", data, off + 14)
    starts_off = off + 16 + seg_x2
    starts = struct.unpack_from(f">{seg}H", data, starts_off)
    deltas = struct.unpack_from(f">{seg}h", data, starts_off + seg_x2)
    ro_off = starts_off + 2 * seg_x2
    range_offsets = struct.unpack_from(f">{seg}H", data, ro_off)
    covered: set[int] = set()
    for i in range(seg):
        for cp in range(starts[i], ends[i] + 1):
            if cp == 0xFFFF:
                continue
            if range_offsets[i] == 0:
                gid = (cp + deltas[i]) & 0xFFFF
            else:
                addr = ro_off + 2 * i + range_offsets[i] + 2 * (cp - starts[i])
                gid = struct.unpack_from(">H", data, addr)[0]
                if gid:
                    gid = (gid + deltas[i]) & 0xFFFF
            if gid:
                covered.add(cp)
    return covered


def _cmap_format12(data: bytes, off: int) -> set[int]:
    ngroups = struct.unpack_from(">I", data, off + 12)[0]
    covered: set[int] = set()
    for g in range(ngroups):
        start, end, gid = struct.unpack_from(">III", data, off + 16 + 12 * g)
        for cp in range(start, end + 1):
            if gid + (cp - start):
                covered.add(cp)
    return covered


@functools.lru_cache(maxsize=16)
def covered_codepoints(font_file: str) -> frozenset[int]:
    """Return the code points the font maps to a real glyph (Unicode cmap subtables)."""
    data = Path(font_file).read_bytes()
    num_tables = struct.unpack_from(">H", data, 4)[0]
    cmap_off = None
    for i in range(num_tables):
        tag, _checksum, offset, _length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if tag == b"cmap":
            cmap_off = offset
    if cmap_off is None:
        raise ValueError(f"{font_file}: no cmap table")
    n_sub = struct.unpack_from(">H", data, cmap_off + 2)[0]
    covered: set[int] = set()
    for i in range(n_sub):
        platform, encoding, sub_off = struct.unpack_from(">HHI", data, cmap_off + 4 + 8 * i)
        unicode_table = platform == 0 or (platform == 3 and encoding in (1, 10))
        if not unicode_table:
            continue
        off = cmap_off + sub_off
        fmt = struct.unpack_from(">H", data, off)[0]
        if fmt == 4:
            covered |= _cmap_format4(data, off)
        elif fmt == 12:
            covered |= _cmap_format12(data, off)
    return frozenset(covered)


def missing_glyphs(text: str, font_path: str | Path) -> set[str]:
    """Return the characters of NFC-normalized text that the font has no glyph for."""
    covered = covered_codepoints(str(font_path))
    return {
        ch
        for ch in unicodedata.normalize("NFC", text)
        if ord(ch) not in covered and unicodedata.category(ch) != "Cc"
    }
