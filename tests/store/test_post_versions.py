"""Decided posts keep their approved version; X edit chains are one post (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.models import MediaType, NormalizedAuthor, NormalizedMedia, NormalizedPost, Platform, PostMetrics
from tesoro.settings import BrandSettings, Settings
from tesoro.store.catalog import brand_by_name, sync_catalog
from tesoro.store.decisions import decision_history, set_rights_status, set_state
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts, gallery_posts, get_post, media_for, upsert_posts
from tesoro.store.scores import save_scores, unscored_posts
from tesoro.store.tables import PostAlias, PostVersion
from tesoro.store.versions import content_changes, mark_deleted, resolve_ids

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ANA = NormalizedAuthor(Platform.X, external_id="id-ana", handle="ana", followers=100)


def tweet(
    external_id: str,
    text: str,
    *,
    photos: tuple[str, ...] = ("a",),
    likes: int = 1,
    edit_ids: tuple[str, ...] = (),
    title: str | None = None,
) -> NormalizedPost:
    return NormalizedPost(
        platform=Platform.X,
        external_id=external_id,
        text=text,
        title=title,
        created_at=T0,
        author=ANA,
        metrics=PostMetrics(likes=likes),
        media=tuple(NormalizedMedia(MediaType.PHOTO, f"https://pbs.twimg.com/media/{p}.jpg") for p in photos),
        edit_ids=edit_ids,
    )


def brand(engine: Engine) -> int:
    with session_scope(engine) as session:
        sync_catalog(session, Settings(brands=[BrandSettings(name="Andes Outdoor")]))
    with session_scope(engine) as session:
        row = brand_by_name(session, "Andes Outdoor")
        assert row is not None and row.id is not None
        return row.id


def save(engine: Engine, brand_id: int, *posts: NormalizedPost, minutes: int = 0) -> None:
    with session_scope(engine) as session:
        upsert_posts(session, list(posts), brand_id=brand_id, now=T0 + timedelta(minutes=minutes))


def approve_public(engine: Engine, external_id: str) -> int:
    """Approved with rights granted, as a coordinator would leave it."""
    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id=external_id)
        assert post is not None and post.id is not None
        assert set_state(session, post_id=post.id, expected="new", to="approved")
        assert set_rights_status(session, post_id=post.id, expected="none", to="granted")
        return post.id


def gallery(engine: Engine, brand_id: int, media_type: str | None = None) -> list[tuple[str, list[str]]]:
    with session_scope(engine) as session:
        return [
            (v.text, [m.url for m in v.media])
            for v in gallery_posts(session, brand_id=brand_id, media_type=media_type)
        ]


def photo(name: str) -> str:
    return f"https://pbs.twimg.com/media/{name}.jpg"


def test_a_change_after_approval_goes_back_to_review_and_the_gallery_keeps_the_approved_version(
    engine: Engine,
) -> None:
    b = brand(engine)
    save(engine, b, tweet("1", "My Cumbre shoes after 100 km", photos=("a",)))
    post_id = approve_public(engine, "1")
    assert gallery(engine, b) == [("My Cumbre shoes after 100 km", [photo("a")])]

    save(engine, b, tweet("1", "Buy cheap pills at spam.example", photos=("b",), likes=9), minutes=5)

    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id="1")
        assert post is not None
        assert (post.queue_state, post.rights_status, post.version, post.held_version) == (
            "new",
            "granted",
            2,
            1,
        )
        assert post.text == "Buy cheap pills at spam.example" and post.likes == 9
        assert [m.url for m in media_for(session, post_id=post_id)] == [photo("b")]
        history = decision_history(session, post_id=post_id)
        change = content_changes(session, post_ids=[post_id])[post_id]
    # The move back to review is a recorded decision, never a silent one.
    assert [(d.action, d.from_state, d.to_state, d.actor) for d in history] == [
        ("content_changed", "approved", "new", "collector")
    ]
    assert (change.approved_version, change.version) == (1, 2)
    assert (change.old_text, change.new_text) == (
        "My Cumbre shoes after 100 km",
        "Buy cheap pills at spam.example",
    )
    assert (change.media_added, change.media_removed) == ((photo("b"),), (photo("a"),))
    # The public gallery still serves exactly what was approved: text and media.
    assert gallery(engine, b) == [("My Cumbre shoes after 100 km", [photo("a")])]
    assert gallery(engine, b, media_type="photo") == [("My Cumbre shoes after 100 km", [photo("a")])]
    assert gallery(engine, b, media_type="text") == []


def test_a_second_change_keeps_the_approved_version_held(engine: Engine) -> None:
    b = brand(engine)
    save(engine, b, tweet("1", "approved words"))
    post_id = approve_public(engine, "1")
    save(engine, b, tweet("1", "second words"), minutes=1)
    save(engine, b, tweet("1", "third words", photos=("a", "c")), minutes=2)
    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id="1")
        assert post is not None and (post.version, post.held_version, post.queue_state) == (3, 1, "new")
        versions = session.execute(
            select(col(PostVersion.version), col(PostVersion.text))
            .where(col(PostVersion.post_id) == post_id)
            .order_by(col(PostVersion.version))
        ).all()
        change = content_changes(session, post_ids=[post_id])[post_id]
        # Only the first change was a decision's undoing; the second found the post in review already.
        assert len(decision_history(session, post_id=post_id)) == 1
    assert [tuple(v) for v in versions] == [(1, "approved words"), (2, "second words"), (3, "third words")]
    assert (change.old_text, change.new_text, change.media_added) == (
        "approved words",
        "third words",
        (photo("c"),),
    )
    assert gallery(engine, b) == [("approved words", [photo("a")])]


def test_recollecting_the_same_content_keeps_the_decision(engine: Engine) -> None:
    b = brand(engine)
    save(engine, b, tweet("1", "same words", title=None))
    post_id = approve_public(engine, "1")
    save(engine, b, tweet("1", "same words", likes=50), minutes=3)
    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id="1")
        assert post is not None and (post.queue_state, post.version, post.held_version, post.likes) == (
            "approved",
            1,
            None,
            50,
        )
        assert content_changes(session, post_ids=[post_id]) == {}
        assert decision_history(session, post_id=post_id) == []


def test_an_undecided_post_just_takes_the_new_text(engine: Engine) -> None:
    b = brand(engine)
    save(engine, b, tweet("1", "first"))
    save(engine, b, tweet("1", "edited"), minutes=1)
    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id="1")
        assert post is not None and (post.text, post.version, post.held_version) == ("edited", 1, None)
        assert session.execute(select(PostVersion)).first() is None


def test_a_post_the_platform_deleted_leaves_the_gallery(engine: Engine) -> None:
    b = brand(engine)
    save(engine, b, tweet("1", "keep me"), tweet("2", "delete me", photos=("z",)))
    approve_public(engine, "1")
    approve_public(engine, "2")
    assert len(gallery(engine, b)) == 2
    with session_scope(engine) as session:
        assert mark_deleted(session, platform="x", external_ids=["2", "404"], now=T0) == 1
    assert gallery(engine, b) == [("keep me", [photo("a")])]


def test_an_x_edit_chain_is_one_post_found_by_any_of_its_ids(engine: Engine) -> None:
    b = brand(engine)
    save(engine, b, tweet("100", "Cumbre shoes, great grip", edit_ids=("100",)))
    save(engine, b, tweet("105", "Cumbre shoes, great grip on wet rock", edit_ids=("100", "105")), minutes=1)
    with session_scope(engine) as session:
        assert count_posts(session) == 1
        by_original = get_post(session, platform="x", external_id="100")
        by_edit = get_post(session, platform="x", external_id="105")
        assert by_original is not None and by_edit is not None and by_original.id == by_edit.id
        assert by_original.external_id == "100"
        assert by_original.text == "Cumbre shoes, great grip on wet rock"
        aliases = set(session.execute(select(col(PostAlias.external_id))).scalars())
        assert aliases == {"100", "105"}
        assert resolve_ids(session, platform="x", external_ids=["105", "100", "999"]) == {
            "105": by_original.id,
            "100": by_original.id,
        }
    # A superseded version collected later (its own id is not the chain's last) changes nothing.
    save(engine, b, tweet("100", "Cumbre shoes, great grip", edit_ids=("100", "105"), likes=7), minutes=2)
    # Both versions in one batch, the older last: the newest still wins.
    save(
        engine,
        b,
        tweet("109", "Cumbre shoes: the best grip", edit_ids=("100", "105", "109")),
        tweet("105", "Cumbre shoes, great grip on wet rock", edit_ids=("100", "105", "109")),
        minutes=3,
    )
    with session_scope(engine) as session:
        assert count_posts(session) == 1
        post = get_post(session, platform="x", external_id="109")
        assert post is not None and post.text == "Cumbre shoes: the best grip"


def test_an_x_edit_after_approval_goes_back_to_review(engine: Engine) -> None:
    b = brand(engine)
    save(engine, b, tweet("100", "Love my Cumbre", edit_ids=("100",)))
    post_id = approve_public(engine, "100")
    save(engine, b, tweet("107", "Love my Cumbre, now 50% off at scam.example", edit_ids=("100", "107")))
    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id="107")
        assert post is not None and post.id == post_id and post.queue_state == "new"
        change = content_changes(session, post_ids=[post_id])[post_id]
        latest = session.execute(
            select(col(PostVersion.external_id)).where(
                col(PostVersion.post_id) == post_id, col(PostVersion.version) == 2
            )
        ).scalar_one()
    assert change.new_text == "Love my Cumbre, now 50% off at scam.example"
    assert latest == "107"
    assert gallery(engine, b) == [("Love my Cumbre", [photo("a")])]


def test_a_reply_to_any_version_of_an_edited_tweet_links_to_its_one_post(engine: Engine) -> None:
    b = brand(engine)
    save(engine, b, tweet("100", "Which size?", edit_ids=("100",)))
    save(engine, b, tweet("105", "Which size for wide feet?", edit_ids=("100", "105")), minutes=1)
    reply = replace(tweet("200", "Go half a size up"), reply_to_id="105", quote_of_id="105")
    # In one batch, a reply names an edit the same batch brings.
    same_batch = replace(tweet("300", "Agreed"), reply_to_id="107")
    save(engine, b, reply, same_batch, tweet("107", "Which size, wide feet?", edit_ids=("100", "105", "107")))
    with session_scope(engine) as session:
        first = get_post(session, platform="x", external_id="200")
        second = get_post(session, platform="x", external_id="300")
        assert first is not None and (first.reply_to_id, first.quote_of_id) == ("100", "100")
        assert second is not None and second.reply_to_id == "100"


def test_a_changed_decided_post_is_scored_again(engine: Engine) -> None:
    b = brand(engine)
    save(engine, b, tweet("1", "approved words"), tweet("2", "untouched words"))
    post_id = approve_public(engine, "1")
    with session_scope(engine) as session:
        other = get_post(session, platform="x", external_id="2")
        assert other is not None and other.id is not None
        save_scores(
            session,
            [
                {"post_id": pid, "model_version": "m1", "content_types": [], "safety": {}, "spam": 0.0}
                for pid in (post_id, other.id)
            ],
        )
    save(engine, b, tweet("1", "Buy cheap pills"), tweet("2", "untouched words"), minutes=1)
    with session_scope(engine) as session:
        assert [p.id for p in unscored_posts(session, model_version="m1", limit=10)] == [post_id]


def test_a_post_the_platform_reports_deleted_leaves_the_gallery_and_a_new_one_is_never_stored(
    engine: Engine,
) -> None:
    b = brand(engine)
    save(engine, b, tweet("1", "approved words"))
    post_id = approve_public(engine, "1")
    gone = replace(tweet("1", "Cumbre photo review"), deleted=True)
    never_seen = replace(tweet("2", "deleted before we saw it"), deleted=True)
    with session_scope(engine) as session:
        result = upsert_posts(session, [gone, never_seen], brand_id=b, now=T0)
        assert (result.inserted, result.updated) == (0, 0)
    assert gallery(engine, b) == []
    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id="1")
        assert post is not None and post.deleted_at == T0
        # Deletion is not a new version to review: the decision and the approved text stay as they were.
        assert (post.queue_state, post.text, post.version) == ("approved", "approved words", 1)
        assert decision_history(session, post_id=post_id) == []
        assert get_post(session, platform="x", external_id="2") is None
