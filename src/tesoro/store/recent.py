"""The most recently stored posts, in the few fields a listening query looks at.

The settings page previews a listening query against them ("what would this match"): the
matcher (`tesoro.text.query`) runs in Python over what this returns, the way collectors re-check
every post a platform sends, so the preview and collection agree on what a query matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from tesoro.store.tables import Author, Post

__all__ = ["RecentPost", "recent_posts"]


@dataclass(frozen=True, slots=True)
class RecentPost:
    id: int
    platform: str
    text: str
    title: str | None
    lang: str | None
    url: str | None
    created_at: datetime
    author_handle: str

    @property
    def matched_text(self) -> str:
        """What the collectors' re-check reads: the title (if any) above the text."""
        return f"{self.title}\n{self.text}" if self.title else self.text


def recent_posts(session: Session, *, limit: int) -> list[RecentPost]:
    """The last `limit` posts stored (newest first, by when they were stored), deleted ones left out."""
    stmt = (
        select(
            col(Post.id),
            col(Post.platform),
            col(Post.text),
            col(Post.title),
            col(Post.lang),
            col(Post.url),
            col(Post.created_at),
            col(Author.handle),
        )
        .join(Author, col(Author.id) == col(Post.author_id))
        .where(col(Post.deleted_at).is_(None))
        .order_by(col(Post.id).desc())
        .limit(limit)
    )
    return [
        RecentPost(
            id=pid,
            platform=platform,
            text=text,
            title=title,
            lang=lang,
            url=url,
            created_at=created_at,
            author_handle=handle,
        )
        for pid, platform, text, title, lang, url, created_at, handle in session.execute(stmt)
    ]
