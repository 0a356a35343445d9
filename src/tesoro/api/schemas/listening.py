"""A listening query tried against the latest stored posts: the settings page's live preview.

A query that does not parse is answered 422 with the parser's words and the position of the
mistake: `{"detail": [{"loc": ["body", "query"], "msg": "unmatched ')'", "position": 12}]}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Input, Schema, Timestamp, iso
from tesoro.store.recent import RecentPost

__all__ = ["PreviewPost", "QueryPreview", "QueryPreviewRequest"]

# Matching is in Python, one post at a time: a few thousand posts answer in well under a second.
MAX_RECENT = 5000
_TEXT_SHOWN = 500


class QueryPreviewRequest(Input):
    """A query in the listening-query language and how many of the latest posts to try it on."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"query": '(cumbre OR "trail runner") -falso lang:es', "recent": 500}]
        }
    )

    query: str = Field(min_length=1, max_length=2000, description="a query as [[queries]] query takes it")
    recent: int = Field(500, ge=1, le=MAX_RECENT, description="how many of the latest stored posts to try")
    show: int = Field(20, ge=0, le=100, description="how many of the matching posts to return")


_POST_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "platform": "x",
    "author_handle": "ana",
    "text": "Subí al cerro con las Cumbre",
    "url": "https://x.com/ana/status/42",
    "created_at": "2026-11-01T12:00:00+00:00",
}


class PreviewPost(Schema):
    """One stored post the query matches (its text cut to 500 characters)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_POST_EXAMPLE]})

    id: int
    platform: str
    author_handle: str
    text: str
    url: str | None
    created_at: Timestamp | None

    @classmethod
    def from_post(cls, post: RecentPost) -> PreviewPost:
        text = post.matched_text
        return cls(
            id=post.id,
            platform=post.platform,
            author_handle=post.author_handle,
            text=text if len(text) <= _TEXT_SHOWN else text[: _TEXT_SHOWN - 1] + "…",
            url=post.url if post.url and post.url.startswith(("https://", "http://")) else None,
            created_at=iso(post.created_at),
        )


class QueryPreview(Schema):
    """What the query matches among the latest posts: how many, and the newest of them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "cumbre lang:es",
                    "canonical": "cumbre lang:es",
                    "tried": 500,
                    "matched": 1,
                    "items": [_POST_EXAMPLE],
                }
            ]
        }
    )

    query: str = Field(description="the query as it was sent")
    canonical: str = Field(description="the query as Tesoro reads it (groups and operators made explicit)")
    tried: int = Field(
        description="how many posts it was tried on (fewer than asked when the store has fewer)"
    )
    matched: int = Field(description="how many of the posts tried it matches")
    items: list[PreviewPost] = Field(description="the newest matching posts first")
