"""Relevance in 0..1: is this post really about our brand?

Not another "Apple", not a job ad, not spam. The score is a logistic blend of
evidence that is each weak alone (`FEATURES`, in this order):

* ``query``: the brand's listening query matches the text (what the collector asked for),
* ``mention``: an explicit mention: brand name, handle, hashtag or a product alias as whole words,
* ``similarity``: cosine similarity of the post to the brand's and its products' descriptions,
  which separates "apple pie recipe" from "Apple's new laptop" when both say "apple",
* ``product``: the product head's confidence,
* ``job`` and ``spam``: penalties for job-ad wording and the spam score.

The default weights are hand-set (`DEFAULT_WEIGHTS`, documented below). Each brand
may carry weights learned from its coordinator's decisions instead
(`tesoro.curator.relevance_model`): a logistic regression whose prior is centred on
the defaults, so a brand with no decisions scores exactly as before and a few
decisions move it only a little. `RelevanceWeights` says which weights a score
used and how many decisions taught them; `RelevanceScorer.explain` shows each
feature's value, weight and contribution.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tesoro.text.fold import fold, padded_words
from tesoro.text.query import Matcher, compile_matcher, parse

__all__ = [
    "DEFAULT_WEIGHTS",
    "FEATURES",
    "BrandProfile",
    "RelevanceScorer",
    "RelevanceWeights",
    "StoredWeights",
    "TextEncoder",
    "relevance_from_features",
    "with_learned_weights",
]

FloatArray = npt.NDArray[np.float32]

FEATURES = ("query", "mention", "similarity", "product", "job", "spam")

_JOB_AD = re.compile(
    r"\bwe'?re hiring\b|\bnow hiring\b|\bjob (?:opening|offer|alert)\b|\bapply (?:now|today|here)\b|"
    r"\bjoin our team\b|\bcareers?\b|\bvacancy\b|\b#hiring\b|\bhiring\b|"
    r"\bestamos contratando\b|\best[aá] contratando\b|\bcontratamos\b|\b[uú]nete a nuestro equipo\b|"
    r"\bvacante\b|\boferta de (?:empleo|trabajo)\b|\bempleo\b|\bpostula(?:te)?\b",
    re.IGNORECASE,
)

# Default logistic weights. The embedding term is centred on a cosine of 0.35 (all-MiniLM-L6-v2: posts
# about the brand score 0.45-0.75 against its description, homonyms such as "apple pie" 0.2-0.3) and
# clipped, so that a bare ambiguous name plus a query match stays under 0.5 while an explicit product
# alias (written by the brand's team, hence precise) carries a post even when the encoder, English-only,
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


class TextEncoder(Protocol):
    """What relevance needs of an encoder: normalized float32 embeddings, one row per text."""

    def encode(self, texts: Sequence[str]) -> FloatArray: ...


@dataclass(frozen=True, slots=True)
class RelevanceWeights:
    """The logistic weights of one brand, and where they came from.

    `decisions` is 0 for the hand-set defaults; learned weights record how many
    coordinator decisions taught them (approvals, rejections, and how many of the
    rejections said "off-topic").
    """

    bias: float = _BIAS
    query: float = _W_QUERY
    mention: float = _W_MENTION
    similarity: float = _W_SIMILARITY
    product: float = _W_PRODUCT
    job: float = _W_JOB
    spam: float = _W_SPAM
    decisions: int = 0
    approvals: int = 0
    rejections: int = 0
    off_topic: int = 0
    trained_at: datetime | None = None

    @property
    def learned(self) -> bool:
        return self.decisions > 0

    def coefficients(self) -> tuple[float, ...]:
        """(bias, then one weight per feature in `FEATURES` order)."""
        return (self.bias, self.query, self.mention, self.similarity, self.product, self.job, self.spam)

    @classmethod
    def from_coefficients(cls, values: Sequence[float], **provenance: Any) -> RelevanceWeights:
        if len(values) != len(FEATURES) + 1:
            raise ValueError(f"expected {len(FEATURES) + 1} coefficients, got {len(values)}")
        bias, query, mention, similarity, product, job, spam = (float(v) for v in values)
        return replace(
            cls(**provenance),
            bias=bias,
            query=query,
            mention=mention,
            similarity=similarity,
            product=product,
            job=job,
            spam=spam,
        )

    def logit(self, features: Sequence[float]) -> float:
        query, mention, similarity, product, job, spam = features
        # Summed term by term in this order: the default weights give bit-for-bit the scores
        # Tesoro computed before weights could be learned.
        return (
            self.bias
            + self.query * query
            + self.mention * mention
            + self.similarity * similarity
            + self.product * product
            + self.job * job
            + self.spam * spam
        )

    def describe(self) -> str:
        """One honest line for people: default or learned, and from how much."""
        if not self.learned:
            return "default hand-set weights (not learned from this brand's decisions)"
        off = f", {self.off_topic} marked off-topic" if self.off_topic else ""
        return (
            f"learned from {self.decisions} of this brand's decisions ({self.approvals} approved or "
            f"featured, {self.rejections} rejected{off}), starting from the hand-set weights"
        )

    def to_json(self) -> dict[str, float]:
        return dict(zip(("bias", *FEATURES), self.coefficients(), strict=True))

    @classmethod
    def from_json(cls, data: Mapping[str, Any], **provenance: Any) -> RelevanceWeights | None:
        """Stored weights, or None when they were saved for other features (retrain then)."""
        names = ("bias", *FEATURES)
        if set(data) != set(names):
            return None
        try:
            values = [float(data[name]) for name in names]
        except (TypeError, ValueError):
            return None
        if not all(math.isfinite(v) for v in values):
            return None
        return cls.from_coefficients(values, **provenance)


DEFAULT_WEIGHTS = RelevanceWeights()


def relevance_from_features(features: Sequence[float], weights: RelevanceWeights = DEFAULT_WEIGHTS) -> float:
    """The relevance (rounded to 4 decimals, as stored) of one feature vector under `weights`."""
    logit = weights.logit(features)
    if logit < -700.0:  # math.exp would overflow; the answer rounds to 0 long before
        return 0.0
    return round(1.0 / (1.0 + math.exp(-logit)), 4)


@dataclass(frozen=True, slots=True)
class BrandProfile:
    """A brand as relevance sees it (built from the Brand, Product and ListeningQuery tables).

    `weights` is None for the hand-set defaults, or the brand's learned weights.
    """

    id: int
    name: str
    description: str = ""
    handles: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    product_texts: tuple[str, ...] = ()  # "name. description" per product
    product_aliases: tuple[str, ...] = ()
    queries: tuple[str, ...] = ()
    weights: RelevanceWeights | None = None


class StoredWeights(Protocol):
    """What relevance reads of a brand's stored learned weights (a `curator_relevance` row)."""

    @property
    def weights(self) -> Mapping[str, Any]: ...
    @property
    def decisions(self) -> int: ...
    @property
    def approvals(self) -> int: ...
    @property
    def rejections(self) -> int: ...
    @property
    def off_topic(self) -> int: ...
    @property
    def trained_at(self) -> datetime | None: ...


