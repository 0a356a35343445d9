"""Return on Relationship (ROR): what a person's relationship with the brand is worth, and why.

Ted Rubin's ROR is the value that accumulates over time through loyalty and
recommendations. Tesoro measures it from what each person did, as a stream of
events derived from the store (a mention, a positive or negative mention, a UGC
post, the coordinator approving or featuring it, usage rights granted, a
recommendation to others, the brand replying to them, them replying back):

    ROR(p, T) = E + L + A + S

    E = sum over events e of value(kind_e) * weight_e * decay(T - t_e)
    L = loyalty_weight * ln(1 + M)
    A = advocacy_weight * sum over UGC and recommendation events e of decay(T - t_e) * log10(1 + reach_e)
    S = trend_weight * (mean sentiment of mentions in (T - W, T] - mean sentiment of mentions before)

    decay(age) = 2 ** (-age / half_life)

where M is the number of distinct calendar months (UTC) with at least one
mention that is not negative, W is `trend_window_days`, sentiment is +1
(positive), 0 (neutral) or -1 (negative), and S is 0 unless both sides of the
window have a scored mention. Events after T are ignored.

Why this shape: decay makes a relationship something that must be kept up (a
fan from two years ago who went quiet is worth less than one who posted last
week); loyalty is *not* decayed, because months of showing up are history that
stays true; advocacy grows with the log of reach, so an influencer's post counts
more than a friend's but not a thousand times more; the trend term separates
someone warming to the brand from someone souring on it at equal totals.
Negative mentions have a value <= 0 (the settings refuse anything else), so a
complaint always lowers the score.

Everything here is pure: numpy columns in, numpy columns out. `compute_ror` scores
every person at once (vectorized, for the leaderboard and the benchmark);
`explain` scores one person through the very same function and also returns how
each event contributed, for the author page; `ror_history` recomputes the score at
the end of each month or week. Which facts become which events, and whose events
belong together, is `tesoro.insights.events`.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from tesoro.insights.events import (
    ADVOCACY_CODES,
    KIND_CODE,
    KINDS,
    Event,
    EventArrays,
    EventKind,
    epoch,
    from_epoch,
)
from tesoro.settings import RelationshipSettings

__all__ = [
    "EventContribution",
    "HistoryPoint",
    "RorBreakdown",
    "RorTerms",
    "RorWeights",
    "compute_ror",
    "explain",
    "explain_arrays",
    "period_ends",
    "ror_history",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class RorWeights:
    """The formula's parameters; build them from settings with `from_settings`."""

    values: Mapping[EventKind, float]
    half_life_days: float = 90.0
    loyalty_weight: float = 3.0
    advocacy_weight: float = 1.0
    trend_weight: float = 5.0
    trend_window_days: float = 90.0

    @classmethod
    def from_settings(cls, settings: RelationshipSettings) -> RorWeights:
        values = {kind: float(getattr(settings.events, kind.value, 1.0)) for kind in KINDS}
        values[EventKind.MANUAL] = 1.0
        return cls(
            values=values,
            half_life_days=settings.half_life_days,
            loyalty_weight=settings.loyalty_weight,
            advocacy_weight=settings.advocacy_weight,
            trend_weight=settings.trend_weight,
            trend_window_days=float(settings.trend_window_days),
        )

    @classmethod
    def defaults(cls) -> RorWeights:
        return cls.from_settings(RelationshipSettings())

    def value_table(self) -> F64:
        return np.array([self.values.get(kind, 1.0) for kind in KINDS], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class RorTerms:
    """ROR per group, as columns: `score` is the sum of the four terms."""

    score: F64
    events_term: F64
    loyalty_term: F64
    advocacy_term: F64
    trend_term: F64
    events: I64
    months_active: I64
    last_event_at: F64  # epoch seconds; NaN when the group has no event up to `as_of`
    recent_sentiment: F64  # NaN when there is no scored mention in the trend window
    earlier_sentiment: F64


def _month_index(seconds: F64) -> I64:
    months: I64 = seconds.astype(np.int64).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return months


def compute_ror(
    events: EventArrays, group: I64, count: int, *, as_of: datetime, weights: RorWeights
) -> RorTerms:
    """Score every group at `as_of` in one vectorized pass (the formula in the module docstring).

    `group[i]` is the group (person) of event i, in 0..count-1. Events after
    `as_of` are ignored, so the same events give the score at any past moment.
    """
    t_end = epoch(as_of)
    keep = events.at <= t_end
    ev = events.take(keep)
    g = group[keep]
    age_days = (t_end - ev.at) / _DAY_S
    decay = np.exp2(-age_days / weights.half_life_days)

    values = weights.value_table()[ev.kind] * ev.weight
    events_term: F64 = np.bincount(g, weights=values * decay, minlength=count).astype(np.float64)

    advocacy = np.isin(ev.kind, ADVOCACY_CODES)
    advocacy_term: F64 = weights.advocacy_weight * np.bincount(
        g[advocacy], weights=decay[advocacy] * np.log10(1.0 + ev.reach[advocacy]), minlength=count
    ).astype(np.float64)

    mention = ev.kind == KIND_CODE[EventKind.MENTION]
    # Loyalty: distinct months with a mention that is not negative (an unscored one counts).
    active = mention & ~(ev.sentiment < 0)
    months_active = np.zeros(count, dtype=np.int64)
    if np.any(active):
        # One int64 key per (group, month); months since 1970 stay below 4096 until the year 2311.
        month = np.clip(_month_index(ev.at[active]), 0, 4095)
        pairs = np.unique(g[active].astype(np.int64) * 4096 + month)
        months_active = np.bincount(pairs // 4096, minlength=count).astype(np.int64)
    loyalty_term = weights.loyalty_weight * np.log1p(months_active)

    scored = mention & ~np.isnan(ev.sentiment)
    recent = scored & (ev.at > t_end - weights.trend_window_days * _DAY_S)
    earlier = scored & ~recent
    recent_mean = _group_mean(g[recent], ev.sentiment[recent], count)
    earlier_mean = _group_mean(g[earlier], ev.sentiment[earlier], count)
    both = ~np.isnan(recent_mean) & ~np.isnan(earlier_mean)
    trend_term = np.where(both, weights.trend_weight * (recent_mean - np.where(both, earlier_mean, 0)), 0.0)

    last = np.full(count, -np.inf)
    np.maximum.at(last, g, ev.at)
    return RorTerms(
        score=events_term + loyalty_term + advocacy_term + trend_term,
        events_term=events_term,
        loyalty_term=loyalty_term,
        advocacy_term=advocacy_term,
        trend_term=trend_term,
        events=np.bincount(g, minlength=count).astype(np.int64),
        months_active=months_active,
        last_event_at=np.where(np.isinf(last), np.nan, last),
        recent_sentiment=recent_mean,
        earlier_sentiment=earlier_mean,
    )


def _group_mean(group: I64, values: F64, count: int) -> F64:
    sums = np.bincount(group, weights=values, minlength=count)
    counts = np.bincount(group, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: F64 = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return mean


@dataclass(frozen=True, slots=True)
class EventContribution:
    """How one event moved the score: `contribution` to E and `advocacy` to A."""

    kind: EventKind
    at: datetime
    post_id: int | None
    author_id: int
    value: float
    decay: float
    contribution: float
    advocacy: float
    reach: int
    sentiment: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "at": self.at.isoformat(),
            "post_id": self.post_id,
            "author_id": self.author_id,
            "value": self.value,
            "decay": round(self.decay, 6),
            "contribution": round(self.contribution, 6),
            "advocacy": round(self.advocacy, 6),
            "reach": self.reach,
            "sentiment": self.sentiment,
        }


@dataclass(frozen=True, slots=True)
class RorBreakdown:
    """One person's score and how it was built: the four terms and every event's part in them."""

    as_of: datetime
    score: float
    events_term: float
    loyalty_term: float
    advocacy_term: float
    trend_term: float
    months_active: int
    recent_sentiment: float | None
    earlier_sentiment: float | None
    events: tuple[EventContribution, ...] = ()
    by_kind: Mapping[str, tuple[int, float]] = field(default_factory=dict)

    def as_dict(self, *, max_events: int | None = None) -> dict[str, Any]:
        shown = self.events if max_events is None else self.events[:max_events]
        return {
            "as_of": self.as_of.isoformat(),
            "score": round(self.score, 4),
            "terms": {
                "events": round(self.events_term, 4),
                "loyalty": round(self.loyalty_term, 4),
                "advocacy": round(self.advocacy_term, 4),
                "sentiment_trend": round(self.trend_term, 4),
            },
            "months_active": self.months_active,
            "recent_sentiment": self.recent_sentiment,
            "earlier_sentiment": self.earlier_sentiment,
            "by_kind": {k: {"count": n, "contribution": round(c, 4)} for k, (n, c) in self.by_kind.items()},
            "events_total": len(self.events),
            "events": [e.as_dict() for e in shown],
        }


def _nan_to_none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def explain_arrays(events: EventArrays, *, as_of: datetime, weights: RorWeights) -> RorBreakdown:
    """Score the given events as ONE person and list each event's contribution (newest first)."""
    group = np.zeros(len(events), dtype=np.int64)
    terms = compute_ror(events, group, 1, as_of=as_of, weights=weights)
    t_end = epoch(as_of)
    ev = events.take(events.at <= t_end)
    decay = np.exp2(-((t_end - ev.at) / _DAY_S) / weights.half_life_days)
    values = weights.value_table()[ev.kind] * ev.weight
    advocacy = np.where(
        np.isin(ev.kind, ADVOCACY_CODES), weights.advocacy_weight * decay * np.log10(1.0 + ev.reach), 0.0
    )
    order = np.argsort(-ev.at, kind="stable")
    lines = tuple(
        EventContribution(
            kind=KINDS[int(ev.kind[i])],
            at=from_epoch(float(ev.at[i])),
            post_id=None if ev.post_id[i] < 0 else int(ev.post_id[i]),
            author_id=int(ev.author_id[i]),
            value=float(values[i]),
            decay=float(decay[i]),
            contribution=float(values[i] * decay[i]),
            advocacy=float(advocacy[i]),
            reach=int(ev.reach[i]),
            sentiment=_nan_to_none(float(ev.sentiment[i])),
        )
        for i in order
    )
    by_kind: dict[str, tuple[int, float]] = {}
    for line in lines:
        n, total = by_kind.get(line.kind.value, (0, 0.0))
        by_kind[line.kind.value] = (n + 1, total + line.contribution)
    return RorBreakdown(
        as_of=as_of,
        score=float(terms.score[0]),
        events_term=float(terms.events_term[0]),
        loyalty_term=float(terms.loyalty_term[0]),
        advocacy_term=float(terms.advocacy_term[0]),
        trend_term=float(terms.trend_term[0]),
        months_active=int(terms.months_active[0]),
        recent_sentiment=_nan_to_none(float(terms.recent_sentiment[0])),
        earlier_sentiment=_nan_to_none(float(terms.earlier_sentiment[0])),
        events=lines,
        by_kind=by_kind,
    )


def explain(events: Iterable[Event], *, as_of: datetime, weights: RorWeights) -> RorBreakdown:
    """`explain_arrays` for a hand-made list of events (tests, the README's worked example)."""
    return explain_arrays(EventArrays.from_events(events), as_of=as_of, weights=weights)


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    at: datetime
    score: float
    events_term: float
    loyalty_term: float
    advocacy_term: float
    trend_term: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "score": round(self.score, 4),
            "terms": {
                "events": round(self.events_term, 4),
                "loyalty": round(self.loyalty_term, 4),
                "advocacy": round(self.advocacy_term, 4),
                "sentiment_trend": round(self.trend_term, 4),
            },
        }


def period_ends(
    start: datetime, as_of: datetime, every: Literal["month", "week"] = "month"
) -> list[datetime]:
    """The last second of each month (or ISO week, ending Sunday) from `start`'s through `as_of`'s.

    The final point is `as_of` itself, so a history always ends at today's score.
    """
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    ends: list[datetime] = []
    if every == "month":
        year, month = start.year, start.month
        while True:
            last_day = calendar.monthrange(year, month)[1]
            end = datetime(year, month, last_day, 23, 59, 59, tzinfo=UTC)
            if end >= as_of:
                break
            ends.append(end)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    else:
        day = start.date() + timedelta(days=6 - start.weekday())
        while True:
            end = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
            if end >= as_of:
                break
            ends.append(end)
            day += timedelta(days=7)
    ends.append(as_of)
    return ends


def ror_history(events: EventArrays, *, ends: Sequence[datetime], weights: RorWeights) -> list[HistoryPoint]:
    """One person's score at each of `ends` (events after each end are ignored at that point)."""
    group = np.zeros(len(events), dtype=np.int64)
    points: list[HistoryPoint] = []
    for end in ends:
        terms = compute_ror(events, group, 1, as_of=end, weights=weights)
        points.append(
            HistoryPoint(
                at=end,
                score=float(terms.score[0]),
                events_term=float(terms.events_term[0]),
                loyalty_term=float(terms.loyalty_term[0]),
                advocacy_term=float(terms.advocacy_term[0]),
                trend_term=float(terms.trend_term[0]),
            )
        )
    return points
