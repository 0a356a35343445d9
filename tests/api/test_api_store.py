"""The store behind the API on SQLite and PostgreSQL: decisions as the API makes them, author pages,
the overview, keys and sessions (with the purge of dead ones).

A decision the API makes is one `tesoro.curator.queue.decide` batch: it writes the
decision, undo and audit rows, shows in the gallery once approved with rights, and the
curator's undo reverts it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tesoro.curator.queue import Action, decide, undo_last
from tesoro.store.decisions import decision_history
from tesoro.store.engine import session_scope
from tesoro.store.keys import (
    Role,
    create_key,
    create_session,
    drop_session,
    end_session,
    list_keys,
    purge_sessions,
    resolve_session,
    revoke_key,
    verify_key,
)
from tesoro.store.posts import author_detail, gallery_posts, overview
from tesoro.store.tables import ApiKey, ApiSession, AuditLog, CurationChange, CurationDecision, Post
from worlds.api import make_settings, seed


@pytest.fixture
def world(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    return seed(engine, make_settings(tmp_path))


def test_decisions_are_curator_decisions_with_audit_and_undo(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    post_id = world.posts["q-mid"]
    actor = "key:abc (ana)"
    with session_scope(engine) as session:
        result = decide(session, post_ids=[post_id], action=Action.FEATURE, actor=actor, note="lovely")
        product = decide(
            session,
            post_ids=[post_id],
            action=Action.ASSIGN_PRODUCT,
            actor=actor,
            product_id=world.products["Cumbre Trail Runner"],
        )
        decide(session, post_ids=[post_id], action=Action.SET_RIGHTS, actor=actor, rights="granted")
    [featured] = result.applied
    assert (featured.from_state, featured.to_state) == ("new", "featured")
    assert featured.decision_id is not None and result.batch_id != product.batch_id
    with session_scope(engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.queue_state == "featured" and post.rights_status == "granted"
        audit = list(session.exec(select(AuditLog).where(col(AuditLog.entity_id) == str(post_id))))
        decisions = list(
            session.exec(select(CurationDecision).where(col(CurationDecision.post_id) == post_id))
        )
        changes = list(session.exec(select(CurationChange)))
        history = decision_history(session, post_id=post_id)
    assert [a.action for a in audit] == ["curation.feature", "curation.assign_product", "curation.set_rights"]
    assert audit[0].before is not None and audit[0].before["queue_state"] == "new"
    assert audit[0].after is not None and audit[0].after["queue_state"] == "featured"
    assert audit[0].after["decision_id"] == featured.decision_id and audit[0].after["note"] == "lovely"
    assert [d.action for d in decisions] == ["feature", "assign_product", "set_rights"]
    assert decisions[0].from_state == "new" and decisions[0].to_state == "featured"
    assert len(changes) == 3  # each one can be undone
    assert [(h.id, h.batch_id) for h in history][-1] == (featured.decision_id, result.batch_id)
    with session_scope(engine) as session:
        shown = gallery_posts(session, brand_id=world.brands["Andes Outdoor"])
    assert any(p.id == post_id for p in shown)
    # The curator's undo walks back through them, newest first.
    with session_scope(engine) as session:
        assert undo_last(session, actor=actor).action == "set_rights"
        assert undo_last(session, actor=actor).action == "assign_product"
        assert undo_last(session, actor=actor).action == "feature"
    with session_scope(engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        assert (post.queue_state, post.rights_status, post.product_id) == ("new", "none", None)
    with session_scope(engine) as session:
        assert all(p.id != post_id for p in gallery_posts(session, brand_id=world.brands["Andes Outdoor"]))


def test_author_detail_and_overview(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        post = session.get(Post, world.posts["gal-photo"])
        assert post is not None
        detail = author_detail(session, author_id=post.author_id)
        o = overview(session)
    assert detail is not None and detail.author.handle == "ana" and detail.post_count >= 5
    assert detail.activity == [("2026-11", detail.post_count)]
    assert o.total_posts == 12 and o.by_state["new"] == 6 and o.by_platform == {"x": 11, "bluesky": 1}


def test_keys_are_stored_hashed_and_revocable(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        created = create_key(session, name="ci", role=Role.VIEWER)
        token = created.token
    with session_scope(engine) as session:
        rows = list(session.exec(select(ApiKey)))
        assert all(token.split("_", 2)[2] not in (r.secret_hash + r.key_id + r.name) for r in rows)
        assert verify_key(session, token=token) is not None
        assert verify_key(session, token=token + "x") is None
        assert verify_key(session, token="tso_" + token.split("_")[1] + "_wrong") is None
        assert verify_key(session, token="not a token") is None
        key = verify_key(session, token=token)
        assert key is not None
        session_token, _ = create_session(session, api_key=key, ttl_s=60)
        assert resolve_session(session, token=session_token) is not None
        revoke_key(session, key_id=key.key_id)
    with session_scope(engine) as session:
        assert verify_key(session, token=token) is None
        assert resolve_session(session, token=session_token) is None
        assert any(k.revoked_at for k in list_keys(session))
        assert all(not k.revoked_at for k in list_keys(session, include_revoked=False))
    with session_scope(engine) as session, pytest.raises(ValueError):
        create_key(session, name="  ", role="viewer")
    with session_scope(engine) as session, pytest.raises(ValueError):
        create_key(session, name="x", role="superuser")


def test_purge_deletes_expired_and_ended_sessions_only(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        key = verify_key(session, token=world.tokens[Role.VIEWER])
        assert key is not None
        expired, _ = create_session(session, api_key=key, ttl_s=60, now=start - timedelta(hours=1))
        ended, _ = create_session(session, api_key=key, ttl_s=3600, now=start)
        live, _ = create_session(session, api_key=key, ttl_s=3600, now=start)
        at_the_edge, _ = create_session(session, api_key=key, ttl_s=60, now=start - timedelta(seconds=60))
        assert end_session(session, token=ended, now=start)
    with session_scope(engine) as session:
        assert resolve_session(session, token=expired, now=start) is None
        assert purge_sessions(session, now=start) == 3
    with session_scope(engine) as session:
        left = list(session.exec(select(ApiSession)))
        assert len(left) == 1 and resolve_session(session, token=live, now=start) is not None
        assert purge_sessions(session, now=start) == 0
        # Two days on, the live one has expired too.
        assert purge_sessions(session, now=start + timedelta(days=2)) == 1
        assert drop_session(session, token=at_the_edge) is False  # already gone
    with session_scope(engine) as session:
        assert list(session.exec(select(ApiSession))) == []


def test_the_scheduled_purge_deletes_dead_sessions_without_any_login(
    engine: Engine, world, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from tesoro.jobs.tasks import purge_sessions_job

    with session_scope(engine) as session:
        key = verify_key(session, token=world.tokens[Role.VIEWER])
        assert key is not None
        create_session(session, api_key=key, ttl_s=60, now=datetime.now(UTC) - timedelta(hours=2))
        live, _ = create_session(session, api_key=key, ttl_s=3600)
    assert purge_sessions_job(engine, make_settings(tmp_path)) == 1
    assert purge_sessions_job(engine, make_settings(tmp_path)) == 0
    with session_scope(engine) as session:
        assert resolve_session(session, token=live) is not None
