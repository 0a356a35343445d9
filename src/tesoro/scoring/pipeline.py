"""Batch scoring: every post gets one versioned score set.

Per batch: read unscored posts (one query + one for media), embed each distinct
text once (exact duplicates and retweet floods are common in listening data),
then run every head on those shared embeddings: sentiment, offensive, product,
relevance. The cheap rule-based scorers (language, content type, lexicon
safety, spam, engagement) run per post. Results are written in one multi-row
upsert per batch, in its own transaction, so an interrupted run resumes where
it stopped.

`model_version` names the models that produced a score set. It defaults to a
digest of the encoder name, the sentiment model's name and this module's
revision (bumped when a bundled head changes), so changing any of them makes
every post "unscored" for the new version while old rows stay for comparison.

The `fast` profile (`[models] profile = "fast"`, or `TESORO_SCORING_PROFILE=fast`) runs no
encoder at all: sentiment and offensiveness come from text-only heads over hashed word and
character n-grams (`training.lexical`), products from the alias matcher alone, relevance from
the query, mentions and the learned weights with the similarity term neutral. Its score sets
carry no embedding (meaning search and near-duplicate grouping skip those posts) and have their
own model version (`fast.<digest>`), so switching profiles scores every post again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.scoring.content_type import classify_content
from tesoro.scoring.corrections import BrandCalibration, apply_overrides, calibrate_rows, load_calibrations
from tesoro.scoring.encoders import Encoder, UseEncoder, load_encoder, load_use
from tesoro.scoring.engagement import derive_median, engagement_rate, vs_median
from tesoro.scoring.heads import DEFAULT_OFFENSIVE_HEAD, WEIGHTS_DIR, Head, join_inputs, load_head
from tesoro.scoring.language import detect_language
from tesoro.scoring.products import ProductMatcher, ProductRef
from tesoro.scoring.relevance import BrandProfile, RelevanceScorer, with_learned_weights
from tesoro.scoring.safety import spam_score, text_safety, with_flags
from tesoro.scoring.sentiment import (
    DEFAULT_SENTIMENT_HEAD,
    SENTIMENT_LABELS,
    HeadSentiment,
    SentimentModel,
    load_sentiment,
)
from tesoro.scoring.shared import ModelLoadError
from tesoro.settings import Settings
from tesoro.store.catalog import list_brands, list_products
from tesoro.store.corrections import corrections_for
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts
from tesoro.store.rankers import load_relevance_models
from tesoro.store.scores import (
    SCORE_MARK_LAG,
    PostToScore,
    advance_score_mark,
    count_unscored,
    duplicate_accounts,
    engagement_samples,
    listening_queries_by_brand,
    posts_after,
    save_scores,
    score_mark,
    unscored_posts,
)

__all__ = [
    "DEFAULT_OFFENSIVE_HEAD",
    "FAST_OFFENSIVE_HEAD",
    "FAST_SENTIMENT_HEAD",
    "PIPELINE_REVISION",
    "PROFILES",
    "Scorer",
    "ScoringModels",
    "active_model_version",
    "catalog_profiles",
    "default_model_version",
    "fast_model_version",
    "head_proba",
    "load_models",
    "rescore",
    "score_pending",
    "scoring_profile",
]

# Bump when the rule-based scorers or the bundled heads change in a way that should trigger
# re-scoring (2: the bundled sentiment head reads encoder layers 4 and 5 too; 3: safety tells abuse
# aimed at people from strong words about a product, and scores threats).
PIPELINE_REVISION = "3"
_DERIVED_PLATFORMS = ("reddit", "bluesky", "mastodon", "threads", "youtube")
# "default": MiniLM feeds every head and matcher; "fast": no encoder, text-only n-gram heads.
PROFILES = ("default", "fast")
FAST_SENTIMENT_HEAD = WEIGHTS_DIR / "sentiment_fast.npz"
FAST_OFFENSIVE_HEAD = WEIGHTS_DIR / "offensive_fast.npz"

FloatArray = npt.NDArray[np.float32]
ProgressCallback = Callable[[int, int], None]  # (scored so far, total to score)


@dataclass(frozen=True)
class ScoringModels:
    """The loaded models a run uses; cheap to pass around, expensive to build (load once)."""

    encoder: Encoder | None  # None: the `fast` profile, no embeddings at all
    sentiment: SentimentModel
    offensive: Head | None
    version: str
    # The multilingual USE, loaded when a head reads it (None: no head does, and it never runs).
    use: UseEncoder | None = None
    profile: str = "default"


def scoring_profile(settings: Settings) -> str:
    """The scoring profile: `TESORO_SCORING_PROFILE` when set, else `[models] profile` ("default")."""
    wanted = (
        (os.environ.get("TESORO_SCORING_PROFILE") or getattr(settings.models, "profile", None) or "default")
        .strip()
        .casefold()
    )
    if wanted not in PROFILES:
        raise ModelLoadError(f"scoring profile {wanted!r}: expected one of {', '.join(PROFILES)}")
    return wanted


def fast_model_version() -> str:
    """The `fast` profile's model version: its two heads' bytes and the pipeline revision."""
    digest = hashlib.sha1(f"fast\0{PIPELINE_REVISION}".encode())
    for path in (FAST_SENTIMENT_HEAD, FAST_OFFENSIVE_HEAD):
        if path.is_file():
            digest.update(path.read_bytes())
    return f"fast.{digest.hexdigest()[:10]}"


def default_model_version(encoder_name: str, sentiment_name: str | None) -> str:
    """A short, stable name for this combination of models and code revision."""
    digest = hashlib.sha1(f"{encoder_name}\0{sentiment_name or 'bundled'}\0{PIPELINE_REVISION}".encode())
    for path in (DEFAULT_SENTIMENT_HEAD, DEFAULT_OFFENSIVE_HEAD):
        if path.is_file() and (sentiment_name in (None, "bundled") or path == DEFAULT_OFFENSIVE_HEAD):
            digest.update(path.read_bytes())
    short = re.sub(r"[^a-z0-9]+", "-", encoder_name.casefold().rsplit("/", 1)[-1]).strip("-")[:24]
    return f"{short}.{digest.hexdigest()[:10]}"


def active_model_version(settings: Settings) -> str:
    """The model version the settings' scoring profile writes, without loading any model."""
    if scoring_profile(settings) == "fast":
        return fast_model_version()
    return default_model_version(settings.models.encoder, getattr(settings.models, "sentiment", None))


