"""Words, hashtags and mentions as the listening language reads them, in queries and in posts alike.

Both sides go through these patterns after `tesoro.text.fold.fold`, which is what keeps a
query and the posts it is checked against consistent. A listening word is a run of letters,
digits, "_" and combining marks (so Devanagari or Thai words are not split at their vowel
signs, and "#nike_store" is one hashtag). The library search splits at "_" instead
(`tesoro.text.fold.WORD`): there a coordinator looks for the words inside a name.
"""

from __future__ import annotations

import re

from tesoro.text.fold import MARKS, fold

__all__ = ["HANDLE_RE", "KEYWORDS", "MENTION_RE", "TAG_RE", "WORD_RE", "fold_lang", "term_words"]

_W = rf"[\w{MARKS}]"
WORD_RE = re.compile(rf"{_W}+")
_HANDLE = rf"{_W}+(?:[.\-]{_W}+)*(?:@{_W}+(?:[.\-]{_W}+)*)?"
HANDLE_RE = re.compile(_HANDLE)
# A hashtag or mention starts after a non-word character ("a#b" and "me@example.com" are not).
TAG_RE = re.compile(rf"(?<![\w{MARKS}&])#({_W}+)")
MENTION_RE = re.compile(rf"(?<![\w{MARKS}@])@({_HANDLE})")
KEYWORDS = frozenset({"AND", "OR", "NOT"})


def term_words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return WORD_RE.findall(fold(text))


def fold_lang(code: str) -> str:
    """A language code as compared: ``ES_mx`` -> ``es-mx``."""
    return code.strip().casefold().replace("_", "-")
