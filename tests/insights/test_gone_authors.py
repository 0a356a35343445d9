"""Deleted and suspended accounts are never one shared person (issue 16, item 5).

Reddit names every deleted account `[deleted]`: stored as one author, that "person" would collect
every deleted account's posts, rise in the ROR leaderboard, count once in the KPIs and be offered
for identity links.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from tesoro.collector.reddit.normalize import normalize_submission
from tesoro.insights import service
from tesoro.models import NormalizedAuthor, NormalizedPost, Platform, PostMetrics
from tesoro.store.catalog import brand_by_name
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post, upsert_posts
from tesoro.store.tables import Author
from worlds.insights import AS_OF, World


def deleted_reddit_post(name: str, text: str, likes: int) -> NormalizedPost:
    """A Reddit submission whose author deleted the account, as the listing API returns it."""
    post = normalize_submission(
        {
            "name": name,
            "title": text,
            "selftext": "",
            "author": "[deleted]",
            "created_utc": datetime(2026, 11, 18, 12, tzinfo=UTC).timestamp(),
            "score": likes,
            "num_comments": 3,
            "permalink": f"/r/hiking/comments/{name[3:]}/x/",
        }
    )
    assert post is not None and post.author.gone
    return post


def store(world: World, posts: list[NormalizedPost]) -> list[int]:
    with session_scope(world.engine) as session:
        brand = brand_by_name(session, world.settings.brands[0].name)
        assert brand is not None
        upsert_posts(session, posts, brand_id=brand.id)
        rows = [get_post(session, platform=p.platform.value, external_id=p.external_id) for p in posts]
        return [r.author_id for r in rows if r is not None]


def test_deleted_reddit_accounts_are_one_author_per_post(world: World) -> None:
    first = deleted_reddit_post("t3_del1", "Andes Outdoor Cumbre review, 5 stars", likes=300)
    second = deleted_reddit_post("t3_del2", "The Cumbre is the best Andes Outdoor boot", likes=250)
    assert first.author == second.author, "Reddit gives both the same name and no id"
    authors = store(world, [first, second])
    assert len(set(authors)) == 2
    # Collecting again keeps them apart and adds no author.
    assert store(world, [first, second]) == authors
    with session_scope(world.engine) as session:
        rows = list(session.exec(select(Author).where(col(Author.id).in_(authors))))
        assert all(a.gone and a.handle == "[deleted]" for a in rows)


def test_deleted_accounts_never_top_the_leaderboard(world: World) -> None:
    store(
        world,
        [deleted_reddit_post(f"t3_gone{i}", f"Andes Outdoor Cumbre, day {i}", likes=900) for i in range(6)],
    )
    service.refresh_ror(world.engine, world.settings, as_of=AS_OF)
    board = service.leaderboard(world.engine, world.settings, top=20)["items"]
    assert "[deleted]" not in {row["handle"] for row in board}
    assert board[0]["handle"] == "ana"


def suggested(found: list[dict[str, Any]]) -> set[int]:
    return {s[side]["author_id"] for s in found for side in ("account", "other")}


def test_a_suspended_account_is_never_suggested_nor_linked(sqlite_world: World) -> None:
    # A suspended Mastodon account whose bio names ana on X.
    suspended = NormalizedAuthor(
        Platform.MASTODON, external_id="9001", handle="ana@bad.example", bio="also @ana on x", gone=True
    )
    post = NormalizedPost(
        platform=Platform.MASTODON,
        external_id="m-9001",
        text="Andes Outdoor giveaway, click the link",
        created_at=datetime(2026, 11, 19, tzinfo=UTC),
        author=suspended,
        metrics=PostMetrics(),
    )
    (gone_id,) = store(sqlite_world, [post])
    ana = sqlite_world.authors["ana@x"]
    everywhere = service.suggestions(sqlite_world.engine)
    around_ana = service.suggestions(sqlite_world.engine, author_id=ana)
    assert everywhere and around_ana, "ana's own suggestion (her Bluesky account) is still made"
    assert gone_id not in suggested(everywhere) | suggested(around_ana)
    assert service.suggestions(sqlite_world.engine, author_id=gone_id) == []
    with pytest.raises(ValueError, match="deleted or suspended"):
        service.link(sqlite_world.engine, author_ids=[ana, gone_id], actor="coordinator@test")
