"""The simulator's value types: what the world is about, and the posts, authors and media in it.

They sit in a module of their own so that the world (which grows) and the generator (which
makes each post) both build on them without importing each other. Every platform module
renders the same `SimPost`s in its own JSON shape and ID format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "BSKY_MEDIA_HOST",
    "PLATFORMS",
    "VIDEO_PLATFORMS",
    "ProductSpec",
    "SimAuthor",
    "SimMedia",
    "SimPost",
    "WorldSpec",
]

# The platforms whose APIs the simulator serves (Slack is served too, but has no posts).
PLATFORMS: tuple[str, ...] = ("x", "reddit", "bluesky", "mastodon", "instagram", "threads")
# Video platforms, grown on request (`World.grow(n, platforms=...)`, the demo grows them): every root
# post is a video, and a YouTube reply is a top-level comment on its video. Kept apart from PLATFORMS so
# the other platforms' worlds stay the same, draw for draw, for a given seed.
VIDEO_PLATFORMS: tuple[str, ...] = ("youtube", "tiktok")
# Bluesky serves images and avatars from this host (real URLs, so the media allow-list is exercised).
BSKY_MEDIA_HOST = "cdn.bsky.app"


@dataclass(frozen=True, slots=True)
class ProductSpec:
    name: str
    aliases: tuple[str, ...] = ()
    line: str | None = None


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """What the world talks about: one brand, its products and competitors."""

    brand: str = "Andes Outdoor"
    handle: str = "andesoutdoor"
    hashtags: tuple[str, ...] = ("andesoutdoor",)
    products: tuple[ProductSpec, ...] = (
        ProductSpec("Cumbre Trail Runner", ("cumbre", "cumbre trail"), "footwear"),
        ProductSpec("Nube Rain Jacket", ("nube jacket", "nube"), "apparel"),
        ProductSpec("Volcan 40L Pack", ("volcan pack", "volcan 40"), "packs"),
    )
    competitors: tuple[str, ...] = ("Patagonia", "Salomon")
    subreddits: tuple[str, ...] = ("trailrunning", "hiking")
    seed: int = 7


@dataclass(frozen=True, slots=True)
class SimAuthor:
    id: int
    handle: str
    name: str
    followers: int
    following: int
    verified: bool = False
    bio: str = ""
    is_bot: bool = False
    # Deleted (Reddit shows `[deleted]`) or suspended (Mastodon's `suspended`) since posting.
    gone: bool = False


@dataclass(frozen=True, slots=True)
class SimMedia:
    key: str
    type: str  # photo | video | gif
    url: str
    preview_url: str
    width: int
    height: int
    duration_ms: int | None = None
    size_bytes: int | None = None
    alt_text: str | None = None


@dataclass(frozen=True, slots=True)
class SimPost:
    id: int
    platform: str
    created_at: datetime
    text: str
    lang: str
    author: SimAuthor
    kind: str  # review, unboxing, tutorial, complaint, question, photo, video, spam, offtopic, ...
    media: tuple[SimMedia, ...] = ()
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    views: int | None = None
    title: str | None = None
    subreddit: str | None = None
    reply_to: int | None = None
    hashtags: tuple[str, ...] = ()
    product: str | None = None
    # X: this post is an edit; the ids of its earlier versions, the original first (`World.edit`).
    edit_history: tuple[int, ...] = ()
    # Safety flags as the platform shows them: "nsfw" (Reddit over_18, Mastodon sensitive, X
    # possibly_sensitive, a Bluesky self-label `porn`), "sensitive" (Mastodon sensitive, X
    # possibly_sensitive, Bluesky's moderation label `!warn`), "spoiler" (Reddit spoiler; Mastodon
    # puts the title in spoiler_text anyway).
    flags: tuple[str, ...] = ()
    # A quote of that post of the same platform (X `referenced_tweets` "quoted", a Bluesky record
    # embed of a post, a Mastodon 4.5 `quote`).
    quote_of: int | None = None
    # Bluesky: the post embeds a record that is no post: "starter_pack", "list" or "feed".
    embeds_record: str | None = None
    # Reddit: a crosspost of that submission (its own title, the parent's body and media).
    crosspost_of: int | None = None
    # Reddit: the media sit inside a text post's body (`media_metadata`, no gallery), as in a photo
    # review written as a text post.
    media_inline: bool = False