def load_models(
    settings: Settings,
    *,
    sentiment: str | None = None,
    model_version: str | None = None,
    profile: str | None = None,
) -> ScoringModels:
    """Load the encoder, sentiment backend and offensive head named by settings (once per process).

    `sentiment` overrides `settings.models.sentiment` when that key exists: the bundled head,
    a `.npz` head file, or a transformers text-classification model. `profile` overrides
    `scoring_profile(settings)`; "fast" loads the two n-gram heads and no encoder, and refuses a
    `sentiment` override (it would be silently ignored otherwise).
    """
    if (profile or scoring_profile(settings)) == "fast":
        if sentiment is not None and sentiment != "bundled":
            raise ModelLoadError(
                f"sentiment model {sentiment!r} needs the default scoring profile: the fast profile scores "
                'sentiment with its own text-only head (profile = "default" in [models], or unset '
                "TESORO_SCORING_PROFILE)"
            )
        return load_fast_models(model_version)
    conf = settings.models
    sentiment_name = sentiment or getattr(conf, "sentiment", None)
    encoder = load_encoder(conf.encoder, conf.device, batch_size=conf.batch_size)
    sentiment_model = load_sentiment(
        sentiment_name, device=conf.device, encoder_dim=encoder.dim, encoder_name=conf.encoder
    )
    offensive = (
        load_head(DEFAULT_OFFENSIVE_HEAD, expected_dim=encoder.dim)
        if DEFAULT_OFFENSIVE_HEAD.is_file()
        else None
    )
    version = model_version or default_model_version(conf.encoder, sentiment_name)
    reads_use = "use" in sentiment_model.inputs or (offensive is not None and offensive.reads_use)
    return ScoringModels(encoder, sentiment_model, offensive, version, load_use() if reads_use else None)


