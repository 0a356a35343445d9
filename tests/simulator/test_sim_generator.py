"""The simulator's world generator: deterministic, bilingual, varied, and shaped like a real feed.

Everything downstream (filters, scorers, curation, the demo) is exercised on this world,
so these tests pin the properties those stages rely on: every content kind shows up,
Spanish posts are Spanish, bots duplicate each other, a few accounts are huge, some
people post again and again, and the same seed always gives the same world.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from urllib.parse import urlsplit

import pytest

from tesoro.simulator.generator import generate_post
from tesoro.simulator.model import PLATFORMS, ProductSpec, SimPost, WorldSpec
from tesoro.simulator.world import World

WHEN = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SPEC = WorldSpec(seed=11)
ALL_KINDS = {
    "review", "unboxing", "tutorial", "testimonial", "complaint", "question",
    "photo", "video", "meme", "comparison", "spam", "offtopic",
}  # fmt: skip
MEDIA_HOSTS = {
    "x": {"pbs.twimg.com", "video.twimg.com"},
    "reddit": {"i.redd.it", "v.redd.it", "preview.redd.it"},
    "bluesky": {"cdn.bsky.app", "video.bsky.app"},
    "mastodon": {"files.mastodon.social"},
    "instagram": {"scontent.cdninstagram.com"},
    "threads": {"scontent.cdninstagram.com"},
}
TEXT_LIMITS = {"x": 280, "bluesky": 300, "mastodon": 500, "instagram": 2200, "threads": 500}
# Function words: frequent, short, and specific enough to tell the two languages apart.
SPANISH_WORDS = frozenset({
    "de", "la", "el", "que", "y", "en", "los", "las", "con", "por", "para", "mi", "es", "un", "una", "lo",
    "se", "del", "al", "muy", "pero", "más", "tu", "sin", "desde", "está", "gratis", "hace", "antes", "hoy",
    "gracias", "aquí", "también", "yo", "nadie", "qué", "cómo", "solo", "ya", "si", "bien",
})  # fmt: skip
ENGLISH_WORDS = frozenset({
    "the", "and", "is", "my", "with", "this", "for", "it", "of", "to", "after", "you", "your", "are", "have",
    "from", "on", "at",
})  # fmt: skip
_WORD = re.compile(r"[a-záéíóúñü']+")


@pytest.fixture(scope="module")
def posts() -> list[SimPost]:
    """2,000 posts: 500 per platform, with a fixed clock."""
    return World(spec=SPEC).grow(500, now=WHEN)


def _counts(text: str) -> tuple[int, int]:
    words = _WORD.findall(text.casefold())
    return sum(w in SPANISH_WORDS for w in words), sum(w in ENGLISH_WORDS for w in words)


def _without_reply_mentions(text: str) -> str:
    return re.sub(r"^(@\S+\s+)+", "", text)


def test_the_same_seed_gives_the_same_world() -> None:
    first = World(spec=WorldSpec(seed=5)).grow(100, now=WHEN)
    again = World(spec=WorldSpec(seed=5)).grow(100, now=WHEN)
    other = World(spec=WorldSpec(seed=6)).grow(100, now=WHEN)
    assert first == again
    assert [p.text for p in first] != [p.text for p in other]


def test_calling_the_generator_directly_is_deterministic_too() -> None:
    def run() -> list[SimPost]:
        rng = random.Random(99)
        return [generate_post(rng, SPEC, PLATFORMS[i % 4], 10_000 + 3 * i, WHEN) for i in range(200)]

    assert run() == run()


def test_about_seventy_percent_english_thirty_percent_spanish(posts: list[SimPost]) -> None:
    langs = Counter(p.lang for p in posts)
    assert set(langs) == {"en", "es"}
    assert 0.24 <= langs["es"] / len(posts) <= 0.36


def test_every_kind_appears_on_every_platform(posts: list[SimPost]) -> None:
    assert {p.kind for p in posts} == ALL_KINDS
    for platform in PLATFORMS:
        kinds = {p.kind for p in posts if p.platform == platform}
        assert len(kinds) >= 11, (platform, ALL_KINDS - kinds)


def test_spanish_posts_are_spanish_and_english_posts_are_english(posts: list[SimPost]) -> None:
    for post in posts:
        spanish, english = _counts(post.text)
        if post.lang == "es":
            assert spanish >= 2 and spanish > english, post.text
        else:
            assert english >= spanish, post.text


def test_spam_comes_from_bots_that_repeat_each_other(posts: list[SimPost]) -> None:
    spam = [p for p in posts if p.kind == "spam"]
    assert spam and all(p.author.is_bot for p in spam)
    assert not any(p.author.is_bot for p in posts if p.kind != "spam")
    accounts: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for post in spam:
        accounts[_without_reply_mentions(post.text)].add((post.platform, post.author.handle))
    assert max(len(a) for a in accounts.values()) >= 5
    # Link farms and the tell-tale follower/following ratio.
    assert any(len(re.findall(r"https?://", p.text)) >= 3 for p in spam)
    assert all(p.author.following > 20 * max(p.author.followers, 1) for p in spam)


def test_a_few_authors_have_huge_audiences(posts: list[SimPost]) -> None:
    big = {p.author for p in posts if p.author.followers >= 100_000}
    assert big
    assert all(a.followers <= 5_000_000 and not a.is_bot for a in big)
    assert any(a.verified for a in big)
    # ...and they get far more engagement than the median post.
    median = sorted(p.likes for p in posts)[len(posts) // 2]
    assert max(p.likes for p in posts if p.author in big) > 20 * max(median, 1)


def test_authors_come_from_a_stable_pool_with_repeat_advocates(posts: list[SimPost]) -> None:
    by_handle: dict[tuple[str, str], set[object]] = defaultdict(set)
    for post in posts:
        by_handle[(post.platform, post.author.handle)].add(post.author)
    assert all(len(authors) == 1 for authors in by_handle.values())
    for platform in PLATFORMS:
        per_author = Counter(p.author.handle for p in posts if p.platform == platform)
        assert 50 <= len(per_author) <= 400
        assert per_author.most_common(1)[0][1] >= 10  # an advocate
    assert len({p.author.id for p in posts}) == len(by_handle)


def test_ids_strictly_increase_and_time_moves_forward(posts: list[SimPost]) -> None:
    ids = [p.id for p in posts]
    assert all(a < b for a, b in pairwise(ids))
    assert all(WHEN - timedelta(seconds=120) <= p.created_at <= WHEN for p in posts)
    rng = random.Random(1)
    assert generate_post(rng, SPEC, "x", 4242, WHEN).id == 4242


def test_replies_answer_earlier_posts_on_the_same_platform(posts: list[SimPost]) -> None:
    by_id = {p.id: p for p in posts}
    replies = [p for p in posts if p.reply_to is not None]
    assert len(replies) >= 50
    for reply in replies:
        assert reply.reply_to is not None
        parent = by_id[reply.reply_to]
        assert parent.platform == reply.platform and parent.id < reply.id
        assert parent.reply_to is None
        assert reply.created_at >= parent.created_at


def test_reddit_posts_have_subreddits_and_submissions_have_titles(posts: list[SimPost]) -> None:
    for post in posts:
        if post.platform != "reddit":
            assert post.title is None and post.subreddit is None
            continue
        assert post.subreddit in SPEC.subreddits
        if post.reply_to is None:
            assert post.title and "{" not in post.title
        else:
            assert post.title is None


def test_media_is_plausible_and_on_each_platforms_own_host(posts: list[SimPost]) -> None:
    assert all(p.media for p in posts if p.kind in ("photo", "video"))
    assert all(p.media[0].type == "video" for p in posts if p.kind == "video")
    keys = [m.key for p in posts for m in p.media]
    assert len(keys) == len(set(keys))
    for post in posts:
        for media in post.media:
            assert media.type in ("photo", "video", "gif")
            for url in (media.url, media.preview_url):
                assert url.startswith("https://") and urlsplit(url).hostname in MEDIA_HOSTS[post.platform], (
                    url
                )
            assert media.width > 0 and media.height > 0 and (media.size_bytes or 0) > 0
            if media.type == "photo":
                assert media.duration_ms is None
            else:
                assert (media.duration_ms or 0) > 0
    assert any(m.alt_text for p in posts for m in p.media)


def test_metrics_are_heavy_tailed_and_views_exist_only_on_x(posts: list[SimPost]) -> None:
    assert all((p.views is not None) == (p.platform == "x") for p in posts)
    likes = sorted(p.likes for p in posts)
    assert likes[len(likes) // 2] < 50 < likes[-1] // 10
    assert all(min(p.likes, p.reposts, p.replies, p.quotes) >= 0 for p in posts)


def test_texts_are_varied_and_fit_each_platform(posts: list[SimPost]) -> None:
    texts = [p.text for p in posts if p.kind != "spam"]
    assert len(set(texts)) > 0.9 * len(texts)
    sentences = {s for t in texts for s in re.split(r"(?<=[.!?])\s+", t)}
    assert len(sentences) > 1500
    assert not any("{" in p.text or "}" in p.text for p in posts)
    for post in posts:
        assert len(post.text) <= TEXT_LIMITS.get(post.platform, 40_000)


def test_hashtags_are_in_the_text(posts: list[SimPost]) -> None:
    tagged = [p for p in posts if p.hashtags]
    assert len(tagged) > len(posts) // 4
    for post in tagged:
        for tag in post.hashtags:
            assert f"#{tag}" in post.text.casefold()
    brand_tag = SPEC.hashtags[0]
    mastodon = [p for p in posts if p.platform == "mastodon" and p.kind not in ("spam", "offtopic")]
    assert sum(brand_tag in p.hashtags for p in mastodon) > len(mastodon) // 2


def test_posts_name_their_product_and_offtopic_posts_do_not(posts: list[SimPost]) -> None:
    names = {p.name: (p.name, *p.aliases) for p in SPEC.products}
    assert {p.product for p in posts} == {*names, None}
    for post in posts:
        if post.product is not None:
            assert any(form.casefold() in post.text.casefold() for form in names[post.product]), post.text
    offtopic = [p for p in posts if p.kind == "offtopic"]
    assert all(p.product is None for p in offtopic)
    # They use the brand's words for something else: "the Andes", a dog called Cumbre, a job ad.
    words = {SPEC.brand.split()[0].casefold()} | {a.split()[0] for p in SPEC.products for a in p.aliases}
    assert all(any(w in p.text.casefold() for w in words) for p in offtopic)


def test_reviews_are_both_positive_and_negative(posts: list[SimPost]) -> None:
    stars = Counter(
        m.group(1) for p in posts if p.kind == "review" for m in re.finditer(r"\b(\d)[.,]?\d?/5", p.text)
    )
    assert stars["5"] and stars["1"]


def test_a_spec_without_products_or_extras_still_generates() -> None:
    spec = WorldSpec(
        brand="Lumen Labs",
        handle="lumenlabs",
        hashtags=(),
        products=(),
        competitors=(),
        subreddits=(),
        seed=3,
    )
    posts = World(spec=spec).grow(150, now=WHEN)
    assert {p.product for p in posts} == {None}
    assert not any("{" in p.text for p in posts)
    assert all(p.subreddit == "lumenlabs" for p in posts if p.platform == "reddit")


def test_an_unknown_product_line_falls_back_to_generic_vocabulary() -> None:
    lamp = ProductSpec("Kolibri Desk Lamp", ("desk lamp",), "lighting")
    spec = WorldSpec(brand="Kolibri", handle="kolibri", hashtags=("kolibri",), products=(lamp,), seed=4)
    posts = World(spec=spec).grow(150, now=WHEN)
    assert {p.product for p in posts} == {"Kolibri Desk Lamp", None}
    assert not any("{" in p.text for p in posts)
