"""The treasure score: how much a post is worth a UGC coordinator's attention, and why.

A coordinator trusts a ranking they can read, so the score is a weighted mean of
a few components in [0, 1], each shown with its value, its weight and its share of
the total (the shares add up to the score):

| component | from | 1.0 means |
| --- | --- | --- |
| relevance | `Score.relevance` | clearly about the brand or one of its products |
| sentiment | `Score.sentiment_probs` (positive - negative) | clearly positive |
| content | content types, media, photo quality (`[curator.content_values]`) | a sharp video or tutorial |
| engagement | `Score.engagement_vs_median`, log-scaled | `engagement_cap` x the platform's median or more |
| relationship | the author's ROR, see `relationship_strength` | a long-time advocate (0.5 when unknown) |
| recency | age, halving every `recency_half_life_days` | posted just now |
| safety | 1 - the worst safety or spam probability | nothing unsafe or spammy |
| gallery | gallery CTR (opens + shop clicks per impression) vs the brand's | far above the brand's |

The pixels count where the media pipeline has seen them (`tesoro.media`): the photo and video
kinds of the content component are worth `0.4 + 0.6 x quality` of their value, where quality is
the post's best image's photo-quality score (sharpness, exposure, resolution, aspect fit), and
the explanation names it ("photo quality 0.41: blurry"). So a blurry or dark photo ranks below a
sharp one with the same text; a post whose images are not processed yet keeps the full value.

Anything unknown (not scored yet, no benchmark for the platform, an author the
last ROR refresh did not see) takes the value that changes nothing for the
ranking between posts, and the explanation says so.

Safety is also a gate, not only a component: a post that is spam, unsafe (offensive,
hateful, threatening or adult: `scoring.safety.UNSAFE_CATEGORIES`; profanity alone only
lowers the safety component) or off-topic beyond the thresholds gets a `filtered` reason
and leaves the queue for the separate "filtered" view, however good its other components are. A weighted
mean alone would let a viral, perfectly on-topic post full of slurs reach the top.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tesoro.scoring.safety import UNSAFE_CATEGORIES
from tesoro.settings import CuratorSettings

__all__ = [
    "COMPONENTS",
    "Component",
    "Photo",
    "Treasure",
    "TreasureInputs",
    "content_types_of",
    "gallery_rate",
    "relationship_strength",
    "score_treasure",
]

COMPONENTS: tuple[str, ...] = (
    "relevance",
    "sentiment",
    "content",
    "engagement",
    "relationship",
    "recency",
    "safety",
    "gallery",
)
_MEDIA_TYPES = {"photo": "photo", "gif": "photo", "video": "video"}


def content_types_of(types: Iterable[str], media_types: Iterable[str] = ()) -> list[str]:
    """The post's content types, with photo/video added from its media (platform metadata is exact)."""
    out = list(dict.fromkeys(t for t in types if t))
    for media in media_types:
        kind = _MEDIA_TYPES.get(media)
        if kind and kind not in out:
            out.append(kind)
    return out


def relationship_strength(ror: float, advocate_ror: float) -> float:
    """An author's ROR as the relationship component's value: 0.5 + 0.5 * tanh(ror / advocate_ror).

    ROR has no upper bound and goes below 0 with complaints, so it is squashed into
    [0, 1] around the neutral 0.5 (ROR 0: no relationship to speak of, the same value
    as an unknown author). `advocate_ror` is the brand's advocate threshold
    (`[relationship] advocate_min_ror`): an advocate scores 0.88, twice that 0.98, a
    one-time fan a little above 0.5, someone whose complaints outweigh the rest below it.
    """
    if advocate_ror <= 0:
        raise ValueError("advocate_ror must be above 0")
    return 0.5 + 0.5 * math.tanh(ror / advocate_ror)


@dataclass(frozen=True, slots=True)
class Photo:
    """The post's best image as the media pipeline measured it: quality in [0, 1] and a few words."""

    quality: float
    detail: str


