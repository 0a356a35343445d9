"""The scheduler runs the kept-copies job only with copies on; the job drops what lost its rights."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update
from sqlalchemy.engine import Engine

from tesoro.jobs.scheduler import build_scheduler
from tesoro.jobs.tasks import copies_job
from tesoro.store.engine import session_scope
from tesoro.store.tables import KeptCopy, Post
from worlds.api import make_settings, seed


def test_the_copies_job_is_scheduled_only_with_copies_on(tmp_path: Path, sqlite_engine: Engine) -> None:
    on = make_settings(tmp_path, copies=True, copies_interval="2m")
    jobs = {job.id: job for job in build_scheduler(sqlite_engine, on, {}).get_jobs()}
    assert jobs["gallery:copies"].func.__wrapped__ is copies_job
    assert jobs["gallery:copies"].trigger.interval.total_seconds() == 120
    off = {job.id for job in build_scheduler(sqlite_engine, make_settings(tmp_path), {}).get_jobs()}
    assert "gallery:copies" not in off
    never = make_settings(tmp_path, copies=True, copies_interval="0")
    assert "gallery:copies" not in {job.id for job in build_scheduler(sqlite_engine, never, {}).get_jobs()}


def test_the_copies_job_deletes_a_copy_whose_rights_are_gone(tmp_path: Path, sqlite_engine: Engine) -> None:
    settings = make_settings(tmp_path, copies=True, copies_dir="kept")
    seeded = seed(sqlite_engine, settings)
    stored = tmp_path / "kept" / "1" / "old.jpg"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"jpeg")
    with session_scope(sqlite_engine) as session:
        # A copy of a post whose rights were never granted (or were withdrawn since).
        session.add(
            KeptCopy(
                post_id=seeded.posts["no-rights"],
                url_sha="0" * 64,
                url="u",
                status="ok",
                object_key="1/old.jpg",
            )
        )
    with session_scope(sqlite_engine) as session:  # nothing left to copy: the job must not fetch at all
        session.execute(update(Post).values(rights_status="requested"))
    report = copies_job(sqlite_engine, settings)
    assert (report.dropped, report.kept, report.failed) == (1, 0, 0) and not stored.exists()
