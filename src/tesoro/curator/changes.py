"""What changed in a post since a coordinator approved it, as the review queue shows it.

`store.versions` keeps the approved version of a decided post whose content changed
and sends the post back to review; this module turns the two texts into a word diff
the queue's card draws (removed words struck through, added words marked).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Literal

__all__ = ["DiffOp", "word_diff"]

DiffOp = Literal["same", "added", "removed"]

_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[tuple[DiffOp, str]]:
    """`old` to `new` as runs of kept, removed and added text (words and the spaces between them).

    Joining the "same" and "removed" runs gives `old` back; "same" and "added" give `new`.
    """
    a = _TOKENS.findall(old)
    b = _TOKENS.findall(new)
    parts: list[tuple[DiffOp, str]] = []

    def add(op: DiffOp, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if parts and parts[-1][0] == op:
            parts[-1] = (op, parts[-1][1] + text)
        else:
            parts.append((op, text))

    for tag, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("same", a[i1:i2])
        else:
            add("removed", a[i1:i2])
            add("added", b[j1:j2])
    return parts
