"""A large store, fast: generated authors, posts, score sets, ranked items, media and decisions.

Shared by the benchmarks that need millions of stored posts without running the collectors, the
simulator or the models (`bench/growth.py`). Everything is drawn with numpy, chunk by chunk, and
written through `store.library.append_rows` (PostgreSQL `COPY ... FROM STDIN`, SQLite
`executemany`). 50,000 posts took 8.3 and 13.3 s on PostgreSQL, against 13.8 and 21.0 s for
`curator_sim.load_library` (simulator posts through the curator's functions), in turns on the 2-core
machine at load 2 to 4; 3,000,000 posts took 29 minutes at load 5 to 14 (PostgreSQL keeping every
index of the tables is most of it).

The shape follows `bench/relationships.py`'s collection (the ROR and KPI work depends on it): a
long tail of authors (a few post a lot), four platforms, two years of posts whose ids grow with
time, 10 % replies to earlier posts, mentions of other people and of the brand, the brand's hashtag
on 10 %, 2.3 % approved or featured with a coordinator's decision, rights granted on 0.5 %, one
author in 80 linked to a person with a second account, the brand's own three accounts replying to
2 % of the posts. On top of that, what the library index reads: every post has one score set
(sentiment, content types, language, engagement) and one ranked item (treasure score, content mask,
search document). Embeddings are random 384-d unit vectors (right for timing the index and its
scans, meaningless as meaning). Texts are two phrases from a pool of trail-gear phrases that
`bench/search.py`'s text queries match, plus two words drawn Zipf-like from a 50,000-word generated
vocabulary (`w123`), so most texts differ and the index has a long tail of words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine

from tesoro.curator.treasure import TreasureInputs, score_treasure
from tesoro.models import content_mask
from tesoro.settings import CuratorSettings
from tesoro.store.catalog import list_brands
from tesoro.store.engine import session_scope
from tesoro.store.library import append_rows
from tesoro.store.posts import content_hash
from tesoro.text.search import search_document

__all__ = ["NOW", "PLATFORMS", "Seeded", "add_unscored_posts", "seed_store"]

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
PLATFORMS = ("x", "reddit", "bluesky", "mastodon")
DIM = 384
VOCABULARY = 50_000
DAYS = 730
PHRASES = (
    "the Cumbre trail shoes grip wet rock like glue",
    "my rain jacket hood stays put in the wind",
    "zapatillas trail Cumbre para la montaña",
    "the rock plate saved my feet on the descent",
    "pack straps rub when I sweat on long days",
    "unboxing and first look at the Nube jacket",
    "fully waterproof after six hours of rain",
    "la chaqueta impermeable aguanta la lluvia",
    "la mochila Volcan aguanta todo",
    "no blisters after a long run in the hills",
    "pit zips help a lot on the climbs",
    "love my new Cumbre",
    "the Nube jacket kept me dry all day",
    "Cumbre vs Salomon: the Cumbre wins on grip",
    "thinking of switching from Patagonia to Andes Outdoor",
    "my Volcan pack strap broke after a month",
    "how to clean your Nube rain jacket, step by step",
    "is the Cumbre true to size? asking for a friend",
    "sunrise on the ridge this morning",
    "mud everywhere but happy feet",
    "first ultra done, legs are gone",
    "cumbre nevada al amanecer, qué frío",
    "new trail shoes for the season",
    "the lacing on these is a bit fiddly",
)
SENTIMENTS = ("positive", "neutral", "negative")
TYPES = (["photo"], ["review"], ["tutorial"], [])


@dataclass
class Seeded:
    """What `seed_store` wrote and how long it took."""

    posts: int = 0
    authors: int = 0
    persons: int = 0
    media: int = 0
    decisions: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"generate": 0.0, "write": 0.0})


def _stamps(seconds: np.ndarray) -> list[datetime]:
    return [datetime.fromtimestamp(s, UTC) for s in seconds.tolist()]


def _created(ids: np.ndarray, total: int) -> np.ndarray:
    """Ids grow with time over two years, denser recently (as collection does)."""
    u = np.clip(ids / max(total, 1), 0.0, 1.0)
    return NOW.timestamp() - (1.0 - u) ** 1.5 * DAYS * 86400 - 60.0


class _Texts:
    """Post texts and their search documents, built from parts whose documents are computed once."""

    def __init__(self) -> None:
        self.phrase_docs = [search_document(p) for p in PHRASES]
        self.word_docs: dict[int, str] = {}

    def make(self, rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
        a = rng.integers(0, len(PHRASES), n)
        b = rng.integers(0, len(PHRASES), n)
        words = np.minimum(rng.zipf(1.2, size=(n, 2)), VOCABULARY) - 1
        texts, docs = [], []
        for i in range(n):
            w1, w2 = int(words[i, 0]), int(words[i, 1])
            texts.append(f"{PHRASES[a[i]]}. {PHRASES[b[i]]} w{w1} w{w2}")
            docs.append(f"{self.phrase_docs[a[i]]} {self.phrase_docs[b[i]]} w{w1} w{w2}")
        return texts, docs


def _components() -> dict[str, Any]:
    """A real treasure score's components (their JSON is what a ranked item stores)."""
    treasure = score_treasure(
        TreasureInputs(
            created_at=NOW,
            relevance=0.8,
            sentiment="positive",
            sentiment_probs={"negative": 0.1, "neutral": 0.1, "positive": 0.8},
            content_types=["photo"],
            engagement_vs_median=1.2,
            relationship=None,
            safety={"profanity": 0.0, "offensive": 0.0},
            spam=0.02,
        ),
        CuratorSettings(),
        now=NOW,
    )
    return treasure.as_json()


