"""The rights workflow end to end: the real platform clients against the simulator, on both stores.

Ask every collected Mastodon, X and Bluesky post's author (Mastodon.py, tweepy, atproto), run the
rights job: the request is posted as a reply, each simulated author answers as the simulator's
behaviour for that post says (yes with the hashtag, yes in words, no, a question, a condition,
silence, a late answer, another account, a deleted post), and each request ends where that answer
leads.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tesoro.curator.rights_requests import create_requests
from tesoro.jobs.tasks import collect_source, run_rights
from tesoro.settings import Settings
from tesoro.simulator import bluesky as bsky
from tesoro.simulator.demo import demo_environment, demo_settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.server import SimulatorServer
from tesoro.store import rights as store
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post_view
from tesoro.store.tables import Post

SECRET = b"e" * 32
# What each behaviour leads to once the author's answer is read.
EXPECTED = {
    "hashtag": "granted",
    "words": "granted",
    "no": "declined",
    "question": "needs_review",
    "condition": "needs_review",
    "silence": "sent",
    "late": "sent",  # not yet: see below
    "other_account": "sent",  # another account never grants, and the author said nothing
    "deleted": "sent",
}


SOURCES = {"mastodon": "demo-mastodon", "x": "demo-x", "bluesky": "demo-bluesky"}


def sim_id(external_id: str) -> int:
    """The simulator's post id behind a stored external id (a Bluesky at-uri ends in its TID)."""
    return (
        bsky.decode_tid(external_id.rsplit("/", 1)[1])
        if external_id.startswith("at://")
        else int(external_id)
    )


def _setup(
    sim: SimulatorServer, engine: Engine, tmp_path: Path, platform: str = "mastodon"
) -> tuple[Settings, dict[str, str], list[int]]:
    sim.state.world.grow(40, platforms=(platform,))
    sim.state.world.late_after = timedelta(hours=5)
    settings = demo_settings(tmp_path, sim.base_url)
    settings = settings.model_copy(
        update={
            "rights": settings.rights.model_copy(update={"daily_caps": {platform: 1000}, "batch_size": 500})
        }
    )
    environ = demo_environment({}, sim.state.credentials, sim.base_url)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    result = collect_source(engine, settings, SOURCES[platform], environ)
    assert result.status == "ok" and result.inserted > 0, result.error
    with session_scope(engine) as session:
        ids = [
            i for i in session.exec(select(Post.id).where(col(Post.brand_id).is_not(None))) if i is not None
        ]
        batch = create_requests(session, post_ids=ids, actor="maria", settings=settings.rights, secret=SECRET)
        assert batch.created, batch.skipped
        asked = [r.post_id for r, _ in batch.created]
    return settings, environ, asked


@pytest.mark.parametrize("platform", sorted(SOURCES))
def test_requests_are_posted_and_every_kind_of_answer_ends_where_it_should(
    sim: SimulatorServer, engine: Engine, tmp_path: Path, platform: str
) -> None:
    settings, environ, asked = _setup(sim, engine, tmp_path, platform)
    report = run_rights(settings, engine, environ)
    with session_scope(engine) as session:
        failed = [r.reason for r in store.list_requests(session, statuses=("failed",))]
    assert report["sent"] == len(asked) and report["failed"] == 0, failed[:3]
    behaviours = sim.state.world.behaviours
    seen: dict[str, int] = {}
    with session_scope(engine) as session:
        for post_id in asked:
            view = get_post_view(session, post_id=post_id)
            assert view is not None
            behaviour = behaviours[sim_id(view.external_id)]
            seen[behaviour] = seen.get(behaviour, 0) + 1
            (request,) = store.list_requests(session, post_id=post_id)
            assert request.status == EXPECTED[behaviour], (behaviour, request.status, request.reason)
            if request.status == "granted":
                (receipt,) = store.list_receipts(session, post_id=post_id)
                assert receipt.reply_text and receipt.reply_url and receipt.source == "reply"
                assert view.rights_status == "granted"
            if behaviour == "other_account":
                replies = store.replies_of(session, request_id=request.id or 0)
                assert replies and not any(r.from_author for r in replies)
    assert {"hashtag", "no", "silence"} <= set(seen), seen
    # The late answers arrive: the next pass reads them and grants.
    sim.state.world.skip(timedelta(hours=6))
    run_rights(settings, engine, environ)
    with session_scope(engine) as session:
        for post_id in asked:
            view = get_post_view(session, post_id=post_id)
            assert view is not None
            if behaviours[sim_id(view.external_id)] == "late":
                (request,) = store.list_requests(session, post_id=post_id)
                assert request.status == "granted"


def test_a_rate_limited_platform_keeps_its_requests_for_the_next_pass(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings, environ, asked = _setup(sim, engine, tmp_path)
    sim.state.faults.inject("mastodon.post", Fault.RATE_LIMIT, times=1)
    report = run_rights(settings, engine, environ)
    # The 429 refused the post: nothing failed, and Mastodon gets nothing more this pass.
    assert report["failed"] == 0 and report["sent"] < len(asked)
    with session_scope(engine) as session:
        assert store.list_requests(session, statuses=("failed",)) == []
        waiting = len(store.list_requests(session, statuses=("queued",)))
    assert waiting >= 1
    again = run_rights(settings, engine, environ)
    assert again["failed"] == 0 and again["sent"] == waiting
