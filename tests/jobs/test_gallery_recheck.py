"""The gallery re-check end to end: real clients (tweepy, Mastodon.py, atproto, praw) against the
simulator, on both stores.

Approve a collected post and grant its rights, delete it on the platform, run the job: the gallery
no longer has it. A rate limit or a server error of the lookup keeps the post, and the next run
asks again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.jobs.tasks import collect_source, recheck_gallery_job
from tesoro.settings import Settings
from tesoro.simulator import bluesky as bsky
from tesoro.simulator.demo import demo_environment, demo_settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.server import SimulatorServer
from tesoro.store.audit import audit_entries
from tesoro.store.catalog import brand_by_name, sync_catalog
from tesoro.store.decisions import set_rights_status, set_state
from tesoro.store.engine import session_scope
from tesoro.store.posts import gallery_posts
from tesoro.store.recheck import posts_to_recheck
from tesoro.store.sources import get_source
from tesoro.store.tables import Post

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SOURCES = {"x": "demo-x", "mastodon": "demo-mastodon", "bluesky": "demo-bluesky", "reddit": "demo-reddit"}


def sim_id(platform: str, external_id: str) -> int:
    """The simulator's post id behind a stored external id."""
    if platform == "bluesky":
        return bsky.decode_tid(external_id.rsplit("/", 1)[1])
    if platform == "reddit":
        return int(external_id.split("_", 1)[1], 36)
    return int(external_id)


def setup(sim: SimulatorServer, engine: Engine, tmp_path: Path, *, recheck_limit: int = 500) -> Settings:
    sim.state.world.grow(30)
    settings = demo_settings(tmp_path, sim.base_url)
    settings = settings.model_copy(
        update={"gallery": settings.gallery.model_copy(update={"recheck_limit": recheck_limit})}
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    environ = environment(sim)
    for name in SOURCES.values():
        result = collect_source(engine, settings, name, environ)
        assert result.status == "ok" and result.inserted > 0, result.error
    return settings


def environment(sim: SimulatorServer) -> dict[str, str]:
    return demo_environment({}, sim.state.credentials, sim.base_url)


def publish(engine: Engine, platform: str, count: int) -> list[str]:
    """Approve `count` of the platform's collected posts and grant their rights, as a coordinator."""
    with session_scope(engine) as session:
        posts = session.execute(
            select(col(Post.id), col(Post.external_id))
            .where(col(Post.platform) == platform)
            .order_by(col(Post.id))
            .limit(count)
        ).all()
        for post_id, _ in posts:
            assert set_state(session, post_id=post_id, expected="new", to="approved")
            assert set_rights_status(session, post_id=post_id, expected="none", to="granted")
    return [external_id for _, external_id in posts]


def gallery_ids(engine: Engine) -> set[tuple[str, str]]:
    with session_scope(engine) as session:
        brand = brand_by_name(session, "Andes Outdoor")
        assert brand is not None and brand.id is not None
        return {(v.platform, v.external_id) for v in gallery_posts(session, brand_id=brand.id, limit=100)}


def test_posts_deleted_on_every_platform_leave_the_gallery_with_an_audit_entry(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings = setup(sim, engine, tmp_path)
    published = {platform: publish(engine, platform, 3) for platform in SOURCES}
    before = gallery_ids(engine)
    assert {(p, i) for p, ids in published.items() for i in ids} <= before
    deleted = {(p, ids[1]) for p, ids in published.items()}
    for platform, external_id in deleted:
        sim.state.world.delete(sim_id(platform, external_id))

    report = recheck_gallery_job(engine, settings, environment(sim), now=T0)

    assert report.failed == {}
    assert report.checked == {name: 3 for name in SOURCES.values()}
    assert report.gone == {name: 1 for name in SOURCES.values()}
    assert gallery_ids(engine) == before - deleted
    with session_scope(engine) as session:
        gone = session.execute(
            select(col(Post.id), col(Post.deleted_at), col(Post.queue_state)).where(
                col(Post.external_id).in_([i for _, i in deleted])
            )
        ).all()
        # Deleted, the decision kept for history; each with an audit entry saying why.
        assert len(gone) == 4 and {(row.deleted_at, row.queue_state) for row in gone} == {(T0, "approved")}
        entries = [e for e in audit_entries(session, limit=50) if e.action == "post_deleted_on_platform"]
        assert {e.entity_id for e in entries} == {str(row.id) for row in gone}
        assert all(e.actor == "collector" and e.entity == "post" for e in entries)
        checked = set(
            session.execute(
                select(col(Post.checked_at)).where(
                    col(Post.deleted_at).is_(None), col(Post.rights_status) == "granted"
                )
            ).scalars()
        )
    assert checked == {T0}

    # A second run asks about the posts still public only, and deletes nothing more.
    again = recheck_gallery_job(engine, settings, environment(sim), now=T0 + timedelta(days=1))
    assert again.checked == {name: 2 for name in SOURCES.values()}
    assert again.gone == {name: 0 for name in SOURCES.values()}


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.SERVER_ERROR])
def test_a_failed_lookup_keeps_the_post_and_the_next_run_asks_again(
    sim: SimulatorServer, engine: Engine, tmp_path: Path, fault: Fault
) -> None:
    settings = setup(sim, engine, tmp_path)
    published = {platform: publish(engine, platform, 2) for platform in SOURCES}
    deleted = {(p, ids[0]) for p, ids in published.items()}
    for platform, external_id in deleted:
        sim.state.world.delete(sim_id(platform, external_id))
    # praw retries a 5xx by itself: enough faults that every client gives up.
    for route in ("x.lookup", "mastodon.status", "bluesky.posts", "reddit.info"):
        sim.state.faults.inject(route, fault, times=5)

    report = recheck_gallery_job(engine, settings, environment(sim), now=T0)

    assert set(report.failed) == set(SOURCES.values())
    assert report.gone == {} and report.checked == {}
    assert deleted <= gallery_ids(engine)
    with session_scope(engine) as session:
        unchecked = session.execute(
            select(col(Post.external_id)).where(
                col(Post.rights_status) == "granted", col(Post.checked_at).is_(None)
            )
        ).scalars()
        # Nothing is concluded from a failed lookup: every post waits, unchecked, for the next run.
        assert set(unchecked) == {i for ids in published.values() for i in ids}

    sim.state.faults.clear()
    later = recheck_gallery_job(engine, settings, environment(sim), now=T0 + timedelta(hours=1))
    assert later.failed == {} and later.gone == {name: 1 for name in SOURCES.values()}
    assert not deleted & gallery_ids(engine)


