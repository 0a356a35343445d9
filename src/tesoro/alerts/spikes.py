"""Spike detection that holds up on real traffic: pure functions over hourly counts.

Mentions follow the clock: quiet at night, busy in the evening, different on weekends.
A fixed threshold or a comparison with "the previous hour" flags every morning as a
spike. So the last window is compared with the *same hours on previous days* (daily
seasonality; weekends are outvoted by the median of 14 days, and an optional weekday
rescaling exists), and a rise counts only when it is

- large against the usual day-to-day variation: a robust z-score, with the median as the
  centre and the MAD as the spread, so one past spike or outage does not move the baseline;
- unlikely as chance even for a Poisson count (small counts vary a lot in relative terms,
  and a MAD of a few zeros says nothing);
- at least `min_volume` posts (three angry posts at 4 a.m. are not a crisis).

`hourly_counts` in `tesoro.store.alerts` builds the series from the store; everything
here is arithmetic on lists, tested and benchmarked on generated series (`bench/spikes.py`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tesoro.text.fold import fold

__all__ = [
    "SpikeParams",
    "SpikeVerdict",
    "describe",
    "detect_spike",
    "poisson_sf",
    "robust_center",
    "top_terms",
]

# MAD * this estimates the standard deviation of normally distributed data.
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class SpikeParams:
    """How a spike is tested. Defaults suit hourly brand mentions."""

    window_hours: int = 1
    period_hours: int = 24  # daily seasonality: compare with the same hours on previous days
    baseline_periods: int = 14  # how many previous days form the baseline
    min_baseline_periods: int = 3  # fewer days of history than this: never call a spike
    min_volume: int = 20
    threshold: float = 4.5  # robust z-score the window must reach
    max_p_value: float = 1e-3  # Poisson upper-tail probability the window must be below
    # Rescale the baseline by the same weekday's level (given 7+ days). Off by default: on the
    # benchmark it finds more spikes but raises false alarms more (see bench/spikes.py).
    weekly: bool = False
    weekday_block_hours: int = 12  # the stretch around the window that measures a day's level


@dataclass(frozen=True, slots=True)
class SpikeVerdict:
    """The test's outcome with everything needed to say why."""

    spike: bool
    observed: int
    expected: float
    spread: float
    z: float
    p_value: float
    baseline: tuple[int, ...]
    weekday_factor: float
    reason: str


def robust_center(values: Sequence[float]) -> tuple[float, float]:
    """(median, MAD-based standard deviation) of `values`."""
    if not values:
        return 0.0, 0.0
    ordered = sorted(values)
    median = _median(ordered)
    mad = _median(sorted(abs(v - median) for v in ordered))
    return median, _MAD_TO_SIGMA * mad


def _median(ordered: Sequence[float]) -> float:
    n = len(ordered)
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), computed in log space (stable for counts in the thousands)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    log_pmf = -lam + k * math.log(lam) - math.lgamma(k + 1)
    if k > lam:
        # Upper tail: sum the pmf from k upwards; terms shrink geometrically once i > lam.
        total, term, i = 0.0, 1.0, k
        while term > 1e-17 * total or i < k + 5:
            total += term
            i += 1
            term *= lam / i
            if i > k + 100_000:
                break
        return min(1.0, math.exp(log_pmf + math.log(total)))
    # Lower side: 1 - P(X < k), summing downwards from k - 1.
    below, term, i = 0.0, math.exp(log_pmf) * k / lam, k - 1
    while i >= 0 and term > 0.0:
        below += term
        term *= i / lam
        i -= 1
    return max(0.0, min(1.0, 1.0 - below))


def _window_sum(counts: Sequence[int], end: int, width: int) -> int:
    """Sum of `counts[end - width : end]` (end is exclusive and may be len(counts))."""
    return int(sum(counts[max(0, end - width) : end]))


def _day_levels(counts: Sequence[int], params: SpikeParams, periods: int) -> list[float]:
    """How busy each baseline day was around the window's time, relative to a typical day.

    Day k's level is the sum of a block of hours centred on the window's time k days back,
    over the median of those sums, shrunk towards 1 by a prior of 20 posts so a quiet
    series (a handful of posts a day) does not produce wild factors. All 1.0 when the
    weekly correction is off or fewer than 7 days are known.
    """
    ones = [1.0] * periods
    if not params.weekly or periods < 7:
        return ones
    n = len(counts)
    half = params.weekday_block_hours / 2
    sums: list[float] = []
    for k in range(1, periods + 1):
        # The window's own hours are left out: a day normalised by itself would look calmer than it was.
        w_end = n - k * params.period_hours
        w_start = w_end - params.window_hours
        centre = (w_start + w_end) / 2
        start, end = max(0, round(centre - half)), max(0, round(centre + half))
        sums.append(float(sum(counts[start:w_start]) + sum(counts[w_end:end])))
    typical = _median(sorted(sums))
    prior = 20.0
    return [max(0.25, min(4.0, (s + prior) / (typical + prior))) for s in sums]


