"""Placeholder world generator (being replaced by the full EN/ES generator)."""

from __future__ import annotations

import random
from datetime import datetime

from tesoro.collector.simulator.world import SimAuthor, SimPost, WorldSpec


def generate_post(rng: random.Random, spec: WorldSpec, platform: str, post_id: int, now: datetime) -> SimPost:
    product = rng.choice(spec.products)
    author_id = rng.randrange(1, 500)
    author = SimAuthor(author_id, f"user{author_id}", f"User {author_id}", rng.randrange(10, 5000), 100)
    text = f"Loving my {product.name} from {spec.brand}! #{spec.hashtags[0]}"
    return SimPost(post_id, platform, now, text, "en", author, "review", product=product.name,
                   subreddit=spec.subreddits[0] if platform == "reddit" else None)
