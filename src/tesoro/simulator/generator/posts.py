"""`generate_post`: one believable post, put together from the compiled spec, the phrase data and an rng.

The order of the random draws is part of the contract: the same seed must give the
same world byte for byte (tests and the demo rely on it), so a change that adds, drops
or reorders a draw changes every world and has to be deliberate.
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from datetime import datetime, timedelta

from tesoro.simulator.generator.authors import AuthorPool
from tesoro.simulator.generator.compiled import CompiledSpec, ProductCtx, compiled
from tesoro.simulator.generator.draw import choice, strip_accents
from tesoro.simulator.generator.engagement import metrics
from tesoro.simulator.generator.media import media
from tesoro.simulator.generator.mix import (
    BRAND_TAG_CHANCE,
    CELEB_CHANCE,
    CELEB_KINDS,
    KINDS,
    PRODUCT_CHANCE,
    SPANISH_SHARE,
    TEXT_LIMITS,
    TOPIC_TAGS_MAX,
)
from tesoro.simulator.generator.replies import Root, replies_memory
from tesoro.simulator.generator.slots import Slots
from tesoro.simulator.generator.vocabulary import Template
from tesoro.simulator.model import SimAuthor, SimPost, WorldSpec

__all__ = ["generate_post"]

_HASHTAG_RE = re.compile(r"(?<![\w&/#])#([^\W\d_][\w]*)")
# Kinds that are not about the brand's products at all: no product, no hashtags, no Reddit chatter.
_NOISE = ("spam", "offtopic")


def _compose(rng: random.Random, parts: Template, slots: Slots) -> str:
    return " ".join(p for p in (choice(rng, pool).format_map(slots) for pool in parts) if p)


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _pick_kind(rng: random.Random, world: CompiledSpec, platform: str) -> str:
    cum = world.kind_cum.get(platform) or world.kind_cum[""]
    return KINDS[bisect(cum, rng.random() * cum[-1])]


def _author_for(rng: random.Random, pool: AuthorPool, kind: str, lang: str, source: str | None) -> SimAuthor:
    if kind == "spam":
        return choice(rng, pool.bots[lang])
    if source in ("news", "job"):
        return choice(rng, pool.outlets[(lang, source)])
    if kind == "offtopic":
        return choice(rng, pool.users[lang])  # ordinary people, not the brand's fans
    if kind in CELEB_KINDS and rng.random() < CELEB_CHANCE:
        return choice(rng, pool.celebs[lang])
    cum = pool.cum[lang]
    return pool.users[lang][bisect(cum, rng.random() * cum[-1])]


def _body(rng: random.Random, slots: Slots, kind: str, about_product: bool) -> tuple[str, str | None]:
    """The post's own words, and for off-topic posts who says them ("news", "job" or "person")."""
    world, lang = slots.world, slots.lang
    if kind == "spam":
        return choice(rng, world.spam[lang]), None
    if kind == "offtopic":
        source, template = choice(rng, world.words.offtopic[lang])
        return template.format_map(slots), source
    if kind == "review":
        positive = rng.random() < 0.7
        slots["stars"] = choice(rng, ("4", "4.5", "5", "5") if positive else ("1", "2", "2", "1.5"))
        if lang == "es":
            slots["stars"] = slots["stars"].replace(".", ",")
        return _compose(rng, world.words.reviews[(lang, positive)], slots), None
    templates = world.words.templates
    parts = templates.get((kind, lang, "product" if about_product else "brand"))
    return _compose(rng, parts or templates[(kind, lang, "product")], slots), None


def _as_posted(rng: random.Random, text: str, slots: Slots, kind: str, parent: Root | None) -> str:
    """The text as people post it: Reddit's extra sentence, a reply's opener and @mention, casual typing."""
    platform, lang, words = slots.platform, slots.lang, slots.world.words
    if platform == "reddit" and parent is None and kind not in (*_NOISE, "meme") and rng.random() < 0.6:
        text += " " + choice(rng, words.reddit_more[lang]).format_map(slots)
    if parent is not None:
        opener = choice(rng, words.reply_openers[lang])
        if opener and kind != "spam":
            text = f"{opener} {text}"
        if platform == "bluesky":
            text = f"@{parent.handle}.bsky.social {text}"
        elif platform in ("x", "mastodon"):
            text = f"@{parent.handle} {text}"
    if kind not in _NOISE and platform in ("x", "bluesky", "mastodon"):
        roll = rng.random()
        if lang == "en" and roll < 0.08:
            text = text.lower()  # casual posting
        elif lang == "es" and roll < 0.2:
            text = text.replace("¿", "").replace("¡", "")  # as most people actually type on a phone
    return text


