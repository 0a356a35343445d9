"""One language code set for every platform: the BCP 47 primary language subtag, lower case.

Platforms disagree on how they name a language. X sends ISO 639-1 codes, but some of them
retired ones (`in` for Indonesian, `iw` for Hebrew) and some pseudo-codes that name no language
at all (`qme` "media links only", `qht` "hashtags only", `zxx` "no linguistic content", `und`);
Mastodon and Bluesky may send a whole tag (`en-US`, `pt_BR`, `zh-Hant`). Tesoro keeps one code
per post, the primary subtag (`en`, `pt`, `id`), so `lang:id` and the language facet see every
platform alike; anything that does not name one language is no language (None).
"""

from __future__ import annotations

import re

__all__ = ["primary_language"]

# ISO 639 codes withdrawn in favour of another, still sent by some platforms (X sends `in` and `iw`).
_RETIRED = {"in": "id", "iw": "he", "ji": "yi", "jw": "jv", "mo": "ro", "sh": "sr"}
# Three-letter codes of languages that have a two-letter one: BCP 47 uses the shortest code.
_TWO_LETTER = {
    "ara": "ar",
    "cat": "ca",
    "chi": "zh",
    "deu": "de",
    "dut": "nl",
    "eng": "en",
    "fra": "fr",
    "fre": "fr",
    "ger": "de",
    "heb": "he",
    "hin": "hi",
    "ind": "id",
    "ita": "it",
    "jpn": "ja",
    "kor": "ko",
    "nld": "nl",
    "pol": "pl",
    "por": "pt",
    "rus": "ru",
    "spa": "es",
    "swe": "sv",
    "tur": "tr",
    "ukr": "uk",
    "zho": "zh",
}
# Codes that say there is no single language: undetermined, none, several, not encoded.
_NO_LANGUAGE = frozenset({"und", "zxx", "mul", "mis"})
_PRIMARY = re.compile(r"[a-z]{2,3}|[a-z]{5,8}")
_SUBTAG = re.compile(r"[-_]")
# ISO 639-2 reserves qaa..qtz for local use; X's pseudo-codes (qme, qst, qht, qam, qct) live there.
_LOCAL_USE = re.compile(r"q[a-t][a-z]")


def primary_language(code: object) -> str | None:
    """The BCP 47 primary language subtag of a platform's language code, or None.

    `en-US` and `pt_BR` give `en` and `pt`; X's `in` gives `id`; `und`, X's `qme`, an empty or
    malformed code, or one that is not text give None.
    """
    if not isinstance(code, str):
        return None
    # Compiled once: `re.split` with a pattern string looks it up in `re`'s cache on every call, and
    # that cache misses under load from other patterns (a profile of a Bluesky run, `bench/collect.py`).
    primary = _SUBTAG.split(code.strip(), maxsplit=1)[0].lower()
    if not _PRIMARY.fullmatch(primary) or primary in _NO_LANGUAGE or _LOCAL_USE.fullmatch(primary):
        return None
    return _RETIRED.get(primary) or _TWO_LETTER.get(primary, primary)
