"""Text folding shared by the alias and brand-mention checks.

Aliases must match whole words, case- and accent-insensitively ("Cumbre" matches
"CUMBRE!" and "cumbré" but not "cumbres"), the same semantics as the listening
query language, so a product alias behaves like a query term.

`word_tokens` and `split_tokens` give the same words with their positions, the
latter also cut at camel-case and letter/digit boundaries ("#iPad2" → "ipad 2",
"#GoogleMaps" → "google maps"), so that an alias can be found inside the hashtags
and run-together names of social posts.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "contains_phrase",
    "fold",
    "hashtag_words",
    "padded_words",
    "split_compound",
    "split_tokens",
    "word_tokens",
]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """Case-folded, accent-stripped text (NFKD, combining marks removed)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def padded_words(text: str) -> str:
    """ " w1 w2 ... " of the folded text: a phrase is contained iff " a b " is a substring."""
    return " " + " ".join(_WORD.findall(fold(text))) + " "


def contains_phrase(padded: str, phrase: str) -> bool:
    """Whether `phrase` (any case/accents/punctuation) occurs as whole words in `padded` text."""
    needle = padded_words(phrase)
    return needle.strip() != "" and needle in padded


def split_compound(word: str) -> list[str]:
    """One raw (unfolded) word cut where a compound's parts meet.

    Cuts between a letter and a digit ("iPad2" → "iPad", "2"; "4Android" → "4", "Android") and
    where an upper-case letter follows at least two lower-case ones ("GoogleMaps" → "Google",
    "Maps"; "iPadApp" → "iPad", "App"), but not inside a brand's own casing ("iPhone", "eBay").
    """
    parts: list[str] = []
    start = 0
    for k in range(1, len(word)):
        before, here = word[k - 1], word[k]
        letter_digit = before.isdigit() != here.isdigit()
        camel = before.islower() and here.isupper() and k - start >= 2 and word[k - 2].islower()
        if letter_digit or camel:
            parts.append(word[start:k])
            start = k
    parts.append(word[start:])
    return parts


def word_tokens(text: str) -> list[tuple[str, int]]:
    """(folded token, word index) for each word of `text`, as `padded_words` splits it."""
    out: list[tuple[str, int]] = []
    for index, raw in enumerate(_WORD.findall(text)):
        out.extend((token, index) for token in _WORD.findall(fold(raw)))
    return out


def split_tokens(text: str) -> list[tuple[str, int]]:
    """Like `word_tokens`, with each word also cut by `split_compound` (the parts keep its index)."""
    out: list[tuple[str, int]] = []
    for index, raw in enumerate(_WORD.findall(text)):
        for part in split_compound(raw):
            out.extend((token, index) for token in _WORD.findall(fold(part)))
    return out


def hashtag_words(text: str) -> frozenset[int]:
    """Word indices (as in `word_tokens`) of the words written as hashtags ("#ipad")."""
    return frozenset(i for i, m in enumerate(_WORD.finditer(text)) if text[m.start() - 1 : m.start()] == "#")
