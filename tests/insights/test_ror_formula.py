"""The ROR formula pinned on hand-made event histories (no database)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tesoro.insights.events import Event, EventArrays, EventKind, group_identities
from tesoro.insights.relationship import (
    RorWeights,
    compute_ror,
    explain,
    period_ends,
    ror_history,
)
from tesoro.settings import ConfigError, RelationshipSettings, load_settings

T = datetime(2026, 12, 1, tzinfo=UTC)
W = RorWeights.defaults()  # half-life 90 d, loyalty 3, advocacy 1, trend 5 over 90 d


def days_ago(n: float) -> datetime:
    return T - timedelta(days=n)


def mention(n: float, sentiment: float | None = None, author: int = 1) -> Event:
    return Event(EventKind.MENTION, days_ago(n), author_id=author, sentiment=sentiment)


def test_defaults_are_the_documented_weights() -> None:
    assert (W.half_life_days, W.loyalty_weight, W.advocacy_weight, W.trend_weight, W.trend_window_days) == (
        90.0,
        3.0,
        1.0,
        5.0,
        90.0,
    )
    assert W.values[EventKind.MENTION] == 1.0
    assert W.values[EventKind.NEGATIVE_MENTION] == -4.0
    assert W.values[EventKind.UGC_FEATURED] == 6.0


def test_one_mention_today_is_its_value_plus_one_month_of_loyalty() -> None:
    b = explain([mention(0)], as_of=T, weights=W)
    assert b.events_term == pytest.approx(1.0)
    assert b.months_active == 1
    assert b.loyalty_term == pytest.approx(3 * math.log(2))
    assert b.score == pytest.approx(1.0 + 3 * math.log(2))


def test_decay_halves_an_event_every_half_life() -> None:
    scores = [
        explain([Event(EventKind.UGC_APPROVED, days_ago(d))], as_of=T, weights=W).events_term
        for d in (0, 90, 180)
    ]
    assert scores == pytest.approx([3.0, 1.5, 0.75])


def test_events_after_as_of_do_not_count() -> None:
    b = explain([mention(0), Event(EventKind.RIGHTS_GRANTED, T + timedelta(days=1))], as_of=T, weights=W)
    assert b.events_term == pytest.approx(1.0)
    assert len(b.events) == 1


def test_loyalty_counts_distinct_months_not_posts_and_never_decays() -> None:
    # Three posts in one month, then one post in each of two more months, all long ago.
    history = [
        Event(EventKind.MENTION, datetime(2024, 1, d, tzinfo=UTC), sentiment=1.0) for d in (2, 10, 20)
    ] + [Event(EventKind.MENTION, datetime(2024, m, 5, tzinfo=UTC), sentiment=0.0) for m in (3, 4)]
    b = explain(history, as_of=T, weights=W)
    assert b.months_active == 3
    assert b.loyalty_term == pytest.approx(3 * math.log(4))
    # The events themselves have almost decayed away; loyalty has not.
    assert b.events_term < 0.2


def test_negative_mentions_earn_no_loyalty() -> None:
    b = explain([mention(40, -1.0), mention(10, 1.0)], as_of=T, weights=W)
    assert b.months_active == 1  # October's complaint is not a month of loyalty; November's praise is


def test_advocacy_grows_with_the_log_of_reach() -> None:
    small = explain([Event(EventKind.UGC, T, reach=9)], as_of=T, weights=W)
    large = explain([Event(EventKind.UGC, T, reach=9_999)], as_of=T, weights=W)
    assert small.advocacy_term == pytest.approx(1.0)  # log10(1 + 9)
    assert large.advocacy_term == pytest.approx(4.0)  # log10(1 + 9999): 1000x the reach, 4x the credit
    # Same event value either way: only advocacy depends on reach.
    assert small.events_term == large.events_term == pytest.approx(3.0)


def test_recommendations_count_as_advocacy_and_decay() -> None:
    b = explain([Event(EventKind.RECOMMENDATION, days_ago(90), reach=99)], as_of=T, weights=W)
    assert b.advocacy_term == pytest.approx(0.5 * 2.0)
    assert b.events_term == pytest.approx(0.5 * 4.0)


def test_negative_events_lower_the_score() -> None:
    base = [mention(30, 1.0), Event(EventKind.POSITIVE_MENTION, days_ago(30))]
    complaint = [mention(5, -1.0), Event(EventKind.NEGATIVE_MENTION, days_ago(5))]
    before = explain(base, as_of=T, weights=W).score
    after = explain(base + complaint, as_of=T, weights=W)
    assert after.score < before
    assert after.by_kind["negative_mention"][1] == pytest.approx(-4.0 * 2 ** (-5 / 90))


def test_a_negative_event_value_is_refused_by_the_settings(tmp_path: object) -> None:
    with pytest.raises(ValueError):
        RelationshipSettings.model_validate({"events": {"negative_mention": 2.0}})
    with pytest.raises(ValueError):
        RelationshipSettings.model_validate({"events": {"ugc": -1.0}})
    assert isinstance(tmp_path, Path)
    bad = tmp_path / "t.toml"
    bad.write_text("[relationship.events]\nnegative_mention = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"relationship\.events\.negative_mention"):
        load_settings(bad, environ={})


def test_sentiment_trend_rewards_warming_up_and_punishes_souring() -> None:
    warming = [mention(200, -1.0), mention(150, 0.0), mention(10, 1.0)]
    souring = [mention(200, 1.0), mention(150, 1.0), mention(10, -1.0)]
    up = explain(warming, as_of=T, weights=W)
    down = explain(souring, as_of=T, weights=W)
    assert (up.earlier_sentiment, up.recent_sentiment) == (-0.5, 1.0)
    assert up.trend_term == pytest.approx(5 * 1.5)
    assert down.trend_term == pytest.approx(5 * -2.0)


def test_no_trend_without_both_sides_of_the_window() -> None:
    b = explain([mention(10, 1.0), mention(20, -1.0)], as_of=T, weights=W)
    assert b.trend_term == 0.0
    assert b.earlier_sentiment is None


def test_a_hand_computed_history() -> None:
    """The README's worked example: a fan's approved photo with 999 followers 90 days ago."""
    events = [
        mention(90, 1.0),
        Event(EventKind.POSITIVE_MENTION, days_ago(90)),
        Event(EventKind.UGC, days_ago(90), reach=999),
        Event(EventKind.UGC_APPROVED, days_ago(88)),
        mention(5, 1.0),
        Event(EventKind.POSITIVE_MENTION, days_ago(5)),
    ]
    b = explain(events, as_of=T, weights=W)
    d90, d88, d5 = 0.5, 2 ** (-88 / 90), 2 ** (-5 / 90)
    assert b.events_term == pytest.approx((1 + 2 + 3) * d90 + 3 * d88 + (1 + 2) * d5)
    assert b.advocacy_term == pytest.approx(d90 * 3.0)
    assert b.loyalty_term == pytest.approx(3 * math.log(3))  # mentions in September and November
    assert b.trend_term == pytest.approx(0.0)  # +1 before the window and +1 inside: no change
    assert b.score == pytest.approx(b.events_term + b.advocacy_term + b.loyalty_term)
    assert [e.kind for e in b.events][:2] == [EventKind.MENTION, EventKind.POSITIVE_MENTION]  # newest first


def test_vectorized_scores_match_one_person_at_a_time() -> None:
    rng = np.random.default_rng(7)
    kinds = list(EventKind)
    events = [
        Event(
            kinds[int(rng.integers(len(kinds)))],
            days_ago(float(rng.uniform(0, 700))),
            author_id=int(rng.integers(1, 30)),
            person_id=None,
            reach=int(rng.integers(0, 100_000)),
            sentiment=float(rng.choice([-1.0, 0.0, 1.0])),
        )
        for _ in range(600)
    ]
    arrays = EventArrays.from_events(events)
    ids = group_identities(arrays)
    terms = compute_ror(arrays, ids.group, ids.count, as_of=T, weights=W)
    for g in range(ids.count):
        author = int(ids.author_id[g])
        alone = explain([e for e in events if e.author_id == author], as_of=T, weights=W)
        assert terms.score[g] == pytest.approx(alone.score)


def test_linked_accounts_are_scored_as_one_person() -> None:
    x = Event(EventKind.MENTION, datetime(2026, 10, 5, tzinfo=UTC), author_id=1, person_id=7, sentiment=1.0)
    sky = Event(EventKind.MENTION, datetime(2026, 11, 5, tzinfo=UTC), author_id=2, person_id=7, sentiment=1.0)
    lone = Event(EventKind.MENTION, datetime(2026, 11, 5, tzinfo=UTC), author_id=3, sentiment=1.0)
    arrays = EventArrays.from_events([x, sky, lone])
    ids = group_identities(arrays)
    assert ids.count == 2
    terms = compute_ror(arrays, ids.group, ids.count, as_of=T, weights=W)
    person = int(np.flatnonzero(ids.person_id == 7)[0])
    assert ids.author_id[person] == 1  # the representative is the lowest account id
    assert terms.months_active[person] == 2  # October on X + November on Bluesky
    assert terms.months_active[1 - person] == 1


def test_history_is_the_score_at_each_month_end() -> None:
    events = [Event(EventKind.UGC_FEATURED, datetime(2026, 9, 15, tzinfo=UTC))]
    ends = period_ends(datetime(2026, 9, 15, tzinfo=UTC), T)
    assert [e.date().isoformat() for e in ends] == ["2026-09-30", "2026-10-31", "2026-11-30", "2026-12-01"]
    points = ror_history(EventArrays.from_events(events), ends=ends, weights=W)
    scores = [p.score for p in points]
    assert scores == sorted(scores, reverse=True)  # nothing new happened: it only decays
    age = (ends[1] - datetime(2026, 9, 15, tzinfo=UTC)).total_seconds() / 86_400
    assert points[1].events_term == pytest.approx(6.0 * 2 ** (-age / 90))


def test_weekly_history_ends_on_sundays() -> None:
    ends = period_ends(datetime(2026, 11, 11, tzinfo=UTC), datetime(2026, 11, 30, 12, tzinfo=UTC), "week")
    assert [e.strftime("%a %d") for e in ends[:-1]] == ["Sun 15", "Sun 22", "Sun 29"]
