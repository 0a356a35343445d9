"""One language code set: BCP 47 primary subtags, whatever each platform sends."""

from __future__ import annotations

import pytest

from tesoro.text.lang import primary_language
from tesoro.text.query import compile_matcher, parse


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("en-US", "en"),
        ("pt_BR", "pt"),
        (" es-419 ", "es"),
        ("zh-Hant-TW", "zh"),
        ("in", "id"),  # X: Indonesian
        ("iw", "he"),  # X: Hebrew
        ("ji", "yi"),
        ("eng", "en"),
        ("spa", "es"),
        ("fil", "fil"),
        ("ckb", "ckb"),
    ],
)
def test_codes_become_primary_subtags(sent: str, stored: str) -> None:
    assert primary_language(sent) == stored


@pytest.mark.parametrize(
    "sent",
    [
        "qme",
        "qst",
        "qht",
        "qam",
        "qct",
        "zxx",
        "und",
        "mul",
        "UND",
        "",
        "  ",
        "x-klingon",
        "e",
        "en1",
        None,
        7,
        ["en"],
    ],
)
def test_pseudo_codes_and_garbage_are_no_language(sent: object) -> None:
    assert primary_language(sent) is None


def test_lang_id_matches_a_tweet_x_marked_in() -> None:
    matcher = compile_matcher(parse("cumbre lang:id"))
    assert matcher.matches("ulasan cumbre", primary_language("in"))
    assert not matcher.matches("ulasan cumbre", primary_language("qme"))
