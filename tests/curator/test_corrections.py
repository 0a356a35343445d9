"""Corrections: stored as labels, audited, written through at once, kept over re-scoring, and learned per
brand (SQLite and PostgreSQL).

The learning test uses the real bundled encoder and heads (loaded once for the module): the
calibration must move the scorer's sentiment for a NEW post of the brand toward the coordinator's view.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.curator.corrections import (
    CorrectionError,
    correct,
    correction_status,
    normalise_value,
    train_corrections,
)
from tesoro.curator.ranking import rank_posts
from tesoro.scoring.corrections import load_calibrations
from tesoro.scoring.pipeline import Scorer, ScoringModels, active_model_version, load_models, score_pending
from tesoro.settings import Settings
from tesoro.store.audit import audit_entries
from tesoro.store.corrections import corrections_for, list_corrections, load_correction_models
from tesoro.store.engine import session_scope
from tesoro.store.scores import posts_by_id
from tesoro.store.tables import CurationItem, PostCorrection, Score
from worlds.curator import Spec, catalog_settings, seed


@pytest.fixture(scope="module")
def models() -> Iterator[ScoringModels]:
    yield load_models(Settings())


def _item(engine: Engine, post_id: int) -> CurationItem:
    with session_scope(engine) as session:
        item = session.get(CurationItem, post_id)
        assert item is not None
        session.expunge(item)
        return item


def _scores(engine: Engine, post_id: int) -> list[Score]:
    with session_scope(engine) as session:
        rows = list(session.execute(select(Score).where(col(Score.post_id) == post_id)).scalars())
        for r in rows:
            session.expunge(r)
        return rows


def test_a_correction_wins_at_once_and_is_audited(engine: Engine) -> None:
    seeded = seed(
        engine,
        [
            Spec("a", "Cumbre after 300 km", sentiment="positive", product="Cumbre Trail Runner"),
            Spec("b", "plain post", sentiment="neutral", content_types=("question",)),
        ],
    )
    rank_posts(engine, catalog_settings().curator)
    a, b = seeded.ids["a"], seeded.ids["b"]
    with session_scope(engine) as session:
        row, before = correct(session, post_id=a, field_name="sentiment", value="negative", actor="ana")
        assert (row.value, row.model_value, before) == ("negative", "positive", "positive")
    assert [s.sentiment for s in _scores(engine, a)] == ["negative"]
    assert _item(engine, a).sentiment == "negative"

    # Corrected again: the earlier correction is replaced; the scorer's value stays on record.
    with session_scope(engine) as session:
        row, before = correct(session, post_id=a, field_name="sentiment", value="neutral", actor="luis")
        assert (row.value, row.model_value, before, row.actor) == ("neutral", "positive", "negative", "luis")
        assert len(list_corrections(session, post_id=a)) == 1
        log = audit_entries(session, entity="post", entity_id=str(a))
    assert [(e.action, e.actor, e.before, e.after) for e in log] == [
        ("correct_sentiment", "luis", {"sentiment": "negative"}, {"sentiment": "neutral"}),
        ("correct_sentiment", "ana", {"sentiment": "positive"}, {"sentiment": "negative"}),
    ]

    # Product: "no product" is a value; content types are kept in their canonical order.
    with session_scope(engine) as session:
        correct(session, post_id=a, field_name="product", value=None, actor="ana")
        correct(session, post_id=b, field_name="content_type", value=["complaint", "review"], actor="ana")
    assert _scores(engine, a)[0].product_id is None
    assert _item(engine, a).product_id is None
    assert _scores(engine, b)[0].content_types == ["review", "complaint"]
    item = _item(engine, b)
    assert item.content_types == ["review", "complaint"]
    assert item.content_mask == (1 << 2) | (1 << 6)
    with session_scope(engine) as session:
        assert corrections_for(session, post_ids=[a, b]) == {
            a: {"sentiment": "neutral", "product": None},
            b: {"content_type": ["review", "complaint"]},
        }


def test_bad_corrections_are_refused_and_change_nothing(engine: Engine) -> None:
    seeded = seed(engine, [Spec("a", "Cumbre", product="Cumbre Trail Runner")])
    a = seeded.ids["a"]
    other_brand_product = seeded.products["Ola Board"]
    cases = [
        ("sentiment", "furious", "bad_request"),
        ("product", other_brand_product, "bad_request"),
        ("product", "1", "bad_request"),
        ("product", True, "bad_request"),
        ("content_type", [], "bad_request"),
        ("content_type", ["review", "haiku"], "bad_request"),
        ("mood", "x", "bad_request"),
    ]
    for field_name, value, problem in cases:
        with session_scope(engine) as session, pytest.raises(CorrectionError) as caught:
            correct(session, post_id=a, field_name=field_name, value=value, actor="ana")
        assert caught.value.problem == problem, (field_name, value)
    with session_scope(engine) as session, pytest.raises(CorrectionError) as caught:
        correct(session, post_id=a + 999, field_name="sentiment", value="negative", actor="ana")
    assert caught.value.problem == "not_found"
    with session_scope(engine) as session:
        assert session.execute(select(PostCorrection)).first() is None
    assert _scores(engine, a)[0].sentiment == "positive"


def test_normalise_value_keeps_other_only_alone() -> None:
    assert normalise_value("content_type", ["other", "meme"]) == ["meme"]
    assert normalise_value("content_type", ["other"]) == ["other"]
    assert normalise_value("product", None) is None


def test_rescoring_keeps_the_coordinators_value(sqlite_engine: Engine, models: ScoringModels) -> None:
    settings = catalog_settings()
    seeded = seed(
        sqlite_engine, [Spec("a", "I absolutely love my new Cumbre Trail Runner, best shoes ever!")]
    )
    a = seeded.ids["a"]
    with session_scope(sqlite_engine) as session:
        correct(session, post_id=a, field_name="sentiment", value="negative", actor="ana")
        correct(session, post_id=a, field_name="content_type", value=["complaint"], actor="ana")
    # A new model version scores every post again: the label still wins.
    assert score_pending(sqlite_engine, settings, models=models) == 1
    latest = [s for s in _scores(sqlite_engine, a) if s.model_version == models.version]
    assert len(latest) == 1
    assert latest[0].sentiment == "negative"
    assert latest[0].content_types == ["complaint"]
    # ...while the model itself still reads the text as positive (its probabilities are kept).
    probs = latest[0].sentiment_probs
    assert probs is not None
    assert max(probs, key=lambda k: probs[k]) == "positive"


JACKET = [
    "Loving the new Nube rain jacket from Andes, wore it all day",
    "My Nube rain jacket arrived today, so happy with the colour",
    "Took the Nube rain jacket out in the storm, amazing",
    "Best purchase this year: the Nube rain jacket",
    "The Nube rain jacket looks great on the trail",
    "Wearing my Nube rain jacket to the office, love it",
    "Got the Nube rain jacket as a gift, wonderful",
    "Nube rain jacket in red, so pretty",
    "Hiking in the rain with my Nube jacket, fantastic",
    "Just bought a second Nube rain jacket, great stuff",
    "The Nube rain jacket hood is brilliant",
    "New Nube rain jacket day! Excited",
    "My kids love their Nube rain jackets",
    "Nube rain jacket on sale, so good",
    "The Nube jacket kept me warm, awesome",
    "Happy with my Nube rain jacket so far",
    "Nube rain jacket unboxed, beautiful",
    "Nube rain jacket review: love it",
    "Nube jacket for the camino, perfect",
    "Rainy Sunday in my favourite Nube rain jacket",
]
SHOES = [
    "Loving the new Cumbre trail runners from Andes, ran all day",
    "My Cumbre trail shoes arrived today, so happy with the colour",
    "Took the Cumbre trail runners up the mountain, amazing",
    "Best purchase this year: the Cumbre trail runner",
    "The Cumbre trail runners look great on the trail",
    "Running to the office in my Cumbre shoes, love them",
    "Got Cumbre trail runners as a gift, wonderful",
    "Cumbre trail runners in red, so pretty",
    "Marathon in my Cumbre shoes, fantastic",
    "Just bought a second pair of Cumbre trail runners, great stuff",
    "The Cumbre sole grip is brilliant",
    "New Cumbre trail runner day! Excited",
    "My kids love their Cumbre running shoes",
    "Cumbre trail runners on sale, so good",
    "The Cumbre shoes kept my feet dry, awesome",
    "Happy with my Cumbre trail shoes so far",
    "Cumbre trail runners unboxed, beautiful",
    "Cumbre trail runner review: love them",
    "Cumbre shoes for the camino, perfect",
    "Sunday long run in my favourite Cumbre trail runners",
]


def test_corrections_teach_the_brand_and_move_new_posts_toward_the_coordinator(
    engine: Engine, models: ScoringModels
) -> None:
    """A coordinator who reads every cheerful jacket post as negative (the jacket was recalled) and every
    shoe post as neutral: once learned, a NEW jacket post of the brand is scored negative, and the other
    brand's posts are untouched."""
    settings = catalog_settings()
    specs = [Spec(f"j{i}", t) for i, t in enumerate(JACKET)] + [Spec(f"s{i}", t) for i, t in enumerate(SHOES)]
    fresh = [
        Spec("new-jacket", "Wore my Nube rain jacket on the hike today, love it"),
        Spec("new-shoes", "Wore my Cumbre trail runners on the hike today, love them"),
        Spec("surf", "Wore my Nube rain jacket surfing today, love it", brand="Costa Surf"),
    ]
    seeded = seed(engine, specs + fresh)
    rank_posts(engine, settings.curator)
    with session_scope(engine) as session:
        for spec in specs:
            view = "negative" if spec.key.startswith("j") else "neutral"
            correct(session, post_id=seeded.ids[spec.key], field_name="sentiment", value=view, actor="ana")
    reports = {r.brand_id: r for r in train_corrections(engine, settings, models=models)}
    andes = seeded.brands["Andes Outdoor"]
    report = reports[andes]
    assert report.trained, report
    metrics = report.heads["sentiment"]
    assert metrics["labels"] == 40
    assert metrics["accuracy_after"] > metrics["accuracy_before"]
    assert reports[seeded.brands["Costa Surf"]].reason == "no corrections yet"
    # The unreviewed posts were scored again with the calibration (the corrected ones keep their label).
    assert report.refreshed == len(specs) + 2

    with session_scope(engine) as session:
        calibrations = load_calibrations(session)
        plain = Scorer.from_store(session, models)
        batch = posts_by_id(session, post_ids=[seeded.ids[s.key] for s in fresh])
    plain.calibrations = {}
    with session_scope(engine) as session:
        calibrated = Scorer.from_store(session, models)
    assert set(calibrations) == {andes}
    before = {r["post_id"]: r["sentiment"] for r in plain.score_batch(batch)}
    after = {r["post_id"]: r for r in calibrated.score_batch(batch)}
    jacket, shoes, surf = (seeded.ids[s.key] for s in fresh)
    assert before[jacket] == "positive" and after[jacket]["sentiment"] == "negative"
    assert after[shoes]["sentiment"] in ("neutral", "negative") and before[shoes] == "positive"
    assert after[surf]["sentiment"] == before[surf] == "positive"  # another brand: its own view
    assert sum(after[jacket]["sentiment_probs"].values()) == pytest.approx(1.0, abs=1e-3)
    # The stored score of the fresh jacket post was refreshed too.
    assert [s.sentiment for s in _scores(engine, jacket) if s.model_version == models.version] == ["negative"]

    # Status: the counts and the accuracy before/after.
    status = {s["brand_id"]: s for s in correction_status(engine)}
    assert status[andes]["fields"]["sentiment"] == {"corrections": 40, "model_agreed": 0}
    assert status[andes]["heads"]["sentiment"]["accuracy_after"] == metrics["accuracy_after"]

    # Nothing new: nothing is relearned (and the models are not even needed).
    again = {r.brand_id: r for r in train_corrections(engine, settings, models=models, refresh=False)}
    assert again[andes].reason == "no new corrections"


