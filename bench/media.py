"""Media pipeline throughput, and what the pixels tell, on the simulator's world.

    .venv/bin/python bench/media.py [--posts 300] [--concurrency 1 4] [--distance 10]

Starts the platform simulator in a second process with its media host on (`serve_media`), grows
`--posts` posts per platform, collects them into a temporary SQLite store with the real clients,
then runs the media stage (`tesoro.media.pipeline.process_media`) over every media item, once per
`--concurrency` value, each time on a fresh copy of the collected store:

- images/s: media items fetched, decoded, measured and stored per second of wall time;
- CPU ms/image: this process's CPU time (user + system) per item, so the simulator drawing the
  pictures in its own process is not counted. The first run finds the simulator's picture cache
  cold; a warm-up pass fetches every picture once first, so every run reads the same cache.

Then, from the last run's store: image near-duplicate detection against the simulator's ground
truth (pairs of processed images showing the same shared scene, `tesoro.simulator.images`):
precision and recall of "same image group", and the mean photo quality per take (sharp, blurry,
dark, bright), with the share of (blurry or dark, sharp) pairs the quality orders correctly.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from sqlalchemy import select

from tesoro.jobs.tasks import collect_source
from tesoro.media.pipeline import process_media
from tesoro.settings import Settings
from tesoro.simulator.demo import demo_environment, demo_settings
from tesoro.simulator.images import image_spec
from tesoro.simulator.model import WorldSpec
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.simulator.world import World
from tesoro.store.catalog import sync_catalog
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from tesoro.store.tables import Media, MediaImage

__all__ = ["main"]

SOURCES = ("demo-x", "demo-reddit", "demo-bluesky", "demo-mastodon")


def _simulator(posts: int, pipe: Connection) -> None:
    state = SimState(world=World(spec=WorldSpec(seed=20261207)))
    state.world.grow(posts)
    with SimulatorServer(state, serve_media=True) as sim:
        pipe.send((sim.base_url, sim.state.credentials))
        pipe.recv()  # until the benchmark is done


def _settings(base: Path, url: str, concurrency: int, distance: int) -> Settings:
    settings = demo_settings(base, url)
    media = settings.media.model_copy(
        update={"concurrency": concurrency, "batch": 10_000, "duplicate_distance": distance}
    )
    return settings.model_copy(update={"media": media})


def _world_url(local: str) -> str:
    return "https://" + local.split("/media/", 1)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=300, help="posts per platform")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--distance", type=int, default=10, help="[media] duplicate_distance")
    args = parser.parse_args(argv)

    ours, theirs = multiprocessing.Pipe()
    sim = multiprocessing.Process(target=_simulator, args=(args.posts, theirs), daemon=True)
    sim.start()
    url, credentials = ours.recv()
    work = Path(tempfile.mkdtemp(prefix="tesoro-bench-media-"))
    try:
        template = work / "template"
        template.mkdir()
        settings = _settings(template, url, 1, args.distance)
        engine = open_store(settings)
        with session_scope(engine) as session:
            sync_catalog(session, settings)
        environ = demo_environment({}, credentials, url)
        for name in SOURCES:
            result = collect_source(engine, settings, name, environ)
            if result.status != "ok":
                print(f"collecting {name} failed: {result.error}", file=sys.stderr)
                return 1
        with session_scope(engine) as session:
            media = {int(m.id): m.preview_url or m.url for m in session.execute(select(Media)).scalars()}
        engine.dispose()
        with httpx.Client() as client:  # warm the simulator's picture cache
            for link in media.values():
                client.get(link)
        database = settings.database.path
        print(f"# media pipeline, simulator's world: {len(media)} media items, {args.posts} posts/platform")
        print()
        print("| concurrency | items | processed | failed | wall s | images/s | CPU ms/image | MB fetched |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        last: Path | None = None
        for concurrency in args.concurrency:
            run = work / f"run-{concurrency}"
            run.mkdir()
            shutil.copy(template / database, run / database)
            run_settings = _settings(run, url, concurrency, args.distance)
            run_engine = open_store(run_settings)
            cpu, wall = time.process_time(), time.perf_counter()
            report = process_media(run_engine, run_settings)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            run_engine.dispose()
            print(
                f"| {concurrency} | {report.tried} | {report.processed} | {report.failed + report.retrying} "
                f"| {wall:.2f} | {report.tried / wall:.1f} | {1000 * cpu / max(report.tried, 1):.1f} "
                f"| {report.fetched_bytes / 1e6:.1f} |"
            )
            last = run
        assert last is not None
        _measure(_settings(last, url, 1, args.distance))
    finally:
        ours.send("done")
        sim.join(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _measure(settings: Settings) -> None:
    engine = open_store(settings)
    with session_scope(engine) as session:
        rows = session.execute(
            select(Media.url, Media.type, MediaImage.image_group, MediaImage.quality, MediaImage.error).join(
                MediaImage, MediaImage.media_id == Media.id
            )
        ).all()
    engine.dispose()
    errors: dict[str, int] = defaultdict(int)
    ok: list[tuple[int, str, float, int | None]] = []  # (group, take, quality, scene)
    for url, kind, group, quality, error in rows:
        spec = image_spec(_world_url(url))
        if error:
            errors[f"{error} (simulator fault: {spec.fault})"] += 1
            continue
        if kind != "photo":
            continue  # posters: letter-boxed with a play mark, judged apart
        ok.append((int(group), spec.take, float(quality), spec.scene if spec.shared else None))
    tp = fp = fn = 0
    for a, b in itertools.combinations(ok, 2):
        same = a[3] is not None and a[3] == b[3]
        found = a[0] == b[0]
        tp += same and found
        fp += found and not same
        fn += same and not found
    print()
    print(f"# image near-duplicates among {len(ok)} processed photos (same image group vs same scene)")
    print()
    print("| true pairs | found | false | missed | precision | recall |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"| {tp + fn} | {tp} | {fp} | {fn} | {precision:.3f} | {recall:.3f} |")
    by_take: dict[str, list[float]] = defaultdict(list)
    for _, take, quality, _ in ok:
        by_take[take].append(quality)
    print()
    print("# photo quality by how the simulator took the photo")
    print()
    print("| take | photos | mean quality | pairs ordered below sharp |")
    print("| --- | ---: | ---: | ---: |")
    sharp = by_take.get("sharp", [])
    for take in ("sharp", "blurry", "dark", "bright"):
        values = by_take.get(take, [])
        if not values:
            continue
        ordered = "" if take == "sharp" else f"{_share_below(values, sharp):.1%}"
        print(f"| {take} | {len(values)} | {statistics.mean(values):.3f} | {ordered} |")
    if errors:
        print()
        print("refused: " + ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())))


def _share_below(values: list[float], sharp: list[float]) -> float:
    """Share of (value, sharp) pairs where the sharp photo scores higher."""
    if not values or not sharp:
        return 0.0
    wins = sum(1 for v in values for s in sharp if s > v)
    return wins / (len(values) * len(sharp))


if __name__ == "__main__":
    sys.exit(main())
