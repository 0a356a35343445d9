"""Growth: how time and memory grow with the store, at 100,000, 1,000,000 and 3,000,000 posts.

    .venv/bin/python bench/growth.py [--sizes 100000,1000000,3000000] [--queries 100] [--batch 2000]
                                     [--profile default|fast] [--results FILE] [--backend postgres|sqlite]

For each size, a fresh PostgreSQL database (dropped at the end; `--backend sqlite` uses a temporary
file, for the quick test) is migrated and filled by `bench/seed.py` (generated rows written with
COPY; random unit embeddings, so the meaning answers are meaningless, their timing is not). Then,
each in its own process so that its memory is its own:

- library: a writer process builds the in-memory index from the store and writes a snapshot (what
  the `index:snapshot` job does: the build time and its peak RSS are also what an API process
  without snapshots pays); one API process maps the snapshot (`bench/index_share.py`'s reader: load
  time, RSS / USS after loading and after searching) and times the text, meaning and filtered-facet
  queries of `bench/search.py` (caches off, `--queries` runs each). With one process mapping the
  snapshot, every snapshot page it has read counts in its USS; a second API process would share them
  (`bench/index_share.py` measures several side by side);
- insights: the ROR refresh (the `ror-refresh` job) and the KPI report over 30 and 365 days (what
  the API computes when read), with the process's peak RSS;
- scoring: `--batch` new posts are added to the store (as a collection run would) and scored with
  `score_pending` (models loaded before the clock starts): posts/s, the time of the store's
  "how many are pending" count (an anti-join over every stored post), and the peak RSS;
- the size of each table with its indexes and TOAST (`pg_total_relation_size`).

`--results FILE` keeps every size's figures in a JSON file and prints the table of all of them, so
the sizes can be run one at a time (100k and 1M first, 3M later).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TABLES = (
    "post",
    "score",
    "curation_item",
    "author",
    "media",
    "curation_decision",
    "relationship_event",
    "ror_score",
)


# ---------------------------------------------------------------------------- child processes


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_insights(db: str, data_dir: str) -> dict[str, Any]:
    """The ROR refresh job and the KPI report, timed, in this process."""
    from datetime import timedelta

    from relationships import settings_for
    from seed import NOW

    from tesoro.insights import service
    from tesoro.store.engine import make_engine

    engine = make_engine(db)
    settings = settings_for(Path(data_dir))
    out: dict[str, Any] = {}
    started = time.perf_counter()
    result = service.refresh_ror(engine, settings, as_of=NOW)
    out["ror_s"] = time.perf_counter() - started
    out["ror_people"], out["ror_events"] = result.people, result.events
    out["ror_peak_mb"] = _peak_mb()
    for days in (30, 365):
        started = time.perf_counter()
        report = service.kpi_report(engine, settings, since=NOW - timedelta(days=days), until=NOW)
        out[f"kpi{days}_s"] = time.perf_counter() - started
        out[f"kpi{days}_mentions"] = report["volume"]["mentions"]
    out["insights_peak_mb"] = _peak_mb()
    return out


def child_scoring(db: str, data_dir: str, first_id: int, batch: int, profile: str) -> dict[str, Any]:
    """`batch` new posts scored into the store that holds the seeded ones."""
    from relationships import settings_for
    from seed import add_unscored_posts

    from tesoro.scoring import pipeline
    from tesoro.scoring.pipeline import load_models, score_pending
    from tesoro.store.engine import make_engine, session_scope
    from tesoro.store.scores import advance_score_mark, count_unscored, score_mark, unscored_posts

    # The store's share of the scoring time: the pipeline's store calls, timed where it calls them.
    store_s = [0.0]

    def timed(fn: Any) -> Any:
        def call(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                store_s[0] += time.perf_counter() - started

        return call

    for name in ("count_unscored", "unscored_posts", "duplicate_accounts", "corrections_for", "save_scores"):
        setattr(pipeline, name, timed(getattr(pipeline, name)))
    engine = make_engine(db)
    settings = settings_for(Path(data_dir))
    models = load_models(settings, profile=profile)
    if models.encoder is not None:
        models.encoder.encode(["warm up"])
    loaded_mb = _peak_mb()
    started = time.perf_counter()
    add_unscored_posts(engine, first_id, batch)
    out: dict[str, Any] = {"insert_s": time.perf_counter() - started, "models_mb": loaded_mb}
    started = time.perf_counter()
    with session_scope(engine) as session:
        pending = count_unscored(session, model_version=models.version)
    out["pending_count_s"] = time.perf_counter() - started
    if pending != batch:
        raise SystemExit(f"{pending} posts pending under {models.version}, expected {batch}")
    started = time.perf_counter()
    done = score_pending(engine, settings, models=models, batch_size=256)
    out["score_s"] = time.perf_counter() - started
    out["score_store_s"] = store_s[0]
    out["scored"] = done
    out["posts_per_s"] = done / out["score_s"]
    out["scoring_peak_mb"] = _peak_mb()
    out["version"] = models.version
    # The next search for new posts once the score mark has settled (two runs that found nothing left,
    # the candidate's wait skipped), against the search from the first post that came before the mark.
    with session_scope(engine) as session:
        for _ in range(2):
            advance_score_mark(session, model_version=models.version, now=datetime.now(UTC), lag=timedelta(0))
        mark = score_mark(session, model_version=models.version)
    for key, after in (("search_from_mark_s", mark - 1), ("search_from_start_s", 0)):
        started = time.perf_counter()
        with session_scope(engine) as session:
            left = unscored_posts(session, model_version=models.version, limit=256, after_id=after)
        out[key] = time.perf_counter() - started
        if left:
            raise SystemExit(f"{len(left)} posts left unscored after scoring")
    return out


def _run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **(env or {}),
            "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), str(HERE)]),
        },
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(
            f"child {args[:2]} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


# ---------------------------------------------------------------------------- one size


@contextmanager
def _database(backend: str, admin_url: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'growth.db'}"
        return
    from search import postgres_engine

    with postgres_engine(admin_url) as engine:
        url = engine.url.render_as_string(hide_password=False)
        engine.dispose()
        yield url


def _library(db: str, folder: Path, queries: int) -> dict[str, Any]:
    from index_share import Child

    root = folder / "index"
    writer = Child(["--child", "writer", "--db", db, "--root", str(root), "--synthetic", "0"])
    wrote = writer.ask()
    writer.close()
    out: dict[str, Any] = {
        "build_s": wrote["build_s"],
        "build_rss_mb": wrote["rss"],
        "snapshot_write_s": wrote["write_s"],
        "snapshot_mb": wrote["mb"],
    }
    reader = Child(["--child", "reader", "--db", db, "--root", str(root), "--queries", str(queries)])
    try:
        loaded = reader.ask()
        if not loaded["snapshot"]:
            raise SystemExit("the API process did not map the snapshot")
        out["api_load_s"] = loaded["load_s"]
        out["api_loaded"] = {k: loaded[k] for k in ("rss", "pss", "uss")}
        reader.ask("bench 3")  # the pages a search touches
        samples = reader.ask(f"bench {queries}")
        out["api_searched"] = reader.ask("mem")
    finally:
        reader.close()
    for kind, values in samples.items():
        ordered = sorted(values)
        out[f"{kind}_p50"] = statistics.median(ordered)
        out[f"{kind}_p95"] = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return out


def _table_sizes(db: str) -> dict[str, float]:
    from sqlalchemy import text

    from tesoro.store.engine import make_engine

    engine = make_engine(db)
    sizes: dict[str, float] = {}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            for table in TABLES:
                size = conn.execute(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table})
                sizes[table] = float(size.scalar() or 0) / 1e6
            total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
        else:
            for table in TABLES:  # the table and its indexes (named after it), as dbstat counts pages
                size = conn.execute(
                    text(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name = :t OR name IN "
                        "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t)"
                    ),
                    {"t": table},
                )
                sizes[table] = float(size.scalar() or 0) / 1e6
            total = conn.execute(
                text("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            ).scalar()
        sizes["database"] = float(total or 0) / 1e6
    engine.dispose()
    return sizes


def run_size(posts: int, args: argparse.Namespace) -> dict[str, Any]:
    from relationships import settings_for
    from seed import seed_store
    from sqlalchemy import text

    from tesoro.scoring.pipeline import active_model_version
    from tesoro.store.catalog import sync_catalog
    from tesoro.store.engine import make_engine, session_scope
    from tesoro.store.migrate import upgrade

    result: dict[str, Any] = {"posts": posts, "load_before": os.getloadavg()[0]}
    with (
        tempfile.TemporaryDirectory(prefix="tesoro-growth-") as tmp,
        _database(args.backend, args.pg_admin_url, Path(tmp)) as db,
    ):
        folder = Path(tmp)
        settings = settings_for(folder)
        settings = settings.model_copy(
            update={"models": settings.models.model_copy(update={"profile": args.profile})}
        )
        engine = make_engine(db)
        upgrade(engine)
        with session_scope(engine) as session:
            sync_catalog(session, settings)
        started = time.perf_counter()

        def progress(report: Any) -> None:
            if report.posts % 500_000 == 0 or report.posts == posts:
                print(
                    f"  {posts:,}: {report.posts:,} posts seeded, {time.perf_counter() - started:.0f} s",
                    flush=True,
                )

        seeded = seed_store(engine, posts, model_version=active_model_version(settings), on_progress=progress)
        with engine.connect() as conn:  # what autovacuum would have done by now
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        engine.dispose()
        result["seed_s"] = time.perf_counter() - started
        result["authors"] = seeded.authors
        result["seed_parts"] = seeded.seconds
        print(f"  {posts:,}: seeded in {result['seed_s']:.0f} s; library", flush=True)
        result.update(_library(db, folder, args.queries))
        print(f"  {posts:,}: insights", flush=True)
        result.update(_run_child(["--child", "insights", "--db", db, "--data-dir", tmp]))
        print(f"  {posts:,}: scoring", flush=True)
        result.update(
            _run_child(
                [
                    *("--child", "scoring", "--db", db, "--data-dir", tmp),
                    *("--first-id", str(posts + 1), "--batch", str(args.batch), "--profile", args.profile),
                ],
                env={"HF_HUB_OFFLINE": "1"},
            )
        )
        result["sizes"] = _table_sizes(db)
    result["load_after"] = os.getloadavg()[0]
    result["backend"] = args.backend
    return result


# ---------------------------------------------------------------------------- the table


def _mb(x: float) -> str:
    return f"{x:,.0f}"


def _mark_searches(r: dict[str, Any]) -> str:
    nan = float("nan")
    return f"{r.get('search_from_mark_s', nan):.3f} / {r.get('search_from_start_s', nan):.3f}"


ROWS: list[tuple[str, Any]] = [
    ("seeding (bench/seed.py, not Tesoro's work), s", lambda r: f"{r['seed_s']:,.0f}"),
    ("library: index build from the store (one process), s", lambda r: f"{r['build_s']:,.1f}"),
    ("library: that process's RSS after the build, MB", lambda r: _mb(r["build_rss_mb"])),
    ("library: snapshot written, s / MB", lambda r: f"{r['snapshot_write_s']:.1f} / {_mb(r['snapshot_mb'])}"),
    ("library: API process on the snapshot, load s", lambda r: f"{r['api_load_s']:.1f}"),
    (
        "library: API process RSS / USS loaded, MB",
        lambda r: f"{_mb(r['api_loaded']['rss'])} / {_mb(r['api_loaded']['uss'])}",
    ),
    (
        "library: API process RSS / USS after searching, MB",
        lambda r: f"{_mb(r['api_searched']['rss'])} / {_mb(r['api_searched']['uss'])}",
    ),
    ("search: text p50 / p95, ms", lambda r: f"{r['text_p50']:.1f} / {r['text_p95']:.1f}"),
    ("search: meaning p50 / p95, ms", lambda r: f"{r['meaning_p50']:.1f} / {r['meaning_p95']:.1f}"),
    ("search: filtered facets p50 / p95, ms", lambda r: f"{r['facets_p50']:.1f} / {r['facets_p95']:.1f}"),
    ("ROR refresh (job), s", lambda r: f"{r['ror_s']:.1f}"),
    ("ROR: people / events", lambda r: f"{r['ror_people']:,} / {r['ror_events']:,}"),
    ("ROR refresh peak RSS, MB", lambda r: _mb(r["ror_peak_mb"])),
    ("KPI report 30 d / 365 d, s", lambda r: f"{r['kpi30_s']:.1f} / {r['kpi365_s']:.1f}"),
    ("insights process peak RSS (ROR + KPIs), MB", lambda r: _mb(r["insights_peak_mb"])),
    ("scoring: pending count (anti-join), s", lambda r: f"{r['pending_count_s']:.2f}"),
    (
        "scoring: next search for new posts, from the score mark / from the first post, s",
        _mark_searches,
    ),
    (
        "scoring: batch scored, s (of which the store's reads and writes)",
        lambda r: f"{r['score_s']:.1f} ({r['score_store_s']:.1f})",
    ),
    ("scoring: posts/s", lambda r: f"{r['posts_per_s']:,.0f}"),
    (
        "scoring process peak RSS (models loaded: MB)",
        lambda r: f"{_mb(r['scoring_peak_mb'])} ({_mb(r['models_mb'])})",
    ),
]


def table(results: list[dict[str, Any]]) -> str:
    results = sorted(results, key=lambda r: r["posts"])
    head = "| measure | " + " | ".join(f"{r['posts']:,} posts" for r in results) + " |"
    lines = [head, "|---|" + "---:|" * len(results)]
    for label, cell in ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")
    for name in (*TABLES, "database"):
        lines.append(
            f"| size: {name} (with indexes), MB | "
            + " | ".join(_mb(r["sizes"][name]) for r in results)
            + " |"
        )
    lines.append(
        "| load average before / after | "
        + " | ".join(f"{r['load_before']:.1f} / {r['load_after']:.1f}" for r in results)
        + " |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000,3000000", help="comma-separated post counts")
    parser.add_argument("--queries", type=int, default=100, help="timed runs per query kind")
    parser.add_argument("--batch", type=int, default=2000, help="new posts scored into the grown store")
    parser.add_argument("--profile", choices=("default", "fast"), default="default", help="scoring profile")
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--results", type=Path, help="JSON file of every size's figures, kept between runs")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("TESORO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--child", choices=("insights", "scoring"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--first-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "insights":
        print(json.dumps(child_insights(args.db, args.data_dir)))
        return 0
    if args.child == "scoring":
        print(json.dumps(child_scoring(args.db, args.data_dir, args.first_id, args.batch, args.profile)))
        return 0
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    kept: list[dict[str, Any]] = []
    if args.results and args.results.exists():
        kept = [r for r in json.loads(args.results.read_text(encoding="utf-8")) if r["posts"] not in sizes]
    load = os.getloadavg()
    print(
        f"{os.cpu_count()} CPUs, load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True
    )
    for posts in sizes:
        result = run_size(posts, args)
        kept.append(result)
        if args.results:
            args.results.write_text(json.dumps(kept, indent=1), encoding="utf-8")
        print(f"  {posts:,}: done, load average {os.getloadavg()[0]:.1f}", flush=True)
    print()
    print(table(kept))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
