"""Relevance in 0..1: is this post really about our brand?

Not another "Apple", not a job ad, not spam. The score is a logistic blend of
evidence that is each weak alone:

* the brand's listening query matches the text (what the collector asked for),
* an explicit mention: brand name, handle, hashtag or a product alias as whole words,
* cosine similarity of the post to the brand's and its products' descriptions,
  which separates "apple pie recipe" from "Apple's new laptop" when both say "apple",
* the product head's confidence,
* penalties for job-ad wording and the spam score.

The weights are hand-set (documented below), not learned yet: learning them from
the coordinator's approve/reject decisions (curator/feedback.py) is the next step.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tesoro.collector.query import Matcher, compile_matcher, parse
from tesoro.scoring.encoder import Encoder
from tesoro.scoring.text import contains_phrase, padded_words

__all__ = ["BrandProfile", "RelevanceScorer"]

FloatArray = npt.NDArray[np.float32]

_JOB_AD = re.compile(
    r"\bwe'?re hiring\b|\bnow hiring\b|\bjob (?:opening|offer|alert)\b|\bapply (?:now|today|here)\b|"
    r"\bjoin our team\b|\bcareers?\b|\bvacancy\b|\b#hiring\b|\bhiring\b|"
    r"\bestamos contratando\b|\bvacante\b|\boferta de (?:empleo|trabajo)\b|\bempleo\b|\bpostula(?:te)?\b",
    re.IGNORECASE,
)

# Logistic weights. The embedding term is centred on a cosine of 0.35 (all-MiniLM-L6-v2: posts about
# the brand score 0.45-0.75 against its description, homonyms such as "apple pie" 0.2-0.3) and clipped,
# so that a bare ambiguous name plus a query match stays under 0.5 while an explicit product alias
# (written by the brand's team, hence precise) carries a post even when the encoder, English-only,
# understands little of it (a Spanish complaint about the product).
_BIAS = -1.5
_W_QUERY = 1.0
_W_MENTION = 1.0
_W_SIMILARITY = 1.0  # times clip((cosine - 0.35) / 0.1, -2, 2)
_SIM_CENTRE = 0.35
_SIM_SCALE = 0.1
_W_PRODUCT = 2.5
_W_JOB = -3.0
_W_SPAM = -3.0


@dataclass(frozen=True, slots=True)
class BrandProfile:
    """A brand as relevance sees it (built from the Brand, Product and ListeningQuery tables)."""

    id: int
    name: str
    description: str = ""
    handles: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    product_texts: tuple[str, ...] = ()  # "name. description" per product
    product_aliases: tuple[str, ...] = ()
    queries: tuple[str, ...] = ()


class RelevanceScorer:
    """Scores posts against brands; build once per run (it embeds the brand profiles and compiles queries)."""

    def __init__(self, brands: Sequence[BrandProfile], encoder: Encoder) -> None:
        self.brands = {b.id: b for b in brands}
        self._matchers: dict[int, list[Matcher]] = {
            b.id: [compile_matcher(parse(q)) for q in b.queries] for b in brands
        }
        self._mentions: dict[int, list[str]] = {
            b.id: [
                b.name,
                *b.product_aliases,
                *(f"@{h.lstrip('@')}" for h in b.handles),
                *(f"#{t.lstrip('#')}" for t in b.hashtags),
            ]
            for b in brands
        }
        self._profiles: dict[int, FloatArray] = {}
        for b in brands:
            texts = [f"{b.name}. {b.description}".strip(), *b.product_texts]
            self._profiles[b.id] = encoder.encode(texts)

    def score(
        self,
        text: str,
        embedding: FloatArray,
        *,
        brand_id: int | None,
        lang: str | None = None,
        spam: float = 0.0,
        product_confidence: float = 0.0,
    ) -> float | None:
        """Relevance to `brand_id` (or the best-matching brand when None); None with no brands configured."""
        candidates = [brand_id] if brand_id in self.brands else list(self.brands)
        if not candidates:
            return None
        return max(
            self._score_one(b, text, embedding, lang, spam, product_confidence)
            for b in candidates
            if b is not None
        )

    def _score_one(
        self,
        brand_id: int,
        text: str,
        embedding: FloatArray,
        lang: str | None,
        spam: float,
        product_confidence: float,
    ) -> float:
        matchers = self._matchers[brand_id]
        query = 1.0 if any(m.matches(text, lang) for m in matchers) else 0.0
        padded = padded_words(text)
        folded_tags = {w.casefold() for w in re.findall(r"[#@][\w.]+", text)}
        mention = 0.0
        for needle in self._mentions[brand_id]:
            if (needle.startswith(("#", "@")) and needle.casefold() in folded_tags) or (
                not needle.startswith(("#", "@")) and contains_phrase(padded, needle)
            ):
                mention = 1.0
                break
        similarity = float((self._profiles[brand_id] @ embedding).max())
        sim_scaled = min(max((similarity - _SIM_CENTRE) / _SIM_SCALE, -2.0), 2.0)
        job = 1.0 if _JOB_AD.search(text) else 0.0
        logit = (
            _BIAS
            + _W_QUERY * query
            + _W_MENTION * mention
            + _W_SIMILARITY * sim_scaled
            + _W_PRODUCT * product_confidence
            + _W_JOB * job
            + _W_SPAM * spam
        )
        return round(1.0 / (1.0 + math.exp(-logit)), 4)
