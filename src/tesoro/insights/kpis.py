"""The social KPIs and Return on Engagement as pure functions of aggregated numbers.

The store hands over counts and numeric columns (`tesoro.store.kpis`); this module
turns them into what a marketing lead reads, and nothing here touches a database,
so each formula is tested on hand-counted numbers:

- sentiment share: positive / neutral / negative over *scored* posts, and net
  sentiment = (positive - negative) / scored, in [-1, 1];
- share of voice: the brand's mentions against each configured competitor's,
  as fractions of their sum;
- engagement rate per post = interactions / views when the platform reports
  views, else / the author's followers (the same rule as `scoring.engagement`);
  the KPI is the *median* per-post rate, compared with the platform's median:
  the published Rival IQ benchmarks for X (0.035%), Facebook (0.06%), Instagram
  (0.47%) and TikTok (5.69%), and for platforms without a published benchmark
  (Reddit, Bluesky, Mastodon, files) the median per-post rate of the 5,000 most
  recent posts Tesoro collected on that platform, for every brand, once at least
  30 of them have a usable denominator (`scoring.engagement.derive_median`);
- ROE = earned engagement / declared effort, per post published, per hour and
  per unit of spend, where earned = interactions + ugc_value x UGC posts +
  reach_value x potential reach; its trend is the change against the previous
  declared period of the same brand/campaign;
- purchases (seed formulas): frequency = orders / buyers, average order value =
  revenue / orders, repeat-purchase rate = buyers with more than one order / buyers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from tesoro.scoring.engagement import BENCHMARK_MEDIANS, derive_median

__all__ = [
    "Bucket",
    "EngagementKpi",
    "PurchaseMetrics",
    "RoeResult",
    "SentimentShare",
    "SeriesPoint",
    "VoiceShare",
    "bucket_series",
    "choose_bucket",
    "derived_median",
    "engagement_kpi",
    "per_post_rates",
    "purchase_metrics",
    "roe",
    "sentiment_share",
    "share_of_voice",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Bucket = Literal["day", "week", "month"]
_LABELS = ("positive", "neutral", "negative")


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class SentimentShare:
    positive: int
    neutral: int
    negative: int
    unscored: int

    @property
    def scored(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def net(self) -> float | None:
        """(positive - negative) / scored: +1 all praise, -1 all complaints, None when nothing is scored."""
        return _ratio(self.positive - self.negative, self.scored)

    def as_dict(self) -> dict[str, Any]:
        scored = self.scored
        return {
            "positive": self.positive,
            "neutral": self.neutral,
            "negative": self.negative,
            "unscored": self.unscored,
            "share": {label: _ratio(getattr(self, label), scored) for label in _LABELS},
            "net": self.net,
        }


def sentiment_share(counts: Mapping[str | None, int]) -> SentimentShare:
    """From posts per sentiment label (None or an unknown label: unscored)."""
    unscored = sum(n for label, n in counts.items() if label not in _LABELS)
    return SentimentShare(
        positive=counts.get("positive", 0),
        neutral=counts.get("neutral", 0),
        negative=counts.get("negative", 0),
        unscored=unscored,
    )


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    start: datetime
    posts: int
    sentiment: SentimentShare

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "posts": self.posts, "sentiment": self.sentiment.as_dict()}


def choose_bucket(since: datetime, until: datetime) -> Bucket:
    """Days for up to two months, weeks up to a year, months beyond: always a readable number of bars."""
    days = (until - since).total_seconds() / 86_400
    if days <= 62:
        return "day"
    if days <= 366:
        return "week"
    return "month"


def _bucket_start(day: int, bucket: Bucket) -> datetime:
    start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)
    if bucket == "week":
        return start - timedelta(days=start.weekday())
    if bucket == "month":
        return start.replace(day=1)
    return start


def bucket_series(
    rows: Sequence[tuple[int, str | None, int]], *, since: datetime, until: datetime, bucket: Bucket
) -> list[SeriesPoint]:
    """Volume and sentiment per day/week (Monday)/month (UTC), empty buckets included, from daily rows."""
    counts: dict[datetime, dict[str | None, int]] = {}
    cursor = _bucket_start(int(since.timestamp() // 86_400), bucket)
    last = _bucket_start(int((until.timestamp() - 1) // 86_400), bucket)
    while cursor <= last:
        counts[cursor] = {}
        if bucket == "day":
            cursor += timedelta(days=1)
        elif bucket == "week":
            cursor += timedelta(days=7)
        else:
            cursor = (cursor + timedelta(days=32)).replace(day=1)
    for day, label, n in rows:
        key = _bucket_start(day, bucket)
        bucket_counts = counts.setdefault(key, {})
        bucket_counts[label] = bucket_counts.get(label, 0) + n
    return [
        SeriesPoint(start=start, posts=sum(c.values()), sentiment=sentiment_share(c))
        for start, c in sorted(counts.items())
    ]


@dataclass(frozen=True, slots=True)
class VoiceShare:
    name: str
    is_brand: bool
    mentions: int
    share: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "is_brand": self.is_brand, "mentions": self.mentions, "share": self.share}


def share_of_voice(brand: str, brand_mentions: int, competitors: Mapping[str, int]) -> list[VoiceShare]:
    total = brand_mentions + sum(competitors.values())
    out = [VoiceShare(brand, True, brand_mentions, _ratio(brand_mentions, total))]
    out.extend(VoiceShare(name, False, n, _ratio(n, total)) for name, n in competitors.items())
    return out


def per_post_rates(interactions: I64, followers: F64, views: F64) -> F64:
    """Interactions / views where views > 0, else / followers where > 0, else NaN (vectorized)."""
    inter = interactions.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        by_views = np.where(views > 0, inter / np.where(views > 0, views, 1.0), np.nan)
        by_followers = np.where(followers > 0, inter / np.where(followers > 0, followers, 1.0), np.nan)
    rates: F64 = np.where(views > 0, by_views, by_followers)
    return rates


def derived_median(samples: Sequence[tuple[int, int | None, int | None]]) -> float | None:
    """A platform's median rate from collected (interactions, followers, views) samples, or None."""
    if not samples:
        return None
    m = np.array(
        [(i, np.nan if f is None else f, np.nan if v is None else v) for i, f, v in samples], dtype=float
    )
    rates = per_post_rates(m[:, 0].astype(np.int64), m[:, 1], m[:, 2])
    return derive_median(float(r) for r in rates[~np.isnan(rates)])


