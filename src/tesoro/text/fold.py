"""The one text-folding rule: how Tesoro decides that two spellings are the same word.

Listening queries, the library search (its stored documents and its queries), the product-alias
and brand-mention checks, duplicate detection and the words of a volume spike all compare text
through `fold`, so a word that matches in one place matches everywhere. Before this module there
were four copies with two rules, and "año" found "ano" in the library but not in listening.

The rule, in order (`fold`):

1. **Compatibility forms become plain letters** (Unicode NFKD): full-width letters (U+FF21 on), ligatures
   ("ﬁ"), superscripts and circled letters are what phones and fancy-text generators produce,
   and the writer meant the plain word.
2. **Case is folded** with Unicode case folding, not `lower()`: "STRASSE", "Straße" and "strasse"
   are one word (ß folds to "ss", as Germans write it without the letter), and the Turkish
   capital "İ" folds to "i". The folding is locale-free, so the dotless i (U+0131) stays a letter
   of its own and "I" folds to the dotted "i": for a Turkish writer, "ISTANBUL" folds like
   "istanbul", not like the dotless spelling. Tesoro does not know a post's locale before reading
   it, so it cannot do better without guessing.
3. **Accents are dropped** ("canción" = "cancion", "CAFÉ" = "cafe", "pingüino" = "pinguino",
   "ação" = "acao", "façade" = "facade"): people write with and without them on every platform,
   and a coordinator who forgets one should not silently lose mentions. Precomposed and combining
   spellings ("é" and "e" + U+0301) fold alike.
4. **Except ñ.** In Spanish "ñ" is a letter of its own (the alphabet's 27th), not an "n" with an
   accent: "año" (year) and "ano" (anus), "caña" and "cana", "peña" and "pena" are different
   words, and a brand listening for "feliz año" must not collect jokes about the other one. So the
   tilde survives on "n" only ("ã" in Portuguese is an accented "a" and folds). "Ñandú" folds to
   "ñandú" without its accent: "ñandu". Among the languages Tesoro detects (Spanish, English,
   Portuguese, French, German) ñ is the only marked letter that its alphabet counts as a letter:
   German sorts "ü" with "u" (DIN 5007), and the Spanish "ü" is a diaeresis telling how to say the
   same "u", which is why "ü" folds to "u".
5. **"œ" and "æ" become "oe" and "ae"**, the way French writers type them on keyboards without
   those letters ("cœur" = "coeur").
6. **Marks of other scripts stay.** Only the Latin/Greek/Cyrillic combining diacritics (U+0300 to
   U+036F) are dropped. Devanagari vowel signs, Thai tone marks and the Japanese voicing mark
   ("が" vs "か") change the word, so they are kept and the word is recomposed (NFC). (A
   consequence in Cyrillic, whose diacritics share the Latin block: "й" folds to "и".)
7. **Emoji and symbols pass through**, less their variation selectors (U+FE00 to U+FE0F only choose
   how a character is drawn: "❤️" and "❤" are one heart) and the keycap frame ("1️⃣" reads "1").
   The word functions below skip them: a word is letters and digits, with the marks that follow.

Stemming is not folding: the library search stems its words on top of this rule
(`tesoro.text.search.light_stem`), listening matches whole words exactly. Nor are the ASCII
forms of names (URL slugs in `tesoro.store.catalog.slugify`, the simulator's made-up handles),
where "Peña" becomes "pena" because the identifier must be ASCII: they never decide whether two
words match. Language detection reads the text unfolded, since "ñ" and "ü" are its clues.

`word_tokens` and `split_tokens` give the folded words with their positions for the alias
checks, the latter also cut at camel-case and letter/digit boundaries ("#iPad2" -> "ipad 2",
"#GoogleMaps" -> "google maps"), so that an alias can be found inside the hashtags and
run-together names of social posts. Aliases match whole words like a listening term.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MARKS",
    "WORD",
    "contains_phrase",
    "fold",
    "hashtag_words",
    "padded_words",
    "split_compound",
    "split_tokens",
    "word_tokens",
    "words",
]


def _combining_mark_class() -> str:
    """A regex character-class body covering every combining mark of the BMP.

    Python's `\\w` leaves out combining marks (Devanagari vowel signs, Thai tone marks, the
    Japanese voicing mark), which would cut the words of those scripts in two. Scanning the BMP
    once at import costs a few milliseconds.
    """
    ranges: list[list[int]] = []
    for code in range(0x0300, 0x10000):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in ranges)


MARKS = _combining_mark_class()
"""Body of a regex character class of the combining marks: words may contain them."""

WORD = re.compile(rf"(?:[^\W_][{MARKS}]*)+")
"""A word: letters and digits, with the combining marks that follow them (no "_", punctuation or emoji).

A mark must follow a letter: the emoji variation selector (U+FE0F, a mark) is not a word."""

# The accents of rules 3 and 4: every Latin/Greek/Cyrillic combining diacritic except the tilde
# (U+0303) right after an "n"; and rule 7's variation selectors and keycap enclosure.
_DROPPED = re.compile("(?<!n)[\u0300-\u036f]|(?<=n)[\u0300-\u0302\u0304-\u036f]|[\ufe00-\ufe0f\u20e3]")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})


def fold(text: str) -> str:
    """`text` folded by the rule of this module's docstring (case, accents but ñ, compatibility forms)."""
    if text.isascii():  # the common case: only the case changes, and lower() is casefold() on ASCII
        return text.lower()
    # Unicode's compatibility caseless match (D146) decomposes and folds twice: case folding can
    # produce a letter that decomposes further, and decomposing can produce a capital.
    decomposed = unicodedata.normalize(
        "NFKD", unicodedata.normalize("NFKD", unicodedata.normalize("NFD", text).casefold()).casefold()
    )
    return unicodedata.normalize("NFC", _DROPPED.sub("", decomposed).translate(_LIGATURES))


def words(text: str) -> list[str]:
    """The folded words of `text`, in order (punctuation, "_" and emoji separate and are dropped)."""
    return WORD.findall(fold(text))


def padded_words(text: str) -> str:
    """ " w1 w2 ... " of the folded text: a phrase is contained iff " a b " is a substring."""
    return " " + " ".join(words(text)) + " "


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
    for index, raw in enumerate(WORD.findall(text)):
        out.extend((token, index) for token in words(raw))
    return out


def split_tokens(text: str) -> list[tuple[str, int]]:
    """Like `word_tokens`, with each word also cut by `split_compound` (the parts keep its index)."""
    out: list[tuple[str, int]] = []
    for index, raw in enumerate(WORD.findall(text)):
        for part in split_compound(raw):
            out.extend((token, index) for token in words(part))
    return out


def hashtag_words(text: str) -> frozenset[int]:
    """Word indices (as in `word_tokens`) of the words written as hashtags ("#ipad")."""
    return frozenset(i for i, m in enumerate(WORD.finditer(text)) if text[m.start() - 1 : m.start()] == "#")
