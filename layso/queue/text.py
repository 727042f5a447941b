"""Text a person typed that others will see: names, pause reasons, comments.

A name or a reason is shown on the board, the counter, reports and exports, so it must read
as what it is: no control characters or line breaks (a forged second line in a log or a CSV),
no bidirectional overrides (text that displays reversed: "Quầy 3" shown as something else),
and not only invisible characters (a "reason" nobody can see). Text is NFC-normalised, as
the printed ticket needs.
"""

from __future__ import annotations

import re
import unicodedata

from layso.queue.errors import Invalid

#: embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the marks that
#: steer direction (LRM, RLM, ALM): none has a place in a Vietnamese or English name
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
#: a username is plain ASCII: a look-alike (Cyrillic "а" for Latin "a") cannot sit beside
#: the real one
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


def clean_text(value: str, field: str, max_len: int, *, multiline: bool = False,
               code: str | None = None) -> str:
    """`value` stripped and NFC-normalised, or Invalid (422, naming `field`) when it cannot be
    shown as typed.

    `multiline` allows line breaks (a citizen's free comment), never other controls.
    """
    err = code or "invalid_" + field
    text = unicodedata.normalize("NFC", value).strip()
    if _BIDI.search(text):
        raise Invalid(err, f"{field} contains direction-changing characters", field=field)
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc" and not (multiline and ch in "\n\t"):
            raise Invalid(err, f"{field} contains control characters or line breaks",
                          field=field)
        if cat in ("Zl", "Zp") and not multiline:
            raise Invalid(err, f"{field} contains line breaks", field=field)
    visible = [ch for ch in text if unicodedata.category(ch) not in ("Cf", "Zs", "Zl", "Zp",
                                                                      "Cc", "Mn", "Me")]
    if text and not visible:
        raise Invalid(err, f"{field} has no visible characters", field=field)
    if len(text) > max_len:
        raise Invalid(err, f"{field} is at most {max_len} characters", field=field)
    return text


def check_username(username: str) -> str:
    """A username as stored: lower-case ASCII letters, digits, `.`, `-`, `_` (at most 80)."""
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise Invalid("invalid_username",
                      "username: lower-case letters a–z, digits, . - _ (at most 80)")
    return username


#: the pause reasons an official picks with one tap (Vietnamese, English); the board shows a
#: picked one in both languages, a typed one as it was typed
PAUSE_REASONS: tuple[tuple[str, str], ...] = (
    ("Nghỉ trưa", "Lunch break"),
    ("Đang họp", "In a meeting"),
    ("Đang xử lý hồ sơ", "Processing dossiers"),
    ("Sự cố kỹ thuật", "Technical problem"),
)
_PAUSE_ENGLISH = {vi.casefold(): en for vi, en in PAUSE_REASONS}


def pause_reason_en(reason: str | None) -> str | None:
    """The English of a pause reason picked from PAUSE_REASONS, None for any other."""
    if not reason:
        return None
    return _PAUSE_ENGLISH.get(unicodedata.normalize("NFC", reason).strip().casefold())
