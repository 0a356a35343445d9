"""The treasure score ranks hand-made posts in the order a coordinator would, and says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tesoro.curator.treasure import (
    COMPONENTS,
    TreasureInputs,
    content_types_of,
    score_treasure,
)
from tesoro.models import content_mask
from tesoro.settings import ConfigError, CuratorSettings, load_settings

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def inputs(**overrides: object) -> TreasureInputs:
    base: dict[str, object] = {
        "created_at": NOW - timedelta(hours=2),
        "relevance": 0.8,
        "sentiment": "positive",
        "sentiment_probs": {"negative": 0.05, "neutral": 0.15, "positive": 0.8},
        "content_types": (),
        "engagement_vs_median": 1.0,
        "safety": {"profanity": 0.0},
        "spam": 0.0,
    }
    base.update(overrides)
    return TreasureInputs(**base)  # type: ignore[arg-type]


def score(**overrides: object) -> float:
    return score_treasure(inputs(**overrides), CuratorSettings(), now=NOW).score


def test_hand_made_posts_rank_in_the_coordinators_order() -> None:
    cases = {
        "video tutorial, viral, loved": inputs(
            content_types=("video", "tutorial"), engagement_vs_median=12.0, relevance=0.95
        ),
        "photo review": inputs(content_types=("photo", "review")),
        "text review": inputs(content_types=("review",)),
        "plain text praise": inputs(),
        "question": inputs(content_types=("question",), sentiment="neutral", sentiment_probs=None),
        "angry complaint": inputs(
            content_types=("complaint",),
            sentiment="negative",
            sentiment_probs={"negative": 0.9, "neutral": 0.05, "positive": 0.05},
        ),
    }
    settings = CuratorSettings()
    ranked = sorted(cases, key=lambda name: -score_treasure(cases[name], settings, now=NOW).score)
    assert ranked == list(cases)


def test_media_and_ugc_types_beat_plain_text() -> None:
    plain = score()
    for types in (("photo",), ("video",), ("review",), ("tutorial",), ("unboxing",)):
        assert score(content_types=types) > plain, types


def test_recency_engagement_relevance_and_relationship_each_move_the_score() -> None:
    assert score(created_at=NOW - timedelta(days=1)) > score(created_at=NOW - timedelta(days=60))
    assert score(engagement_vs_median=5.0) > score(engagement_vs_median=1.0) > score(engagement_vs_median=0.1)
    assert score(relevance=0.95) > score(relevance=0.5)
    assert score(relationship=0.9) > score() > score(relationship=0.1)
    # Unknown relationship is neutral: the same as an explicit 0.5.
    assert score(relationship=None) == pytest.approx(score(relationship=0.5))


def test_explanation_contributions_add_up_to_the_score() -> None:
    result = score_treasure(inputs(content_types=("photo",)), CuratorSettings(), now=NOW)
    assert [c.name for c in result.components] == list(COMPONENTS)
    assert sum(c.contribution for c in result.components) == pytest.approx(result.score)
    explained = result.as_json()
    assert explained["engagement"]["detail"] == "1.0x the platform median"
    assert explained["content"]["detail"] == "photo"
    assert all(0.0 <= c.value <= 1.0 for c in result.components)


def test_unknowns_are_explained_not_guessed() -> None:
    result = score_treasure(
        inputs(relevance=None, sentiment=None, sentiment_probs=None, engagement_vs_median=None),
        CuratorSettings(),
        now=NOW,
    )
    details = {c.name: c.detail for c in result.components}
    assert details["relevance"] == "not scored yet"
    assert "typical" in details["engagement"]
    assert "neutral" in details["relationship"]


def test_unsafe_spammy_and_off_topic_posts_are_filtered_with_the_reason() -> None:
    settings = CuratorSettings()
    spam = score_treasure(inputs(spam=0.92, content_types=("video",)), settings, now=NOW)
    unsafe = score_treasure(inputs(safety={"profanity": 1.0, "offensive": 0.9}), settings, now=NOW)
    threat = score_treasure(inputs(safety={"threat": 1.0}), settings, now=NOW)
    off_topic = score_treasure(inputs(relevance=0.05), settings, now=NOW)
    mild = score_treasure(inputs(safety={"profanity": 0.6}), settings, now=NOW)
    assert spam.filtered == "spam (0.92)"
    assert unsafe.filtered == "unsafe: offensive (0.90)"
    assert threat.filtered == "unsafe: threat (1.00)"
    assert off_topic.filtered == "off-topic (relevance 0.05)"
    assert mild.filtered is None
    assert mild.score < score_treasure(inputs(), settings, now=NOW).score


def test_strong_words_lower_the_safety_part_but_do_not_filter() -> None:
    """Profanity ("una mierda de cremallera") is a complaint to read, not abuse (issue 16 item 11)."""
    settings = CuratorSettings()
    sweary = score_treasure(inputs(safety={"profanity": 1.0, "offensive": 0.4}), settings, now=NOW)
    assert sweary.filtered is None
    assert sweary.values()["safety"] == 0.0
    assert sweary.score < score_treasure(inputs(), settings, now=NOW).score


def test_weights_come_from_settings() -> None:
    only_engagement = CuratorSettings.model_validate(
        {
            "weights": {
                "relevance": 0,
                "sentiment": 0,
                "content": 0,
                "engagement": 1,
                "relationship": 0,
                "recency": 0,
                "safety": 0,
            }
        }
    )
    low = score_treasure(inputs(engagement_vs_median=0.5, relevance=1.0), only_engagement, now=NOW)
    high = score_treasure(inputs(engagement_vs_median=8.0, relevance=0.3), only_engagement, now=NOW)
    assert high.score > low.score


def test_settings_refuse_bad_curator_values(tmp_path: object) -> None:
    path = Path(str(tmp_path)) / "t.toml"
    path.write_text("[curator]\nspam_threshold = 2\n[curator.content_values]\nvideo = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    text = str(info.value)
    assert "curator.spam_threshold" in text
    assert "video" in text
    path.write_text(
        "[curator.weights]\nrelevance = 0\nsentiment = 0\ncontent = 0\nengagement = 0\n"
        "relationship = 0\nrecency = 0\nsafety = 0\ngallery = 0\n"
    )
    with pytest.raises(ConfigError, match="at least one treasure weight"):
        load_settings(path, environ={})


def test_content_types_from_media_and_masks() -> None:
    assert content_types_of(["review"], ["photo", "gif", "video"]) == ["review", "photo", "video"]
    assert content_mask(["photo", "video", "unknown"]) == 0b11
