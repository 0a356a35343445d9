"""Which posts the gallery re-check asks about, and what it records (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from tesoro.models import NormalizedAuthor, NormalizedPost, Platform, PostMetrics
from tesoro.store.audit import audit_entries
from tesoro.store.decisions import set_rights_status, set_state
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post, upsert_posts
from tesoro.store.recheck import mark_gone, posts_to_recheck, record_checked
from tesoro.store.tables import Source

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ANA = NormalizedAuthor(Platform.X, external_id="id-ana", handle="ana", followers=100)


def tweet(external_id: str, text: str = "Cumbre shoes") -> NormalizedPost:
    return NormalizedPost(
        platform=Platform.X,
        external_id=external_id,
        text=text,
        created_at=T0,
        author=ANA,
        metrics=PostMetrics(likes=1),
    )


def sources(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        rows = [Source(name="x-a", platform="x"), Source(name="x-b", platform="x")]
        session.add_all(rows)
        session.flush()
        assert rows[0].id is not None and rows[1].id is not None
        return rows[0].id, rows[1].id


def save(engine: Engine, source_id: int, *ids: str) -> None:
    with session_scope(engine) as session:
        upsert_posts(session, [tweet(i) for i in ids], source_id=source_id, now=T0)


def decide(
    engine: Engine, external_id: str, *, state: str = "approved", rights: str | None = "granted"
) -> int:
    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id=external_id)
        assert post is not None and post.id is not None
        if state != "new":
            assert set_state(session, post_id=post.id, expected="new", to=state)
        if rights is not None:
            assert set_rights_status(session, post_id=post.id, expected="none", to=rights)
        return post.id


def asked(engine: Engine, source_id: int, limit: int = 10) -> list[str]:
    with session_scope(engine) as session:
        return [i.external_id for i in posts_to_recheck(session, source_id=source_id, limit=limit)]


def test_only_gallery_visible_posts_of_the_source_are_asked_about(engine: Engine) -> None:
    a, b = sources(engine)
    save(engine, a, "1", "2", "3", "4", "5", "6")
    save(engine, b, "7")
    decide(engine, "1")  # approved, rights granted: public
    decide(engine, "2", state="featured")  # featured, rights granted: public
    decide(engine, "3", rights=None)  # approved without rights: not public
    decide(engine, "4", state="rejected")
    decide(engine, "5")
    decide(engine, "6")
    decide(engine, "7")  # public, but another source found it
    with session_scope(engine) as session:
        # "6" changed after approval: back in review, the gallery serves its held version.
        upsert_posts(session, [tweet("6", "changed words")], source_id=a, now=T0 + timedelta(minutes=1))
    with session_scope(engine) as session:
        assert get_post(session, platform="x", external_id="6").queue_state == "new"  # type: ignore[union-attr]
        from_platform = posts_to_recheck(session, source_id=a, limit=10)
        assert [i.external_id for i in from_platform] == ["1", "2", "5", "6"]
        mark_gone(session, platform="x", items=from_platform[2:3], now=T0, reason="x no longer has it")
    # A post already deleted is never asked about again.
    assert asked(engine, a) == ["1", "2", "6"]
    assert asked(engine, b) == ["7"]
    assert asked(engine, a, limit=0) == []


def test_never_checked_first_then_the_oldest_check(engine: Engine) -> None:
    a, _ = sources(engine)
    save(engine, a, "1", "2", "3")
    ids = {x: decide(engine, x) for x in ("1", "2", "3")}
    with session_scope(engine) as session:
        record_checked(session, post_ids=[ids["2"]], now=T0 + timedelta(hours=2))
        record_checked(session, post_ids=[ids["1"]], now=T0 + timedelta(hours=1))
    assert asked(engine, a) == ["3", "1", "2"]
    assert asked(engine, a, limit=2) == ["3", "1"]


def test_mark_gone_deletes_once_with_one_audit_entry(engine: Engine) -> None:
    a, _ = sources(engine)
    save(engine, a, "1")
    post_id = decide(engine, "1")
    with session_scope(engine) as session:
        items = posts_to_recheck(session, source_id=a, limit=1)
        assert mark_gone(session, platform="x", items=items, now=T0, reason="x no longer has it") == 1
        assert mark_gone(session, platform="x", items=items, now=T0, reason="x no longer has it") == 0
    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id="1")
        assert post is not None and post.deleted_at == T0
        entries = audit_entries(session, entity_id=str(post_id))
    assert [(e.action, e.actor, (e.after or {})["reason"]) for e in entries] == [
        ("post_deleted_on_platform", "collector", "x no longer has it")
    ]
