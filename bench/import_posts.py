"""Import benchmark: a 100,000-row JSONL file, imported twice (the second run must add zero rows).

    .venv/bin/python bench/import_posts.py [--rows 100000] [--database-url URL]

Prints a table: rows, seconds, rows/s, new, updated, bad rows, per run.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from tesoro.collector.importer import import_file
from tesoro.store.engine import make_engine
from tesoro.store.migrate import upgrade


def write_rows(path: Path, rows: int, bad_every: int, seed: int = 5) -> int:
    rng = random.Random(seed)
    bad = 0
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            if bad_every and i % bad_every == bad_every - 1:
                handle.write('{"id": "broken", "text": \n')
                bad += 1
                continue
            row = {
                "platform": rng.choice(["x", "bluesky", "mastodon", "reddit"]),
                "id": str(10_000_000 + i),
                "text": f"Post {i} about the Cumbre trail runner #andesoutdoor",
                "created_at": f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                "author_handle": f"user{rng.randrange(20_000)}",
                "author_followers": rng.randrange(50_000),
                "likes": rng.randrange(500),
                "reposts": rng.randrange(50),
                "media": [{"type": "photo", "url": f"https://pbs.twimg.com/media/{i}.jpg"}]
                if i % 3 == 0
                else [],
            }
            handle.write(json.dumps(row) + "\n")
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad-every", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "posts.jsonl"
        write_rows(data, args.rows, args.bad_every)
        engine = make_engine(args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        print(f"| run | rows | seconds | rows/s | new | updated | bad rows |  ({engine.dialect.name})")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for run in ("first", "second"):
            start = time.perf_counter()
            report = import_file(engine, data)
            seconds = time.perf_counter() - start
            print(
                f"| {run} | {args.rows} | {seconds:.1f} | {args.rows / seconds:,.0f} | {report.inserted} "
                f"| {report.updated} | {len(report.bad_rows)} |"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
