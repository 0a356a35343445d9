"""Text folding shared by the alias and brand-mention checks.

Aliases must match whole words, case- and accent-insensitively ("Cumbre" matches
"CUMBRE!" and "cumbré" but not "cumbres"), the same semantics as the listening
query language, so a product alias behaves like a query term.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["contains_phrase", "fold", "padded_words"]

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