@dataclass(frozen=True, slots=True)
class EngagementKpi:
    platform: str
    posts: int
    rated_posts: int
    median_rate: float | None
    mean_rate: float | None
    platform_median: float | None
    median_source: Literal["published", "derived"] | None
    vs_median: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "posts": self.posts,
            "rated_posts": self.rated_posts,
            "median_rate": self.median_rate,
            "mean_rate": self.mean_rate,
            "platform_median": self.platform_median,
            "median_source": self.median_source,
            "vs_median": self.vs_median,
        }


def engagement_kpi(
    platform: str, interactions: I64, followers: F64, views: F64, *, derived: float | None = None
) -> EngagementKpi:
    """The window's median engagement rate on one platform against that platform's median."""
    rates = per_post_rates(interactions, followers, views)
    usable = rates[~np.isnan(rates)]
    median = float(np.median(usable)) if usable.size else None
    mean = float(np.mean(usable)) if usable.size else None
    published = BENCHMARK_MEDIANS.get(platform)
    reference = published if published is not None else derived
    source: Literal["published", "derived"] | None = (
        "published" if published is not None else ("derived" if derived is not None else None)
    )
    return EngagementKpi(
        platform=platform,
        posts=int(interactions.shape[0]),
        rated_posts=int(usable.size),
        median_rate=median,
        mean_rate=mean,
        platform_median=reference,
        median_source=source,
        vs_median=median / reference if median is not None and reference else None,
    )


@dataclass(frozen=True, slots=True)
class RoeResult:
    """One declared effort and what it earned; `per_*` are None where that effort was not declared or 0."""

    target: str
    start: datetime
    end: datetime
    posts_about: int
    interactions: int
    ugc: int
    reach: int
    earned: float
    posts_published: int | None
    hours: float | None
    spend: float | None
    per_post: float | None
    per_hour: float | None
    per_spend: float | None
    trend: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "start": self.start.date().isoformat(),
            "end": (self.end - timedelta(seconds=1)).date().isoformat(),
            "earned": {
                "posts_about": self.posts_about,
                "interactions": self.interactions,
                "ugc": self.ugc,
                "reach": self.reach,
                "total": self.earned,
            },
            "effort": {"posts": self.posts_published, "hours": self.hours, "spend": self.spend},
            "roe": {"per_post": self.per_post, "per_hour": self.per_hour, "per_spend": self.per_spend},
            "trend": self.trend,
        }


def roe(
    *,
    target: str,
    start: datetime,
    end: datetime,
    posts_about: int,
    interactions: int,
    ugc: int,
    reach: int,
    posts_published: int | None,
    hours: float | None,
    spend: float | None,
    ugc_value: float,
    reach_value: float,
    previous: RoeResult | None = None,
) -> RoeResult:
    """Earned engagement per unit of effort, and its relative change against `previous` (same target)."""
    earned = interactions + ugc_value * ugc + reach_value * reach
    per_post = _ratio(earned, posts_published) if posts_published else None
    per_hour = _ratio(earned, hours) if hours else None
    per_spend = _ratio(earned, spend) if spend else None
    trend: dict[str, float | None] = {}
    for name, now in (("per_post", per_post), ("per_hour", per_hour), ("per_spend", per_spend)):
        before = getattr(previous, name) if previous is not None else None
        trend[name] = (now - before) / before if now is not None and before else None
    return RoeResult(
        target=target,
        start=start,
        end=end,
        posts_about=posts_about,
        interactions=interactions,
        ugc=ugc,
        reach=reach,
        earned=earned,
        posts_published=posts_published,
        hours=hours,
        spend=spend,
        per_post=per_post,
        per_hour=per_hour,
        per_spend=per_spend,
        trend=trend,
    )


@dataclass(frozen=True, slots=True)
class PurchaseMetrics:
    customers: int
    orders: int
    revenue: float
    frequency: float | None
    average_order_value: float | None
    repeat_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "orders": self.orders,
            "revenue": round(self.revenue, 2),
            "purchase_frequency": self.frequency,
            "average_order_value": self.average_order_value,
            "repeat_purchase_rate": self.repeat_rate,
        }


def purchase_metrics(customer: NDArray[Any], amount: F64) -> PurchaseMetrics:
    """Frequency, average order value and repeat rate of the orders given (one entry per order)."""
    if customer.size == 0:
        return PurchaseMetrics(0, 0, 0.0, None, None, None)
    _, per_customer = np.unique(customer, return_counts=True)
    customers = int(per_customer.size)
    orders = int(customer.size)
    revenue = float(amount.sum())
    return PurchaseMetrics(
        customers=customers,
        orders=orders,
        revenue=revenue,
        frequency=orders / customers,
        average_order_value=revenue / orders,
        repeat_rate=float(np.count_nonzero(per_customer > 1)) / customers,
    )