def seed_store(
    engine: Engine,
    posts: int,
    *,
    model_version: str = "bench",
    authors: int | None = None,
    seed: int = 42,
    chunk: int = 50_000,
    on_progress: Callable[[Seeded], None] | None = None,
) -> Seeded:
    """Write `posts` posts (ids 1..posts) with everything described above into a migrated store whose
    catalog holds the brand (`sync_catalog` first). Score sets carry `model_version`."""
    report = Seeded()
    started = time.perf_counter()
    with session_scope(engine) as session:
        brand_id = list_brands(session)[0].id
    n_authors = authors or max(100, posts // 5)
    rng = np.random.default_rng(seed)
    platform = rng.choice(len(PLATFORMS), size=n_authors, p=[0.4, 0.2, 0.2, 0.2])
    followers = np.minimum(rng.lognormal(5.0, 1.8, size=n_authors), 5e6).astype(np.int64)
    persons = max(1, n_authors // 80)
    person_of = np.zeros(n_authors, dtype=np.int64)
    for i in range(persons):  # accounts 2i and 2i+1 (different platforms) are one person
        person_of[2 * i] = person_of[2 * i + 1] = i + 1
        platform[2 * i + 1] = (platform[2 * i] + 1) % len(PLATFORMS)
    first_seen = datetime.fromtimestamp(NOW.timestamp() - 800 * 86400, UTC)
    person_rows = [
        {"id": i + 1, "display_name": f"p{i + 1}", "created_at": first_seen} for i in range(persons)
    ]
    author_rows = [
        {
            "id": i + 1,
            "platform": PLATFORMS[int(platform[i])],
            "external_id": f"a{i + 1}",
            "handle": f"user{i + 1}@mastodon.social" if platform[i] == 3 else f"user{i + 1}",
            "followers": int(followers[i]),
            "verified": False,
            "gone": False,
            "person_id": int(person_of[i]) or None,
            "first_seen_at": first_seen,
            "updated_at": first_seen,
        }
        for i in range(n_authors)
    ]
    brand_accounts = (("x", "andesoutdoor", 80_000), ("bluesky", "andesoutdoor.bsky.social", 12_000))
    brand_accounts += (("mastodon", "andesoutdoor@mastodon.social", 3_000),)
    for k, (plat, handle, count) in enumerate(brand_accounts):
        author_rows.append(
            {
                "id": n_authors + 1 + k,
                "platform": plat,
                "external_id": f"brand-{plat}",
                "handle": handle,
                "followers": count,
                "verified": True,
                "gone": False,
                "person_id": None,
                "first_seen_at": first_seen,
                "updated_at": first_seen,
            }
        )
    report.seconds["generate"] += time.perf_counter() - started
    started = time.perf_counter()
    with session_scope(engine) as session:
        append_rows(session, "person", person_rows)
        append_rows(session, "author", author_rows)
    report.seconds["write"] += time.perf_counter() - started
    report.authors, report.persons = len(author_rows), persons
    texts = _Texts()
    components = _components()
    author_platform = np.array([PLATFORMS.index(r["platform"]) for r in author_rows])
    all_followers = np.array([r["followers"] for r in author_rows], dtype=np.int64)
    for lo in range(1, posts + 1, chunk):
        hi = min(posts + 1, lo + chunk)
        started = time.perf_counter()
        rows = _chunk(
            np.random.default_rng([seed, lo]),
            np.arange(lo, hi),
            posts,
            n_authors,
            author_platform,
            all_followers,
            texts,
            brand_id,
            model_version,
            components,
            scored=True,
        )
        report.seconds["generate"] += time.perf_counter() - started
        started = time.perf_counter()
        with session_scope(engine) as session:
            for table, table_rows in rows.items():
                append_rows(session, table, table_rows)
        report.seconds["write"] += time.perf_counter() - started
        report.posts += hi - lo
        report.media += len(rows["media"])
        report.decisions += len(rows["curation_decision"])
        if on_progress is not None:
            on_progress(report)
    return report


def add_unscored_posts(engine: Engine, first_id: int, count: int, *, seed: int = 99) -> list[int]:
    """`count` new posts after a seeded store's (ids from `first_id`), with no score set or item yet:
    what a collection run leaves for scoring. Returns their ids."""
    with session_scope(engine) as session:
        brand_id = list_brands(session)[0].id
        # The seeded regular authors (ids 1..n; the brand's own three accounts come after them).
        regular = session.execute(
            sql_text(
                "SELECT id, platform, followers FROM author WHERE external_id NOT LIKE 'brand-%' ORDER BY id"
            )
        ).all()
    author_platform = np.array([PLATFORMS.index(r[1]) for r in regular])
    followers = np.array([r[2] or 0 for r in regular], dtype=np.int64)
    ids = np.arange(first_id, first_id + count)
    rows = _chunk(
        np.random.default_rng([seed, first_id]),
        ids,
        first_id + count - 1,
        len(regular),
        author_platform,
        followers,
        _Texts(),
        brand_id,
        "",
        {},
        scored=False,
        brand_replies=False,
    )
    with session_scope(engine) as session:
        for table in ("post", "media"):
            append_rows(session, table, rows[table])
    return ids.tolist()


def _chunk(
    rng: np.random.Generator,
    ids: np.ndarray,
    total: int,
    n_authors: int,
    author_platform: np.ndarray,
    followers: np.ndarray,
    texts: _Texts,
    brand_id: int | None,
    model_version: str,
    components: dict[str, Any],
    *,
    scored: bool,
    brand_replies: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """The rows of posts `ids` for every table, in the order they must be written."""
    n = len(ids)
    author = (n_authors * rng.random(n) ** 3).astype(np.int64) + 1
    is_brand = (rng.random(n) < 0.02) if brand_replies else np.zeros(n, dtype=bool)
    author[is_brand] = n_authors + 1 + rng.integers(0, 3, size=int(is_brand.sum()))
    post_platform = author_platform[author - 1]
    created = _stamps(_created(ids, total))
    likes = rng.poisson(3, n) * (rng.random(n) < 0.7)
    reposts, replies = rng.poisson(0.5, n), rng.poisson(0.8, n)
    author_followers = followers[author - 1]
    views = np.where(post_platform == 0, (author_followers * 0.3).astype(np.int64), -1)
    reply_to = (rng.random(n) < 0.10) | is_brand
    parent = np.maximum(1, (ids * rng.random(n)).astype(np.int64))
    mention_other, mention_brand, tagged = rng.random(n) < 0.2, rng.random(n) < 0.02, rng.random(n) < 0.1
    state = rng.random(n)
    queue = np.where(
        state < 0.02,
        "approved",
        np.where(state < 0.023, "featured", np.where(state < 0.033, "rejected", "new")),
    )
    rights = np.where(rng.random(n) < 0.005, "granted", "none")
    language = np.where(rng.random(n) < 0.75, "en", "es")
    post_texts, docs = texts.make(rng, n)
    sentiment = rng.choice(3, size=n, p=[0.5, 0.35, 0.15])
    kinds = rng.choice(4, size=n, p=[0.15, 0.07, 0.03, 0.75])
    treasure = rng.random(n)
    relevance = np.clip(rng.normal(0.7, 0.15, n), 0, 1)
    rate = (likes + reposts + replies) / np.maximum(author_followers, 1)
    now = NOW
    posts, scores, items, media, decisions = [], [], [], [], []
    blobs: list[bytes] = []
    if scored:
        vectors = rng.standard_normal((n, DIM), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        blobs = [v.tobytes() for v in vectors]
    # Plain lists: reading a numpy array element by element costs more than the rest of the loop.
    ids_, author_, platform_ = ids.tolist(), author.tolist(), [PLATFORMS[p] for p in post_platform.tolist()]
    likes_, reposts_, replies_, views_ = likes.tolist(), reposts.tolist(), replies.tolist(), views.tolist()
    reply_, parent_ = reply_to.tolist(), parent.tolist()
    other_, brand_, tagged_ = mention_other.tolist(), mention_brand.tolist(), tagged.tolist()
    queue_, rights_, language_ = queue.tolist(), rights.tolist(), language.tolist()
    sentiment_, kinds_, treasure_ = sentiment.tolist(), kinds.tolist(), treasure.tolist()
    relevance_, rate_ = relevance.tolist(), rate.tolist()
    for i in range(n):
        pid = ids_[i]
        mentions = (["friend"] if other_[i] else []) + (["andesoutdoor"] if brand_[i] else [])
        posts.append(
            {
                "id": pid,
                "platform": platform_[i],
                "external_id": f"e{pid}",
                "author_id": author_[i],
                "brand_id": brand_id if pid % 20 else None,
                "text": post_texts[i],
                "lang": language_[i],
                "created_at": created[i],
                "collected_at": created[i],
                "updated_at": now,
                "likes": likes_[i],
                "reposts": reposts_[i],
                "replies": replies_[i],
                "quotes": 0,
                "views": None if views_[i] < 0 else views_[i],
                "reply_to_id": f"e{parent_[i]}" if reply_[i] and pid > 1 else None,
                "hashtags": ["andesoutdoor"] if tagged_[i] else [],
                "mentions": mentions,
                "content_flags": [],
                "content_hash": content_hash(post_texts[i]),
                "queue_state": queue_[i] if scored else "new",
                "rights_status": rights_[i] if scored else "none",
                "treasure_score": treasure_[i] if scored else None,
                "version": 1,
            }
        )
        types = TYPES[kinds_[i]]
        if types == ["photo"]:
            media.append({"post_id": pid, "type": "photo", "url": f"https://pbs.twimg.com/media/{pid}.jpg"})
        if not scored:
            continue
        label = SENTIMENTS[sentiment_[i]]
        probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
        probs[label] = 0.8
        scores.append(
            {
                "id": pid,
                "post_id": pid,
                "model_version": model_version,
                "sentiment": label,
                "sentiment_probs": probs,
                "relevance": relevance_[i],
                "content_types": types,
                "language": language_[i],
                "safety": {"profanity": 0.0, "offensive": 0.0},
                "spam": 0.02,
                "engagement_rate": rate_[i],
                "engagement_vs_median": rate_[i] / 0.01,
                "embedding": blobs[i],
                "scored_at": created[i],
            }
        )
        items.append(
            {
                "post_id": pid,
                "brand_id": brand_id,
                "platform": platform_[i],
                "created_at": created[i],
                "language": language_[i],
                "sentiment": label,
                "product_id": None,
                "content_mask": content_mask(types),
                "content_types": types,
                "score": treasure_[i],
                "base_score": treasure_[i],
                "components": components,
                "score_id": pid,
                "doc": docs[i],
                "ranked_at": created[i],
                "updated_at": created[i],
            }
        )
        if queue_[i] in ("approved", "featured"):
            decisions.append(
                {
                    "post_id": pid,
                    "action": "decide",
                    "from_state": "new",
                    "to_state": queue_[i],
                    "actor": "bench",
                    "decided_at": min(NOW, datetime.fromtimestamp(created[i].timestamp() + 2 * 86400, UTC)),
                    "undone": False,
                }
            )
    return {
        "post": posts,
        "media": media,
        "score": scores,
        "curation_item": items,
        "curation_decision": decisions,
    }
