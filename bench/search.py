"""Library search benchmark: latency of text, meaning and filtered facet queries on a generated library.

    .venv/bin/python bench/search.py [--posts 100000] [--full] [--backend sqlite|postgres|both]
                                     [--queries 200] [--pg-admin-url URL] [--keep DIR] [--only WORDS]

Builds a library of `--posts` simulator posts (all approved, a tenth featured, a
seventh with rights granted; synthetic score sets, see `curator_sim.py`) on SQLite
and on PostgreSQL and times `Library.search` end to end, the way the API calls it
(filters, multi-select facet counts over all nine facets, one page of 24 posts with
their cards).

Loading is the bulk path (`curator_sim.load_library`): posts, authors, media,
score sets and ranked items are appended through `store.library.append_rows`
(PostgreSQL COPY, SQLite executemany), with each item's treasure score, content
types and search document computed by the curator's own functions ("rank" in the
table). Duplicate grouping is not run (`rank_posts` does it, one batch at a time;
the library search does not read the groups). The full-text index is filled as the
items are written; its build time is then measured by rebuilding it.

Queries, each timed `--queries` times (fewer for the SQL-only and broad rows):

- text: a two- or three-word full-text query, sorted by relevance (ten queries in turn);
- text, broad word: "cumbre", in about a quarter of the posts, by relevance;
- meaning: a query vector (a stored embedding plus noise; encoding the query
  text with MiniLM adds its own time, printed separately with `--encoder`);
- filtered facets: no text, five filters (brand, two platforms, language, two
  content types, the last 30 days), sorted by treasure score;
- the same text and facet queries in SQL only (`use_index=False`), for comparison.

Every run of those is a new question: the results the library keeps for an
identical question are turned off. The "repeated" rows ask the same questions
with them on (the second time a coordinator opens the same search, or pages).

After the timings, the meaning queries are checked against a float32 scan: how
many posts the int8 cutoff puts on the other side of `semantic_min_similarity`.

Also prints how long generating, scoring, ranking, writing and building the
indexes took, and their size. `--full` uses 1,000,000 posts. `--keep DIR` keeps
the generated libraries (a SQLite file in DIR, a PostgreSQL database named
`tesoro_bench_keep_<posts>`) and reuses them on the next run with the same
`--posts` (their build columns then read "kept"); `--only WORDS` times only the
queries whose label contains WORDS.
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
from curator_sim import NOW, LoadReport, load_library
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url

from tesoro.search.library import Library, LibraryFilters, LibraryQuery
from tesoro.settings import CuratorSettings
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.migrate import upgrade
from tesoro.store.tables import CurationItem

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
def sqlite_engine(keep: Path | None = None) -> Iterator[Engine]:
    """A fresh library in a temporary file, or the one kept at `keep` (created there when missing)."""
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(f"sqlite:///{keep}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'library.db'}")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(admin_url: str, keep: str | None = None) -> Iterator[Engine]:
    """A fresh database dropped afterwards, or the database named `keep` (created when missing, kept)."""
    import psycopg

    admin = make_url(admin_url)
    name = keep or f"tesoro_bench_{uuid.uuid4().hex[:10]}"
    conninfo = f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(admin.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        if keep is None:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stored_posts(engine: Engine) -> int:
    """How many ranked posts a kept library already holds (0 for a new one)."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, CurationItem.__tablename__):
            return 0
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {CurationItem.__tablename__}")).scalar() or 0)


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


def library_state(post_id: int) -> tuple[str, str]:
    """A coordinator's library: every post approved, a tenth featured, a seventh with rights granted."""
    return ("featured" if post_id % 10 == 0 else "approved", "granted" if post_id % 7 == 0 else "none")