def _hashtags(
    rng: random.Random, world: CompiledSpec, ctx: ProductCtx, kind: str, lang: str, platform: str
) -> list[str]:
    tags: list[str] = []
    if world.brand_tags and rng.random() < BRAND_TAG_CHANCE[platform]:
        brand_tag = choice(rng, world.brand_tags)
        # Mastodon's convention: CamelCase tags, which screen readers can pronounce.
        camel = "".join(w[:1].upper() + w[1:] for w in strip_accents(world.spec.brand).split())
        tags.append(
            camel if platform == "mastodon" and camel.casefold() == brand_tag.casefold() else brand_tag
        )
    extra = rng.randint(0, TOPIC_TAGS_MAX[platform])
    if extra:
        # Line tags (#trailrunning) only when the post is about a product of that line.
        topical = world.words.kind_tags.get((kind, lang), ()) + (
            ctx.line.tags[lang] if ctx.spec is not None else ()
        )
        for tag in rng.sample(topical, min(extra, len(topical))):
            if tag not in tags:
                tags.append(tag)
        if ctx.spec is not None and rng.random() < 0.15:
            tags.append(strip_accents(ctx.spec.name).replace(" ", "").casefold())
    return tags


def _tagged(rng: random.Random, text: str, slots: Slots, kind: str, parent: Root | None) -> str:
    """Hashtags go at the end, only as many as fit (replies seldom carry any)."""
    platform = slots.platform
    limit = TEXT_LIMITS.get(platform, 500)
    text = _fit(text, limit)
    if kind not in _NOISE and (parent is None or rng.random() < 0.1):
        for tag in _hashtags(rng, slots.world, slots.ctx, kind, slots.lang, platform):
            if len(text) + len(tag) + 2 > limit:
                break
            # Mastodon users tend to put their tags on a line of their own.
            separator = "\n\n" if platform == "mastodon" and "#" not in text else " "
            text = f"{text}{separator}#{tag}"
    return text


def _reddit_place(
    rng: random.Random, text: str, slots: Slots, kind: str, parent: Root | None, about_product: bool
) -> tuple[str, str | None]:
    """(subreddit, title) of a Reddit post: a reply stays in its thread and has no title of its own."""
    world = slots.world
    subreddit = parent.subreddit if parent is not None and parent.subreddit else choice(rng, world.subreddits)
    if parent is not None:
        return subreddit, None
    titles = world.words.reddit_titles.get((kind, slots.lang))
    if not titles:
        return subreddit, _fit(text.split("\n")[0].split(". ")[0], 120)
    # A title names the product when the post is about one, and only the brand otherwise.
    fitting = tuple(t for t in titles if ("{name}" in t) == about_product)
    return subreddit, choice(rng, fitting or titles).format_map(slots)


def generate_post(rng: random.Random, spec: WorldSpec, platform: str, post_id: int, now: datetime) -> SimPost:
    """Make one post for `platform` about `spec`'s brand (see the package docstring for the design).

    `created_at` is `now` minus up to two minutes, so a growing world moves forward in time.
    """
    world = compiled(spec)
    pool = world.pool(platform)
    memory = replies_memory(rng)
    lang = "es" if rng.random() < SPANISH_SHARE else "en"
    kind = _pick_kind(rng, world, platform)
    if kind == "comparison" and not spec.products:
        kind = "review"
    about_product = (
        bool(spec.products)
        and kind not in _NOISE
        and (kind not in PRODUCT_CHANCE or rng.random() < PRODUCT_CHANCE[kind])
    )
    ctx = choice(rng, world.products) if about_product else world.brand_ctx
    slots = Slots(ctx.static[lang], rng, world, ctx, lang, platform)
    parent = memory.parent_for(rng, platform, lang, kind, post_id)

    text, source = _body(rng, slots, kind, about_product)
    author = _author_for(rng, pool, kind, lang, source)
    text = _tagged(rng, _as_posted(rng, text, slots, kind, parent), slots, kind, parent)
    attached = media(rng, platform, post_id, kind, lang, author, slots)
    likes, reposts, replies, quotes, views = metrics(
        rng, platform, kind, author.followers, parent is not None, bool(attached)
    )
    created_at = now - timedelta(microseconds=rng.randrange(120_000_000))
    if parent is not None:  # a reply comes after what it answers
        created_at = max(created_at, min(now, parent.created_at + timedelta(seconds=rng.uniform(5.0, 90.0))))
    subreddit, title = (None, None)
    if platform == "reddit":
        subreddit, title = _reddit_place(rng, text, slots, kind, parent, about_product)
    if parent is None and kind not in _NOISE:
        memory.remember(platform, lang, Root(post_id, author.handle, subreddit, created_at))

    return SimPost(
        id=post_id,
        platform=platform,
        created_at=created_at,
        text=text,
        lang=lang,
        author=author,
        kind=kind,
        media=attached,
        likes=likes,
        reposts=reposts,
        replies=replies,
        quotes=quotes,
        views=views,
        title=title,
        subreddit=subreddit,
        reply_to=parent.id if parent is not None else None,
        hashtags=tuple(dict.fromkeys(t.casefold() for t in _HASHTAG_RE.findall(text))),
        product=ctx.spec.name if about_product and ctx.spec is not None else None,
    )