def load_fast_models(model_version: str | None = None) -> ScoringModels:
    """The `fast` profile: the shipped text-only sentiment and offensive heads, no encoder."""
    for path in (FAST_SENTIMENT_HEAD, FAST_OFFENSIVE_HEAD):
        if not path.is_file():
            raise ModelLoadError(f"{path} not found: train it with `tesoro train <task> --profile fast`")
    sentiment = load_head(FAST_SENTIMENT_HEAD)
    offensive = load_head(FAST_OFFENSIVE_HEAD)
    if sentiment.inputs or offensive.inputs:
        raise ModelLoadError("the fast profile's heads must read no encoder (retrain with --profile fast)")
    return ScoringModels(
        None,
        HeadSentiment(sentiment, name="fast"),
        offensive,
        model_version or fast_model_version(),
        None,
        "fast",
    )


class Scorer:
    """Scores batches of posts against the brands and products in the store."""

    def __init__(
        self,
        models: ScoringModels,
        products: Sequence[ProductRef],
        brands: Sequence[BrandProfile],
        derived_medians: dict[str, float | None] | None = None,
        calibrations: Mapping[int, BrandCalibration] | None = None,
    ) -> None:
        self.models = models
        # Per brand, what its coordinator's corrections taught the heads (`scoring.corrections`).
        self.calibrations = dict(calibrations or {})
        if models.encoder is None:  # the fast profile: no embeddings, so empty profile vectors
            self.products = ProductMatcher(
                products, profile_embeddings=np.zeros((len(products), 0), np.float32)
            )
            self.relevance = RelevanceScorer(
                brands, profile_embeddings={b.id: np.zeros((1, 0), np.float32) for b in brands}
            )
        else:
            self.products = ProductMatcher(products, models.encoder)
            self.relevance = RelevanceScorer(brands, models.encoder)
        self.derived_medians = dict(derived_medians or {})

    @classmethod
    def from_store(cls, session: Session, models: ScoringModels) -> Scorer:
        products, brands = catalog_profiles(session)
        brands = with_learned_weights(brands, load_relevance_models(session))
        medians: dict[str, float | None] = {}
        for platform in _DERIVED_PLATFORMS:
            samples = engagement_samples(session, platform=platform)
            medians[platform] = derive_median(
                engagement_rate(likes=i, reposts=0, replies=0, quotes=0, followers=f, views=v)
                for i, f, v in samples
            )
        return cls(models, products, brands, medians, load_calibrations(session))

    def _embed(self, texts: list[str]) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
        """One pass of each encoder a head reads: the MiniLM embeddings, what the sentiment model and
        the offensive head read of MiniLM, and the USE embeddings (None when no head reads them).
        """
        models = self.models
        if models.encoder is None:
            empty = np.zeros((len(texts), 0), np.float32)
            return empty, empty, empty, None
        branch = models.sentiment.branch
        sentiment_layers = models.sentiment.pooled_layers
        offensive = models.offensive
        offensive_layers = offensive.pooled_layers if offensive is not None else ()
        use = models.use.encode(texts) if models.use is not None else None
        if branch is not None:
            # One pass of the shared layers feeds both the embedding and the fine-tuned sentiment branch.
            emb, sentiment_x = models.encoder.encode_with_branch(texts, branch)
            offensive_x = (
                models.encoder.encode_with_layers(texts, offensive_layers)[1] if offensive_layers else emb
            )
            return emb, sentiment_x, offensive_x, use
        layers = tuple(sorted(set(sentiment_layers) | set(offensive_layers)))
        if not layers:
            emb = models.encoder.encode(texts)
            return emb, emb, emb, use
        # The same pass gives the intermediate layers the heads read; each head takes its own.
        emb, joined = models.encoder.encode_with_layers(texts, layers)
        return (
            emb,
            _layers_of(joined, layers, sentiment_layers),
            _layers_of(joined, layers, offensive_layers),
            use,
        )

    def score_batch(
        self, posts: Sequence[PostToScore], dup_accounts: dict[str, int] | None = None
    ) -> list[dict[str, Any]]:
        """Score rows ready for `save_scores`, one per post."""
        if not posts:
            return []
        texts = [f"{p.title}\n{p.text}" if p.title else p.text for p in posts]
        unique: dict[str, int] = {}
        index = [unique.setdefault(text, len(unique)) for text in texts]
        unique_texts = list(unique)
        unique_emb, features, offensive_x, unique_use = self._embed(unique_texts)
        sentiment_inputs = self.models.sentiment.inputs
        sentiment = self.models.sentiment.predict_proba(
            unique_texts,
            join_inputs(sentiment_inputs, features, unique_use)
            if sentiment_inputs
            else np.zeros((len(unique_texts), 0), np.float32),
        )
        offensive_head = self.models.offensive
        offensive = (
            offensive_head.predict_proba(
                join_inputs(offensive_head.inputs, offensive_x, unique_use)
                if offensive_head.inputs
                else np.zeros((len(unique_texts), 0), np.float32),
                unique_texts,
            )[:, -1]
            if offensive_head is not None
            else np.zeros(len(unique_texts), dtype=np.float32)
        )
        emb = unique_emb[index]
        has_embedding = emb.shape[1] > 0
        matches = self.products.match(texts, emb, brand_ids=[p.brand_id for p in posts])
        dups = dup_accounts or {}
        rows: list[dict[str, Any]] = []
        for i, post in enumerate(posts):
            u = index[i]
            probs = sentiment[u]
            safety = with_flags(text_safety(texts[i], float(offensive[u])), post.content_flags)
            spam = spam_score(
                post.text,
                followers=post.followers,
                following=post.following,
                duplicate_accounts=dups.get(post.content_hash or "", 1),
                hashtags=len(post.hashtags),
            )
            language = detect_language(post.text, post.lang)
            match = matches[i]
            rate = engagement_rate(
                likes=post.likes,
                reposts=post.reposts,
                replies=post.replies,
                quotes=post.quotes,
                followers=post.followers,
                views=post.views,
            )
            rows.append(
                {
                    "post_id": post.id,
                    "model_version": self.models.version,
                    "sentiment": SENTIMENT_LABELS[int(probs.argmax())],
                    "sentiment_probs": {
                        label: round(float(p), 4) for label, p in zip(SENTIMENT_LABELS, probs, strict=True)
                    },
                    "relevance": self.relevance.score(
                        texts[i],
                        emb[i],
                        brand_id=post.brand_id,
                        lang=language,
                        spam=spam.score,
                        product_confidence=match.confidence,
                    ),
                    "product_id": match.product_id,
                    "product_confidence": match.confidence if match.product_id is not None else None,
                    "content_types": classify_content(post.text, post.media_types, title=post.title),
                    "language": language,
                    "safety": safety,
                    "spam": spam.score,
                    "engagement_rate": rate,
                    "engagement_vs_median": vs_median(rate, post.platform, self.derived_medians),
                    "embedding": emb[i].astype(np.float32).tobytes() if has_embedding else None,
                    "embedding_use": None
                    if unique_use is None
                    else unique_use[index[i]].astype(np.float32).tobytes(),
                }
            )
        if self.calibrations:
            calibrate_rows(rows, [p.brand_id for p in posts], self.calibrations)
        return rows


