"""Post ingestion is idempotent on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from tesoro.models import (
    UNNAMED_AUTHOR_PREFIX,
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Platform,
    PostMetrics,
)
from tesoro.store.engine import session_scope
from tesoro.store.posts import content_hash, count_posts, get_post, list_posts, media_for, upsert_posts

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def author(handle: str = "ana", followers: int = 100, platform: Platform = Platform.X) -> NormalizedAuthor:
    return NormalizedAuthor(platform, external_id=f"id-{handle}", handle=handle, followers=followers)


def post(
    external_id: str,
    *,
    likes: int = 0,
    platform: Platform = Platform.X,
    text: str | None = None,
    who: NormalizedAuthor | None = None,
    minutes: int = 0,
) -> NormalizedPost:
    return NormalizedPost(
        platform=platform,
        external_id=external_id,
        text=text or f"post {external_id} about the Cumbre",
        created_at=T0 + timedelta(minutes=minutes),
        author=who or author(platform=platform),
        metrics=PostMetrics(likes=likes, reposts=1),
        media=(
            NormalizedMedia(
                MediaType.PHOTO, f"https://pbs.twimg.com/media/{external_id}.jpg", alt_text="shoe"
            ),
        ),
        hashtags=("cumbre",),
    )


def test_insert_then_update_keeps_one_row(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = upsert_posts(session, [post("1", likes=3), post("2")])
    with session_scope(engine) as session:
        second = upsert_posts(session, [post("1", likes=30), post("3")])
    assert (first.inserted, first.updated) == (2, 0)
    assert (second.inserted, second.updated) == (1, 1)
    with session_scope(engine) as session:
        assert count_posts(session) == 3
        row = get_post(session, platform="x", external_id="1")
        assert row is not None and row.likes == 30 and row.reposts == 1
        assert row.hashtags == ["cumbre"]
        assert row.created_at == T0 and row.created_at.tzinfo is UTC
        media = media_for(session, post_id=row.id or 0)
        assert [(m.type, m.alt_text) for m in media] == [("photo", "shoe")], "media is not duplicated"


def test_same_id_on_two_platforms_is_two_posts(engine: Engine) -> None:
    with session_scope(engine) as session:
        result = upsert_posts(session, [post("7"), post("7", platform=Platform.BLUESKY)])
    assert result.inserted == 2
    with session_scope(engine) as session:
        assert count_posts(session, platform="x") == 1
        assert count_posts(session, platform="bluesky") == 1


def test_repeat_within_one_batch_keeps_the_last(engine: Engine) -> None:
    with session_scope(engine) as session:
        result = upsert_posts(session, [post("9", likes=1), post("9", likes=2)])
    assert result.inserted == 1
    with session_scope(engine) as session:
        row = get_post(session, platform="x", external_id="9")
        assert row is not None and row.likes == 2


def test_author_is_shared_and_refreshed(engine: Engine) -> None:
    with session_scope(engine) as session:
        upsert_posts(session, [post("1", who=author(followers=10)), post("2", who=author(followers=10))])
    with session_scope(engine) as session:
        upsert_posts(session, [post("3", who=author(followers=5000))])
    with session_scope(engine) as session:
        rows = [get_post(session, platform="x", external_id=i) for i in ("1", "2", "3")]
        assert len({r.author_id for r in rows if r}) == 1
        from tesoro.store.tables import Author

        stored = session.get(Author, rows[0].author_id if rows[0] else 0)
        assert stored is not None and stored.followers == 5000


def test_large_batch_crosses_statement_chunks(engine: Engine) -> None:
    posts = [post(str(i), who=author(f"u{i % 37}"), minutes=i) for i in range(1234)]
    with session_scope(engine) as session:
        assert upsert_posts(session, posts).inserted == 1234
    with session_scope(engine) as session:
        assert upsert_posts(session, posts).updated == 1234
        assert count_posts(session) == 1234
        newest = list_posts(session, limit=2)
        assert [p.external_id for p in newest] == ["1233", "1232"]


def test_rollback_leaves_nothing(engine: Engine) -> None:
    try:
        with session_scope(engine) as session:
            upsert_posts(session, [post("1")])
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    with session_scope(engine) as session:
        assert count_posts(session) == 0


def test_hostile_text_is_stored_verbatim(engine: Engine) -> None:
    hostile = '<img src=x onerror=alert(1)> <script>alert("x")</script> \'; DROP TABLE post; --'
    with session_scope(engine) as session:
        upsert_posts(session, [post("h", text=hostile)])
    with session_scope(engine) as session:
        row = get_post(session, platform="x", external_id="h")
        assert row is not None and row.text == hostile
        assert count_posts(session) == 1


def test_content_hash_ignores_case_and_spacing() -> None:
    assert content_hash("Love  my CUMBRE\n") == content_hash("love my cumbre")
    assert content_hash("love my cumbre") != content_hash("love my nube")


def test_edited_text_is_updated(engine: Engine) -> None:
    original = post("e", text="first version")
    with session_scope(engine) as session:
        upsert_posts(session, [original])
    with session_scope(engine) as session:
        upsert_posts(session, [replace(original, text="edited version")])
    with session_scope(engine) as session:
        row = get_post(session, platform="x", external_id="e")
        assert row is not None and row.text == "edited version"


def test_platform_safety_flags_are_stored_and_refreshed(engine: Engine) -> None:
    flagged = replace(post("f1"), content_flags=("spoiler", "nsfw", "nsfw", "made-up"))
    with session_scope(engine) as session:
        upsert_posts(session, [flagged, post("f2")])
    with session_scope(engine) as session:
        row = get_post(session, platform="x", external_id="f1")
        plain = get_post(session, platform="x", external_id="f2")
        assert row is not None and row.content_flags == ["nsfw", "spoiler"], "known flags, sorted, once"
        assert plain is not None and plain.content_flags == []
    # A moderator marks the second post NSFW after it was first collected: collecting again says so.
    with session_scope(engine) as session:
        upsert_posts(session, [replace(post("f2"), content_flags=("nsfw",))])
    with session_scope(engine) as session:
        plain = get_post(session, platform="x", external_id="f2")
        assert plain is not None and plain.content_flags == ["nsfw"]


def test_a_stand_in_author_gives_way_to_the_owner_a_later_answer_names(engine: Engine) -> None:
    """Instagram's hashtag search does not say whose a post is: it is stored under a stand-in author. When
    the tags or mentions edge later returns the same media with its username, the post takes that owner;
    a named owner is never replaced, by another name or by a stand-in."""
    stand_in = NormalizedAuthor(
        Platform.INSTAGRAM, external_id=f"{UNNAMED_AUTHOR_PREFIX}17900", handle="ig-media-17900"
    )
    maya = NormalizedAuthor(Platform.INSTAGRAM, external_id="maya.trails", handle="maya.trails")
    ig = Platform.INSTAGRAM
    with session_scope(engine) as session:
        upsert_posts(
            session, [post("17900", platform=ig, who=stand_in), post("17901", platform=ig, who=maya)]
        )
    with session_scope(engine) as session:
        upsert_posts(session, [post("17900", platform=ig, who=maya, likes=9)])
    with session_scope(engine) as session:
        first = get_post(session, platform="instagram", external_id="17900")
        second = get_post(session, platform="instagram", external_id="17901")
        assert first is not None and second is not None
        assert first.author_id == second.author_id and first.likes == 9
    other = NormalizedAuthor(Platform.INSTAGRAM, external_id="someone.else", handle="someone.else")
    again = NormalizedAuthor(
        Platform.INSTAGRAM, external_id=f"{UNNAMED_AUTHOR_PREFIX}17901", handle="ig-media-17901"
    )
    with session_scope(engine) as session:
        upsert_posts(session, [post("17900", platform=ig, who=other), post("17901", platform=ig, who=again)])
    with session_scope(engine) as session:
        first = get_post(session, platform="instagram", external_id="17900")
        second = get_post(session, platform="instagram", external_id="17901")
        assert first is not None and second is not None
        assert first.author_id == second.author_id  # both still Maya's
