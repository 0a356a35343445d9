"""The media stage end to end: real clients collect from the simulator, the job fetches the previews
from its media host, on SQLite and PostgreSQL; failures are recorded per item and retried with backoff."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.jobs.tasks import collect_source, media_job
from tesoro.media.fetch import FetchPolicy, SafeFetcher
from tesoro.media.pipeline import process_media, retry_delay
from tesoro.settings import MediaSettings, Settings
from tesoro.simulator.demo import demo_environment, demo_settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.images import image_spec
from tesoro.simulator.model import WorldSpec
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.simulator.world import World
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.media import media_due, media_status_counts, thumbnail
from tesoro.store.tables import Media, MediaImage

SOURCES = ("demo-x", "demo-mastodon", "demo-bluesky", "demo-reddit")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def media_sim() -> Iterator[SimulatorServer]:
    state = SimState(world=World(spec=WorldSpec(seed=11)), timeout_hold_s=1.5)
    with SimulatorServer(state, serve_media=True) as server:
        yield server


def _settings(sim: SimulatorServer, tmp_path: Path, **media: object) -> Settings:
    settings = demo_settings(tmp_path, sim.base_url)
    return settings.model_copy(update={"media": settings.media.model_copy(update=media)})


def _collect(sim: SimulatorServer, engine: Engine, settings: Settings, posts: int = 30) -> None:
    sim.state.world.grow(posts)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    environ = demo_environment({}, sim.state.credentials, sim.base_url)
    for name in SOURCES:
        result = collect_source(engine, settings, name, environ)
        assert result.status == "ok", result.error


def _world_url(local: str) -> str:
    """The world's own URL behind a URL on the simulator's media host (what draws the picture)."""
    return "https://" + local.split("/media/", 1)[1]


def _rows(engine: Engine) -> list[MediaImage]:
    with session_scope(engine) as session:
        return list(session.execute(select(MediaImage)).scalars())


def test_the_job_fetches_every_preview_once_and_records_each_outcome(
    media_sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings = _settings(media_sim, tmp_path)
    _collect(media_sim, engine, settings)
    with session_scope(engine) as session:
        fetchable = session.execute(
            select(func.count())
            .select_from(Media)
            .where((col(Media.preview_url).is_not(None)) | (col(Media.type) != "video"))
        ).scalar_one()
    assert fetchable >= 20

    report = media_job(engine, settings)

    assert report.tried == fetchable and report.processed >= fetchable * 0.8
    rows = _rows(engine)
    assert len(rows) == fetchable
    ok = [r for r in rows if r.status == "ok"]
    bad = [r for r in rows if r.status != "ok"]
    # Only the simulator's deliberate faults fail: corrupt files and error pages, refused for good.
    assert {r.error for r in bad} <= {"corrupt", "not_image", "unsupported"}
    assert all(r.status == "failed" and r.attempts == 1 for r in bad)
    for row in ok:
        assert row.thumb is not None and row.blurhash and row.phash is not None and row.thumb_etag
        assert 0.0 <= (row.quality or 0.0) <= 1.0 and row.width and row.height
    with session_scope(engine) as session:
        found = thumbnail(session, media_id=ok[0].media_id)
        assert found is not None
        with Image.open(io.BytesIO(found[0])) as thumb:
            assert thumb.format == "JPEG" and max(thumb.size) <= settings.media.thumb_edge
            assert len(thumb.getexif()) == 0
        assert media_status_counts(session)["ok"] == len(ok)
    # Nothing is due any more: a second run fetches nothing.
    assert process_media(engine, settings).tried == 0


def test_a_corrupt_preview_is_recorded_and_its_neighbours_still_processed(
    media_sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings = _settings(media_sim, tmp_path)
    _collect(media_sim, engine, settings, posts=60)
    process_media(engine, settings)
    with session_scope(engine) as session:
        media = {m.id: m for m in session.execute(select(Media)).scalars()}
    rows = _rows(engine)
    faults = {r.media_id: image_spec(_world_url(media[r.media_id].url)).fault for r in rows}
    corrupt = [r for r in rows if faults[r.media_id] == "corrupt"]
    assert corrupt, "the world has corrupt previews"
    assert {(r.status, r.error) for r in corrupt} == {("failed", "corrupt")}
    assert all(r.status == "ok" for r in rows if faults[r.media_id] is None)


def test_server_errors_are_retried_with_backoff_then_given_up(
    media_sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings = _settings(media_sim, tmp_path, max_attempts=3, retry_base_s=60.0, retry_max_s=90.0)
    _collect(media_sim, engine, settings, posts=8)
    with session_scope(engine) as session:
        due = media_due(session, now=T0, limit=1000)
    assert due
    media_sim.state.faults.inject("media", Fault.SERVER_ERROR, times=10_000)

    first = process_media(engine, settings, now=lambda: T0)
    assert first.retrying == len(due) and first.processed == 0
    rows = _rows(engine)
    assert {(r.status, r.error, r.attempts) for r in rows} == {("retry", "http_status", 1)}
    assert {r.next_attempt_at for r in rows} == {T0 + timedelta(seconds=60)}
    # Not due before its time; due after it.
    assert process_media(engine, settings, now=lambda: T0 + timedelta(seconds=59)).tried == 0
    second = process_media(engine, settings, now=lambda: T0 + timedelta(seconds=61))
    assert second.tried == len(due)
    assert {r.next_attempt_at for r in _rows(engine)} == {T0 + timedelta(seconds=61 + 90)}  # capped
    third = process_media(engine, settings, now=lambda: T0 + timedelta(days=1))
    assert third.failed == len(due)
    assert {(r.status, r.attempts) for r in _rows(engine)} == {("failed", 3)}
    assert process_media(engine, settings, now=lambda: T0 + timedelta(days=30)).tried == 0


def test_a_retry_that_passes_replaces_the_failure(
    media_sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings = _settings(media_sim, tmp_path, read_timeout_s=0.5, total_timeout_s=1.0)
    _collect(media_sim, engine, settings, posts=3)
    with session_scope(engine) as session:
        due = media_due(session, now=T0, limit=1000)
    media_sim.state.faults.inject("media", Fault.TIMEOUT, times=1)
    media_sim.state.faults.inject("media", Fault.RATE_LIMIT, times=1)
    first = process_media(engine, settings, now=lambda: T0)
    assert first.retrying == 2 and set((first.errors or {}).keys()) >= {"timeout", "http_status"}
    process_media(engine, settings, now=lambda: T0 + timedelta(hours=1))
    rows = _rows(engine)
    assert len(rows) == len(due)
    retried = [r for r in rows if r.attempts == 2]
    assert len(retried) == 2
    assert all(r.error is None or r.error in {"corrupt", "not_image"} for r in retried)


def test_a_media_host_off_the_allow_list_is_refused_for_good(
    media_sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings = _settings(media_sim, tmp_path)
    _collect(media_sim, engine, settings, posts=3)
    # The same store, read by settings that do not allow the simulator's private address.
    closed = settings.model_copy(update={"media": settings.media.model_copy(update={"private_hosts": []})})
    report = process_media(engine, closed)
    assert report.tried > 0 and report.failed == report.tried
    assert {r.error for r in _rows(engine)} == {"private_address"}


def test_the_backoff_doubles_and_is_capped() -> None:
    media = MediaSettings(retry_base_s=60, retry_max_s=300)
    assert [retry_delay(n, media) for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 300, 300]


def test_one_item_raising_unexpectedly_does_not_stop_the_batch(
    media_sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings = _settings(media_sim, tmp_path)
    _collect(media_sim, engine, settings, posts=4)

    class Flaky(SafeFetcher):
        calls = 0

        def fetch(self, url: str):  # type: ignore[no-untyped-def]
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("a bug in one fetch")
            return super().fetch(url)

    report = process_media(engine, settings, fetcher=Flaky(FetchPolicy.from_settings(settings)))
    assert (report.errors or {}).get("internal") == 1
    assert report.processed >= report.tried - 1 - sum(
        n for code, n in (report.errors or {}).items() if code != "internal"
    )
