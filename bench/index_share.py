"""Library index shared between API processes: memory per process, search latency and freshness,
with index snapshots (`[search] snapshot_interval_s`) and without (each process builds its own index).

    .venv/bin/python bench/index_share.py [--posts 200000] [--keep DIR] [--extra 2] [--queries 100]
    .venv/bin/python bench/index_share.py --synthetic 1000000 [--extra 2] [--queries 100]

Store-backed (default): the library of `--posts` posts that `bench/search.py` generates (kept in
`--keep DIR` and reused, generated there when missing). One post is moved back to the queue, then a
writer process builds the index from the store and writes a snapshot (what the `index:snapshot`
job does). Then, for each mode, `1 + --extra` reader processes start one after the other, each
standing for one API process: a `Library` whose index maps the snapshot ("snapshots") or is built
from the store ("own index"). Each reports its resident memory from /proc/<pid>/smaps_rollup after
loading and after the timed queries (text, meaning, filtered facets, `--queries` runs each, caches
off). RSS counts the mapped snapshot pages it has touched although every process shares them; PSS
divides each shared page among the processes mapping it; USS is what the process alone holds
(what one more process costs). Finally the post is approved in the store and every reader searches
until it finds it: "approved post searchable after" is the time from the write to the first search
that shows it.

`--synthetic N`: N generated rows (random 384-d embeddings, 28-word documents over a 30,000-word
vocabulary, the filter columns of `bench/search.py --index-only`) over an empty store, to measure
a million rows without generating a million-post database; without snapshots each reader builds
the same rows itself. The freshness check needs stored posts and is skipped there; the page's
cards are not read (no stored posts), so a query is the index's work alone.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------- the reader process


def _memory() -> dict[str, float]:
    """This process's RSS, PSS and USS in MB (smaps_rollup)."""
    fields: dict[str, int] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = line.partition(":")
        parts = value.split()
        if parts and parts[0].isdigit():
            fields[name.strip()] = int(parts[0])
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"rss": fields["Rss"] / 1024, "pss": fields["Pss"] / 1024, "uss": uss / 1024}