def head_proba(
    head: Head, encoder: Encoder, texts: Sequence[str], use: UseEncoder | None = None
) -> FloatArray:
    """`head`'s class probabilities for `texts`, feeding it what it reads (MiniLM with its layers, USE)."""
    if not head.inputs:  # a text-only head (the fast profile's)
        return head.predict_proba(np.zeros((len(texts), 0), np.float32), texts)
    minilm: FloatArray | None = None
    if head.reads_minilm:
        minilm = (
            encoder.encode_with_layers(texts, head.pooled_layers)[1]
            if head.pooled_layers
            else encoder.encode(texts)
        )
    use_rows = (use or load_use()).encode(texts) if head.reads_use else None
    probs: FloatArray = head.predict_proba(join_inputs(head.inputs, minilm, use_rows), texts)
    return probs


def _layers_of(joined: FloatArray, layers: Sequence[int], wanted: Sequence[int]) -> FloatArray:
    """From rows of [embedding | pooled `layers`...], the embedding followed by the `wanted` layers only."""
    if tuple(wanted) == tuple(layers):
        return joined
    dim = joined.shape[1] // (1 + len(layers))
    blocks = [joined[:, :dim]]
    for layer in wanted:
        k = layers.index(layer) + 1
        blocks.append(joined[:, k * dim : (k + 1) * dim])
    return np.ascontiguousarray(np.concatenate(blocks, axis=1)) if len(blocks) > 1 else blocks[0]


