"""Repository functions for score sets: what is left to score, and saving results.

A post can carry several score sets, one per `model_version`; "unscored" always
means "no row for this version", so changing the model makes every post pending
again without deleting the old scores (the curator can compare versions).
Each version keeps a mark (`score_mark`): every post below it is scored, so the search for what is
left starts there and its cost follows the new posts, not the whole history.
Reads return plain frozen records with exactly what scoring needs (post, author
counts, media types) in two queries per batch, never one query per post.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, select, update
from sqlmodel import Session, SQLModel, col

from tesoro.store.sql import dialect_insert, table_of
from tesoro.store.tables import Author, ListeningQuery, Media, Post, Score, ScoreMark

__all__ = [
    "SCORE_MARK_LAG",
    "PostToScore",
    "advance_score_mark",
    "count_unscored",
    "drop_scores",
    "duplicate_accounts",
    "engagement_samples",
    "join_latest_score",
    "listening_queries_by_brand",
    "lower_score_marks",
    "posts_after",
    "posts_by_id",
    "save_scores",
    "score_mark",
    "scores_for",
    "unscored_posts",
]


@dataclass(frozen=True, slots=True)
class PostToScore:
    id: int
    platform: str
    text: str
    title: str | None
    lang: str | None
    brand_id: int | None
    likes: int
    reposts: int
    replies: int
    quotes: int
    views: int | None
    hashtags: tuple[str, ...]
    content_hash: str | None
    author_id: int
    followers: int | None
    following: int | None
    media_types: tuple[str, ...] = ()
    # The platform's safety flags (`models.CONTENT_FLAGS`).
    content_flags: tuple[str, ...] = ()


_COLUMNS = (
    col(Post.id),
    col(Post.platform),
    col(Post.text),
    col(Post.title),
    col(Post.lang),
    col(Post.brand_id),
    col(Post.likes),
    col(Post.reposts),
    col(Post.replies),
    col(Post.quotes),
    col(Post.views),
    col(Post.hashtags),
    col(Post.content_flags),
    col(Post.content_hash),
    col(Post.author_id),
    col(Author.followers),
    col(Author.following),
)  # read by name in `_records`: no two of these columns share a name


def _records(session: Session, stmt: Any) -> list[PostToScore]:
    rows = session.execute(stmt).all()
    ids = [row.id for row in rows]
    media: dict[int, list[str]] = {}
    if ids:
        for post_id, kind in session.execute(
            select(col(Media.post_id), col(Media.type))
            .where(col(Media.post_id).in_(ids))
            .order_by(col(Media.id))
        ):
            media.setdefault(post_id, []).append(kind)
    return [
        PostToScore(
            id=r.id,
            platform=r.platform,
            text=r.text,
            title=r.title,
            lang=r.lang,
            brand_id=r.brand_id,
            likes=r.likes or 0,
            reposts=r.reposts or 0,
            replies=r.replies or 0,
            quotes=r.quotes or 0,
            views=r.views,
            hashtags=tuple(r.hashtags or ()),
            content_hash=r.content_hash,
            author_id=r.author_id,
            followers=r.followers,
            following=r.following,
            media_types=tuple(media.get(r.id, ())),
            content_flags=tuple(r.content_flags or ()),
        )
        for r in rows
    ]


def _unscored_filter(model_version: str) -> Any:
    return ~exists().where(
        and_(col(Score.post_id) == col(Post.id), col(Score.model_version) == model_version)
    )


def unscored_posts(
    session: Session, *, model_version: str, limit: int, after_id: int = 0
) -> list[PostToScore]:
    """Posts with no score set for `model_version`, oldest id first (keyset pagination via `after_id`)."""
    stmt = (
        select(*_COLUMNS)
        .join(Author, col(Author.id) == col(Post.author_id))
        .where(col(Post.id) > after_id, _unscored_filter(model_version))
        .order_by(col(Post.id))
        .limit(limit)
    )
    return _records(session, stmt)


def posts_after(session: Session, *, after_id: int, limit: int) -> list[PostToScore]:
    """Every post after `after_id` in id order, scored or not (for re-scoring)."""
    stmt = (
        select(*_COLUMNS)
        .join(Author, col(Author.id) == col(Post.author_id))
        .where(col(Post.id) > after_id)
        .order_by(col(Post.id))
        .limit(limit)
    )
    return _records(session, stmt)


def count_unscored(session: Session, *, model_version: str, from_id: int = 0) -> int:
    """Posts with no score set for `model_version`, counted from post id `from_id` (its mark)."""
    stmt = (
        select(func.count()).select_from(Post).where(col(Post.id) >= from_id, _unscored_filter(model_version))
    )
    return int(session.execute(stmt).scalar_one())


# How long a candidate mark waits before it becomes the mark. A collection stores a page in one short
# transaction; one that took a post id before the candidate was set, and commits later, commits well
# inside this, and the scans from the old mark meanwhile find its posts.
SCORE_MARK_LAG = timedelta(minutes=10)


def score_mark(session: Session, *, model_version: str) -> int:
    """The first post id that may lack a score set for `model_version` (0: none is known scored)."""
    row = session.get(ScoreMark, model_version)
    return int(row.below_id) if row is not None else 0


def advance_score_mark(
    session: Session, *, model_version: str, now: datetime, lag: timedelta = SCORE_MARK_LAG
) -> int:
    """Call when a search from the mark found no post left to score; returns the mark now.

    Then every post visible now is scored, so one past the newest post is a candidate mark. A candidate
    becomes the mark only when `lag` old: a post whose id was taken before the candidate was set but
    that committed after it is found by the scans from the old mark until then.
    """
    row = session.get(ScoreMark, model_version)
    if row is None:
        row = ScoreMark(model_version=model_version, below_id=0)
    if row.candidate_at is not None and row.candidate_id is not None:
        if row.candidate_at > now - lag:
            return int(row.below_id)  # not old enough yet: keep waiting
        row.below_id = max(int(row.below_id), int(row.candidate_id))
    newest = session.execute(select(func.max(col(Post.id)))).scalar_one()
    row.candidate_id = int(newest or 0) + 1
    row.candidate_at = now
    session.add(row)
    return int(row.below_id)


def drop_scores(session: Session, *, post_id: int) -> None:
    """Drop every score set of a post (its words changed), so the scoring job judges it afresh.

    The one way to delete score rows: the marks move down to the post in the same transaction, or the
    search that starts at them would never find it again.
    """
    session.execute(delete(Score).where(col(Score.post_id) == post_id))
    lower_score_marks(session, post_id=post_id)


def lower_score_marks(session: Session, *, post_id: int) -> None:
    """A post's score sets were dropped: every version's mark (and candidate) moves down to it."""
    below, candidate = col(ScoreMark.below_id), col(ScoreMark.candidate_id)
    session.execute(
        update(ScoreMark)
        .where((below > post_id) | (candidate > post_id))
        .values(
            below_id=case((below > post_id, post_id), else_=below),
            candidate_id=case((candidate > post_id, post_id), else_=candidate),
        )
    )


def duplicate_accounts(session: Session, *, content_hashes: Iterable[str]) -> dict[str, int]:
    """For each content hash, how many distinct accounts posted that exact text (spam signal)."""
    hashes = sorted(set(content_hashes))
    out: dict[str, int] = {}
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        stmt = (
            select(col(Post.content_hash), func.count(func.distinct(col(Post.author_id))))
            .where(col(Post.content_hash).in_(chunk))
            .group_by(col(Post.content_hash))
        )
        out.update({h: int(n) for h, n in session.execute(stmt) if h is not None})
    return out


def engagement_samples(
    session: Session, *, platform: str, limit: int = 5000
) -> list[tuple[int, int | None, int | None]]:
    """(interactions, followers, views) of the platform's most recent posts, for deriving its median rate."""
    interactions = col(Post.likes) + col(Post.reposts) + col(Post.replies) + col(Post.quotes)
    stmt = (
        select(interactions, col(Author.followers), col(Post.views))
        .join(Author, col(Author.id) == col(Post.author_id))
        .where(col(Post.platform) == platform)
        .order_by(col(Post.created_at).desc())
        .limit(limit)
    )
    return [(int(i or 0), f, v) for i, f, v in session.execute(stmt)]