def test_each_run_is_bounded_and_asks_the_oldest_checked_first(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings = setup(sim, engine, tmp_path, recheck_limit=2)
    x_ids = publish(engine, "x", 5)
    with session_scope(engine) as session:
        source = get_source(session, "demo-x")
        assert source is not None and source.id is not None
        source_id = source.id
    calls_before = sim.state.faults.calls["x.lookup"]
    asked: list[list[str]] = []
    for hour in range(3):
        with session_scope(engine) as session:
            asked.append([i.external_id for i in posts_to_recheck(session, source_id=source_id, limit=2)])
        report = recheck_gallery_job(engine, settings, environment(sim), now=T0 + timedelta(hours=hour))
        assert report.checked["demo-x"] == 2
    # Never-checked posts first, in id order, then the oldest check: every post gets its turn.
    assert asked == [x_ids[0:2], x_ids[2:4], [x_ids[4], x_ids[0]]]
    assert sim.state.faults.calls["x.lookup"] - calls_before == 3


def test_a_rate_limit_midway_keeps_what_the_earlier_lookups_answered(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings = setup(sim, engine, tmp_path)
    ids = publish(engine, "mastodon", 15)
    assert len(ids) == 15
    for external_id in (ids[2], ids[13]):
        sim.state.world.delete(int(external_id))
    # Mastodon asks one status per call, 10 per batch: the 11th call (the second batch) is refused.
    sim.state.faults.inject("mastodon.status", Fault.RATE_LIMIT, after=10)

    report = recheck_gallery_job(engine, settings, environment(sim), now=T0)

    assert (report.checked, report.gone) == ({"demo-mastodon": 10}, {"demo-mastodon": 1})
    assert "rate limit" in report.failed["demo-mastodon"]
    public = gallery_ids(engine)
    assert ("mastodon", ids[2]) not in public and ("mastodon", ids[13]) in public

    later = recheck_gallery_job(engine, settings, environment(sim), now=T0 + timedelta(days=1))
    assert (later.checked, later.gone) == ({"demo-mastodon": 14}, {"demo-mastodon": 1})
    assert ("mastodon", ids[13]) not in gallery_ids(engine)
