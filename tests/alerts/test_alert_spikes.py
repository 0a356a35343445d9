"""The spike detector on generated series with daily seasonality and injected spikes."""

from __future__ import annotations

import math
import random

import pytest

from tesoro.alerts.spikes import SpikeParams, describe, detect_spike, poisson_sf, robust_center, top_terms


def seasonal_series(days: int, *, level: float = 40.0, seed: int = 3) -> list[int]:
    """Hourly counts: quiet nights, a busy evening, weekends lower, Poisson noise."""
    rng = random.Random(seed)
    counts = []
    for t in range(days * 24):
        day, hour = divmod(t, 24)
        daily = 0.3 + 1.6 * math.exp(-(((hour - 20) / 4) ** 2)) + 0.5 * math.exp(-(((hour - 12) / 2) ** 2))
        weekly = 0.7 if day % 7 in (5, 6) else 1.0
        counts.append(_poisson(rng, level * daily * weekly))
    return counts


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method is fine for the rates used here (< 150).
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def test_a_seasonal_series_without_spikes_raises_no_alarm_at_any_hour() -> None:
    counts = seasonal_series(28)
    flagged = [t for t in range(14 * 24, len(counts)) if detect_spike(counts[: t + 1]).spike]
    assert flagged == []


def test_the_daily_evening_peak_is_not_a_spike_but_a_naive_previous_hour_rule_would_say_so() -> None:
    counts = seasonal_series(21)
    evening = 20 * 24 + 19  # day 20, 19:00: the climb to the evening peak
    assert counts[evening] >= 2 * counts[evening - 4], "the test series must have a strong daily cycle"
    assert detect_spike(counts[: evening + 1]).spike is False


@pytest.mark.parametrize(("size", "share"), [(3.0, 0.9), (5.0, 1.0), (10.0, 1.0)])
def test_injected_spikes_are_found_at_any_hour(size: float, share: float) -> None:
    base = seasonal_series(21, seed=9)
    found = 0
    hours = range(15 * 24, 21 * 24, 7)  # every 7th hour: all times of day and days of week
    for t in hours:
        counts = base[: t + 1]
        counts[-1] = int(counts[-1] * size) + 20
        found += detect_spike(counts).spike
    assert found >= share * len(hours)


def test_a_small_rise_on_a_tiny_volume_is_not_a_spike() -> None:
    counts = [1, 0, 2, 1] * 6 * 15  # 15 days of a trickle
    counts[-1] = 9  # nine times the usual, but nine posts
    verdict = detect_spike(counts, SpikeParams(min_volume=20))
    assert verdict.spike is False
    assert "minimum volume" in verdict.reason


def test_one_past_spike_in_the_baseline_does_not_mask_todays() -> None:
    counts = seasonal_series(16, seed=5)
    counts[-1 - 3 * 24] *= 20  # the same hour three days ago was a huge spike
    counts[-1] = counts[-25] * 4 + 30
    verdict = detect_spike(counts)
    assert verdict.spike, verdict.reason
    assert verdict.expected < 3 * max(1, sorted(verdict.baseline)[len(verdict.baseline) // 2])


def test_too_little_history_never_calls_a_spike() -> None:
    counts = [10] * 48 + [500]
    verdict = detect_spike(counts)
    assert verdict.spike is False
    assert "not enough history" in verdict.reason


def test_a_longer_window_sums_the_hours_and_compares_like_with_like() -> None:
    counts = [30] * (15 * 24)
    counts[-3:] = [60, 70, 80]  # a three-hour rise: each hour alone is ~2x
    params = SpikeParams(window_hours=3)
    verdict = detect_spike(counts, params)
    assert verdict.observed == 210
    assert verdict.expected == pytest.approx(90)
    assert verdict.spike


def test_weekday_rescaling_lowers_expectations_on_a_quiet_weekday() -> None:
    # Two weeks where the day that is "today" (every 7th) runs at half the level.
    counts = []
    for day in range(15):
        level = 20 if day % 7 == 0 else 40
        counts += [level] * 24
    plain = detect_spike(counts, SpikeParams(weekly=False))
    weekly = detect_spike(counts, SpikeParams(weekly=True))
    assert plain.expected == pytest.approx(40)
    assert weekly.expected < plain.expected
    assert weekly.weekday_factor < 1


def test_poisson_tail_matches_known_values() -> None:
    assert poisson_sf(0, 3.0) == 1.0
    assert poisson_sf(1, 0.5) == pytest.approx(1 - math.exp(-0.5))
    assert poisson_sf(5, 3.0) == pytest.approx(0.1847367554762279, rel=1e-9)
    assert poisson_sf(30, 40.0) == pytest.approx(0.9567713178482644, rel=1e-9)
    assert poisson_sf(212, 40.0) < 1e-60


def test_robust_center_ignores_outliers() -> None:
    median, sigma = robust_center([10, 11, 9, 10, 12, 10, 500])
    assert median == 10
    assert sigma < 3


def test_the_explanation_says_how_much_against_what() -> None:
    counts = [40] * (14 * 24) + [212]
    verdict = detect_spike(counts)
    text = describe(verdict, noun="mentions", terms=["recall", "sole"])
    assert text.startswith("212 mentions in the last hour against 40 ± 6 usually")
    assert "previous 14 days" in text
    assert text.endswith("top terms: recall, sole")


def test_top_terms_are_what_the_spike_is_about_not_the_brand() -> None:
    usual = [f"Love my Cumbre shoes on the trail, day {i}" for i in range(200)]
    window = [f"Cumbre sole broke after a week, recall please #{i}" for i in range(40)] + usual[:10]
    terms = top_terms(window, usual, exclude=["cumbre"])
    assert {"sole", "broke", "recall"} <= set(terms)
    assert "cumbre" not in terms, "the brand's own name is in every mention: excluded"
    assert not {"love", "shoes", "trail"} & set(terms), "usual words are not what the spike is about"
