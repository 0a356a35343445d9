"""Replies: the generator's only memory, the recent root posts a later post may answer.

The memory is kept per `rng` object, which lives exactly as long as its world, so two
worlds of the same seed answer the same posts and a discarded world frees its memory.
"""

from __future__ import annotations

import random
import threading
import weakref
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from tesoro.simulator.generator.draw import choice
from tesoro.simulator.generator.mix import REPLY_CHANCE

__all__ = ["Memory", "Root", "replies_memory"]


@dataclass(frozen=True, slots=True)
class Root:
    """A post that started a conversation: what a reply needs to answer it."""

    id: int
    handle: str
    subreddit: str | None
    created_at: datetime


@dataclass(slots=True)
class Memory:
    # (platform, lang) -> recent root posts, the ones a reply may answer
    roots: dict[tuple[str, str], deque[Root]] = field(default_factory=dict)

    def parent_for(
        self, rng: random.Random, platform: str, lang: str, kind: str, post_id: int
    ) -> Root | None:
        """The earlier post this one answers, if it is a reply (only some kinds are, and not often)."""
        roots = self.roots.get((platform, lang))
        if roots and kind in REPLY_CHANCE and rng.random() < REPLY_CHANCE[kind]:
            candidate = choice(rng, roots)
            if candidate.id < post_id:
                return candidate
        return None

    def remember(self, platform: str, lang: str, root: Root) -> None:
        key = (platform, lang)
        if key not in self.roots:
            self.roots[key] = deque(maxlen=64)
        self.roots[key].append(root)


_MEMORIES: weakref.WeakKeyDictionary[random.Random, Memory] = weakref.WeakKeyDictionary()
_MEMORIES_LOCK = threading.Lock()


def replies_memory(rng: random.Random) -> Memory:
    """The replies memory of one world, keyed by its rng (which lives exactly as long as the world)."""
    try:
        memory = _MEMORIES.get(rng)
        if memory is None:
            with _MEMORIES_LOCK:
                memory = _MEMORIES.setdefault(rng, Memory())
    except TypeError:  # an rng that cannot be weakly referenced: no memory, hence no replies
        memory = Memory()
    return memory
