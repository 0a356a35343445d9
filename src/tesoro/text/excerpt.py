"""A post's first words for a list or a table: whitespace folded, cut at a word, "…" when cut."""

from __future__ import annotations

__all__ = ["excerpt"]


def excerpt(text: str, limit: int = 100) -> str:
    """At most `limit` characters of `text` on one line, ending at a whole word when it is cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    ends_a_word = not flat[len(cut)].isalnum()
    space = cut.rfind(" ")
    if not ends_a_word and space >= limit // 2:  # a very long first word is cut where it must be
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"
