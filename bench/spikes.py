"""Spike-detector benchmark: precision and recall on generated hourly series with seasonality.

    .venv/bin/python bench/spikes.py [--weeks 8] [--seeds 6]

Each series is several weeks of hourly mention counts with a daily profile (quiet nights,
busy evenings), a weekly one (weekends at 60 %, Fridays busier), a slow trend, and
overdispersed noise (gamma-Poisson: real traffic varies more than Poisson). Spikes of
x1.5, x2, x3 and x5 the usual rate, 1-3 hours long, are injected at random times after
the first two weeks. The detector runs at every hour, as the alert job would, and we
count an injected spike as found when any of its hours is flagged; consecutive flagged
hours are one alert (the rule's cooldown merges them) and an alert that overlaps no
injected spike is a false alarm.

Prints, per volume level, recall per spike size, overall recall, precision and false
alarms per week: for the default detector, stricter and looser thresholds, the optional
weekday rescaling, and a naive "twice the previous hour" rule for contrast. The weekly
level changes are blended over the hours around midnight (people's Sunday night does not
end at 00:00 sharp).
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tesoro.alerts.spikes import SpikeParams, detect_spike

SIZES = (1.5, 2.0, 3.0, 5.0)
LEVELS = {"low (≈5/h)": 5.0, "medium (≈50/h)": 50.0, "high (≈500/h)": 500.0}


@dataclass(frozen=True)
class Event:
    start: int
    end: int  # exclusive
    size: float


def daily_profile(hour: int) -> float:
    night = 0.25
    lunch = 0.6 * math.exp(-(((hour - 12.5) / 2.5) ** 2))
    evening = 1.4 * math.exp(-(((hour - 20) / 3.5) ** 2))
    return night + lunch + evening


def weekly_profile(day: int) -> float:
    return {4: 1.1, 5: 0.6, 6: 0.6}.get(day % 7, 1.0)


def weekly_level(t: int) -> float:
    """The day's level, blended linearly over the 6 hours around midnight: people's Sunday night
    does not end at 00:00 sharp."""
    day, hour = divmod(t, 24)
    if hour >= 21:
        w = (hour - 21 + 0.5) / 6
        return (1 - w) * weekly_profile(day) + w * weekly_profile(day + 1)
    if hour < 3:
        w = (hour + 3 + 0.5) / 6
        return (1 - w) * weekly_profile(day - 1) + w * weekly_profile(day)
    return weekly_profile(day)


def generate(rng: random.Random, *, weeks: int, level: float) -> tuple[list[int], list[Event]]:
    hours = weeks * 7 * 24
    mean_profile = sum(daily_profile(h) for h in range(24)) / 24
    trend_phase = rng.uniform(0, 2 * math.pi)
    rates = []
    for t in range(hours):
        hour = t % 24
        trend = 1.0 + 0.15 * math.sin(2 * math.pi * t / (hours * 1.3) + trend_phase)
        rates.append(level * daily_profile(hour) / mean_profile * weekly_level(t) * trend)
    events: list[Event] = []
    t = 15 * 24 + rng.randrange(24)
    while t < hours - 4:
        duration = rng.choice((1, 1, 2, 3))
        size = rng.choice(SIZES)
        events.append(Event(t, t + duration, size))
        t += duration + rng.randrange(24, 72)
    multiplier = [1.0] * hours
    for event in events:
        for h in range(event.start, event.end):
            multiplier[h] = event.size
    shape = 25.0  # gamma shape: the hourly rate itself varies by ~20 % (overdispersion)
    counts = [
        _poisson(rng, rng.gammavariate(shape, rate * m / shape))
        for rate, m in zip(rates, multiplier, strict=True)
    ]
    return counts, events


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


Detector = Callable[[Sequence[int]], bool]


def score(counts: list[int], events: list[Event], detector: Detector, start: int) -> dict[str, float]:
    flagged = [t for t in range(start, len(counts)) if detector(counts[: t + 1])]
    episodes: list[tuple[int, int]] = []
    for t in flagged:
        if episodes and t == episodes[-1][1]:
            episodes[-1] = (episodes[-1][0], t + 1)
        else:
            episodes.append((t, t + 1))
    found = {e: any(e.start <= t < e.end for t in flagged) for e in events}
    true_episodes = sum(1 for a, b in episodes if any(a < e.end + 1 and e.start < b for e in events))
    out: dict[str, float] = {
        "events": len(events),
        "found": sum(found.values()),
        "episodes": len(episodes),
        "true_episodes": true_episodes,
        "weeks": (len(counts) - start) / 168,
    }
    for size in SIZES:
        out[f"n{size}"] = sum(1 for e in events if e.size == size)
        out[f"f{size}"] = sum(1 for e in events if e.size == size and found[e])
    return out


def naive(counts: Sequence[int]) -> bool:
    return len(counts) > 1 and counts[-1] >= 20 and counts[-1] >= 2 * max(1, counts[-2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    base = SpikeParams()
    detectors: dict[str, Detector] = {
        f"default (z≥{base.threshold:g})": lambda c: detect_spike(c, base).spike,
        "stricter (z≥5)": lambda c: detect_spike(c, replace(base, threshold=5.0)).spike,
        "looser (z≥4)": lambda c: detect_spike(c, replace(base, threshold=4.0)).spike,
        "default + weekday rescaling": lambda c: detect_spike(c, replace(base, weekly=True)).spike,
        "naive: 2x previous hour, ≥20": naive,
    }
    started = time.perf_counter()
    print(
        f"{args.seeds} series x {args.weeks} weeks per level; detector evaluated every hour after day 14; "
        f"min_volume={base.min_volume}, threshold z≥{base.threshold:g}, p≤{base.max_p_value:g}\n"
    )
    header = (
        f"{'volume':<16} {'detector':<30} "
        + " ".join(f"{'x' + format(s, 'g'):>6}" for s in SIZES)
        + f" {'recall':>7} {'precision':>9} {'false/wk':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, level in LEVELS.items():
        series = [
            generate(random.Random(seed * 7919 + int(level)), weeks=args.weeks, level=level)
            for seed in range(args.seeds)
        ]
        for name, detector in detectors.items():
            total: dict[str, float] = {}
            for counts, events in series:
                for key, value in score(counts, events, detector, start=14 * 24).items():
                    total[key] = total.get(key, 0.0) + value
            per_size = " ".join(
                f"{total[f'f{s}'] / total[f'n{s}']:>6.0%}" if total[f"n{s}"] else f"{'-':>6}" for s in SIZES
            )
            recall = total["found"] / total["events"] if total["events"] else 0.0
            precision = total["true_episodes"] / total["episodes"] if total["episodes"] else 1.0
            false_per_week = (total["episodes"] - total["true_episodes"]) / total["weeks"]
            print(
                f"{label:<16} {name:<30} {per_size} {recall:>7.0%} {precision:>9.0%} {false_per_week:>8.2f}"
            )
    print(f"\n({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
