"""The words of a call: Vietnamese and English numbers, letters, sentences and clip lists."""

import itertools
import string

import pytest

from layso.speech import (
    CLIP_NAMES,
    VI_LETTERS,
    call_clips,
    call_speech,
    en_number_words,
    split_label,
    vi_number_words,
)

VI_NUMBERS = {
    0: "không",
    1: "một",
    4: "bốn",
    5: "năm",
    9: "chín",
    10: "mười",
    11: "mười một",
    14: "mười bốn",
    15: "mười lăm",
    20: "hai mươi",
    21: "hai mươi mốt",
    24: "hai mươi bốn",
    25: "hai mươi lăm",
    31: "ba mươi mốt",
    55: "năm mươi lăm",
    100: "một trăm",
    101: "một trăm linh một",
    105: "một trăm linh năm",
    110: "một trăm mười",
    111: "một trăm mười một",
    115: "một trăm mười lăm",
    121: "một trăm hai mươi mốt",
    999: "chín trăm chín mươi chín",
    1000: "một nghìn",
    1001: "một nghìn không trăm linh một",
    1005: "một nghìn không trăm linh năm",
    1010: "một nghìn không trăm mười",
    1023: "một nghìn không trăm hai mươi ba",
    1100: "một nghìn một trăm",
    2015: "hai nghìn không trăm mười lăm",
    10_000: "mười nghìn",
    15_000: "mười lăm nghìn",
    21_005: "hai mươi mốt nghìn không trăm linh năm",
    100_000: "một trăm nghìn",
    105_021: "một trăm linh năm nghìn không trăm hai mươi mốt",
    999_999: "chín trăm chín mươi chín nghìn chín trăm chín mươi chín",
}


@pytest.mark.parametrize(("n", "words"), VI_NUMBERS.items())
def test_vi_number_words(n, words):
    assert vi_number_words(n) == words


EN_NUMBERS = {
    0: "zero",
    7: "seven",
    13: "thirteen",
    20: "twenty",
    23: "twenty-three",
    99: "ninety-nine",
    100: "one hundred",
    105: "one hundred five",
    1000: "one thousand",
    1023: "one thousand twenty-three",
    20_015: "twenty thousand fifteen",
    999_999: "nine hundred ninety-nine thousand nine hundred ninety-nine",
}


@pytest.mark.parametrize(("n", "words"), EN_NUMBERS.items())
def test_en_number_words(n, words):
    assert en_number_words(n) == words


@pytest.mark.parametrize("n", [-1, 1_000_000])
def test_numbers_out_of_range_are_refused(n):
    with pytest.raises(ValueError):
        vi_number_words(n)
    with pytest.raises(ValueError):
        en_number_words(n)


def test_every_number_reads_without_stray_words():
    allowed = {w for n in range(10) for w in vi_number_words(n).split()}
    allowed |= {"mười", "mươi", "mốt", "lăm", "trăm", "nghìn", "linh"}
    for n in itertools.chain(range(0, 3000), range(9_990, 1_000_000, 997)):
        words = vi_number_words(n).split()
        assert set(words) <= allowed, n
        for before, word in itertools.pairwise(words):
            assert word != "mốt" or before == "mươi", n
            assert word != "lăm" or before in ("mười", "mươi"), n
            assert word != "linh" or before == "trăm", n


def test_glossary_letter_names():
    assert VI_LETTERS["A"] == "a"
    assert VI_LETTERS["Đ"] == "đê"
    assert VI_LETTERS["L"] == "e-lờ"
    assert VI_LETTERS["S"] == "ét-xì"
    assert VI_LETTERS["Y"] == "i dài"
    assert set(string.ascii_uppercase) <= set(VI_LETTERS)


def test_call_speech_words():
    assert call_speech("A023", "A", 3) == {
        "vi": "Mời công dân có số A hai mươi ba đến quầy số ba",
        "en": "Number A twenty-three, please go to counter three",
    }


def test_call_speech_digits():
    assert call_speech("A023", "A", 3, mode="digits") == {
        "vi": "Mời công dân có số A không hai ba đến quầy số ba",
        "en": "Number A zero two three, please go to counter three",
    }


