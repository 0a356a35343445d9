"""What every fixture world reads back after seeding: catalog ids by name and post ids by label.

The store assigns its own ids; tests name things ("Andes Outdoor", "p3"), so each world
maps names to ids once, the same way, instead of four hand-written lookups.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlmodel import Session, col, select

from tesoro.store.tables import Brand, Post, Product

__all__ = ["SENTIMENT_PROBS", "brand_ids", "eventually", "post_id", "product_ids", "stays"]

# Probabilities a sentiment head could give a post of each label (the label clearly on top).
SENTIMENT_PROBS: dict[str, dict[str, float]] = {
    "positive": {"negative": 0.05, "neutral": 0.15, "positive": 0.8},
    "neutral": {"negative": 0.1, "neutral": 0.8, "positive": 0.1},
    "negative": {"negative": 0.8, "neutral": 0.15, "positive": 0.05},
}


def brand_ids(session: Session) -> dict[str, int]:
    """Brand name -> id, for the catalog `sync_catalog` wrote."""
    return {b.name: b.id for b in session.exec(select(Brand)) if b.id is not None}


def product_ids(session: Session) -> dict[str, int]:
    """Product name -> id, for the catalog `sync_catalog` wrote."""
    return {p.name: p.id for p in session.exec(select(Product)) if p.id is not None}


def post_id(session: Session, *, platform: str, external_id: str) -> int:
    """The store's id of the post a world seeded as (`platform`, `external_id`)."""
    found = session.exec(
        select(Post.id).where(col(Post.platform) == platform, col(Post.external_id) == external_id)
    ).one()
    assert found is not None
    return int(found)


def eventually(
    check: Callable[[], object], *, timeout: float, message: str | Callable[[], str], poll: float = 0.05
) -> object:
    """Ask `check` until it gives a true value (returned), for at most `timeout` seconds.

    For what another process or thread does in its own time (a subprocess, a worker, a server, a
    browser); `message` is the failure's text, or a callable giving it (a log to show, or the last
    value seen, read at that moment).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(poll)


def stays(condition: Callable[[], object], *, for_s: float, poll: float = 0.05) -> bool:
    """True if `condition` holds all through the next `for_s` seconds, asked every `poll` seconds.

    The other side of `eventually`: for what another thread or process must not do (grow, write,
    send) once it was told to stop. False as soon as the condition fails once.
    """
    deadline = time.monotonic() + for_s
    while time.monotonic() < deadline:
        if not condition():
            return False
        time.sleep(poll)
    return bool(condition())
