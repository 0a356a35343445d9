"""Two small helpers every generator module uses: a fast random pick and ASCII folding for handles."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["choice", "strip_accents"]

_T = TypeVar("_T")


def choice(rng: random.Random, pool: Sequence[_T]) -> _T:
    """`rng.choice`, five times faster: the generator makes ~10 picks per post."""
    return pool[int(rng.random() * len(pool))]


def strip_accents(text: str) -> str:
    """Plain ASCII, as handles and hashtags are typed ("Peña" -> "Pena"; emoji are dropped)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
