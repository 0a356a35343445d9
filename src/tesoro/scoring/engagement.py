"""Engagement rate and how it compares with the platform's typical post.

Rate = interactions (likes + reposts + replies + quotes) / impressions when the
platform reports views, else / the author's followers. A raw rate means little
across platforms (TikTok's median is ~160x X's), so each rate is also divided by
its platform's median: 1.0 is a typical post, 3.0 is three times better.

Medians for X, Facebook, Instagram and TikTok are published industry benchmarks
(Rival IQ 2024, per-follower rates). Reddit, Bluesky, Mastodon and Threads have no such
benchmark (Threads is too new for one), so their median is derived from the posts Tesoro has collected:
`derive_median` takes the median of the per-post rates of that platform's
recent posts that have a positive denominator, and only once there are at least
`MIN_SAMPLES` of them (fewer would make the comparison noise); until then the
comparison is left empty rather than guessed.

YouTube: no published per-follower benchmark fits (the seed articles give none, and a video's
audience is its viewers, not its channel's subscribers), so its median is derived the same way from
the collected videos, whose rate is interactions per view (YouTube always reports views). TikTok's
Research API reports views but not the author's followers, so a TikTok rate is per view too, while
its 5.69% benchmark is per follower: read TikTok comparisons as approximate.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping

__all__ = ["BENCHMARK_MEDIANS", "MIN_SAMPLES", "derive_median", "engagement_rate", "vs_median"]

# Interactions per follower for a typical post (0.035% for X, ...).
BENCHMARK_MEDIANS: Mapping[str, float] = {
    "x": 0.00035,
    "facebook": 0.0006,
    "instagram": 0.0047,
    "tiktok": 0.0569,
}
MIN_SAMPLES = 30


def engagement_rate(
    *, likes: int, reposts: int, replies: int, quotes: int, followers: int | None, views: int | None = None
) -> float | None:
    """Interactions over impressions (when known and positive) or followers; None when neither is usable."""
    interactions = max(likes, 0) + max(reposts, 0) + max(replies, 0) + max(quotes, 0)
    if views is not None and views > 0:
        return interactions / views
    if followers is not None and followers > 0:
        return interactions / followers
    return None


def derive_median(rates: Iterable[float | None]) -> float | None:
    """The median of positive-denominator rates, or None with fewer than MIN_SAMPLES of them.

    Zero rates are kept (most posts get no interaction; dropping them would inflate the
    median), but a median of exactly zero is useless as a divisor, so it yields None too.
    """
    usable = [rate for rate in rates if rate is not None]
    if len(usable) < MIN_SAMPLES:
        return None
    median = statistics.median(usable)
    return median if median > 0 else None


def vs_median(
    rate: float | None, platform: str, derived: Mapping[str, float | None] | None = None
) -> float | None:
    """`rate` divided by the platform's median (benchmark first, else derived); None if unknown."""
    if rate is None:
        return None
    median = BENCHMARK_MEDIANS.get(platform)
    if median is None and derived is not None:
        median = derived.get(platform)
    if not median:
        return None
    return rate / median