@dataclass(frozen=True, slots=True)
class TreasureInputs:
    """Everything the score reads, from the post, its media and its latest score set."""

    created_at: datetime
    relevance: float | None = None
    sentiment: str | None = None
    sentiment_probs: Mapping[str, float] | None = None
    content_types: Sequence[str] = ()
    engagement_vs_median: float | None = None
    relationship: float | None = None  # in [0, 1]: `relationship_strength` of `ror`
    ror: float | None = None  # the author's ROR itself, for the explanation
    safety: Mapping[str, float] | None = None
    spam: float | None = None
    # The post's gallery click-through rate (smoothed) and its brand's; None: too few impressions.
    gallery_ctr: float | None = None
    gallery_baseline: float | None = None
    gallery_impressions: int = 0
    photo: Photo | None = None  # None: no processed image (yet)


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    value: float
    weight: float
    contribution: float
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {
            "value": round(self.value, 4),
            "weight": self.weight,
            "contribution": round(self.contribution, 4),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Treasure:
    """A post's base treasure score, its components, and why it is filtered (None: it is not)."""

    score: float
    components: tuple[Component, ...]
    filtered: str | None

    def as_json(self) -> dict[str, Any]:
        return {c.name: c.as_json() for c in self.components}

    def values(self) -> dict[str, float]:
        return {c.name: c.value for c in self.components}


def _clip(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def _relevance(inputs: TreasureInputs) -> tuple[float, str]:
    if inputs.relevance is None:
        return 0.5, "not scored yet"
    return _clip(inputs.relevance), f"relevance {inputs.relevance:.2f}"


def _sentiment(inputs: TreasureInputs) -> tuple[float, str]:
    probs = inputs.sentiment_probs or {}
    if "positive" in probs or "negative" in probs:
        pos, neg = float(probs.get("positive", 0.0)), float(probs.get("negative", 0.0))
        return _clip(0.5 + 0.5 * (pos - neg)), f"{inputs.sentiment or 'mixed'} (+{pos:.2f} / -{neg:.2f})"
    label = inputs.sentiment
    if label is None:
        return 0.5, "not scored yet"
    return {"positive": 1.0, "negative": 0.0}.get(label, 0.5), label


_VISUAL = frozenset({"photo", "video"})


def _content(inputs: TreasureInputs, values: Mapping[str, float]) -> tuple[float, str]:
    types = list(inputs.content_types)
    if not types:
        return values.get("other", 0.15), "plain text"
    photo = inputs.photo if _VISUAL.intersection(types) else None

    def worth(kind: str) -> float:
        value = values.get(kind, values.get("other", 0.15))
        if photo is not None and kind in _VISUAL:
            value *= 0.4 + 0.6 * _clip(photo.quality)
        return value

    ranked = sorted(((worth(t), t) for t in types), reverse=True)
    best = ranked[0][0]
    # A second kind adds a little (a photo review beats a text review), never past 1.
    value = best + (0.3 * (1.0 - best) * ranked[1][0] if len(ranked) > 1 else 0.0)
    detail = ", ".join(t for _, t in ranked)
    if photo is not None:
        detail += f"; photo quality {photo.quality:.2f}: {photo.detail}"
    return _clip(value), detail


def _engagement(inputs: TreasureInputs, cap: float) -> tuple[float, str]:
    ratio = inputs.engagement_vs_median
    if ratio is None:
        return math.log1p(1.0) / math.log1p(cap), "no platform benchmark yet: counted as typical"
    value = _clip(math.log1p(max(ratio, 0.0)) / math.log1p(cap))
    return value, f"{ratio:.1f}x the platform median"


def _relationship(inputs: TreasureInputs) -> tuple[float, str]:
    if inputs.relationship is None:
        return 0.5, "unknown author relationship (no ROR yet): neutral"
    if inputs.ror is None:
        return _clip(inputs.relationship), f"relationship {inputs.relationship:.2f}"
    return _clip(inputs.relationship), f"author's ROR {inputs.ror:.1f}"


def _recency(inputs: TreasureInputs, now: datetime, half_life_days: float) -> tuple[float, str]:
    age_days = max((now - inputs.created_at).total_seconds() / 86400.0, 0.0)
    return 0.5 ** (age_days / half_life_days), f"{age_days:.1f} days old"


def _risk(inputs: TreasureInputs, categories: frozenset[str] | None = None) -> tuple[str | None, float]:
    """The worst safety category and its score, among `categories` (None: all of them)."""
    worst_name, worst = None, 0.0
    for name, value in (inputs.safety or {}).items():
        if categories is not None and name not in categories:
            continue
        if value is not None and float(value) > worst:
            worst_name, worst = name, float(value)
    return worst_name, worst


def _safety(inputs: TreasureInputs) -> tuple[float, str]:
    name, worst = _risk(inputs)
    spam = float(inputs.spam or 0.0)
    if spam >= worst and spam > 0:
        return _clip(1.0 - spam), f"spam {spam:.2f}"
    if name is None or worst <= 0:
        return 1.0, "nothing unsafe found"
    return _clip(1.0 - worst), f"{name} {worst:.2f}"


def gallery_rate(engaged: int, impressions: int, baseline: float, prior: int) -> float:
    """A post's gallery CTR pulled towards its brand's by `prior` impressions' worth of the brand's rate.

    A post seen 100 times and opened twice is not 4x worse than one opened 8 times:
    the smoothing keeps a handful of clicks from swinging the score.
    """
    return (engaged + baseline * prior) / (impressions + prior)


def _gallery(inputs: TreasureInputs) -> tuple[float, str]:
    ctr, base = inputs.gallery_ctr, inputs.gallery_baseline
    if ctr is None or base is None:
        return 0.5, "not enough gallery impressions yet: neutral"
    # At the brand's own CTR 0.5 (as with too few impressions), twice it 0.67, half of it 0.33.
    value = (0.5 if ctr <= 0 else 1.0) if base <= 0 else ctr / (ctr + base)
    return _clip(value), (
        f"gallery CTR {ctr:.1%} vs the brand's {base:.1%} ({inputs.gallery_impressions:,} impressions)"
    )


def _filter_reason(inputs: TreasureInputs, settings: CuratorSettings) -> str | None:
    reasons: list[str] = []
    if inputs.spam is not None and inputs.spam >= settings.spam_threshold:
        reasons.append(f"spam ({inputs.spam:.2f})")
    name, worst = _risk(inputs, UNSAFE_CATEGORIES)
    if name is not None and worst >= settings.unsafe_threshold:
        reasons.append(f"unsafe: {name} ({worst:.2f})")
    if inputs.relevance is not None and inputs.relevance < settings.min_relevance:
        reasons.append(f"off-topic (relevance {inputs.relevance:.2f})")
    return "; ".join(reasons) or None


def score_treasure(inputs: TreasureInputs, settings: CuratorSettings, *, now: datetime) -> Treasure:
    """The base treasure score (before any learned re-weighting) with its explanation."""
    weights = settings.weights
    raw = {
        "relevance": _relevance(inputs),
        "sentiment": _sentiment(inputs),
        "content": _content(inputs, settings.content_values),
        "engagement": _engagement(inputs, settings.engagement_cap),
        "relationship": _relationship(inputs),
        "recency": _recency(inputs, now, settings.recency_half_life_days),
        "safety": _safety(inputs),
        "gallery": _gallery(inputs),
    }
    total_weight = sum(float(getattr(weights, name)) for name in COMPONENTS)
    components = tuple(
        Component(
            name=name,
            value=raw[name][0],
            weight=float(getattr(weights, name)),
            contribution=float(getattr(weights, name)) * raw[name][0] / total_weight,
            detail=raw[name][1],
        )
        for name in COMPONENTS
    )
    score = sum(c.contribution for c in components)
    return Treasure(score=score, components=components, filtered=_filter_reason(inputs, settings))
