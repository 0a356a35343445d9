"""The `fast` scoring profile: no encoder, text-only n-gram heads, its own model version."""

from __future__ import annotations

import itertools
import json
import os
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tesoro.models import MediaType, NormalizedAuthor, NormalizedMedia, NormalizedPost, Platform, PostMetrics
from tesoro.scoring.heads import (
    Head,
    _word_codes,
    hashed_ngrams,
    lexical_logits,
    load_head,
    save_head,
)
from tesoro.scoring.pipeline import (
    FAST_OFFENSIVE_HEAD,
    FAST_SENTIMENT_HEAD,
    fast_model_version,
    load_models,
    score_pending,
    scoring_profile,
)
from tesoro.scoring.shared import ModelLoadError
from tesoro.scoring.training.lexical import LexicalConfig, fit_lexical, lexical_head, lexical_matrix
from tesoro.settings import BrandSettings, ModelSettings, ProductSettings, QuerySettings, Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post, upsert_posts
from tesoro.store.scores import count_unscored, scores_for
from tesoro.store.tables import Product

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# The labelled data beside the checkout (../shared/data), or where TESORO_DATA_DIR says (a worktree).
DATA = Path(os.environ.get("TESORO_DATA_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data")


def _settings(profile: str = "fast") -> Settings:
    return Settings(
        models=ModelSettings(profile=profile),  # type: ignore[arg-type]
        brands=[
            BrandSettings(name="Andes", description="Andes makes trail running shoes.", hashtags=["andesrun"])
        ],
        products=[
            ProductSettings(
                name="Cumbre", brand="Andes", aliases=["cumbre trail"], description="Trail running shoe"
            ),
            ProductSettings(name="Brisa", brand="Andes", description="Waterproof running jacket"),
        ],
        queries=[QuerySettings(name="andes", brand="Andes", query="andes OR cumbre OR brisa")],
    )


def _post(
    external_id: str,
    text: str,
    handle: str,
    *,
    followers: int = 1000,
    following: int = 100,
    photo: bool = False,
) -> NormalizedPost:
    media = (
        (NormalizedMedia(MediaType.PHOTO, f"https://pbs.twimg.com/media/{external_id}.jpg"),) if photo else ()
    )
    return NormalizedPost(
        platform=Platform.X,
        external_id=external_id,
        text=text,
        created_at=T0 + timedelta(minutes=int(external_id)),
        author=NormalizedAuthor(Platform.X, f"id-{handle}", handle, followers=followers, following=following),
        metrics=PostMetrics(likes=40, reposts=2),
        media=media,
    )


SPAM = "Free followers!! click the link https://bit.ly/x"
POSTS = [
    _post("1", "I love my new Cumbre trail shoes, best grip ever! So happy with them", "ana", photo=True),
    _post("2", "Las Cumbre se rompieron en una semana, pésimo, quiero un reembolso", "luis"),
    _post("3", SPAM, "bot1", followers=5, following=4000),
    _post("4", SPAM, "bot2", followers=5, following=4000),
    _post("5", "You are a stupid idiot, shut up you moron", "troll"),
    _post("6", "What a lovely sunny afternoon at the beach", "eva"),
    _post("8", SPAM, "bot3", followers=5, following=4000),
    _post("7", "My Cumbre shoes broke after a week. Worst purchase ever, terrible quality", "max"),
]


def _store(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        sync_catalog(session, settings)
        upsert_posts(session, POSTS)


def test_fast_profile_writes_every_score(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESORO_SCORING_PROFILE", raising=False)
    settings = _settings()
    _store(sqlite_engine, settings)
    models = load_models(settings)
    assert models.profile == "fast" and models.encoder is None and models.use is None
    assert models.version == fast_model_version() and models.version.startswith("fast.")
    assert score_pending(sqlite_engine, settings, models=models) == len(POSTS)
    with session_scope(sqlite_engine) as session:
        rows = {}
        for post in POSTS:
            stored = get_post(session, platform="x", external_id=post.external_id)
            assert stored is not None and stored.id is not None
            (rows[post.external_id],) = scores_for(session, post_id=stored.id)
        cumbre = {p.name: p.id for p in session.execute(select(Product)).scalars()}
    happy, angry, spam, troll, beach = rows["1"], rows["2"], rows["3"], rows["5"], rows["6"]
    # (The Spanish complaint is not asserted: the n-gram head reads it as neutral, see docs/scoring.md.)
    assert happy.sentiment == "positive" and rows["7"].sentiment == "negative"
    for row in rows.values():
        assert row.model_version == models.version
        assert row.sentiment_probs is not None and sum(row.sentiment_probs.values()) == pytest.approx(
            1, abs=1e-3
        )
        assert row.relevance is not None and 0.0 <= row.relevance <= 1.0
        assert row.content_types and row.language and row.engagement_rate is not None
        assert set(row.safety) == {"profanity", "offensive", "hate", "threat", "adult"}
        assert row.embedding is None and row.embedding_use is None  # no encoder ran
    assert happy.product_id == cumbre["Cumbre"] and angry.product_id == cumbre["Cumbre"]
    assert rows["7"].product_id == cumbre["Cumbre"]
    assert beach.product_id is None
    assert happy.language == "en" and angry.language == "es"
    assert {"photo", "testimonial"} <= set(happy.content_types) and "complaint" in angry.content_types
    assert spam.spam is not None and spam.spam > 0.9 and happy.spam == 0.0
    assert troll.safety["offensive"] > 0.5 > happy.safety["offensive"]
    assert (
        happy.relevance is not None
        and beach.relevance is not None
        and happy.relevance > 0.8 > beach.relevance
    )


def test_switching_profiles_scores_again(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESORO_SCORING_PROFILE", raising=False)
    settings = _settings("default")
    _store(sqlite_engine, settings)
    default = load_models(settings)
    assert default.profile == "default" and default.encoder is not None
    assert score_pending(sqlite_engine, settings, models=default) == len(POSTS)
    monkeypatch.setenv("TESORO_SCORING_PROFILE", "fast")  # the variable wins over the settings
    assert scoring_profile(settings) == "fast"
    fast = load_models(settings)
    assert fast.profile == "fast" and fast.version != default.version
    with session_scope(sqlite_engine) as session:
        assert count_unscored(session, model_version=default.version) == 0
        assert count_unscored(session, model_version=fast.version) == len(POSTS)
    assert score_pending(sqlite_engine, settings, models=fast) == len(POSTS)
    assert score_pending(sqlite_engine, settings, models=fast) == 0
    monkeypatch.setenv("TESORO_SCORING_PROFILE", "turbo")
    with pytest.raises(ModelLoadError, match="turbo"):
        load_models(settings)


def test_shipped_fast_heads_read_no_encoder() -> None:
    for path in (FAST_SENTIMENT_HEAD, FAST_OFFENSIVE_HEAD):
        head = load_head(path)
        assert head.inputs == () and head.lexical is not None and head.w1.shape[0] == 0
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["profile"] == "fast" and meta["validation"]


def test_the_fast_profile_refuses_a_sentiment_override_instead_of_ignoring_it() -> None:
    settings = Settings(models=ModelSettings(profile="fast"))
    with pytest.raises(ModelLoadError, match="default scoring profile"):
        load_models(settings, sentiment="/models/my-head.npz")
    assert load_models(settings, sentiment="bundled").version == fast_model_version()  # the default name
    assert load_models(settings).encoder is None


def _reference_lexical(lexical: np.ndarray, texts: list[str]) -> np.ndarray:
    """The per-text formula the cached, batched implementation must reproduce bit for bit."""
    out = np.zeros((len(texts), lexical.shape[1]), dtype=np.float32)
    for i, text in enumerate(texts):
        ids = hashed_ngrams(text, lexical.shape[0])
        if len(ids):
            out[i] = lexical[ids].sum(axis=0) / np.sqrt(len(ids))
    return out


def test_cached_ngram_hashing_is_exact() -> None:
    text = "Love it!! @bob http://x.co #Andes ok"
    ids = hashed_ngrams(text, 2**16).tolist()
    # Spelled out: words, then word pairs, then each word's character 3- and 4-grams.
    words = ["love", "it", "!", "!", "@", "user", "http", "#", "andes", "ok"]
    feats = [f"w:{w}" for w in words] + [f"b:{a} {b}" for a, b in itertools.pairwise(words)]
    for w in words:
        padded = f"<{w}>"
        feats += [f"c:{padded[i : i + n]}" for n in (3, 4) for i in range(max(len(padded) - n + 1, 0))]
    assert ids == [zlib.crc32(f.encode()) % 2**16 for f in feats]
    assert _word_codes("love")[0] == zlib.crc32(b"w:love")
    rng = np.random.default_rng(0)
    lexical = rng.standard_normal((2**12, 3)).astype(np.float32)
    texts = [text, "", "   ", "😂😂 jajaja", "El servicio fue terrible", text.upper(), "a b c d e f g " * 20]
    assert np.array_equal(lexical_logits(lexical, texts), _reference_lexical(lexical, texts))


def test_lexical_training_is_deterministic(tmp_path: Path) -> None:
    texts = [
        "great shoes love them",
        "terrible shoes broke",
        "love the grip",
        "broke after a week",
        "best run ever",
        "worst purchase",
    ] * 5
    y = [1, 0, 1, 0, 1, 0] * 5
    config = LexicalConfig(buckets=2**10, l2=1e-3, max_iter=100)
    x = lexical_matrix(texts, config.buckets)
    first = fit_lexical(x, y, 2, None, config)
    second = fit_lexical(lexical_matrix(texts, config.buckets), y, 2, None, config)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    head = lexical_head(*first, ("negative", "positive"))
    path = tmp_path / "h.npz"
    save_head(head, path, {"task": "test"})
    loaded = load_head(path)
    assert loaded.inputs == () and loaded.predict(
        np.zeros((2, 0), np.float32), ["love them", "it broke"]
    ) == [
        "positive",
        "negative",
    ]


def test_text_only_head_needs_ngram_weights(tmp_path: Path) -> None:
    bad = Head(
        np.zeros((0, 2), np.float32),
        np.zeros(2, np.float32),
        np.zeros((0, 2), np.float32),
        np.zeros(2, np.float32),
        ("a", "b"),
        inputs=(),
    )
    path = tmp_path / "bad.npz"
    save_head(bad, path, {})
    with pytest.raises(ModelLoadError, match="n-gram"):
        load_head(path)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not (DATA / "tweeteval_offensive" / "train.jsonl").is_file(), reason="no shared data")
def test_training_reproduces_the_shipped_offensive_fast_head(tmp_path: Path) -> None:
    from tesoro.scoring.training.lexical import train_fast_offensive

    meta = train_fast_offensive(DATA, tmp_path / "offensive_fast.npz")
    shipped = json.loads(FAST_OFFENSIVE_HEAD.with_suffix(".json").read_text())
    assert meta["config"] == shipped["config"]
    assert meta["validation"] == shipped["validation"]
    retrained, original = load_head(tmp_path / "offensive_fast.npz"), load_head(FAST_OFFENSIVE_HEAD)
    assert original.lexical is not None and retrained.lexical is not None
    # L-BFGS stops at its tolerance, and another CPU's vector units round its sums in another order:
    # the weights agree to a fraction of a percent (measured 0.24 % on an AVX-512 CPU for a head
    # trained on an AVX2 one, largest difference 0.004), while another setting or data moves them by
    # tens of percent. The validation figures above are equal to the last digit.
    change = np.linalg.norm(retrained.lexical - original.lexical) / np.linalg.norm(original.lexical)
    assert change < 0.01, change
    assert np.abs(retrained.lexical - original.lexical).max() < 0.02
    assert np.allclose(retrained.b1, original.b1, atol=5e-3)