def test_a_stored_calibration_that_cannot_be_read_is_skipped(engine: Engine) -> None:
    from tesoro.store.corrections import save_correction_model
    from tesoro.store.tables import utcnow

    seeded = seed(engine, [Spec("a", "x")])
    andes = seeded.brands["Andes Outdoor"]
    with session_scope(engine) as session:
        save_correction_model(
            session,
            brand_id=andes,
            head="sentiment",
            model={"classes": ["a"]},
            labels=1,
            fingerprint="",
            metrics={},
            now=utcnow(),
        )
        save_correction_model(
            session,
            brand_id=andes,
            head="product",
            model={"classes": ["none", "1"], "kind": "prior", "scale": 1.0, "bias": [0.0, 0.5]},
            labels=12,
            fingerprint="",
            metrics={},
            now=utcnow(),
        )
    with session_scope(engine) as session:
        assert set(load_correction_models(session)) == {(andes, "sentiment"), (andes, "product")}
        loaded = load_calibrations(session)
    assert loaded[andes].sentiment is None
    assert loaded[andes].product is not None


def test_posts_of_no_brand_are_never_calibrated(engine: Engine) -> None:
    seeded = seed(engine, [Spec("a", "x", brand=None)])
    with session_scope(engine) as session:
        correct(session, post_id=seeded.ids["a"], field_name="sentiment", value="negative", actor="ana")
        assert list_corrections(session)[0].brand_id is None
    assert all(not s["fields"] for s in correction_status(engine))


