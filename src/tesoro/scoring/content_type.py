"""Content type: photo, video, review, unboxing, tutorial, testimonial, complaint, question, meme, other.

Media types come from the platform's metadata, which is exact; the rest are
read from English and Spanish text cues. Several types may apply (a photo
review that is also a complaint). Cue lists are deliberately conservative:
a UGC coordinator filters the queue by type, and a false "tutorial" wastes
more of their time than a missed one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tesoro.models import CONTENT_TYPES

__all__ = ["CONTENT_TYPES", "classify_content"]


def _cues(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_TEXT_CUES: dict[str, re.Pattern[str]] = {
    "review": _cues(
        r"\breview(?:ed|ing|s)?\b",
        r"\b\d(?:[.,]\d)?\s*/\s*(?:5|10)\b",
        r"\b[1-5] stars?\b",
        r"★",
        r"\bpros and cons\b",
        r"\bmy (?:honest )?(?:thoughts|verdict|rating)\b",
        r"\bworth (?:it|the money)\b",
        r"\brese[ñn]a\b",
        r"\bopini[oó]n\b",
        r"\bvale la pena\b",
        r"\bcalificaci[oó]n\b",
        r"\b[1-5] estrellas\b",
        r"\bpros y contras\b",
        r"\bmi veredicto\b",
    ),
    "unboxing": _cues(
        r"\bunbox(?:ing|ed)?\b",
        r"\bjust arrived\b",
        r"\bfinally (?:arrived|here|got)\b",
        r"\bout of the box\b",
        r"\bopening (?:my|the) (?:new )?\w+",
        r"\bdesempaque\b",
        r"\bdesempacando\b",
        r"\bunboxeando\b",
        r"\b(?:me )?(?:acaba|acabó) de llegar\b",
        r"\bya lleg[oó]\b",
        r"\babriendo (?:mi|el|la)\b",
    ),
    "tutorial": _cues(
        r"\bhow to\b",
        r"\bhow-to\b",
        r"\btutorial\b",
        r"\bstep[- ]by[- ]step\b",
        r"\bstep \d\b",
        r"\btips? (?:for|on|to)\b",
        r"\bguide\b",
        r"\bhere'?s how\b",
        r"\blife ?hack\b",
        r"\bc[oó]mo (?:hacer|usar|limpiar|configurar|elegir|poner)\b",
        r"\bpaso a paso\b",
        r"\bpaso \d\b",
        r"\bconsejos? (?:para|de)\b",
        r"\bgu[ií]a\b",
        r"\btruco\b",
    ),
    "testimonial": _cues(
        r"\b(?:i|we) (?:love|adore|recommend)\b",
        r"\bchanged my life\b",
        r"\bbest \w+ (?:i'?ve|ever)\b",
        r"\bhighly recommend\b",
        r"\bcan'?t live without\b",
        r"\bmy (?:go-to|favou?rite)\b",
        r"\bbeen using (?:it|them|this) for\b",
        r"\bswear by\b",
        r"\b(?:me )?encanta(?:n)?\b",
        r"\blo recomiendo\b",
        r"\bla recomiendo\b",
        r"\blos recomiendo\b",
        r"\bme cambi[oó] la vida\b",
        r"\bel mejor \w+ que\b",
        r"\bmi favorit[oa]\b",
        r"\bno puedo vivir sin\b",
    ),
    "complaint": _cues(
        r"\b(?:worst|terrible|awful|horrible|disappointed|disappointing|unacceptable|ripoff|rip-off|scam)\b",
        r"\bbroke(?:n)? (?:after|in|down)\b",
        r"\bstopped working\b",
        r"\bnever again\b",
        r"\brefund\b",
        r"\bcustomer service\b",
        r"\bstill waiting\b",
        r"\bfix (?:this|it|your)\b",
        r"\bwaste of money\b",
        r"\bdoesn'?t work\b",
        r"\bfell apart\b",
        r"\b(?:p[eé]sim[oa]|horrible|fatal|decepcionad[oa]|decepci[oó]n|estafa|vergüenza|inaceptable)\b",
        r"\bdej[oó] de funcionar\b",
        r"\bse rompi[oó]\b",
        r"\bno funciona\b",
        r"\breembolso\b",
        r"\batenci[oó]n al cliente\b",
        r"\bnunca m[aá]s\b",
        r"\bsigo esperando\b",
        r"\bno sirve\b",
    ),
    "question": _cues(
        r"\?",
        r"¿",
        r"^(?:does|do|is|are|can|could|should|has|have|which|what|where|when|why|how(?! to\b)|anyone)\b",
        r"\banyone (?:know|tried|have)\b",
        r"\balguien sabe\b",
        r"\balguien (?:ha|tiene)\b",
    ),
    "meme": _cues(
        r"\bmeme\b",
        r"\bwhen you\b",
        r"\bme when\b",
        r"\bnobody:\s",
        r"\bpov:",
        r"\bbe like\b",
        r"\b(?:lmao|lmfao|rofl|💀)\b",
        r"😂{2,}",
        r"\bcuando (?:tu|te|vas)\b",
        r"\byo cuando\b",
        r"\bjajaja+\b",
    ),
}
# "How to" phrased as a question is a question, not a tutorial.
_HOW_TO_QUESTION = re.compile(r"\bhow (?:to|do i)\b[^.!\n]*\?|¿c[oó]mo\b", re.IGNORECASE)


def classify_content(text: str, media_types: Iterable[str] = (), *, title: str | None = None) -> list[str]:
    """Every type that applies, in CONTENT_TYPES order; ["other"] when none does."""
    found: set[str] = set()
    for media in media_types:
        if media == "photo":
            found.add("photo")
        elif media in ("video", "gif"):
            found.add("video")
    full = f"{title}\n{text}" if title else text
    for kind, pattern in _TEXT_CUES.items():
        if pattern.search(full):
            found.add(kind)
    if (
        "tutorial" in found
        and _HOW_TO_QUESTION.search(full)
        and not re.search(r"\btutorial\b|\bstep\b|\bpaso\b", full, re.IGNORECASE)
    ):
        found.discard("tutorial")
    if (
        "meme" in found
        and not (found & {"photo", "video"})
        and not re.search(r"\bmeme\b", full, re.IGNORECASE)
    ):
        # Without an image, "when you ..." is just a sentence; memes are pictures.
        found.discard("meme")
    return [kind for kind in CONTENT_TYPES if kind in found] or ["other"]
