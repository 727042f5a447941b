"""The words of a call: the sentence the board shows and speaks, and the clips it plays.

Pure functions over plain data (no Flask, no I/O): the server puts `call_speech` into the
`ticket.called` event, and the board plays the clip names of `call_clips` (see docs/voice.md).
"""

from __future__ import annotations

import re
import unicodedata

VI_DIGITS: tuple[str, ...] = (
    "không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín",
)  # fmt: skip

EN_ONES: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)  # fmt: skip

EN_TENS: tuple[str, ...] = (
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
)  # fmt: skip

#: Vietnamese names of the letters a label may carry (J is not Vietnamese; "gi" is its usual name).
VI_LETTERS: dict[str, str] = {
    "A": "a", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e", "F": "ép", "G": "giê",
    "H": "hát", "I": "i", "J": "gi", "K": "ca", "L": "e-lờ", "M": "em-mờ", "N": "en-nờ",
    "O": "o", "P": "pê", "Q": "quy", "R": "e-rờ", "S": "ét-xì", "T": "tê", "U": "u", "V": "vê",
    "W": "vê kép", "X": "ích-xì", "Y": "i dài", "Z": "dét",
}  # fmt: skip

#: The fixed phrases of a call, by clip name, with the text a voice says for each.
PHRASES: dict[str, str] = {
    "vi/moi-cong-dan-co-so": "Mời công dân có số",
    "vi/den-quay-so": "đến quầy số",
    "en/number": "Number",
    "en/please-go-to-counter": "please go to counter",
}

#: Clip name of each Vietnamese number word. Names are ASCII; words that fold to the same letters
#: carry their tone in the name (mươi has no tone mark, so it keeps the plain name).
VI_WORD_CLIPS: dict[str, str] = {
    "không": "vi/khong", "một": "vi/mot-nang", "mốt": "vi/mot-sac", "hai": "vi/hai",
    "ba": "vi/ba", "bốn": "vi/bon", "tư": "vi/tu", "năm": "vi/nam", "lăm": "vi/lam",
    "sáu": "vi/sau", "bảy": "vi/bay", "tám": "vi/tam", "chín": "vi/chin",
    "mười": "vi/muoi-huyen", "mươi": "vi/muoi", "trăm": "vi/tram", "nghìn": "vi/nghin",
    "linh": "vi/linh",
}  # fmt: skip

CHIME = "chime"


def _letter_slug(letter: str) -> str:
    """ASCII slug of one label letter: Đ becomes dd, the rest are lowercased."""
    return "dd" if letter == "Đ" else letter.lower()


#: Clip name → the text the generator speaks (None for the chime, which is synthesized).
CLIP_TEXTS: dict[str, str | None] = {
    CHIME: None,
    **{name: text for name, text in PHRASES.items() if name.startswith("vi/")},
    **{f"vi/letter-{_letter_slug(k)}": v.replace("-", " ") for k, v in VI_LETTERS.items()},
    **{clip: word for word, clip in VI_WORD_CLIPS.items()},
    **{name: text for name, text in PHRASES.items() if name.startswith("en/")},
    **{f"en/letter-{k.lower()}": k for k in VI_LETTERS if "A" <= k <= "Z"},
    **{f"en/{w}": w for w in EN_ONES},
    **{f"en/{w}": w for w in EN_TENS if w},
    "en/hundred": "hundred",
    "en/thousand": "thousand",
}

#: Every clip the board may be asked to play.
CLIP_NAMES: frozenset[str] = frozenset(CLIP_TEXTS)

MODES = ("words", "digits")
MAX_NUMBER = 999_999


def _check_range(n: int) -> None:
    """Refuse numbers the readers do not cover."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"number out of range 0..{MAX_NUMBER}: {n}")


def _vi_group(n: int, full: bool) -> list[str]:
    """Words of 0..999; `full` reads a zero hundreds ("không trăm") inside a larger number."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [VI_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            words += (["linh"] if words else []) + [VI_DIGITS[units]]
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else VI_DIGITS[units])
    else:
        words += [VI_DIGITS[tens], "mươi"]
        if units:
            words.append({1: "mốt", 5: "lăm"}.get(units, VI_DIGITS[units]))
    return words


def _vi_words(n: int) -> list[str]:
    """Vietnamese words of 0..999999 as a list."""
    _check_range(n)
    if n == 0:
        return ["không"]
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _vi_group(rest, full=False)
    words = _vi_group(thousands, full=False) + ["nghìn"]
    if rest:
        words += _vi_group(rest, full=True)
    return words


def vi_number_words(n: int) -> str:
    """Read 0..999999 the Vietnamese way (mười lăm, hai mươi mốt, một trăm linh năm)."""
    return " ".join(_vi_words(n))


