"""Relevance learns from the coordinator's decisions, per brand, and the queue follows.

The store tests use a tiny deterministic encoder with two "topics" (gadgets, baking)
plus hashed words, so that "apple pie" posts are far from Apple's profile and gadget
posts close to it, as with the real encoder; one test uses the real bundled encoder.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.curator import relevance_model
from tesoro.curator.feedback import load_ranker_models
from tesoro.curator.queue import decide, undo_last
from tesoro.curator.ranking import rank_posts
from tesoro.curator.relevance_model import (
    brand_profiles,
    is_off_topic,
    learn_weights,
    relevance_status,
    train_relevance,
)
from tesoro.jobs import tasks as jobs
from tesoro.models import NormalizedAuthor, NormalizedPost, Platform, PostMetrics
from tesoro.scoring.encoders import load_encoder
from tesoro.scoring.relevance import (
    DEFAULT_WEIGHTS,
    FEATURES,
    BrandProfile,
    RelevanceScorer,
    RelevanceWeights,
    relevance_from_features,
    with_learned_weights,
)
from tesoro.settings import BrandSettings, ProductSettings, QuerySettings, Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.decisions import add_tags
from tesoro.store.engine import session_scope
from tesoro.store.posts import upsert_posts
from tesoro.store.rankers import delete_relevance_model, load_relevance_models, save_relevance_model
from tesoro.store.scores import save_scores
from tesoro.store.tables import Brand, CurationItem, Post, PostTag, Product, Score

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DIM = 384
_TOPICS = (
    frozenset(
        [
            "iphone",
            "macbook",
            "camera",
            "battery",
            "screen",
            "laptop",
            "keyboard",
            "smartphone",
            "software",
            "computers",
            "ipad",
            "mac",
            "speakers",
            "photos",
        ]
    ),
    frozenset(
        [
            "pie",
            "crumble",
            "cider",
            "tart",
            "sauce",
            "muffins",
            "baked",
            "cinnamon",
            "cream",
            "harvest",
            "farm",
            "bake",
            "sale",
            "grandma",
        ]
    ),
)


class TinyEncoder:
    """Deterministic stand-in for the sentence encoder: topic counts (half weight) plus hashed words."""

    dim = DIM

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.casefold()):
                if len(word) < 3:
                    continue
                for k, topic in enumerate(_TOPICS):
                    if word in topic:
                        out[i, k] += 0.5
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[i, len(_TOPICS) + bucket % (DIM - len(_TOPICS))] += 1.0
            norm = float(np.linalg.norm(out[i]))
            if norm:
                out[i] /= norm
        return out


class NoEncoder:
    """Fails if anything needs the encoder: proves a run had nothing to learn or refresh."""

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise AssertionError("the encoder should not be needed")


FOODS = ["apple pie", "apple crumble", "apple cider", "apple tart", "apple sauce", "apple muffins"]
WHERE = ["at grandma's farm", "for the bake sale", "after the harvest", "with cinnamon and cream"]
GADGETS = [
    "iphone camera",
    "macbook battery",
    "iphone screen",
    "macbook keyboard",
    "iphone photos",
    "macbook speakers",
]
MOODS = ["is amazing", "blew me away", "works perfectly", "is the best I have owned"]
PIES = [f"baked {food} {where}, so good" for where in WHERE for food in FOODS]  # 24, foods vary fastest
GEAR = [f"my new apple {gadget} {mood}" for mood in MOODS for gadget in GADGETS]
SURF = [f"costa surf ola board day {i}, waves were perfect" for i in range(6)]


def settings_for_test() -> Settings:
    return Settings(
        brands=[
            BrandSettings(
                name="Apple", description="Apple designs the iPhone, iPad and Mac computers and software."
            ),
            BrandSettings(name="Costa Surf", description="Costa Surf shapes surfboards."),
        ],
        products=[
            ProductSettings(
                name="iPhone", brand="Apple", description="Apple's smartphone with a great camera"
            ),
            ProductSettings(
                name="MacBook", brand="Apple", description="Apple's laptop with a long battery life"
            ),
            ProductSettings(name="Ola Board", brand="Costa Surf", aliases=["ola"], description="a surfboard"),
        ],
        queries=[
            QuerySettings(name="apple", brand="Apple", query="apple OR iphone OR macbook"),
            QuerySettings(name="costa", brand="Costa Surf", query="costa OR ola"),
        ],
    )


@dataclass
class World:
    engine: Engine
    settings: Settings
    ids: dict[str, int]
    brands: dict[str, int]


def _product(text: str, products: dict[str, int]) -> tuple[int | None, float | None]:
    for name, pid in products.items():
        if name.casefold().split()[0] in text.casefold():
            return pid, 0.85
    return None, None


def add_posts(
    world: World,
    posts: Sequence[tuple[str, str, str | None]],
    *,
    scored_at: datetime = NOW,
    stored_weights: bool = True,
) -> None:
    """Store (key, text, brand) posts and score their relevance as the pipeline does (with the stored
    learned weights, or with the defaults as a pass that began before they were saved)."""
    with session_scope(world.engine) as session:
        for key, text, brand in posts:
            post = NormalizedPost(
                platform=Platform.X,
                external_id=key,
                text=text,
                created_at=NOW - timedelta(hours=1),
                author=NormalizedAuthor(Platform.X, f"id-{key}", f"user{key}", followers=500),
                lang="en",
                metrics=PostMetrics(likes=5),
            )
            upsert_posts(session, [post], brand_id=world.brands[brand] if brand else None, now=NOW)
    encoder = TinyEncoder()
    with session_scope(world.engine) as session:
        products = {p.name: p.id for p in session.execute(select(Product)).scalars() if p.id is not None}
        profiles = brand_profiles(session)
        if stored_weights:
            profiles = with_learned_weights(profiles, load_relevance_models(session))
        scorer = RelevanceScorer(profiles, encoder)
        rows = []
        for key, text, brand in posts:
            pid = session.execute(
                select(col(Post.id)).where(col(Post.external_id) == key, col(Post.platform) == "x")
            ).scalar_one()
            world.ids[key] = int(pid)
            product_id, confidence = _product(text, products)
            embedding = encoder.encode([text])[0]
            rows.append(
                {
                    "post_id": pid,
                    "model_version": "test-1",
                    "sentiment": "positive",
                    "sentiment_probs": {"negative": 0.05, "neutral": 0.15, "positive": 0.8},
                    "relevance": scorer.score(
                        text,
                        embedding,
                        brand_id=world.brands[brand] if brand else None,
                        lang="en",
                        spam=0.0,
                        product_confidence=confidence or 0.0,
                    ),
                    "product_id": product_id,
                    "product_confidence": confidence,
                    "content_types": [],
                    "language": "en",
                    "safety": {"profanity": 0.0, "offensive": 0.0, "hate": 0.0, "adult": 0.0},
                    "spam": 0.0,
                    "engagement_rate": None,
                    "engagement_vs_median": 1.0,
                    "embedding": embedding.tobytes(),
                    "scored_at": scored_at,
                }
            )
        save_scores(session, rows)


def make_world(engine: Engine) -> World:
    settings = settings_for_test()
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    with session_scope(engine) as session:
        brands = {b.name: b.id for b in session.execute(select(Brand)).scalars() if b.id is not None}
    world = World(engine, settings, {}, brands)
    add_posts(
        world,
        [(f"pie{i}", t, "Apple") for i, t in enumerate(PIES)]
        + [(f"gear{i}", t, "Apple") for i, t in enumerate(GEAR)]
        + [(f"surf{i}", t, "Costa Surf") for i, t in enumerate(SURF)]
        + [("nobrand-pie", "baked apple pie for the harvest fair, with cream", None)],
    )
    rank_posts(engine, world.settings.curator, now=NOW)
    return world


def relevance(world: World) -> dict[str, float]:
    with session_scope(world.engine) as session:
        by_id = {
            int(pid): float(r)
            for pid, r in session.execute(select(col(Score.post_id), col(Score.relevance)))
            if r is not None
        }
    return {key: by_id[pid] for key, pid in world.ids.items()}


def items(world: World) -> dict[str, CurationItem]:
    with session_scope(world.engine) as session:
        rows = {i.post_id: i for i in session.execute(select(CurationItem)).scalars()}
    return {key: rows[pid] for key, pid in world.ids.items() if pid in rows}


def coordinator_decides(world: World, *, note: str | None = "off-topic: apple pie, not about us") -> None:
    """Rejects the first 12 pie posts (every food and place once or twice), approves 12 gadget posts."""
    with session_scope(world.engine) as session:
        decide(
            session,
            post_ids=[world.ids[f"pie{i}"] for i in range(12)],
            action="reject",
            actor="lucia",
            note=note,
            now=NOW,
        )
    with session_scope(world.engine) as session:
        decide(
            session,
            post_ids=[world.ids[f"gear{i}"] for i in range(12)],
            action="approve",
            actor="lucia",
            now=NOW + timedelta(minutes=1),
        )


# --------------------------------------------------------------------------- defaults stay exact


def _old_relevance(features: Sequence[float]) -> float:
    """The formula of scoring/relevance.py before weights could be learned, verbatim."""
    query, mention, sim_scaled, product_confidence, job, spam = features
    logit = -1.5 + 1.0 * query + 1.0 * mention + 1.0 * sim_scaled + 2.5 * product_confidence + -3.0 * job
    logit = logit + -3.0 * spam
    return round(1.0 / (1.0 + math.exp(-logit)), 4)


def test_default_weights_are_todays_weights_exactly() -> None:
    assert DEFAULT_WEIGHTS.coefficients() == (-1.5, 1.0, 1.0, 1.0, 2.5, -3.0, -3.0)
    assert not DEFAULT_WEIGHTS.learned
    assert "default hand-set weights" in DEFAULT_WEIGHTS.describe()
    rng = np.random.default_rng(7)
    for _ in range(2000):
        features = (
            float(rng.integers(0, 2)),
            float(rng.integers(0, 2)),
            float(rng.uniform(-2, 2)),
            float(rng.choice([0.0, rng.uniform(0.5, 0.95)])),
            float(rng.integers(0, 2)),
            float(rng.uniform(0, 1)),
        )
        assert relevance_from_features(features) == _old_relevance(features)


def test_no_decisions_leave_the_weights_and_every_score_untouched(sqlite_engine: Engine) -> None:
    world = make_world(sqlite_engine)
    before = relevance(world)
    reports = train_relevance(sqlite_engine, world.settings, encoder=NoEncoder(), now=NOW)
    assert {r.status for r in reports} == {"default"}
    assert all(r.reason == "0 decisions, 10 needed" for r in reports)
    assert all(r.weights == DEFAULT_WEIGHTS.to_json() for r in reports)
    assert relevance(world) == before
    with session_scope(sqlite_engine) as session:
        assert load_relevance_models(session) == {}
        profiles = with_learned_weights(brand_profiles(session), load_relevance_models(session))
    assert all(p.weights is None for p in profiles)
    assert learn_weights([])[0] is DEFAULT_WEIGHTS


def test_a_single_class_of_labels_changes_nothing(sqlite_engine: Engine) -> None:
    world = make_world(sqlite_engine)
    before = relevance(world)
    with session_scope(sqlite_engine) as session:
        decide(
            session,
            post_ids=[world.ids[f"pie{i}"] for i in range(14)],
            action="reject",
            actor="lucia",
            note="off-topic",
        )
    (apple, _) = sorted(
        train_relevance(sqlite_engine, world.settings, encoder=NoEncoder(), now=NOW), key=lambda r: r.brand_id
    )
    assert apple.status == "default" and apple.decisions == 14 and apple.approvals == 0
    assert apple.reason == "needs at least one approval and one rejection"
    assert relevance(world) == before
    with session_scope(sqlite_engine) as session:
        assert load_relevance_models(session) == {}
    only_approvals = [((1.0, 1.0, 1.5, 0.8, 0.0, 0.0), 1, False)] * 30
    weights, reason, _ = learn_weights(only_approvals)
    assert weights is DEFAULT_WEIGHTS and reason


# --------------------------------------------------------------------------- learning, end to end


def test_rejecting_apple_pie_lowers_its_relevance_and_the_queue_follows(engine: Engine) -> None:
    world = make_world(engine)
    before = relevance(world)
    queue_before = items(world)
    unreviewed_pies = [f"pie{i}" for i in range(12, 24)]
    unreviewed_gear = [f"gear{i}" for i in range(12, 24)]
    assert all(0.2 <= before[k] < 0.6 for k in unreviewed_pies), "ambiguous: in the queue by default"
    assert all(queue_before[k].filtered is None for k in unreviewed_pies)

    coordinator_decides(world)
    reports = {r.brand_id: r for r in train_relevance(engine, world.settings, encoder=TinyEncoder(), now=NOW)}
    apple = reports[world.brands["Apple"]]
    assert apple.status == "learned"
    assert (apple.decisions, apple.approvals, apple.off_topic) == (24, 12, 12)
    assert (
        "learned from 24 of this brand's decisions" in apple.summary
        and "12 marked off-topic" in apple.summary
    )
    assert apple.weights["similarity"] > DEFAULT_WEIGHTS.similarity
    assert apple.metrics["log_loss_learned"] < apple.metrics["log_loss_default"]
    assert apple.refreshed >= len(unreviewed_pies) and apple.reranked >= len(unreviewed_pies)
    assert reports[world.brands["Costa Surf"]].status == "default"

    after = relevance(world)
    for key in unreviewed_pies:
        assert after[key] < before[key] - 0.05, key
    assert sum(before[k] - after[k] for k in unreviewed_pies) / len(unreviewed_pies) > 0.1
    for key in unreviewed_gear:
        assert after[key] >= before[key], key
    # Decided posts keep the relevance they were decided with; other brands are untouched.
    for key in (
        [f"pie{i}" for i in range(12)] + [f"gear{i}" for i in range(12)] + [f"surf{i}" for i in range(6)]
    ):
        assert after[key] == before[key], key
    # Posts of no brand are scored against the best brand, with its new weights.
    assert after["nobrand-pie"] < before["nobrand-pie"]

    # The queue shows it: the treasure's relevance component is the new one, some pies are now filtered.
    queue_after = items(world)
    for key in unreviewed_pies:
        assert queue_after[key].components["relevance"]["value"] == pytest.approx(after[key], abs=1e-4)
        assert queue_after[key].score < queue_before[key].score
    filtered = [k for k in unreviewed_pies if (queue_after[k].filtered or "").startswith("off-topic")]
    assert len(filtered) >= len(unreviewed_pies) // 3

    # The scoring pipeline loads the same weights and gives new posts the same relevance.
    encoder = TinyEncoder()
    with session_scope(engine) as session:
        profiles = with_learned_weights(brand_profiles(session), load_relevance_models(session))
        stored = load_relevance_models(session)
    learned = RelevanceScorer(profiles, encoder)
    default = RelevanceScorer([replace(p, weights=None) for p in profiles], encoder)
    apple_id = world.brands["Apple"]
    assert stored[apple_id].decisions == 24 and learned.weights[apple_id].learned
    text = "baked apple tart at grandma's farm, so good"
    emb = encoder.encode([text])[0]
    assert learned.score(text, emb, brand_id=apple_id) < (default.score(text, emb, brand_id=apple_id) or 0)
    pie12 = PIES[12]
    assert learned.score(pie12, encoder.encode([pie12])[0], brand_id=apple_id, lang="en") == after["pie12"]
    explained = learned.explain(text, emb, brand_id=apple_id)
    assert explained["weights"] == "learned" and explained["decisions"] == 24
    assert explained["features"]["similarity"]["default_weight"] == 1.0
    assert set(explained["features"]) == set(FEATURES)
    assert default.explain(text, emb, brand_id=apple_id)["weights"] == "default"
    status = {s["brand"]: s for s in relevance_status(engine)}
    assert status["Apple"]["weights"] == "learned" and status["Apple"]["off_topic"] == 12
    assert status["Costa Surf"]["weights"] == "default"

    # Nothing new: nothing to learn, and the encoder is not even needed (the catch-up window is over).
    later = NOW + timedelta(hours=2)
    again = {r.brand_id: r for r in train_relevance(engine, world.settings, encoder=NoEncoder(), now=later)}
    assert again[apple_id].status == "unchanged" and again[apple_id].refreshed == 0
    assert relevance(world) == after

    # Undoing the approvals leaves one class: back to the default weights, and to the first scores exactly.
    with session_scope(engine) as session:
        undo_last(session, actor="lucia")
    reset = {r.brand_id: r for r in train_relevance(engine, world.settings, encoder=TinyEncoder(), now=later)}
    assert reset[apple_id].status == "reset"
    assert relevance(world) == before
    with session_scope(engine) as session:
        assert load_relevance_models(session) == {}
    assert all(items(world)[k].filtered is None for k in unreviewed_pies)


def test_plain_rejections_teach_less_than_off_topic_ones(sqlite_engine: Engine) -> None:
    tagged = make_world(sqlite_engine)
    before = relevance(tagged)
    coordinator_decides(tagged, note=None)
    with session_scope(sqlite_engine) as session:
        # A tag on the post says it as well as a note on the decision.
        for i in range(12):
            add_tags(session, post_id=tagged.ids[f"pie{i}"], tags=["not-about-us"])
    train_relevance(sqlite_engine, tagged.settings, encoder=TinyEncoder(), now=NOW)
    with_tag = relevance(tagged)
    with session_scope(sqlite_engine) as session:
        session.execute(delete(PostTag))
    plain = {
        r.brand_id: r for r in train_relevance(sqlite_engine, tagged.settings, encoder=TinyEncoder(), now=NOW)
    }
    assert plain[tagged.brands["Apple"]].status == "learned" and plain[tagged.brands["Apple"]].off_topic == 0
    without = relevance(tagged)
    for key in (f"pie{i}" for i in range(12, 24)):
        assert with_tag[key] < without[key] < before[key], key


def test_pure_learning_moves_little_with_few_decisions_and_more_with_many() -> None:
    pie = (1.0, 1.0, -1.2, 0.0, 0.0, 0.0)
    gear = (1.0, 1.0, 1.5, 0.85, 0.0, 0.0)
    default = relevance_from_features(pie)
    moves = []
    for n in (10, 40, 160):
        weights, reason, _ = learn_weights([(pie, 0, True)] * (n // 2) + [(gear, 1, False)] * (n // 2))
        assert not reason and weights.decisions == n
        moves.append(default - relevance_from_features(pie, weights))
        assert relevance_from_features(gear, weights) >= relevance_from_features(gear)
        # Features that never vary among the decisions keep their prior weight.
        assert (weights.query, weights.mention, weights.job, weights.spam) == (1.0, 1.0, -3.0, -3.0)
    assert 0 < moves[0] < moves[1] < moves[2]
    assert moves[0] < 0.12  # ten decisions: a nudge, not a verdict


def test_off_topic_words_in_notes_and_tags() -> None:
    for said in (
        "Off-topic",
        "off topic",
        "not about us",
        "Not our brand",
        "wrong brand",
        "homonym",
        "fuera de tema",
        "no es de nosotros",
        "otra marca",
        "unrelated: a recipe",
        "not-about-us",
    ):
        assert is_off_topic([said]) or is_off_topic([], [said]), said
    for said in ("blurry photo", "great post but low quality", "rude", "topical", "brand safety"):
        assert not is_off_topic([said], [said]), said


# --------------------------------------------------------------------------- persistence


def test_learned_weights_round_trip_through_the_store(engine: Engine) -> None:
    with session_scope(engine) as session:
        sync_catalog(session, settings_for_test())
    with session_scope(engine) as session:
        brand = next(b.id for b in session.execute(select(Brand)).scalars() if b.name == "Apple")
    assert brand is not None
    weights = RelevanceWeights.from_coefficients(
        [-1.612345678, 0.98, 1.01, 1.7777777, 3.1, -2.9, -3.05],
        decisions=40,
        approvals=25,
        rejections=15,
        off_topic=9,
    )
    with session_scope(engine) as session:
        save_relevance_model(
            session,
            brand_id=brand,
            weights=weights.to_json(),
            decisions=40,
            approvals=25,
            rejections=15,
            off_topic=9,
            fingerprint="a" * 64,
            metrics={"log_loss_learned": 0.2},
            now=NOW,
        )
    with session_scope(engine) as session:
        row = load_relevance_models(session)[brand]
        profiles = {
            p.name: p for p in with_learned_weights(brand_profiles(session), load_relevance_models(session))
        }
    assert row.weights == weights.to_json() and row.fingerprint == "a" * 64
    assert (row.decisions, row.approvals, row.rejections, row.off_topic) == (40, 25, 15, 9)
    loaded = profiles["Apple"].weights
    assert loaded is not None and loaded.coefficients() == weights.coefficients()
    assert loaded.decisions == 40 and loaded.off_topic == 9 and loaded.trained_at is not None
    assert profiles["Costa Surf"].weights is None
    # Saving again replaces; deleting goes back to the defaults.
    with session_scope(engine) as session:
        save_relevance_model(
            session,
            brand_id=brand,
            weights=DEFAULT_WEIGHTS.to_json(),
            decisions=12,
            approvals=6,
            rejections=6,
            off_topic=0,
            fingerprint="b" * 64,
            metrics={},
            now=NOW,
        )
    with session_scope(engine) as session:
        assert load_relevance_models(session)[brand].decisions == 12
        delete_relevance_model(session, brand_id=brand)
    with session_scope(engine) as session:
        assert load_relevance_models(session) == {}
    # Weights saved for other features are ignored (retrained), never half-applied.
    assert RelevanceWeights.from_json({"bias": 1.0, "query": 2.0}) is None


# --------------------------------------------------------------------------- the scheduled job


def test_the_curator_train_job_learns_relevance_before_the_rankers(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(sqlite_engine)
    coordinator_decides(world)
    monkeypatch.setattr(relevance_model, "_load_encoder", lambda settings: TinyEncoder())
    jobs.curator_train_job(sqlite_engine, world.settings)
    apple = world.brands["Apple"]
    with session_scope(sqlite_engine) as session:
        assert load_relevance_models(session)[apple].decisions == 24
    assert apple in load_ranker_models(sqlite_engine)


def test_a_failing_relevance_step_does_not_stop_the_rankers(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(sqlite_engine)
    coordinator_decides(world)

    def broken(settings: Settings) -> TinyEncoder:
        raise RuntimeError("no encoder here")

    monkeypatch.setattr(relevance_model, "_load_encoder", broken)
    jobs.curator_train_job(sqlite_engine, world.settings)
    assert world.brands["Apple"] in load_ranker_models(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        assert load_relevance_models(session) == {}


def test_posts_scored_with_the_old_weights_during_training_are_caught_up(sqlite_engine: Engine) -> None:
    world = make_world(sqlite_engine)
    coordinator_decides(world)
    train_relevance(sqlite_engine, world.settings, encoder=TinyEncoder(), now=NOW)
    # A scoring pass that began before the weights were saved writes a default-weight score after them.
    late = [("late-pie", "baked apple crumble after the harvest fair", "Apple")]
    add_posts(world, late, scored_at=NOW + timedelta(minutes=2), stored_weights=False)
    stale = relevance(world)["late-pie"]
    reports = train_relevance(
        sqlite_engine, world.settings, encoder=TinyEncoder(), now=NOW + timedelta(minutes=15)
    )
    apple = next(r for r in reports if r.brand_id == world.brands["Apple"])
    assert apple.status == "unchanged" and apple.refreshed == 1
    assert relevance(world)["late-pie"] < stale
    assert items(world)["late-pie"].components["relevance"]["value"] == pytest.approx(
        relevance(world)["late-pie"], abs=1e-4
    )


# --------------------------------------------------------------------------- with the real encoder

REAL_PIES = [
    "grandma's apple pie recipe with cinnamon",
    "baked an apple crumble this afternoon, so good",
    "apple cider season is here",
    "caramel apple for dessert",
    "green apple smoothie recipe",
    "apple tart with puff pastry",
    "homemade apple sauce for the baby",
    "apple and walnut salad for lunch",
    "apple strudel from the bakery downtown",
    "cinnamon apple muffins for breakfast",
    "apple harvest festival this weekend",
    "this apple variety is so crunchy and sweet",
]
REAL_GEAR = [
    "my new iphone camera is amazing",
    "the macbook battery lasts all day",
    "iphone screen is stunning in sunlight",
    "apple's new laptop is so fast",
    "upgraded to the latest iphone, love it",
    "macbook keyboard feels great to type on",
    "the iphone photos at night are incredible",
    "my macbook never overheats",
    "apple software update fixed my iphone bug",
    "new macbook air unboxing",
    "switching from android to iphone was easy",
    "macbook pro for video editing is a beast",
]


def test_with_the_real_encoder_homonyms_lose_and_products_keep() -> None:
    encoder = load_encoder()
    apple = BrandProfile(
        id=1,
        name="Apple",
        description="Apple designs the iPhone, iPad and Mac computers and software.",
        product_texts=("iPhone. Apple's smartphone", "MacBook. Apple's laptop"),
        product_aliases=("iPhone", "MacBook"),
        queries=("apple OR iphone OR macbook",),
    )
    scorer = RelevanceScorer([apple], encoder)

    def features(texts: list[str], product: float) -> list[tuple[float, ...]]:
        emb = encoder.encode(texts)
        return [
            scorer.features(
                t,
                emb[i],
                brand_id=1,
                lang="en",
                product_confidence=product if "ip" in t or "mac" in t else 0.0,
            )
            for i, t in enumerate(texts)
        ]

    pies, gear = features(REAL_PIES, 0.0), features(REAL_GEAR, 0.85)
    decided = [(f, 0, True) for f in pies[::2]] + [(f, 1, False) for f in gear[::2]]
    weights, reason, _ = learn_weights(decided)
    assert not reason and weights.decisions == 12
    held_pies, held_gear = pies[1::2], gear[1::2]

    def mean(rows: list[tuple[float, ...]], w: RelevanceWeights = DEFAULT_WEIGHTS) -> float:
        return sum(relevance_from_features(f, w) for f in rows) / len(rows)

    assert mean(held_pies, weights) < mean(held_pies) - 0.03
    assert mean(held_gear, weights) >= mean(held_gear) - 0.005
    assert min(relevance_from_features(f, weights) for f in held_gear) > 0.8
