"""The shape of the feed: how often each kind of post appears, and how each platform shifts it.

These numbers are the generator's model of a real social-listening feed, not phrase data:
changing one changes every generated world, and the tests pin the proportions they imply.
"""

from __future__ import annotations

from itertools import accumulate

__all__ = [
    "ALT_TEXT_CHANCE",
    "BRAND_TAG_CHANCE",
    "CELEB_CHANCE",
    "CELEB_KINDS",
    "KINDS",
    "KIND_WEIGHTS",
    "PRODUCT_CHANCE",
    "REPLY_CHANCE",
    "SPANISH_SHARE",
    "TEXT_LIMITS",
    "TOPIC_TAGS_MAX",
    "kind_cumulative",
]

# Base share of each kind, in percent. UGC worth curating is a minority, as in real feeds.
KIND_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("review", 18.0),
    ("photo", 10.0),
    ("video", 8.0),
    ("unboxing", 7.0),
    ("tutorial", 7.0),
    ("testimonial", 8.0),
    ("complaint", 8.0),
    ("question", 9.0),
    ("meme", 5.0),
    ("comparison", 6.0),
    ("spam", 8.0),
    ("offtopic", 6.0),
)
KINDS: tuple[str, ...] = tuple(kind for kind, _ in KIND_WEIGHTS)

# Each platform's culture shifts the mix a little.
_PLATFORM_KIND_FACTORS: dict[str, dict[str, float]] = {
    "x": {"spam": 1.4, "meme": 1.2, "tutorial": 0.8},
    "reddit": {"spam": 0.5, "question": 1.7, "photo": 0.7, "review": 1.2, "comparison": 1.3},
    "bluesky": {"spam": 0.7, "photo": 1.2},
    "mastodon": {"spam": 0.4, "photo": 1.3, "offtopic": 1.2},
    "youtube": {"video": 3.0, "tutorial": 2.5, "unboxing": 2.0, "review": 1.5, "photo": 0.2, "spam": 0.5},
    "tiktok": {"video": 3.0, "meme": 2.0, "unboxing": 1.8, "photo": 0.3, "question": 0.6},
}
SPANISH_SHARE = 0.30
TEXT_LIMITS = {
    "x": 280,
    "bluesky": 300,
    "mastodon": 500,
    "reddit": 4000,
    "instagram": 2200,
    "threads": 500,
    "youtube": 5000,
    "tiktok": 2200,
}
# Chance that a post carries the brand's own hashtag; Mastodon lives on hashtags, Reddit ignores them.
BRAND_TAG_CHANCE = {
    "x": 0.45,
    "bluesky": 0.35,
    "mastodon": 0.8,
    "reddit": 0.04,
    "instagram": 0.75,
    "threads": 0.3,
    "youtube": 0.3,
    "tiktok": 0.7,
}
TOPIC_TAGS_MAX = {
    "x": 2,
    "bluesky": 1,
    "mastodon": 3,
    "reddit": 0,
    "instagram": 5,
    "threads": 1,
    "youtube": 2,
    "tiktok": 4,
}
ALT_TEXT_CHANCE = {
    "x": 0.2,
    "bluesky": 0.5,
    "mastodon": 0.85,
    "reddit": 0.0,
    "instagram": 0.1,
    "threads": 0.1,
    "youtube": 0.0,
    "tiktok": 0.0,
}
# Kinds that may be a reply to an earlier post, and how often.
REPLY_CHANCE = {
    "review": 0.08,
    "testimonial": 0.15,
    "complaint": 0.12,
    "question": 0.15,
    "comparison": 0.15,
    "meme": 0.12,
    "spam": 0.25,
}
# Kinds where a post can be about the brand rather than one product, with the chance it is about a product.
PRODUCT_CHANCE = {"testimonial": 0.6, "complaint": 0.6, "question": 0.75, "meme": 0.6}
# Kinds a 100k+ account plausibly posts.
CELEB_KINDS = frozenset({"review", "video", "tutorial", "photo", "unboxing", "comparison"})
CELEB_CHANCE = 0.05


def kind_cumulative(platform: str) -> tuple[float, ...]:
    """Cumulative kind weights on `platform`, in `KINDS` order, for one bisect per pick."""
    factors = _PLATFORM_KIND_FACTORS.get(platform, {})
    return tuple(accumulate(weight * factors.get(kind, 1.0) for kind, weight in KIND_WEIGHTS))