def _en_group(n: int) -> list[str]:
    """English words of 1..999, with tens and units as separate words."""
    hundreds, rest = divmod(n, 100)
    words = [EN_ONES[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        words.append(EN_TENS[rest // 10])
        if rest % 10:
            words.append(EN_ONES[rest % 10])
    elif rest:
        words.append(EN_ONES[rest])
    return words


def _en_words(n: int) -> list[str]:
    """English words of 0..999999 as a list (twenty-three is ["twenty", "three"])."""
    _check_range(n)
    if n == 0:
        return ["zero"]
    thousands, rest = divmod(n, 1000)
    words = _en_group(thousands) + ["thousand"] if thousands else []
    return words + (_en_group(rest) if rest else [])


def _en_join(words: list[str]) -> str:
    """Join English number words, hyphenating tens and units (twenty-three)."""
    out: list[str] = []
    for word in words:
        if out and out[-1] in EN_TENS and word in EN_ONES[1:10]:
            out[-1] = f"{out[-1]}-{word}"
        else:
            out.append(word)
    return " ".join(out)


def en_number_words(n: int) -> str:
    """Read 0..999999 in English ("one thousand twenty-three")."""
    return _en_join(_en_words(n))


def split_label(label: str, prefix: str) -> tuple[str, str]:
    """Split a label into its letters (as written) and its digits: ("A023", "A") → ("A", "023")."""
    label = unicodedata.normalize("NFC", label.strip())
    prefix = unicodedata.normalize("NFC", prefix.strip())
    if prefix and label.upper().startswith(prefix.upper()) and label[len(prefix) :].isdigit():
        return label[: len(prefix)], label[len(prefix) :]
    match = re.match(r"\D*", label)
    letters = "".join(c for c in match.group(0) if c.isalpha()) if match else ""
    digits = "".join(c for c in label if c.isascii() and c.isdigit())
    return letters, digits


def _number_parts(digits: str, mode: str, lang: str) -> list[str]:
    """Words of a label's number: as a number, or digit by digit."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    if not digits:
        return []
    names = VI_DIGITS if lang == "vi" else EN_ONES
    if mode == "digits":
        return [names[int(d)] for d in digits]
    value = int(digits)
    return _vi_words(value) if lang == "vi" else _en_words(value)


def call_speech(label: str, prefix: str, counter_number: int, mode: str = "words") -> dict:
    """The call sentence in both languages, e.g. {"vi": "Mời công dân có số A hai mươi ba …"}."""
    letters, digits = split_label(label, prefix)
    vi_num = " ".join(_number_parts(digits, mode, "vi"))
    en_parts = _number_parts(digits, mode, "en")
    en_num = " ".join(en_parts) if mode == "digits" else _en_join(en_parts)
    vi_ticket = " ".join(p for p in (letters, vi_num) if p)
    en_ticket = " ".join(p for p in (letters, en_num) if p)
    return {
        "vi": f"Mời công dân có số {vi_ticket} đến quầy số {vi_number_words(counter_number)}",
        "en": f"Number {en_ticket}, please go to counter {en_number_words(counter_number)}",
    }


def _letter_clips(letters: str, lang: str) -> list[str]:
    """Clips naming each letter; letters without a clip are left out rather than misread."""
    clips = []
    for letter in letters.upper():
        if letter not in VI_LETTERS:
            continue
        name = f"{lang}/letter-{_letter_slug(letter)}"
        # Đ has no English name: the English call keeps its Vietnamese one.
        clips.append(name if name in CLIP_NAMES else f"vi/letter-{_letter_slug(letter)}")
    return clips


def _vi_call_clips(letters: str, digits: str, counter_number: int, mode: str) -> list[str]:
    """Vietnamese clip list, chime first."""
    number = [VI_WORD_CLIPS[w] for w in _number_parts(digits, mode, "vi")]
    counter = [VI_WORD_CLIPS[w] for w in _vi_words(counter_number)]
    return [CHIME, "vi/moi-cong-dan-co-so", *_letter_clips(letters, "vi"), *number,
            "vi/den-quay-so", *counter]  # fmt: skip


def _en_call_clips(letters: str, digits: str, counter_number: int, mode: str) -> list[str]:
    """English clip list (no chime: it follows the Vietnamese call)."""
    number = [f"en/{w}" for w in _number_parts(digits, mode, "en")]
    counter = [f"en/{w}" for w in _en_words(counter_number)]
    return ["en/number", *_letter_clips(letters, "en"), *number, "en/please-go-to-counter",
            *counter]  # fmt: skip


def call_clips(
    label: str, prefix: str, counter_number: int, mode: str = "words", lang: str = "vi"
) -> list[str]:
    """Ordered clip names the board plays for a call; lang is "vi", "en" or "vi+en"."""
    letters, digits = split_label(label, prefix)
    langs = lang.split("+")
    if not langs or any(part not in ("vi", "en") for part in langs):
        raise ValueError(f"unknown lang {lang!r}; expected 'vi', 'en' or 'vi+en'")
    clips: list[str] = []
    for part in langs:
        build = _vi_call_clips if part == "vi" else _en_call_clips
        clips += build(letters, digits, counter_number, mode)
    return clips
