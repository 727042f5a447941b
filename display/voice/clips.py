"""Where a voice clip lives: a center's own recording first, else the built-in clip."""

from __future__ import annotations

import re
from pathlib import Path

#: Formats a clip may come in, in the order they are preferred.
CLIP_SUFFIXES: tuple[str, ...] = (".ogg", ".wav", ".mp3")

#: MIME type the server should send for each suffix.
CLIP_MIMETYPES: dict[str, str] = {".ogg": "audio/ogg", ".wav": "audio/wav", ".mp3": "audio/mpeg"}

# Slash-separated segments of [a-z0-9-]: no dots, so no "..", no suffix, no absolute path.
_NAME = re.compile(r"[a-z0-9-]+(/[a-z0-9-]+)*")


def is_clip_name(name: str) -> bool:
    """True when `name` is a well-formed clip name such as "vi/letter-a"."""
    return isinstance(name, str) and len(name) <= 100 and _NAME.fullmatch(name) is not None


def _find_in(folder: Path, name: str) -> Path | None:
    """The first existing file for `name` in `folder`, kept inside that folder."""
    root = folder.resolve()
    for suffix in CLIP_SUFFIXES:
        candidate = (root / f"{name}{suffix}").resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return candidate
    return None


def resolve_clip(name: str, data_dir: str | Path | None, builtin_dir: str | Path) -> Path | None:
    """Path of clip `name`: `<data_dir>/voice/<name>.(ogg|wav|mp3)` first, then the built-in."""
    if not is_clip_name(name):
        return None
    if data_dir is not None:
        override = _find_in(Path(data_dir) / "voice", name)
        if override is not None:
            return override
    return _find_in(Path(builtin_dir), name)