_UPDATE = (
    "sentiment",
    "sentiment_probs",
    "relevance",
    "product_id",
    "product_confidence",
    "content_types",
    "language",
    "safety",
    "spam",
    "engagement_rate",
    "engagement_vs_median",
    "embedding",
    "embedding_use",
    "scored_at",
)


def save_scores(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert score sets; a row for an existing (post_id, model_version) replaces it (re-scoring)."""
    if not rows:
        return 0
    now = datetime.now(UTC)
    prepared = [{**row, "scored_at": row.get("scored_at") or now} for row in rows]
    stmt = dialect_insert(session, SQLModel.metadata.tables["score"])
    stmt = stmt.on_conflict_do_update(
        index_elements=["post_id", "model_version"],
        set_={name: getattr(stmt.excluded, name) for name in _UPDATE},
    )
    session.connection().execute(stmt, prepared)
    return len(prepared)


def scores_for(session: Session, *, post_id: int) -> list[Score]:
    """Every score set of one post, oldest first."""
    stmt = select(Score).where(col(Score.post_id) == post_id).order_by(col(Score.id))
    return list(session.execute(stmt).scalars())


def listening_queries_by_brand(session: Session) -> dict[int, list[str]]:
    """Each brand's listening queries (the query text, in id order): relevance checks a post against them."""
    queries: dict[int, list[str]] = {}
    stmt = select(col(ListeningQuery.brand_id), col(ListeningQuery.query)).order_by(col(ListeningQuery.id))
    for row in session.execute(stmt).mappings():
        queries.setdefault(int(row["brand_id"]), []).append(str(row["query"]))
    return queries


def join_latest_score(stmt: Any) -> Any:
    """`stmt` (selecting from post) LEFT JOINed to each post's latest score set, whatever its version.

    Written as a correlated MAX(id) per post rather than a GROUP BY over the whole
    score table: the per-post index lookup costs in proportion to the posts of the
    window, not to every score ever stored (4x faster for a 30-day window of 1M posts).
    """
    newer = table_of(Score).alias("newer_score")
    latest = select(func.max(newer.c.id)).where(newer.c.post_id == col(Post.id)).scalar_subquery()
    return stmt.outerjoin(Score, col(Score.id) == latest)


def posts_by_id(session: Session, *, post_ids: Sequence[int]) -> list[PostToScore]:
    """The posts named, as the scorer reads them, in id order (to score a chosen set again)."""
    if not post_ids:
        return []
    stmt = (
        select(*_COLUMNS)
        .join(Author, col(Author.id) == col(Post.author_id))
        .where(col(Post.id).in_(list(post_ids)))
        .order_by(col(Post.id))
    )
    return _records(session, stmt)
