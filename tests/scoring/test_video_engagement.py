"""Engagement of YouTube and TikTok videos: per view, against a derived or a published median."""

from __future__ import annotations

from tesoro.scoring import pipeline
from tesoro.scoring.engagement import BENCHMARK_MEDIANS, derive_median, engagement_rate, vs_median


def test_youtube_is_compared_with_the_median_of_its_collected_videos() -> None:
    assert "youtube" in pipeline._DERIVED_PLATFORMS and "youtube" not in BENCHMARK_MEDIANS
    # 40 videos with 2% of their viewers interacting, 20 with 4%: the median video is at 2%.
    rates = [engagement_rate(likes=20, reposts=0, replies=0, quotes=0, followers=None, views=1000)] * 40
    rates += [engagement_rate(likes=40, reposts=0, replies=0, quotes=0, followers=None, views=1000)] * 20
    median = derive_median(rates)
    assert median == 0.02
    assert vs_median(0.06, "youtube", {"youtube": median}) == 3.0
    assert vs_median(0.06, "youtube", {}) is None  # too few videos yet: no comparison, not a guess


def test_tiktok_uses_the_published_median() -> None:
    rate = engagement_rate(likes=500, reposts=50, replies=19, quotes=0, followers=None, views=10_000)
    assert rate == 0.0569
    assert vs_median(rate, "tiktok") == 1.0
