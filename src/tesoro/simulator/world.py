"""The simulator's world: a growing, thread-safe pool of platform-neutral posts.

Each platform module in this package renders the same `SimPost`s in its own
JSON shape and ID format. Post ids are one global, strictly increasing integer
sequence, so "newer than X" is a plain integer comparison for every platform.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["ProductSpec", "SimAuthor", "SimMedia", "SimPost", "World", "WorldSpec"]

PLATFORMS: tuple[str, ...] = ("x", "reddit", "bluesky", "mastodon")
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


# A generator makes one post: (rng, spec, platform, post_id, now) -> SimPost.
Generator = Callable[[random.Random, WorldSpec, str, int, datetime], SimPost]


@dataclass
class World:
    """All posts of all platforms, in id order. Safe to grow from another thread."""

    spec: WorldSpec = field(default_factory=WorldSpec)
    generator: Generator | None = None
    _posts: list[SimPost] = field(default_factory=list, init=False)
    _next_id: int = field(default=1_000_000, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.spec.seed)
        if self.generator is None:
            from tesoro.simulator.generator import generate_post

            self.generator = generate_post

    def grow(
        self, n: int, *, platforms: Sequence[str] = PLATFORMS, now: datetime | None = None
    ) -> list[SimPost]:
        """Add `n` new posts to each of `platforms`; returns them in id order."""
        assert self.generator is not None
        added: list[SimPost] = []
        with self._lock:
            for _ in range(n):
                for platform in platforms:
                    self._next_id += 1 + self._rng.randrange(3)
                    stamp = now or datetime.now(UTC)
                    added.append(self.generator(self._rng, self.spec, platform, self._next_id, stamp))
            self._posts.extend(added)
        return added

    def add(self, post: SimPost) -> None:
        """Insert a hand-made post (tests use this for hostile or edge-case content)."""
        with self._lock:
            if post.id <= self._next_id:
                raise ValueError(f"post id {post.id} must be above the last id {self._next_id}")
            self._next_id = post.id
            self._posts.append(post)

    def next_id(self) -> int:
        with self._lock:
            return self._next_id + 1

    def posts(self, platform: str) -> list[SimPost]:
        """A snapshot of one platform's posts, oldest first."""
        with self._lock:
            return [p for p in self._posts if p.platform == platform]

    def __len__(self) -> int:
        with self._lock:
            return len(self._posts)
