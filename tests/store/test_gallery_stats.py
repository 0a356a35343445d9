"""Gallery counts in the store, on SQLite and PostgreSQL: upserts that add up, reads per post, product
and brand, and the gallery component of the treasure score they feed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tesoro.curator.treasure import TreasureInputs, score_treasure
from tesoro.settings import CuratorSettings
from tesoro.store.engine import session_scope
from tesoro.store.gallery import (
    brand_counts,
    post_counts,
    post_performance,
    product_performance,
    record_events,
    shop_links,
)
from tesoro.store.tables import CurationItem
from worlds.api import SHOP_ORIGIN, make_settings, rank, seed

DAY = date(2026, 12, 1)


def test_events_add_up_per_day_post_and_product(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    seeded = seed(engine, settings)
    brand = seeded.brands["Andes Outdoor"]
    with session_scope(engine) as session:
        counted = record_events(
            session,
            brand_id=brand,
            events=[("x:gal-photo", "impression")] * 2 + [("x:gal-photo", "shop"), ("x:nope", "click")],
            day=DAY,
        )
        assert counted == 3
    with session_scope(engine) as session:  # the same day again: the row's counts grow (ON CONFLICT)
        record_events(session, brand_id=brand, events=[("x:gal-photo", "impression")], day=DAY)
        record_events(session, brand_id=brand, events=[("x:gal-photo", "click")], day=DAY + timedelta(days=1))
        record_events(session, brand_id=brand, events=[("x:gal-hostile", "impression")], day=DAY)
    photo, hostile = seeded.posts["gal-photo"], seeded.posts["gal-hostile"]
    with session_scope(engine) as session:
        counts = post_counts(session, post_ids=[photo, hostile, seeded.posts["gal-video"]], since=DAY)
        assert (counts[photo].impressions, counts[photo].clicks, counts[photo].shop_clicks) == (3, 1, 1)
        assert counts[hostile].impressions == 1 and seeded.posts["gal-video"] not in counts
        later = post_counts(session, post_ids=[photo], since=DAY + timedelta(days=1))
        assert (later[photo].impressions, later[photo].clicks) == (0, 1)
        assert brand_counts(session, brand_ids=[brand], since=DAY)[brand].impressions == 4

        posts = post_performance(session, brand_id=brand, since=DAY, until=DAY)
        assert [p.post_id for p in posts] == [photo, hostile]  # photo: 1 shop click that day
        assert posts[0].counts.ctr == 0.0 and posts[0].counts.shop_ctr == 1 / 3
        products = product_performance(session, brand_id=brand, since=DAY)
        assert [(p.product_name, p.posts, p.counts.impressions) for p in products] == [
            ("Cumbre Trail Runner", 1, 3),
            (None, 1, 1),
        ]
        links = shop_links(session, product_ids=[seeded.products["Cumbre Trail Runner"]])
        assert next(iter(links.values())).shop_url == f"{SHOP_ORIGIN}/cumbre?color=red&utm_source=old"


def test_the_gallery_component_of_the_treasure_score() -> None:
    settings = CuratorSettings()
    now = datetime(2026, 12, 7, tzinfo=UTC)
    neutral = score_treasure(TreasureInputs(created_at=now), settings, now=now)
    gallery = {c.name: c for c in neutral.components}["gallery"]
    assert gallery.value == 0.5 and "neutral" in gallery.detail
    hot = score_treasure(
        TreasureInputs(created_at=now, gallery_ctr=0.12, gallery_baseline=0.04, gallery_impressions=900),
        settings,
        now=now,
    )
    cold = score_treasure(
        TreasureInputs(created_at=now, gallery_ctr=0.01, gallery_baseline=0.04, gallery_impressions=900),
        settings,
        now=now,
    )
    assert hot.values()["gallery"] == pytest.approx(0.75) and cold.values()["gallery"] == pytest.approx(0.2)
    assert cold.score < neutral.score < hot.score
    assert "12.0%" in {c.name: c for c in hot.components}["gallery"].detail


def test_ranking_reads_gallery_clicks_into_the_score(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    seeded = seed(engine, settings)
    brand = seeded.brands["Andes Outdoor"]
    today = datetime.now(UTC).date()
    with session_scope(engine) as session:
        # 200 impressions each; the photo is opened 40 times, the video twice; the hostile post is seen
        # 50 times only (too few to count).
        events = [("x:gal-photo", "impression")] * 200 + [("x:gal-photo", "click")] * 40
        events += [("x:gal-video", "impression")] * 200 + [("x:gal-video", "click")] * 2
        events += [("x:gal-hostile", "impression")] * 50
        record_events(session, brand_id=brand, events=events, day=today)
    rank(engine, settings, seeded)
    with session_scope(engine) as session:
        parts = {
            pid: session.get_one(CurationItem, pid).components["gallery"]
            for pid in (seeded.posts["gal-photo"], seeded.posts["gal-video"], seeded.posts["gal-hostile"])
        }
    photo, video, hostile = (parts[seeded.posts[n]] for n in ("gal-photo", "gal-video", "gal-hostile"))
    assert photo["value"] > 0.6 and video["value"] < 0.4
    assert hostile["value"] == 0.5 and "neutral" in hostile["detail"]
    assert "impressions" in photo["detail"]
