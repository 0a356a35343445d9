"""The simulator's world: a growing, thread-safe pool of platform-neutral posts.

Post ids are one global, strictly increasing integer sequence, so "newer than X"
is a plain integer comparison for every platform. What a post says comes from a
`Generator`, by default the simulator's own (`tesoro.simulator.generator`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from tesoro.simulator.generator import generate_post
from tesoro.simulator.model import PLATFORMS, SimAuthor, SimMedia, SimPost, WorldSpec
from tesoro.simulator.rights import answer

__all__ = ["Generator", "World"]

# A generator makes one post: (rng, spec, platform, post_id, now) -> SimPost.
Generator = Callable[[random.Random, WorldSpec, str, int, datetime], SimPost]


@dataclass
class World:
    """All posts of all platforms, in id order. Safe to grow from another thread."""

    spec: WorldSpec = field(default_factory=WorldSpec)
    generator: Generator = generate_post
    _posts: list[SimPost] = field(default_factory=list, init=False)
    _next_id: int = field(default=1_000_000, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    # Posts their platform deleted: search and lookups no longer find them.
    _deleted: set[int] = field(default_factory=set, init=False)
    _rng: random.Random = field(init=False)
    # Rights conversations (`reply`): replies by the id of the post they answer, each with the moment
    # it becomes visible; kept apart from the public posts, so searches never return them.
    _thread: dict[int, list[tuple[SimPost, datetime]]] = field(default_factory=dict, init=False)
    # What each asked author did (`tesoro.simulator.rights.BEHAVIOURS`), by the asked post's id.
    behaviours: dict[int, str] = field(default_factory=dict, init=False)
    # How long a "late" author waits before answering, and how far `skip` moved the thread clock.
    late_after: timedelta = timedelta(seconds=3)
    # Authors take their own time to answer (`tesoro.simulator.rights.answer_delay`), as real ones do;
    # off by default, so a test sees most answers at once.
    realistic_delays: bool = False
    _skipped: timedelta = field(default=timedelta(0), init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.spec.seed)

    def grow(
        self, n: int, *, platforms: Sequence[str] = PLATFORMS, now: datetime | None = None
    ) -> list[SimPost]:
        """Add `n` new posts to each of `platforms`; returns them in id order."""
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

    def edit(self, post_id: int, *, text: str, media: tuple[SimMedia, ...] | None = None) -> SimPost:
        """Edit a post as X does: a new version with a new id, its edit history naming the earlier ones.

        The new version keeps the original's time, author and metrics; the simulator's X search
        then serves only the newest version of each chain, with the whole chain's ids.
        """
        with self._lock:
            old = next((p for p in self._posts if p.id == post_id), None)
            if old is None:
                raise KeyError(f"no post {post_id}")
            self._next_id += 1
            new = replace(
                old,
                id=self._next_id,
                text=text,
                media=old.media if media is None else media,
                edit_history=(*old.edit_history, old.id),
            )
            self._posts.append(new)
        return new

    def delete(self, post_id: int) -> None:
        """The platform deletes a post (every version of an X edit chain): nothing serves it any more."""
        with self._lock:
            post = next((p for p in self._posts if p.id == post_id), None)
            if post is None:
                raise KeyError(f"no post {post_id}")
            chain = {post.id, *post.edit_history}
            self._deleted.update(p.id for p in self._posts if p.id in chain or chain & set(p.edit_history))

    def deleted(self, platform: str) -> list[SimPost]:
        """A snapshot of one platform's deleted posts, oldest first (Reddit still lists them, emptied)."""
        with self._lock:
            return [p for p in self._posts if p.platform == platform and p.id in self._deleted]

    def brand_account(self) -> SimAuthor:
        return SimAuthor(id=1, handle=self.spec.handle, name=self.spec.brand, followers=5000, following=10)

    def reply(self, parent_id: int, text: str, *, now: datetime | None = None) -> SimPost:
        """The brand replies under a post or a reply (a rights request); the author's answer follows.

        Raises KeyError for a post that does not exist or was deleted. The first request under a
        post decides its author's behaviour (`tesoro.simulator.rights`).
        """
        stamp = now or datetime.now(UTC)
        with self._lock:
            parent = self._find(parent_id)
            if parent is None:
                raise KeyError(f"no post {parent_id}")
            self._next_id += 1
            mine = SimPost(
                id=self._next_id,
                platform=parent.platform,
                created_at=stamp,
                text=text,
                lang=parent.lang,
                author=self.brand_account(),
                kind="rights_request",
                reply_to=parent_id,
            )
            self._thread.setdefault(parent_id, []).append((mine, stamp))
            root = parent if parent.kind != "rights_request" else self._find(parent.reply_to or 0) or parent
            behaviour, replies = answer(
                post=root, request=mine, seed=self.spec.seed, next_id=self._next_id + 1, now=stamp,
                late_after=self.late_after, realistic=self.realistic_delays,
            )  # fmt: skip
            self.behaviours.setdefault(root.id, behaviour)
            self._next_id += len(replies)
            if replies:
                self._thread.setdefault(mine.id, []).extend(replies)
            if behaviour == "deleted":
                self._deleted.add(root.id)
        return mine

    def _find(self, post_id: int) -> SimPost | None:
        """A live post or rights reply by id (caller holds the lock)."""
        if post_id in self._deleted:
            return None
        found = next((p for p in self._posts if p.id == post_id), None)
        if found is not None:
            return found
        for replies in self._thread.values():
            for post, _ in replies:
                if post.id == post_id:
                    return post
        return None

    def find(self, post_id: int) -> SimPost | None:
        with self._lock:
            return self._find(post_id)

    def thread(self, post_id: int, *, now: datetime | None = None) -> list[SimPost]:
        """Every visible reply under `post_id`, at any depth, oldest first."""
        moment = (now or datetime.now(UTC)) + self._skipped
        out: list[SimPost] = []
        with self._lock:
            pending = [post_id]
            while pending:
                for post, visible in self._thread.get(pending.pop(), []):
                    if visible <= moment and post.id not in self._deleted:
                        out.append(post)
                        pending.append(post.id)
        return sorted(out, key=lambda p: p.id)

    def skip(self, delta: timedelta) -> None:
        """Let `delta` pass for the rights conversations: late answers due by then become visible."""
        with self._lock:
            self._skipped += delta

    def next_id(self) -> int:
        with self._lock:
            return self._next_id + 1

    def posts(self, platform: str) -> list[SimPost]:
        """A snapshot of one platform's posts, oldest first."""
        with self._lock:
            return [p for p in self._posts if p.platform == platform and p.id not in self._deleted]

    def __len__(self) -> int:
        with self._lock:
            return len(self._posts)

    def stamp(self) -> tuple[int, int]:
        """Changes whenever what `posts` returns may have: posts are only appended (an edit is a new
        post) or deleted, and never change in place (they are frozen)."""
        with self._lock:
            return len(self._posts), len(self._deleted)
