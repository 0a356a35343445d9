"""The per-brand ranker learns a coordinator's taste from decisions and re-weights the queue."""

from __future__ import annotations

import numpy as np
from sqlalchemy.engine import Engine

from tesoro.curator.feedback import (
    _projection,
    feature_names,
    featurize,
    fit_logistic,
    load_ranker_models,
    train_rankers,
)
from tesoro.curator.queue import decide, undo_last
from tesoro.curator.ranking import rank_posts
from tesoro.settings import CuratorSettings
from tesoro.store.curation import list_queue
from tesoro.store.engine import session_scope
from tesoro.store.rankers import ItemFeatures
from worlds.curator import NOW, Spec, seed

PLACES = [
    "Snowdon",
    "the Rockies",
    "Zion",
    "the Pyrenees",
    "Ausangate",
    "the Dolomites",
    "Picos de Europa",
    "Cascades",
]
MOODS = ["honestly", "seriously", "wow", "so happy", "no regrets", "ten out of ten"]
WHEN = ["this morning", "last weekend", "on Sunday", "after work", "at dawn", "in the evening"]


def rain(i: int) -> str:
    return f"{MOODS[i % 6]}: rain jacket kept me dry in {PLACES[i % 8]} {WHEN[(i // 2) % 6]}, storm hood held"


def shoe(i: int) -> str:
    return f"{WHEN[i % 6]} in {PLACES[(i + 3) % 8]} my trail shoes gripped the rock, {MOODS[(i // 3) % 6]}"


def test_logistic_regression_recovers_a_direction() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 3))
    y = (x[:, 0] - 2 * x[:, 2] + 0.3 * rng.standard_normal(400) > 0).astype(float)
    w = fit_logistic(x, y, l2=0.1)
    assert w[1] > 1 and w[3] < -2 and abs(w[2]) < 0.5


def test_decisions_teach_the_brand_ranker(sqlite_engine: Engine) -> None:
    specs = []
    for i in range(24):
        # Shoe posts look better to the formula (more engagement); the coordinator wants rain.
        specs.append(Spec(f"rain{i}", rain(i), author=f"r{i}", hours_ago=i + 1, engagement=1.0))
        specs.append(Spec(f"shoe{i}", shoe(i), author=f"s{i}", hours_ago=i + 1, engagement=3.0))
    data = seed(sqlite_engine, specs)
    settings = CuratorSettings(ranker_min_decisions=10)
    rank_posts(sqlite_engine, settings, now=NOW)
    with session_scope(sqlite_engine) as session:
        before = [e.card.external_id for e in list_queue(session, limit=10).items]
    assert all(k.startswith("shoe") for k in before)
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[data.ids[f"rain{i}"] for i in range(10)], action="approve", actor="lucia")
        decide(session, post_ids=[data.ids[f"shoe{i}"] for i in range(10)], action="reject", actor="lucia")
    reports = train_rankers(sqlite_engine, settings, now=NOW)
    andes = data.brands["Andes Outdoor"]
    report = next(r for r in reports if r.brand_key == andes)
    assert report.trained and report.decisions == 20 and report.positives == 10
    assert 0 < report.alpha < settings.ranker_max_blend
    with session_scope(sqlite_engine) as session:
        after = list_queue(session, limit=10).items
    assert all(e.card.external_id.startswith("rain") for e in after)
    assert after[0].learned is not None and after[0].learned > 0.5
    # Saved, and used for posts ranked later.
    assert load_ranker_models(sqlite_engine)[andes].decisions == 20
    seed(
        sqlite_engine,
        [
            Spec(
                "late-rain",
                "new rain jacket, storm on the coast at dawn, hood held and I stayed dry",
                author="late",
            )
        ],
    )
    rank_posts(sqlite_engine, settings, now=NOW)
    with session_scope(sqlite_engine) as session:
        order = [e.card.external_id for e in list_queue(session, limit=50).items]
    assert order.index("late-rain") < min(order.index(k) for k in order if k.startswith("shoe"))
    # Undone decisions do not count; below the minimum the ranker is dropped.
    with session_scope(sqlite_engine) as session:
        undo_last(session, actor="lucia")
    reports = train_rankers(sqlite_engine, settings, now=NOW)
    assert not next(r for r in reports if r.brand_key == andes).trained
    assert andes not in load_ranker_models(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        assert all(e.learned is None for e in list_queue(session, limit=50).items)


def test_every_collected_platform_has_its_own_feature() -> None:
    """A coordinator who loves Instagram reels and passes on TikTok must be learnable: each platform Tesoro
    collects from is its own column, and only file imports (and unknown names) share "other"."""
    names = feature_names(0)
    for platform in ("x", "reddit", "bluesky", "mastodon", "instagram", "tiktok", "youtube", "threads"):
        assert f"platform:{platform}" in names

    def item(platform: str) -> ItemFeatures:
        return ItemFeatures(1, 1, 0.5, {}, 0, platform, "es", None, None)

    x = featurize([item("instagram"), item("tiktok"), item("file"), item("myspace")], _projection(0))
    other = names.index("platform:other")
    assert x[0, names.index("platform:instagram")] == 1 and x[1, names.index("platform:tiktok")] == 1
    assert x[0, other] == 0 and x[1, other] == 0 and x[2, other] == 1 and x[3, other] == 1
