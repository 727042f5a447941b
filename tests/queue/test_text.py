"""The pause reasons of the counter's dialog, in both languages."""

from __future__ import annotations

import pytest

from layso.queue import text


@pytest.mark.parametrize("typed, english", [
    ("Nghỉ trưa", "Lunch break"),
    ("  đang họp ", "In a meeting"),  # as an official may retype a chip
    ("Đang xử lý hồ sơ", "Processing dossiers"),
    ("Sự cố kỹ thuật", "Technical problem"),
    ("Đi lấy con dấu", None),  # typed: shown as typed, no English made up
    ("", None),
    (None, None),
])
def test_a_chip_reason_has_its_english_and_a_typed_one_none(typed: str | None,
                                                             english: str | None) -> None:
    assert text.pause_reason_en(typed) == english


def test_a_decomposed_reason_is_the_same_reason() -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Sự cố kỹ thuật")
    assert decomposed != "Sự cố kỹ thuật"
    assert text.pause_reason_en(decomposed) == "Technical problem"
