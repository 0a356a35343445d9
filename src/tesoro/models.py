"""The value types every layer shares.

The normalized shapes every collector produces: each platform speaks its own
JSON; the rest of Tesoro only ever sees these plain, immutable records. Also the
content types (and their stored bitmask) and the duplicate-detection fingerprint,
which the store persists and the curator computes. Keeping them free of ORM and client-library types
means a collector can be tested without a database, and the store can be
tested without a network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "CONTENT_FLAGS",
    "CONTENT_TYPES",
    "UNNAMED_AUTHOR_PREFIX",
    "CreatedKey",
    "Cursor",
    "Fingerprint",
    "MediaType",
    "NormalizedAuthor",
    "NormalizedMedia",
    "NormalizedPost",
    "Page",
    "Platform",
    "PostMetrics",
    "RejectedItem",
    "Signature",
    "StoredPost",
    "content_flags",
    "content_mask",
]


class Platform(StrEnum):
    """Where a post came from. `file` marks imports from JSONL/CSV backfills."""

    X = "x"
    REDDIT = "reddit"
    BLUESKY = "bluesky"
    MASTODON = "mastodon"
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    FACEBOOK = "facebook"
    YOUTUBE = "youtube"
    THREADS = "threads"
    FILE = "file"


class MediaType(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    GIF = "gif"


# A source's position in a platform's stream. Opaque to the store (saved as JSON);
# each adapter decides what it holds (since_id, an in-progress next_token, ...).
Cursor = dict[str, Any]


# An author's external id starts so when the platform did not say whose post it is (Instagram's hashtag
# media): a stand-in, one per post, that the post's named owner replaces once another answer names it.
UNNAMED_AUTHOR_PREFIX = "media:"


@dataclass(frozen=True, slots=True)
class NormalizedAuthor:
    platform: Platform
    external_id: str
    handle: str
    display_name: str | None = None
    followers: int | None = None
    following: int | None = None
    verified: bool = False
    profile_url: str | None = None
    avatar_url: str | None = None
    bio: str | None = None
    # The platform says the account was deleted or suspended (Reddit's `[deleted]`, Mastodon's
    # `suspended`): nobody can tell its posts apart by author any more, so the store keeps such an
    # author once per post and never lets two posts, or an identity link, share it.
    gone: bool = False


@dataclass(frozen=True, slots=True)
class NormalizedMedia:
    type: MediaType
    url: str
    preview_url: str | None = None
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    size_bytes: int | None = None
    alt_text: str | None = None


@dataclass(frozen=True, slots=True)
class PostMetrics:
    """Public interaction counts as the platform reported them when collected."""

    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    views: int | None = None

    @property
    def interactions(self) -> int:
        return self.likes + self.reposts + self.replies + self.quotes


@dataclass(frozen=True, slots=True)
class NormalizedPost:
    platform: Platform
    external_id: str
    text: str
    created_at: datetime
    author: NormalizedAuthor
    lang: str | None = None
    url: str | None = None
    title: str | None = None
    media: tuple[NormalizedMedia, ...] = ()
    metrics: PostMetrics = field(default_factory=PostMetrics)
    reply_to_id: str | None = None
    quote_of_id: str | None = None
    conversation_id: str | None = None
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    # Safety flags the platform or the author set, as CONTENT_FLAGS names (sorted, no repeats).
    content_flags: tuple[str, ...] = ()
    # The post's edit chain, original first (X `edit_history_tweet_ids`); empty where there is none.
    # The store keeps one post per chain, under the first id, with every id as an alias.
    edit_ids: tuple[str, ...] = ()
    # The platform says the post was deleted or removed (Reddit's `[deleted]` body or
    # `removed_by_category`): the store marks a stored post deleted (the gallery drops it) and never
    # stores a new one.
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """One unit of collected work: the posts and the cursor that covers them.

    The runner stores `posts` and saves `cursor` in one transaction, so a crash
    between two pages neither loses nor duplicates anything.
    """

    posts: tuple[NormalizedPost, ...]
    cursor: Cursor
    # Items of this page an adapter could not turn into a post: the runner quarantines them with
    # the page (`collector.boundary`), so the cursor still moves past them.
    rejected: tuple[RejectedItem, ...] = ()


@dataclass(frozen=True, slots=True)
class RejectedItem:
    """One collected item that failed the collector boundary, kept in quarantine with why.

    `raw` is what can rebuild it for a retry: a file row (`kind` "row") or the normalized
    post as JSON values (`kind` "post"); `line` is the file line where there is one.
    """

    platform: str
    external_id: str | None
    raw: Any
    reason: str
    kind: str = "row"
    line: int | None = None


# Safety flags a platform reports for a post (Reddit `over_18`, Mastodon `sensitive` and
# `spoiler_text`, Bluesky labels, X `possibly_sensitive`), normalized to these names:
#   nsfw       adult or graphic content (Reddit over_18, Bluesky porn/sexual/nudity/graphic-media)
#   sensitive  the author or platform hid the media behind a warning (Mastodon sensitive,
#              X possibly_sensitive, Bluesky labels that are not nsfw)
#   spoiler    the text sits behind a content warning (Mastodon spoiler_text, Reddit spoiler)
CONTENT_FLAGS: tuple[str, ...] = ("nsfw", "sensitive", "spoiler")


def content_flags(flags: Iterable[str]) -> tuple[str, ...]:
    """The known flags among `flags`, sorted and without repeats (how a post and the store keep them)."""
    return tuple(sorted({f for f in flags if f in CONTENT_FLAGS}))


# Bit i of a stored content mask is CONTENT_TYPES[i]: append new types, never reorder.
CONTENT_TYPES: tuple[str, ...] = (
    "photo",
    "video",
    "review",
    "unboxing",
    "tutorial",
    "testimonial",
    "complaint",
    "question",
    "meme",
    "other",
)


def content_mask(types: Iterable[str]) -> int:
    """Bitmask of the known content types (filters and facets test bits, on every backend)."""
    mask = 0
    for t in types:
        if t in CONTENT_TYPES:
            mask |= 1 << CONTENT_TYPES.index(t)
    return mask


Signature = npt.NDArray[np.uint32]
CreatedKey = tuple[float, int]  # (created_at timestamp, post id): the smallest is the original


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What duplicate detection keeps of one post: skeleton hash, MinHash signature, band keys."""

    skeleton: str | None
    signature: Signature | None
    bands: tuple[int, ...] = ()
    # The image groups of the post's processed images (`tesoro.media.dedupe`): a shared one makes
    # two posts near-duplicates whatever their text.
    images: tuple[int, ...] = ()

    @property
    def signature_bytes(self) -> bytes | None:
        return None if self.signature is None else self.signature.astype("<u4").tobytes()

    @staticmethod
    def signature_from(data: bytes | None) -> Signature | None:
        if not data:
            return None
        return np.frombuffer(data, dtype="<u4").astype(np.uint32)


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A post already in the store: a candidate (with its fingerprint) or a member of a touched group."""

    post_id: int
    created: CreatedKey
    original: int | None
    fingerprint: Fingerprint | None = None
    embedding: npt.NDArray[np.float32] | None = None