def _synthetic_rows(posts: int, start: int, count: int) -> list[Any]:
    """Rows `start`..`start + count - 1` of the synthetic library (the same in every process)."""
    from tesoro.store.library import IndexRow

    now = datetime(2026, 1, 1, tzinfo=UTC)
    rng = np.random.default_rng(start)
    vectors = rng.standard_normal((count, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    created = now.timestamp() - rng.uniform(0, 60 * 86400, count)
    # Zipf-like word ids: a few words in many posts, most in few.
    words = np.minimum(rng.zipf(1.3, size=(count, 28)), 30_000) - 1
    platforms, languages = ("x", "reddit", "bluesky", "mastodon"), ("en", "es")
    sentiments, states = ("positive", "neutral", "negative"), ("approved", "featured")
    return [
        IndexRow(
            post_id=start + i,
            brand_id=1 + (i % 3),
            platform=platforms[i % 4],
            created_at=datetime.fromtimestamp(float(created[i]), tz=now.tzinfo),
            language=languages[(i // 3) % 2],
            sentiment=sentiments[i % 3],
            scored_product_id=1 + i % 5,
            content_mask=int(rng.integers(0, 1024)),
            score=float(rng.random()),
            filtered=False,
            duplicate=False,
            item_updated_at=now,
            queue_state=states[int(i % 10 == 0)],
            rights_status="none",
            product_id=None,
            post_updated_at=now,
            embedding=vectors[i].tobytes(),
            doc=" ".join(f"w{w}" for w in words[i].tolist()),
        )
        for i in range(count)
    ]


def _synthetic_index(posts: int) -> Any:
    from tesoro.search.index import LibraryIndex

    index = LibraryIndex()
    for start in range(1, posts + 1, 50_000):
        index.add_rows(_synthetic_rows(posts, start, min(50_000, posts + 1 - start)))
    index._text.rebuild()
    return index


def reader(db: str, root: str | None, synthetic: int, queries: int) -> None:
    """One API process: load, then answer commands (one JSON line each) from stdin."""
    from sqlalchemy import text

    from tesoro.search.index import LibraryIndex
    from tesoro.search.library import Library, LibraryFilters, LibraryQuery
    from tesoro.settings import CuratorSettings
    from tesoro.store.engine import make_engine, session_scope

    engine = make_engine(db)
    started = time.perf_counter()
    if root is None and synthetic:
        index = _synthetic_index(synthetic)
        index._built = True  # nothing in the store to follow: the rows are the library
    else:
        index = LibraryIndex(snapshots=Path(root) if root else None)
    rng = np.random.default_rng(3)
    if synthetic:
        vectors = [rng.standard_normal(384).astype(np.float32) for _ in range(50)]
        texts = ["w3 w17", "w1 w250", '"w0 w1"', "w12 -w2", "w7 OR w900"]
    else:
        with session_scope(engine) as session:
            stored = [
                np.frombuffer(e, dtype=np.float32)
                for (e,) in session.execute(
                    text("SELECT s.embedding FROM score s JOIN curation_item c ON c.score_id = s.id LIMIT 50")
                )
            ]
        vectors = []
        for v in stored:
            q = v + 0.3 * rng.standard_normal(v.shape).astype(np.float32) / np.sqrt(v.shape[0])
            vectors.append((q / np.linalg.norm(q)).astype(np.float32))
        sys.path.insert(0, str(HERE))
        from search import TEXT_QUERIES

        texts = TEXT_QUERIES
    lookup = {f"q{i}": v for i, v in enumerate(vectors)}
    library = Library(
        engine,
        CuratorSettings(),
        encode=lambda t: np.stack([lookup[x] for x in t]),
        index=index,
    )
    library.cache = False
    library.warm()
    load_s = time.perf_counter() - started
    print(
        json.dumps({"load_s": load_s, "snapshot": index.snapshot is not None, **_memory()}),
        flush=True,
    )
    facet_filters = LibraryFilters(
        brand_ids=(1,) if synthetic else (),
        platforms=("x", "bluesky"),
        languages=("en",),
        content_types=("photo", "video"),
    )
    kinds = {
        "text": lambda i: LibraryQuery(text=texts[i % len(texts)]),
        "meaning": lambda i: LibraryQuery(meaning=f"q{i % len(vectors)}"),
        "facets": lambda i: LibraryQuery(filters=facet_filters),
    }
    counter = [0]
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "bench":  # bench N: N timed runs of each kind, the samples in ms
            runs = int(command[1]) if len(command) > 1 else queries
            out: dict[str, Any] = {}
            for name, make in kinds.items():
                samples = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    library.search(make(counter[0]))
                    samples.append((time.perf_counter() - t0) * 1000)
                    counter[0] += 1
                out[name] = samples
            print(json.dumps(out), flush=True)
        elif command[0] == "mem":
            print(json.dumps(_memory()), flush=True)
        elif command[0] == "watch":
            post_id, deadline = int(command[1]), time.time() + 120
            approved = LibraryFilters(states=("approved",))
            found = None
            while time.time() < deadline:
                library.search(LibraryQuery(filters=approved, limit=1))  # a request: refreshes first
                row = int(index.rows_of([post_id])[0])
                if row >= 0 and index.mask(approved)[row]:
                    found = time.time()
                    break
                time.sleep(0.1)
            print(json.dumps({"found_at": found}), flush=True)
        elif command[0] == "quit":
            return


# ---------------------------------------------------------------------------- the writer process


def writer(db: str, root: str, synthetic: int) -> None:
    from tesoro.search.index import LibraryIndex
    from tesoro.store.engine import make_engine, session_scope

    started = time.perf_counter()
    if synthetic:
        index = _synthetic_index(synthetic)
    else:
        index = LibraryIndex()
        with session_scope(make_engine(db)) as session:
            index.refresh(session, force=True)
    built = time.perf_counter() - started
    started = time.perf_counter()
    info = index.write_snapshot(Path(root))
    print(
        json.dumps(
            {
                "build_s": built,
                "write_s": time.perf_counter() - started,
                "mb": info.bytes / 1e6,
                **_memory(),
            }
        ),
        flush=True,
    )


# ---------------------------------------------------------------------------- the coordinator


class Child:
    def __init__(self, args: list[str]) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), str(HERE)]),
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def ask(self, command: str | None = None) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command is not None:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"a child process failed (exit {self.proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _library(posts: int, keep: Path | None) -> str:
    """The URL of the kept (or generated) library of `posts` posts."""
    sys.path.insert(0, str(HERE))
    from search import fill, sqlite_engine, stored_posts

    path = (keep or Path(tempfile.mkdtemp())) / f"lib{posts}.db"
    with sqlite_engine(path) as engine:
        have = stored_posts(engine)
        if have == 0:
            print(
                f"generating a library of {posts:,} posts in {path} (bench/search.py's generator)",
                flush=True,
            )
            fill(engine, posts)
        elif have != posts:
            raise SystemExit(f"{path} holds {have:,} posts, not {posts:,}")
    return f"sqlite:///{path}"


def _pick_post(db: str) -> tuple[int, str]:
    """A library post, moved back to the queue before the snapshot (the freshness check approves it)."""
    from sqlalchemy import text

    from tesoro.store.decisions import set_state
    from tesoro.store.engine import make_engine, session_scope

    engine = make_engine(db)
    with session_scope(engine) as session:
        post_id = int(session.execute(text("SELECT MAX(post_id) FROM curation_item")).scalar_one())
        state = session.execute(
            text("SELECT queue_state FROM post WHERE id = :p"), {"p": post_id}
        ).scalar_one()
        set_state(session, post_id=post_id, expected=state, to="new")
    engine.dispose()
    return post_id, str(state)


def _approve(db: str, post_id: int) -> float:
    from tesoro.store.decisions import set_state
    from tesoro.store.engine import make_engine, session_scope

    engine = make_engine(db)
    with session_scope(engine) as session:
        set_state(session, post_id=post_id, expected="new", to="approved")
    at = time.time()  # committed
    engine.dispose()
    return at


def run(
    db: str,
    root: str,
    synthetic: int,
    readers: dict[str, int],
    queries: int,
    post_id: int | None,
) -> list[dict[str, Any]]:
    """Start the API processes of each mode, then time queries in turns (so both modes share the
    machine's load alike), then check how soon each sees an approval."""
    procs: list[tuple[dict[str, Any], Child]] = []
    try:
        for mode, count in readers.items():
            print(
                f"{mode}: starting {count} API processes one after the other",
                flush=True,
            )
            for i in range(count):
                args = [
                    "--child",
                    "reader",
                    "--db",
                    db,
                    "--queries",
                    str(queries),
                    "--synthetic",
                    str(synthetic),
                ]
                child = Child(args + (["--root", root] if mode == "snapshots" else []))
                row: dict[str, Any] = {
                    "mode": mode,
                    "process": i + 1,
                    "loaded": child.ask(),
                }
                child.ask("bench 3")  # the pages a search touches, before the memory is read
                row["warm"] = child.ask("mem")
                procs.append((row, child))
                print(f"  process {i + 1}: {json.dumps(row)}", flush=True)
        samples: dict[tuple[str, str], list[float]] = {}
        turns = 10
        for _ in range(turns):
            for row, child in procs:
                for kind, values in child.ask(f"bench {max(1, queries // turns)}").items():
                    samples.setdefault((row["mode"], kind), []).extend(values)
        for row, child in procs:
            row["final"] = child.ask("mem")
        if post_id is not None:
            approved_at = _approve(db, post_id)
            for _row, child in procs:
                child.proc.stdin.write(f"watch {post_id}\n")  # type: ignore[union-attr]
                child.proc.stdin.flush()  # type: ignore[union-attr]
            for row, child in procs:
                found = child.ask()["found_at"]
                row["fresh_s"] = None if found is None else found - approved_at
    finally:
        for _row, child in procs:
            child.close()
    rows = [row for row, _child in procs]
    for row in rows:
        row["latency"] = {
            kind: _percentiles(values) for (mode, kind), values in samples.items() if mode == row["mode"]
        }
    return rows


def _percentiles(values: list[float]) -> tuple[float, float, int]:
    ordered = sorted(values)
    return (
        statistics.median(ordered),
        ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        len(ordered),
    )


def table(rows: list[dict[str, Any]]) -> None:
    print()
    print(
        "| mode | API process | load (s) | RSS / PSS / USS after loading (MB) | RSS / PSS / USS with every "
        "process loaded and searched (MB) | approved post searchable after (s) |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        loaded, final = r["loaded"], r["final"]
        fresh = r.get("fresh_s")
        which = "first" if r["process"] == 1 else "extra #" + str(r["process"] - 1)
        print(
            f"| {r['mode']} | {which} | {loaded['load_s']:.1f} "
            f"| {loaded['rss']:,.0f} / {loaded['pss']:,.0f} / {loaded['uss']:,.0f} "
            f"| {final['rss']:,.0f} / {final['pss']:,.0f} / {final['uss']:,.0f} "
            f"| {'n/a' if fresh is None else f'{fresh:.1f}'} |"
        )
    print()
    print(
        "| search, all API processes in turns (p50 / p95 ms, runs) | "
        + " | ".join(dict.fromkeys(r["mode"] for r in rows))
        + " |"
    )
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    print("|---|" + "---:|" * len(modes))
    first = {r["mode"]: r for r in rows if r["process"] == 1}
    for kind in ("text", "meaning", "facets"):
        cells = []
        for mode in modes:
            p50, p95, n = first[mode]["latency"][kind]
            cells.append(f"{p50:.1f} / {p95:.1f} ({n})")
        print(f"| {kind} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--synthetic", type=int, default=0, help="N generated rows over an empty store")
    parser.add_argument("--keep", type=Path, default=None, help="folder of the kept generated library")
    parser.add_argument("--extra", type=int, default=2, help="API processes beyond the first")
    parser.add_argument("--queries", type=int, default=100, help="timed runs per query kind")
    parser.add_argument(
        "--modes",
        default="snapshots,own",
        help="snapshots, own, or both (comma-separated)",
    )
    parser.add_argument("--own-extra", type=int, default=None, help="extra processes without snapshots")
    parser.add_argument("--child", choices=("reader", "writer"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "reader":
        reader(args.db, args.root, args.synthetic, args.queries)
        return
    if args.child == "writer":
        writer(args.db, args.root, args.synthetic)
        return

    work = Path(tempfile.mkdtemp(prefix="tesoro-index-share-"))
    post_id: int | None = None
    original = "approved"
    if args.synthetic:
        from tesoro.store.engine import make_engine
        from tesoro.store.migrate import upgrade

        db = f"sqlite:///{work / 'empty.db'}"
        upgrade(make_engine(db))
    else:
        db = _library(args.posts, args.keep)
        post_id, original = _pick_post(db)
    load = os.getloadavg()
    print(
        f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {os.cpu_count()} CPUs",
        flush=True,
    )
    root = work / "index"
    writer_child = Child(
        [
            "--child",
            "writer",
            "--db",
            db,
            "--root",
            str(root),
            "--synthetic",
            str(args.synthetic),
        ]
    )
    wrote = writer_child.ask()
    writer_child.close()
    print(f"writer: {json.dumps(wrote)}", flush=True)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    own_extra = args.extra if args.own_extra is None else args.own_extra
    readers = {m: 1 + (own_extra if m == "own" else args.extra) for m in modes}
    rows = run(db, str(root), args.synthetic, readers, args.queries, post_id)
    if post_id is not None:
        from tesoro.store.decisions import set_state
        from tesoro.store.engine import make_engine, session_scope

        with session_scope(make_engine(db)) as session:  # leave the kept library as it was
            set_state(session, post_id=post_id, expected="new", to=original)
    size = f"{args.synthetic:,} synthetic rows" if args.synthetic else f"{args.posts:,} posts (SQLite)"
    print(
        f"\n{size}; snapshot written in {wrote['write_s']:.1f} s ({wrote['mb']:,.0f} MB) after a "
        f"{wrote['build_s']:.0f} s build; load average now {os.getloadavg()[0]:.1f}"
    )
    table(rows)
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