def test_call_speech_four_digit_and_long_labels():
    assert (
        call_speech("A1000", "A", 12)["vi"] == "Mời công dân có số A một nghìn đến quầy số mười hai"
    )
    assert call_speech("B1023", "B", 1)["en"] == (
        "Number B one thousand twenty-three, please go to counter one"
    )
    assert call_speech("C7", "C", 21)["vi"] == "Mời công dân có số C bảy đến quầy số hai mươi mốt"
    assert "một trăm linh năm nghìn" in call_speech("D105021", "D", 2)["vi"]


def test_label_letters_are_kept_as_written():
    assert split_label("A023", "A") == ("A", "023")
    assert split_label("Đ015", "Đ") == ("Đ", "015")
    assert split_label("AB105", "AB") == ("AB", "105")
    assert split_label("A-023", "A") == ("A", "023")
    assert call_speech("Đ015", "Đ", 5)["vi"] == "Mời công dân có số Đ mười lăm đến quầy số năm"


def test_call_clips_vi_example():
    assert call_clips("A023", "A", 3) == [
        "chime",
        "vi/moi-cong-dan-co-so",
        "vi/letter-a",
        "vi/hai",
        "vi/muoi",
        "vi/ba",
        "vi/den-quay-so",
        "vi/ba",
    ]


def test_call_clips_en_and_digits():
    assert call_clips("A023", "A", 3, lang="en") == [
        "en/number",
        "en/letter-a",
        "en/twenty",
        "en/three",
        "en/please-go-to-counter",
        "en/three",
    ]
    assert call_clips("A023", "A", 3, mode="digits")[2:6] == [
        "vi/letter-a",
        "vi/khong",
        "vi/hai",
        "vi/ba",
    ]


def test_call_clips_distinguish_tones():
    assert call_clips("A021", "A", 11)[3:] == [
        "vi/hai",
        "vi/muoi",
        "vi/mot-sac",
        "vi/den-quay-so",
        "vi/muoi-huyen",
        "vi/mot-nang",
    ]
    assert call_clips("A015", "A", 25)[3:] == [
        "vi/muoi-huyen",
        "vi/lam",
        "vi/den-quay-so",
        "vi/hai",
        "vi/muoi",
        "vi/lam",
    ]


def test_call_clips_both_languages_have_one_chime():
    clips = call_clips("Đ5", "Đ", 2, lang="vi+en")
    assert clips.count("chime") == 1
    assert clips[0] == "chime"
    assert "en/number" in clips
    assert clips.count("vi/letter-dd") == 2  # English keeps the Vietnamese name of Đ


def test_unknown_mode_or_lang_is_refused():
    with pytest.raises(ValueError):
        call_clips("A1", "A", 1, mode="roman")
    with pytest.raises(ValueError):
        call_clips("A1", "A", 1, lang="fr")


def test_every_call_uses_only_inventory_clips():
    # every label with a counter that turns through 1..99, then every counter with labels that
    # turn through the numbers: each label and each counter in both modes, and every pair of
    # a number's words with a counter's, in 12,000 calls rather than the 1.2 million of every
    # label at every counter (58 s on a busy box, for the same clips)
    used: set[str] = set()
    for i, (prefix, number) in enumerate(itertools.product("ABCDEF", range(1, 1000))):
        for mode in ("words", "digits"):
            used.update(call_clips(f"{prefix}{number:03d}", prefix, i % 99 + 1, mode, "vi+en"))
    for counter in range(1, 100):
        for number in (1, 5, 10, 15, 21, 24, 25, 100, 101, 105, 110, 111, 114, 115, 999):
            for mode in ("words", "digits"):
                used.update(call_clips(f"A{number:03d}", "A", counter, mode, "vi+en"))
    for label in ("A1000", "Z999999", "J0", "Đ12", "W105021"):
        for mode in ("words", "digits"):
            used.update(call_clips(label, label[0], 999, mode, "vi+en"))
    assert used <= CLIP_NAMES
    assert "vi/tu" not in used  # the inventory keeps "tư" for centers that prefer it


def test_clip_names_are_url_safe():
    for name in CLIP_NAMES:
        assert all(c in string.ascii_lowercase + string.digits + "/-" for c in name), name