def detect_spike(counts: Sequence[int], params: SpikeParams = SpikeParams()) -> SpikeVerdict:
    """Is the last `window_hours` of `counts` (hourly, oldest first) a significant rise?

    `counts` must cover only hours with known history (see `first_post_at`): the baseline
    takes the same window 1..`baseline_periods` days back, as far as the series reaches.
    With a week or more of history, each baseline day is first divided by its day's level
    and the result multiplied by the level of the same weekday (7 and 14 days back), so a
    Monday is compared with Mondays' level and weekends do not widen the spread.
    """
    width = params.window_hours
    n = len(counts)
    observed = _window_sum(counts, n, width)
    baseline = tuple(
        _window_sum(counts, n - k * params.period_hours, width)
        for k in range(1, params.baseline_periods + 1)
        if n - k * params.period_hours - width >= 0
    )
    if len(baseline) < params.min_baseline_periods:
        return SpikeVerdict(
            False,
            observed,
            0.0,
            0.0,
            0.0,
            1.0,
            baseline,
            1.0,
            f"not enough history: {len(baseline)} of {params.min_baseline_periods} days needed",
        )
    levels = _day_levels(counts, params, len(baseline))
    same_weekday = [levels[k - 1] for k in (7, 14, 21, 28) if k <= len(levels)]
    factor = _median(sorted(same_weekday)) if same_weekday and params.weekly else 1.0
    median, sigma = robust_center([b / level for b, level in zip(baseline, levels, strict=True)])
    expected = median * factor
    # Poisson noise on top of the day-to-day spread: a baseline of identical days has a MAD of 0,
    # and the MAD of 14 values underestimates the upper tail of skewed, overdispersed counts.
    spread = math.sqrt((sigma * factor) ** 2 + max(expected, 1.0))
    z = (observed - expected) / spread
    p_value = poisson_sf(observed, max(expected, 0.5))
    if observed < params.min_volume:
        reason = f"{observed} is below the minimum volume of {params.min_volume}"
    elif z < params.threshold:
        reason = f"z-score {z:.1f} is below {params.threshold:g}"
    elif p_value > params.max_p_value:
        reason = f"Poisson p-value {p_value:.2g} is above {params.max_p_value:g}"
    else:
        reason = f"z-score {z:.1f}, Poisson p-value {p_value:.1g}"
        return SpikeVerdict(True, observed, expected, spread, z, p_value, baseline, factor, reason)
    return SpikeVerdict(False, observed, expected, spread, z, p_value, baseline, factor, reason)


def _window_label(hours: int) -> str:
    return "the last hour" if hours == 1 else f"the last {hours} hours"


def describe(
    verdict: SpikeVerdict,
    *,
    noun: str = "mentions",
    window_hours: int = 1,
    terms: Sequence[str] = (),
) -> str:
    """One plain sentence a community manager can act on (no Slack markup: callers escape it)."""
    usual = f"{verdict.expected:.0f} ± {verdict.spread:.0f}"
    text = (
        f"{verdict.observed} {noun} in {_window_label(window_hours)} against {usual} usually "
        f"(same time over the previous {len(verdict.baseline)} days"
    )
    if abs(verdict.weekday_factor - 1.0) >= 0.05:
        text += f", scaled by {verdict.weekday_factor:.2f} for the day of the week"
    text += ")"
    if terms:
        text += "; top terms: " + ", ".join(terms)
    return text


# --- what the spike is about -----------------------------------------------------------------------

_APOSTROPHES = "'\u2019"
_TOKEN = re.compile(rf"[#@]?[^\W\d_][\w{_APOSTROPHES}-]*", re.UNICODE)
_URL = re.compile(r"https?://\S+")
_STOPWORDS_TEXT = """
a about after again all also am an and any are as at be because been before being but by can could
did do does doing don't for from get got had has have having he her here him his how i i'm if in into
is it it's its just like me more most my no not now of off on once only or other our out over own
really same she should so some such than that the their them then there these they this those
through to too under until up very was we were what when where which while who why will with would
you your yours im ive dont cant thats via amp rt new one
al algo como con de del el ella ellos en es esa ese eso esta este esto fue ha hay la las le les lo
los mas más me mi muy no nos o para pero por que qué se si sí sin su sus te tiene todo tu un una uno
unos y ya yo está están son ser era
"""
_STOPWORDS = frozenset(fold(w) for w in _STOPWORDS_TEXT.split())  # compared with folded words


def _terms(text: str, exclude: frozenset[str]) -> set[str]:
    words = set()
    for token in _TOKEN.findall(_URL.sub(" ", text)):
        word = fold(token).strip(_APOSTROPHES + "-")
        bare = word.lstrip("#@")
        if len(bare) < 3 or bare in _STOPWORDS or bare in exclude or word in exclude:
            continue
        words.add(word)
    return words


def top_terms(
    window_texts: Sequence[str],
    baseline_texts: Sequence[str],
    *,
    exclude: Iterable[str] = (),
    limit: int = 5,
) -> list[str]:
    """Words that the window's posts use far more often than usual: what the spike is about.

    Ranked by how many window posts use a word times the log of its lift over the baseline
    posts (document frequencies, smoothed), so a word must be both common now and unusual.
    `exclude` drops the brand's own names, which every mention contains.
    """
    skip = frozenset(fold(e).lstrip("#@") for e in exclude)
    window = Counter(t for text in window_texts for t in _terms(text, skip))
    base = Counter(t for text in baseline_texts for t in _terms(text, skip))
    n_w, n_b = max(1, len(window_texts)), max(1, len(baseline_texts))
    need = max(2, math.ceil(0.05 * n_w))
    scored: list[tuple[float, str]] = []
    for term, df in window.items():
        if df < need:
            continue
        lift = (df / n_w) / ((base.get(term, 0) + 0.5) / (n_b + 1))
        if lift <= 1.5:
            continue
        scored.append((df * math.log(lift), term))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [term for _, term in scored[:limit]]