def fill(engine: Engine, posts: int) -> dict[str, float]:
    """Generate, score, rank and store `posts` posts in bulk; returns the seconds each step took."""
    upgrade(engine)

    def big_cache(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA cache_size=-1000000")

    if engine.dialect.name == "sqlite":
        # Loading only: a page cache that holds the indexes being filled (the default is 2 MB).
        event.listen(engine, "connect", big_cache)
        engine.dispose()
    started = time.perf_counter()

    def progress(report: LoadReport) -> None:
        if report.posts % 100_000 < 20_000 or report.posts == posts:
            elapsed = time.perf_counter() - started
            print(f"  {engine.dialect.name}: {report.posts:,} posts stored, {elapsed:.0f} s", flush=True)

    report = load_library(engine, posts // 4, seed=7, state_of=library_state, on_progress=progress)
    if engine.dialect.name == "sqlite":
        event.remove(engine, "connect", big_cache)  # the queries run with the store's own settings
        engine.dispose()
    out = dict(report.seconds)
    out["authors"], out["media"] = report.authors, report.media
    started = time.perf_counter()
    # What autovacuum (PostgreSQL) or `tesoro db upgrade` maintenance would have done by now.
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    out["analyze"] = time.perf_counter() - started
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            size = conn.execute(
                text("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            ).scalar()
        else:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    out["db_mb"] = float(size or 0) / 1e6
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


Timing = tuple[str, int, float, float]  # label, runs, p50 ms, p95 ms


def bench_backend(
    engine: Engine, posts: int, runs: int, only: tuple[str, ...] = ()
) -> tuple[list[Timing], dict[str, float]]:
    have = stored_posts(engine)
    if have == 0:
        steps = fill(engine, posts)
        steps["fts_build"], steps["fts_mb"] = fts_build_and_size(engine)
    elif have == posts:
        print(f"  {engine.dialect.name}: reusing the kept library of {have:,} posts", flush=True)
        upgrade(engine)
        steps = {}
    else:
        raise SystemExit(f"the kept library holds {have:,} posts, not {posts:,}: remove it or change --posts")
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

    def text_query() -> LibraryQuery:
        return LibraryQuery(text=TEXT_QUERIES[next_index() % len(TEXT_QUERIES)])

    def meaning_query() -> LibraryQuery:
        return LibraryQuery(meaning=f"q{next_index() % len(vectors)}")

    broad = LibraryQuery(text="cumbre")
    few = max(runs // 4, 10)
    sql_runs = 5 if posts >= 500_000 else max(runs // 10, 5)  # seconds each at a million
    cases: list[tuple[str, bool, Callable[[], Any], int]] = [
        ("text", False, lambda: library.search(text_query()), runs),
        ("text, broad word (cumbre)", False, lambda: library.search(broad), few),
        (
            "text, broad word (cumbre), by treasure",
            False,
            lambda: library.search(LibraryQuery(text="cumbre", sort="treasure")),
            few,
        ),
        ("meaning", False, lambda: library.search(meaning_query()), runs),
        ("filtered facets", False, lambda: library.search(LibraryQuery(filters=facet_filters)), runs),
        ("text, repeated", True, lambda: library.search(text_query()), runs),
        ("text, broad word (cumbre), repeated", True, lambda: library.search(broad), runs),
        ("meaning, repeated", True, lambda: library.search(meaning_query()), runs),
        (
            "filtered facets, repeated",
            True,
            lambda: library.search(LibraryQuery(filters=facet_filters)),
            runs,
        ),
        ("text, SQL only", False, lambda: library.search(text_query(), use_index=False), sql_runs),
        (
            "filtered facets, SQL only",
            False,
            lambda: library.search(LibraryQuery(filters=facet_filters), use_index=False),
            sql_runs,
        ),
    ]
    results: list[Timing] = []
    for label, keep, fn, n in cases:
        if only and not any(part in label for part in only):
            continue
        library.cache = keep
        library.clear_cache()
        # A repeated row first asks each of its distinct questions once, so every timed run is a repeat.
        distinct = len(vectors) if "meaning" in label else len(TEXT_QUERIES) if "text" in label else 1
        p50, p95 = timed(fn, n, warmup=1 if "SQL" in label else max(5, distinct) if keep else 5)
        results.append((label, n, p50, p95))
        print(f"  {engine.dialect.name}: {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({n} runs)", flush=True)
    library.cache = False
    steps.update(cutoff_agreement(library, vectors))
    page = library.search(LibraryQuery(filters=facet_filters))
    steps["facet_matches"] = page.total
    steps["broad_matches"] = library.search(broad).total
    return results, steps


def cutoff_agreement(library: Library, vectors: list[np.ndarray]) -> dict[str, float]:
    """How far the int8 scan's threshold decisions are from float32's, over the meaning queries.

    Returns the matches float32 finds (summed over the queries), how many of them the
    int8 cutoff decides the other way (missed or added), and the largest distance from
    the threshold of any post decided differently.
    """
    index, threshold = library.index, library.settings.semantic_min_similarity
    everything = index.mask(LibraryFilters(states=()))
    matches = differ = 0
    widest = 0.0
    for vector in vectors:
        exact = index.similarities(vector, everything)
        scan = index.scan(vector, everything, threshold=threshold)
        inside, rough = exact >= threshold, scan.values >= threshold
        flipped = inside != rough
        matches += int(inside.sum())
        differ += int(flipped.sum())
        if flipped.any():
            widest = max(widest, float(np.abs(exact[flipped] - threshold).max()))
    print(
        f"  {library.engine.dialect.name}: int8 cutoff vs float32 over {len(vectors)} meaning queries: "
        f"{differ:,} of {matches:,} matches decided the other way (all within {widest:.4f} of the threshold)",
        flush=True,
    )
    return {"cutoff_matches": float(matches), "cutoff_differ": float(differ), "cutoff_widest": widest}


def index_only(posts: int, runs: int) -> list[tuple[str, float, float]]:
    """The in-memory part alone (no database: no full text, no page of cards) on `posts` synthetic rows.

    Shows how the filtering, facet counting and vector scan scale when building a
    database of that size would take too long for a quick run.
    """
    from datetime import datetime

    from tesoro.search.index import LibraryIndex
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
        from tesoro.scoring.encoders import load_encoder

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
        "--only",
        action="append",
        default=[],
        metavar="WORDS",
        help="time only the queries whose label contains WORDS (repeatable), e.g. --only meaning",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the generated libraries (SQLite file in DIR, PostgreSQL database tesoro_bench_keep_N) "
        "and reuse them on the next run with the same --posts",
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
        if backend == "sqlite":
            context = sqlite_engine(args.keep / f"library_{posts}.db" if args.keep else None)
        else:
            context = postgres_engine(args.pg_admin_url, f"tesoro_bench_keep_{posts}" if args.keep else None)
        with context as engine:
            results, steps = bench_backend(engine, posts, args.queries, tuple(args.only))
        for label, runs, p50, p95 in results:
            latency.append(f"| {backend} | {posts:,} | {label} | {runs} | {p50:.1f} | {p95:.1f} |")
        columns = ("generate", "score", "rank", "write", "analyze", "db_mb", "fts_build", "fts_mb")
        digits = {"fts_build": 1, "fts_mb": 1}
        cells = [f"{steps[c]:,.{digits.get(c, 0)}f}" if c in steps else "kept" for c in columns]
        cells += [f"{steps['index_build']:.1f}", f"{steps['index_mb']:,.0f}"]
        build.append(f"| {backend} | {posts:,} | " + " | ".join(cells) + " |")
        print(
            f"{backend}: done ({steps['facet_matches']:,} posts match the facet query's filters, "
            f"{steps['broad_matches']:,} the broad word)",
            flush=True,
        )
    print(f"\n{os.cpu_count()} CPUs, load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\n| backend | posts | query | runs | p50 ms | p95 ms |\n|---|---:|---|---:|---:|---:|")
    print("\n".join(latency))
    print(
        "\n| backend | posts | generate s | score s | rank s | write s | analyze s | database MB "
        "| full-text index build s | full-text index MB | in-memory index build s | in-memory index MB |"
        "\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    print("\n".join(build))
    if args.encoder:
        timing = encoder_latency(args.queries)
        if timing:
            print(f"\nencoding one query with MiniLM (CPU): p50 {timing[0]:.1f} ms, p95 {timing[1]:.1f} ms")


if __name__ == "__main__":
    main()