def test_the_train_job_learns_from_corrections_and_survives_a_failure(
    sqlite_engine: Engine, models: ScoringModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tesoro.curator import corrections as corrections_module
    from tesoro.jobs import tasks as jobs

    settings = catalog_settings()
    specs = [Spec(f"j{i}", t) for i, t in enumerate(JACKET)] + [Spec(f"s{i}", t) for i, t in enumerate(SHOES)]
    seeded = seed(sqlite_engine, specs)
    with session_scope(sqlite_engine) as session:
        for spec in specs:
            view = "negative" if spec.key.startswith("j") else "neutral"
            correct(session, post_id=seeded.ids[spec.key], field_name="sentiment", value=view, actor="ana")

    def broken(settings: Settings) -> ScoringModels:
        raise RuntimeError("no encoder here")

    trained: list[int] = []
    monkeypatch.setattr(jobs, "train_rankers", lambda engine, settings: trained.append(1))
    monkeypatch.setattr(corrections_module, "load_models", broken)
    jobs.curator_train_job(sqlite_engine, settings)  # logged, and the rankers still learn
    assert trained == [1]
    with session_scope(sqlite_engine) as session:
        assert load_correction_models(session) == {}

    monkeypatch.setattr(corrections_module, "load_models", lambda settings: models)
    jobs.curator_train_job(sqlite_engine, settings)
    with session_scope(sqlite_engine) as session:
        stored = load_correction_models(session)
    andes = seeded.brands["Andes Outdoor"]
    assert stored[(andes, "sentiment")].model["kind"] in ("prior", "adapter")
    assert stored[(andes, "sentiment")].labels == 40
    # Nothing new: the next run does not even load the models.
    monkeypatch.setattr(corrections_module, "load_models", broken)
    reports = train_corrections(sqlite_engine, settings)
    assert {r.brand_id: r.reason for r in reports}[andes] == "no new corrections"
    assert trained == [1, 1]


def test_the_fast_profile_learns_from_corrections_under_its_own_version(sqlite_engine: Engine) -> None:
    """Corrections calibrate whichever heads score the posts: under the `fast` profile (no encoder) they
    are learned for its text-only heads and fingerprinted with its version, so switching profiles
    relearns them instead of reusing calibrations made for other heads."""
    settings = catalog_settings()
    fast = load_models(settings, profile="fast")
    specs = [Spec(f"j{i}", t) for i, t in enumerate(JACKET)]
    seeded = seed(sqlite_engine, specs)
    rank_posts(sqlite_engine, settings.curator)
    with session_scope(sqlite_engine) as session:
        for spec in specs:
            correct(
                session, post_id=seeded.ids[spec.key], field_name="sentiment", value="negative", actor="ana"
            )
    reports = {r.brand_id: r for r in train_corrections(sqlite_engine, settings, models=fast)}
    andes = seeded.brands["Andes Outdoor"]
    assert reports[andes].heads["sentiment"]["labels"] == len(specs)
    with session_scope(sqlite_engine) as session:
        stored = load_correction_models(session)
    assert stored and all(row.fingerprint for row in stored.values())
    again = {r.brand_id: r for r in train_corrections(sqlite_engine, settings, models=fast, refresh=False)}
    assert again[andes].reason == "no new corrections"
    # The job passes no models: the version comes from the profile, so the default's differs and relearns.
    assert active_model_version(settings) != fast.version
    fast_settings = settings.model_copy(
        update={"models": settings.models.model_copy(update={"profile": "fast"})}
    )
    assert active_model_version(fast_settings) == fast.version