def with_learned_weights(
    brands: Sequence[BrandProfile], stored: Mapping[int, StoredWeights]
) -> list[BrandProfile]:
    """`brands` with the learned weights in `stored` (by brand id) attached; the defaults elsewhere.

    Weights saved for other features than today's read as None (the defaults) until relearned.
    """
    out: list[BrandProfile] = []
    for b in brands:
        row = stored.get(b.id)
        weights = None
        if row is not None:
            weights = RelevanceWeights.from_json(
                row.weights,
                decisions=row.decisions,
                approvals=row.approvals,
                rejections=row.rejections,
                off_topic=row.off_topic,
                trained_at=row.trained_at,
            )
        out.append(replace(b, weights=weights))
    return out


class RelevanceScorer:
    """Scores posts against brands; build once per run (it embeds the brand profiles and compiles queries)."""

    def __init__(
        self,
        brands: Sequence[BrandProfile],
        encoder: TextEncoder | None = None,
        *,
        profile_embeddings: Mapping[int, FloatArray] | None = None,
    ) -> None:
        """`encoder` embeds the brand profiles; or give `profile_embeddings` (by brand id) already made."""
        self.brands = {b.id: b for b in brands}
        self.weights: dict[int, RelevanceWeights] = {b.id: b.weights or DEFAULT_WEIGHTS for b in brands}
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
        # Each needle as features() compares it: folded (a #hashtag or @handle against the text's folded
        # tags) or as padded words (`contains_phrase`'s needle), computed once rather than per post.
        self._needles: dict[int, list[tuple[bool, str]]] = {
            b: [(True, fold(n)) if n.startswith(("#", "@")) else (False, padded_words(n)) for n in needles]
            for b, needles in self._mentions.items()
        }
        self._profiles: dict[int, FloatArray] = {}
        for b in brands:
            if profile_embeddings is not None and b.id in profile_embeddings:
                self._profiles[b.id] = profile_embeddings[b.id]
                continue
            if encoder is None:
                raise ValueError("give an encoder or the profile embeddings")
            texts = [f"{b.name}. {b.description}".strip(), *b.product_texts]
            self._profiles[b.id] = encoder.encode(texts)

    def dim(self, brand_id: int) -> int:
        """The embedding size the brand's profile was embedded with (a post's must match)."""
        return int(self._profiles[brand_id].shape[-1])

    def with_weights(self, weights: Mapping[int, RelevanceWeights | None]) -> RelevanceScorer:
        """A scorer with other weights for some brands (None: the defaults), sharing the embeddings."""
        brands = [replace(b, weights=weights[b.id]) if b.id in weights else b for b in self.brands.values()]
        return RelevanceScorer(brands, profile_embeddings=self._profiles)

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
            relevance_from_features(
                self.features(
                    text, embedding, brand_id=b, lang=lang, spam=spam, product_confidence=product_confidence
                ),
                self.weights[b],
            )
            for b in candidates
            if b is not None
        )

    def features(
        self,
        text: str,
        embedding: FloatArray,
        *,
        brand_id: int,
        lang: str | None = None,
        spam: float = 0.0,
        product_confidence: float = 0.0,
    ) -> tuple[float, float, float, float, float, float]:
        """The feature vector (`FEATURES` order) of one post against one configured brand."""
        matchers = self._matchers[brand_id]
        query = 1.0 if any(m.matches(text, lang) for m in matchers) else 0.0
        padded = padded_words(text)
        folded_tags = set(re.findall(r"[#@][\w.]+", fold(text)))
        mention = 0.0
        for is_tag, needle in self._needles[brand_id]:
            # The same tests as `fold(needle) in folded_tags` and `contains_phrase(padded, needle)`.
            if (is_tag and needle in folded_tags) or (
                not is_tag and needle.strip() != "" and needle in padded
            ):
                mention = 1.0
                break
        if embedding.size == 0 or self._profiles[brand_id].shape[-1] == 0:
            sim_scaled = 0.0  # no embeddings (the fast profile): the similarity term says nothing
        else:
            similarity = float((self._profiles[brand_id] @ embedding).max())
            sim_scaled = min(max((similarity - _SIM_CENTRE) / _SIM_SCALE, -2.0), 2.0)
        job = 1.0 if _JOB_AD.search(text) else 0.0
        return (query, mention, sim_scaled, product_confidence, job, spam)

    def explain(
        self,
        text: str,
        embedding: FloatArray,
        *,
        brand_id: int,
        lang: str | None = None,
        spam: float = 0.0,
        product_confidence: float = 0.0,
    ) -> dict[str, Any]:
        """Why a post got its relevance for one brand: each feature's value, weight and contribution."""
        values = self.features(
            text, embedding, brand_id=brand_id, lang=lang, spam=spam, product_confidence=product_confidence
        )
        weights = self.weights[brand_id]
        learned = dict(zip(FEATURES, weights.coefficients()[1:], strict=True))
        default = dict(zip(FEATURES, DEFAULT_WEIGHTS.coefficients()[1:], strict=True))
        return {
            "relevance": relevance_from_features(values, weights),
            "weights": "learned" if weights.learned else "default",
            "decisions": weights.decisions,
            "summary": weights.describe(),
            "bias": {"weight": round(weights.bias, 4), "default_weight": DEFAULT_WEIGHTS.bias},
            "features": {
                name: {
                    "value": round(value, 4),
                    "weight": round(learned[name], 4),
                    "default_weight": default[name],
                    "contribution": round(learned[name] * value, 4),
                }
                for name, value in zip(FEATURES, values, strict=True)
            },
        }
