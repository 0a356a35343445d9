"""Library search benchmark: latency of text, meaning and filtered facet queries on a generated library.

    .venv/bin/python bench/search.py [--posts 100000] [--full] [--backend sqlite|postgres|both]
                                     [--queries 200] [--pg-admin-url URL]

Builds a library of `--posts` simulator posts (all approved, a tenth featured; with
synthetic score sets, see `curator_sim.py`) on SQLite and on PostgreSQL, ranks them
(`rank_posts`: treasure, duplicates, search documents), then times
`Library.search` end to end, the way the API calls it (filters, multi-select
facet counts over all nine facets, one page of 24 posts with their cards):

- text: a two- or three-word full-text query, sorted by relevance;
- meaning: a query vector (a stored embedding plus noise; encoding the query
  text with MiniLM adds its own time, printed separately with `--encoder`);
- facets: no text, five filters (brand, two platforms, language, two content
  types, the last 30 days), sorted by treasure score;
- the same text and facet queries in SQL only (`use_index=False`), for comparison.

Also prints how long loading, ranking and building the indexes took, and their size.
`--full` uses 1,000,000 posts.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from curator_sim import NOW, generate, store_world
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from tesoro.curator.library import Library, LibraryFilters, LibraryQuery
from tesoro.curator.ranking import rank_posts
from tesoro.settings import CuratorSettings
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.migrate import upgrade
from tesoro.store.tables_curator import CurationItem

TEXT_QUERIES = [
    "grip wet rock",
    "rain jacket hood",
    "zapatillas trail",
    '"rock plate" descent',
    "pack straps -sweat",
    "unboxing first look",
    "waterproof OR impermeable",
    "mochila volcan",
    "blisters long run",
    "pit zips climbs",
]


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'library.db'}")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(admin_url: str) -> Iterator[Engine]:
    import psycopg

    admin = make_url(admin_url)
    name = f"tesoro_bench_{uuid.uuid4().hex[:10]}"
    conninfo = f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(admin.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(fn: Callable[[], Any], runs: int, warmup: int = 5) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def fill(engine: Engine, posts: int) -> dict[str, float]:
    """Store, score and rank `posts` posts, then approve them all; returns the seconds each step took."""
    upgrade(engine)
    out: dict[str, float] = {}
    started = time.perf_counter()
    sim = generate(posts // 4, seed=7)
    out["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    store_world(engine, sim, seed=7, batch=5000)
    out["load"] = time.perf_counter() - started
    started = time.perf_counter()
    rank_posts(engine, CuratorSettings(), now=NOW, batch_size=5000)
    out["rank"] = time.perf_counter() - started
    with engine.begin() as conn:
        # Benchmark set-up, not a coordinator: a library of approved posts, a tenth featured, some rights.
        conn.execute(
            text("UPDATE post SET queue_state = CASE WHEN id % 10 = 0 THEN 'featured' ELSE 'approved' END")
        )
        conn.execute(text("UPDATE post SET rights_status = 'granted' WHERE id % 7 = 0"))
    # What autovacuum (PostgreSQL) or `tesoro db upgrade` maintenance would have done by now.
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return out


def fts_build_and_size(engine: Engine) -> tuple[float, float]:
    """(seconds to rebuild the full-text index, its size in MB)."""
    with engine.begin() as conn:
        started = time.perf_counter()
        if engine.dialect.name == "sqlite":
            conn.execute(text("INSERT INTO curation_fts(curation_fts) VALUES ('rebuild')"))
            seconds = time.perf_counter() - started
            size = conn.execute(
                text("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'curation_fts%'")
            ).scalar()
        else:
            conn.execute(text("REINDEX INDEX ix_curation_item_search"))
            seconds = time.perf_counter() - started
            size = conn.execute(text("SELECT pg_relation_size('ix_curation_item_search')")).scalar()
    return seconds, float(size or 0) / 1e6


def bench_backend(
    engine: Engine, posts: int, runs: int
) -> tuple[list[tuple[str, float, float]], dict[str, float]]:
    steps = fill(engine, posts)
    steps["fts_build"], steps["fts_mb"] = fts_build_and_size(engine)
    rng = np.random.default_rng(3)
    with session_scope(engine) as session:
        stored = [
            np.frombuffer(e, dtype=np.float32)
            for (e,) in session.execute(
                text("SELECT s.embedding FROM score s JOIN curation_item c ON c.score_id = s.id LIMIT 500")
            )
        ]
    vectors = []
    for v in stored[:50]:
        q = v + 0.3 * rng.standard_normal(v.shape).astype(np.float32) / np.sqrt(v.shape[0])
        vectors.append((q / np.linalg.norm(q)).astype(np.float32))
    lookup = {f"q{i}": v for i, v in enumerate(vectors)}
    library = Library(engine, CuratorSettings(), encode=lambda texts: np.stack([lookup[t] for t in texts]))
    started = time.perf_counter()
    library.warm()
    steps["index_build"] = time.perf_counter() - started
    steps["index_mb"] = library.index.stats().bytes / 1e6
    with session_scope(engine) as session:
        brand_id = session.execute(text(f"SELECT MIN(brand_id) FROM {CurationItem.__tablename__}")).scalar()
    facet_filters = LibraryFilters(
        brand_ids=(int(brand_id),),
        platforms=("x", "bluesky"),
        languages=("en",),
        content_types=("photo", "video"),
        date_from=NOW - timedelta(days=30),
        date_to=NOW,
    )
    counter = {"i": 0}

    def next_index() -> int:
        counter["i"] += 1
        return counter["i"]

    results = []
    for label, fn, n in (
        (
            "text",
            lambda: library.search(LibraryQuery(text=TEXT_QUERIES[next_index() % len(TEXT_QUERIES)])),
            runs,
        ),
        ("meaning", lambda: library.search(LibraryQuery(meaning=f"q{next_index() % len(vectors)}")), runs),
        ("filtered facets", lambda: library.search(LibraryQuery(filters=facet_filters)), runs),
        (
            "text, SQL only",
            lambda: library.search(
                LibraryQuery(text=TEXT_QUERIES[next_index() % len(TEXT_QUERIES)]), use_index=False
            ),
            max(runs // 5, 10),
        ),
        (
            "filtered facets, SQL only",
            lambda: library.search(LibraryQuery(filters=facet_filters), use_index=False),
            max(runs // 5, 10),
        ),
    ):
        p50, p95 = timed(fn, n)
        results.append((label, p50, p95))
    page = library.search(LibraryQuery(filters=facet_filters))
    steps["facet_matches"] = page.total
    return results, steps


def index_only(posts: int, runs: int) -> list[tuple[str, float, float]]:
    """The in-memory part alone (no database: no full text, no page of cards) on `posts` synthetic rows.

    Shows how the filtering, facet counting and vector scan scale when building a
    database of that size would take too long for a quick run.
    """
    from datetime import datetime

    from tesoro.curator.index import LibraryIndex
    from tesoro.store.library import IndexRow

    rng = np.random.default_rng(5)
    index = LibraryIndex()
    platforms, languages = ("x", "reddit", "bluesky", "mastodon"), ("en", "es")
    sentiments, states = ("positive", "neutral", "negative"), ("approved", "featured")
    started = time.perf_counter()
    for start in range(1, posts + 1, 50_000):
        count = min(50_000, posts + 1 - start)
        vectors = rng.standard_normal((count, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        created = NOW.timestamp() - rng.uniform(0, 60 * 86400, count)
        rows = [
            IndexRow(
                post_id=start + i,
                brand_id=1,
                platform=platforms[i % 4],
                created_at=datetime.fromtimestamp(float(created[i]), tz=NOW.tzinfo),
                language=languages[(i // 3) % 2],
                sentiment=sentiments[i % 3],
                scored_product_id=1 + i % 3,
                content_mask=int(rng.integers(0, 1024)),
                score=float(rng.random()),
                filtered=False,
                duplicate=False,
                item_updated_at=NOW,
                queue_state=states[int(i % 10 == 0)],
                rights_status="none",
                product_id=None,
                post_updated_at=NOW,
                embedding=vectors[i].tobytes(),
            )
            for i in range(count)
        ]
        index.add_rows(rows)
    build = time.perf_counter() - started
    filters = LibraryFilters(
        brand_ids=(1,),
        platforms=("x", "bluesky"),
        languages=("en",),
        content_types=("photo", "video"),
        date_from=NOW - timedelta(days=30),
        date_to=NOW,
    )
    query = rng.standard_normal(384).astype(np.float32)

    def facets() -> None:
        selected = index.mask(filters)
        index.facets(filters)
        index.page(selected, key="score", limit=24, offset=0)

    def meaning() -> None:
        similarity = index.similarities(query, index.mask(LibraryFilters(states=())))
        close = similarity >= 0.1
        index.facets(LibraryFilters(), close)
        index.page(index.mask(LibraryFilters(), close), key=similarity, limit=24, offset=0)

    print(f"in-memory index of {posts:,} rows built in {build:.0f} s, {index.stats().bytes / 1e6:.0f} MB")
    return [
        ("index only: filtered facets", *timed(facets, runs)),
        ("index only: meaning", *timed(meaning, runs)),
    ]


def encoder_latency(runs: int) -> tuple[float, float] | None:
    try:
        from tesoro.scoring.encoder import load_encoder

        encoder = load_encoder()
    except Exception as exc:  # the model is optional for this benchmark
        print(f"(encoder not available: {exc})")
        return None
    words = ["trail", "shoes", "rain", "jacket", "grip", "mountain", "people", "using", "on", "a"]
    rnd = random.Random(1)
    return timed(lambda: encoder.encode([" ".join(rnd.sample(words, 6))]), runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 posts")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--queries", type=int, default=200, help="timed runs per query kind")
    parser.add_argument("--encoder", action="store_true", help="also time encoding a query with MiniLM")
    parser.add_argument(
        "--index-only",
        type=int,
        default=0,
        metavar="N",
        help="only time the in-memory part on N synthetic rows",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("TESORO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    if args.index_only:
        print("| part | rows | p50 ms | p95 ms |\n|---|---:|---:|---:|")
        for label, p50, p95 in index_only(args.index_only, args.queries):
            print(f"| {label} | {args.index_only:,} | {p50:.1f} | {p95:.1f} |")
        return
    posts = 1_000_000 if args.full else args.posts
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    latency: list[str] = []
    build: list[str] = []
    for backend in backends:
        context = sqlite_engine() if backend == "sqlite" else postgres_engine(args.pg_admin_url)
        with context as engine:
            results, steps = bench_backend(engine, posts, args.queries)
        for label, p50, p95 in results:
            latency.append(f"| {backend} | {posts:,} | {label} | {p50:.1f} | {p95:.1f} |")
        build.append(
            f"| {backend} | {posts:,} | {steps['load']:.0f} | {steps['rank']:.0f} | "
            f"{steps['fts_build']:.1f} | "
            f"{steps['fts_mb']:.1f} | {steps['index_build']:.1f} | {steps['index_mb']:.0f} |"
        )
        print(
            f"{backend}: done ({steps['facet_matches']:,} posts match the facet query's filters)", flush=True
        )
    print("\n| backend | posts | query | p50 ms | p95 ms |\n|---|---:|---|---:|---:|")
    print("\n".join(latency))
    print(
        "\n| backend | posts | load s | rank s | full-text index build s | full-text index MB "
        "| in-memory index build s | in-memory index MB |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    print("\n".join(build))
    if args.encoder:
        timing = encoder_latency(args.queries)
        if timing:
            print(f"\nencoding one query with MiniLM (CPU): p50 {timing[0]:.1f} ms, p95 {timing[1]:.1f} ms")


if __name__ == "__main__":
    main()