def catalog_profiles(session: Session) -> tuple[list[ProductRef], list[BrandProfile]]:
    """The products and brands (with their listening queries) as the product and relevance scorers see them.

    Brands carry the default relevance weights; `with_learned_weights` adds the learned ones.
    """
    products = [
        ProductRef(
            id=p.id or 0,
            name=p.name,
            aliases=tuple(p.aliases),
            description=p.description,
            brand_id=p.brand_id,
        )
        for p in list_products(session)
    ]
    queries = listening_queries_by_brand(session)
    brands = [
        BrandProfile(
            id=b.id or 0,
            name=b.name,
            description=b.description,
            handles=tuple(b.handles.values()),
            hashtags=tuple(b.hashtags),
            product_texts=tuple(p.profile for p in products if p.brand_id == b.id),
            product_aliases=tuple(a for p in products if p.brand_id == b.id for a in (p.name, *p.aliases)),
            queries=tuple(queries.get(b.id or 0, ())),
        )
        for b in list_brands(session)
    ]
    return products, brands


def _run(
    engine: Engine,
    models: ScoringModels,
    fetch: Callable[[Session, int, int], list[PostToScore]],
    total: int | None,
    batch_size: int,
    on_progress: ProgressCallback | None,
    *,
    after_id: int = 0,
    on_exhausted: Callable[[Session], None] | None = None,
) -> int:
    """Score batches after post id `after_id` until `fetch` returns nothing or `total` posts are done
    (None: no bound); one transaction per batch. `on_exhausted` runs when `fetch` found nothing left."""
    with session_scope(engine) as session:
        scorer = Scorer.from_store(session, models)
    done = 0
    while total is None or done < total:
        with session_scope(engine) as session:
            batch = fetch(session, after_id, batch_size if total is None else min(batch_size, total - done))
            if not batch:
                if on_exhausted is not None:
                    on_exhausted(session)
                break
            dups = duplicate_accounts(
                session, content_hashes=[p.content_hash for p in batch if p.content_hash]
            )
            rows = scorer.score_batch(batch, dups)
            # A coordinator's correction wins over whatever the models say now.
            apply_overrides(rows, corrections_for(session, post_ids=[p.id for p in batch]))
            save_scores(session, rows)
        after_id = batch[-1].id
        done += len(batch)
        if on_progress is not None:
            on_progress(done, max(total or 0, done))
    return done


def score_pending(
    engine: Engine,
    settings: Settings,
    *,
    model_version: str | None = None,
    batch_size: int | None = None,
    limit: int | None = None,
    models: ScoringModels | None = None,
    on_progress: ProgressCallback | None = None,
    mark_lag: timedelta = SCORE_MARK_LAG,
) -> int:
    """Score every post (at most `limit`) that has no score set for the model version; returns how many.

    The search starts at the version's score mark (`store.scores`: every post below it is scored), so
    its cost follows the posts collected since, not the whole history; a run that finds nothing left
    moves the mark on (after `mark_lag`, see `advance_score_mark`). Counting the posts to score is done
    only when someone watches the progress (`on_progress`); the scheduled job just scores until none
    is left.
    """
    loaded = models or load_models(settings, model_version=model_version)
    with session_scope(engine) as session:
        start = score_mark(session, model_version=loaded.version)
    total: int | None = limit
    if on_progress is not None:
        with session_scope(engine) as session:
            total = count_unscored(session, model_version=loaded.version, from_id=start)
        if limit is not None:
            total = min(total, limit)

    def exhausted(session: Session) -> None:
        advance_score_mark(session, model_version=loaded.version, now=datetime.now(UTC), lag=mark_lag)

    return _run(
        engine,
        loaded,
        lambda session, after_id, n: unscored_posts(
            session, model_version=loaded.version, limit=n, after_id=after_id
        ),
        total,
        batch_size or max(settings.models.batch_size, 256),
        on_progress,
        after_id=start - 1,
        on_exhausted=exhausted,
    )


def rescore(
    engine: Engine,
    settings: Settings,
    *,
    model_version: str,
    batch_size: int | None = None,
    models: ScoringModels | None = None,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Score every post again under `model_version`, replacing that version's rows (other versions stay)."""
    if not model_version:
        raise ValueError("rescore needs a model version name")
    loaded = models or load_models(settings, model_version=model_version)
    if loaded.version != model_version:
        loaded = dataclasses.replace(loaded, version=model_version)
    with session_scope(engine) as session:
        total = count_posts(session)
    return _run(
        engine,
        loaded,
        lambda session, after_id, n: posts_after(session, after_id=after_id, limit=n),
        total,
        batch_size or max(settings.models.batch_size, 256),
        on_progress,
    )
