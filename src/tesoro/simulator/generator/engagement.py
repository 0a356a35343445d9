"""Likes, reposts, replies, quotes and views: heavy-tailed, as in real feeds.

A followers-driven base times a lognormal draw, with rare viral hits, scaled by
kind (memes and videos travel, spam does not) and by platform (the fediverse is
quieter than X for the same audience).
"""

from __future__ import annotations

import random

__all__ = ["metrics"]

# Relative engagement per kind (multiplies a followers-driven base).
_ENGAGEMENT = {
    "review": 1.0,
    "photo": 1.6,
    "video": 2.2,
    "unboxing": 1.3,
    "tutorial": 1.5,
    "testimonial": 0.9,
    "complaint": 0.8,
    "question": 0.5,
    "meme": 2.5,
    "comparison": 1.1,
    "spam": 0.05,
    "offtopic": 0.7,
}
# Overall engagement scale per platform: the fediverse is quieter than X for the same audience.
_PLATFORM_ENGAGEMENT = {
    "x": 0.06,
    "bluesky": 0.04,
    "mastodon": 0.025,
    "reddit": 0.06,
    "youtube": 0.05,
    "tiktok": 0.5,
}
# Instagram: a photo feed engages more per follower; Threads about like X.
_PLATFORM_ENGAGEMENT |= {"instagram": 0.12, "threads": 0.05}


def metrics(
    rng: random.Random, platform: str, kind: str, followers: int, reply: bool, has_media: bool
) -> tuple[int, int, int, int, int | None]:
    """(likes, reposts, replies, quotes, views); Reddit has upvotes and comments only, views only X."""
    exponent = 0.5 if platform == "reddit" else 0.72
    base = (followers + 20) ** exponent * _PLATFORM_ENGAGEMENT[platform] * _ENGAGEMENT[kind]
    base *= rng.lognormvariate(0.0, 1.1)
    if has_media:
        base *= 1.4
    if rng.random() < 0.01:
        base *= rng.uniform(20.0, 200.0)
    if reply:
        base *= 0.15
    # Even a viral post rarely gets likes from more than a third of an audience (plus strangers).
    likes = min(int(base), followers // 3 + 2_000)
    if platform == "reddit":
        likes = max(1, likes)  # a submission starts with its author's own upvote
        replies = int(likes * rng.uniform(0.1, 0.6))
        return likes, int(likes * rng.uniform(0.0, 0.02)), replies, 0, None
    reposts = int(likes * rng.uniform(0.03, 0.25))
    replies = int(likes * rng.uniform(0.02, 0.12) + rng.random() * 1.5)
    quotes = int(reposts * rng.uniform(0.0, 0.15)) if platform != "mastodon" else 0
    views = None
    if platform in ("youtube", "tiktok"):  # video platforms count plays; far more people watch than like
        return (
            likes,
            reposts,
            replies,
            0,
            int(likes * rng.uniform(15.0, 60.0) + followers * rng.uniform(0.05, 0.5)),
        )
    if platform == "x":
        views = int(followers * rng.uniform(0.03, 0.4) + likes * rng.uniform(20.0, 80.0)) + rng.randrange(
            3, 150
        )
    return likes, reposts, replies, quotes, views
