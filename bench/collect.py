"""Collection throughput: posts stored per second per platform, end to end, on SQLite and PostgreSQL.

    .venv/bin/python bench/collect.py [--posts 3000] [--backend sqlite|postgres|both] [--platforms x,tiktok]

For each platform, one `run_source` from an empty cursor does what a scheduled run does: the
platform's real client (tweepy, praw, atproto, Mastodon.py, google-api-python-client, Tesoro's
TikTok client on httpx, the Graph client on httpx for Instagram and Threads; the file reader for
`file`) pages through the simulator's answers, the
adapter normalises them, the boundary checks each post, the listening query is re-checked
locally, and the runner stores each page with its cursor in one transaction.

The simulator runs in a child process (grown with `--posts` posts per platform before the clock
starts), so the CPU columns split the work: Tesoro's own (process time of the collecting process,
all its threads, per 1,000 stored posts, and the rate that gives: posts per Tesoro CPU second, what a
platform that answered at once would allow) and the simulator's (its child process's CPU over the same
run). Wall time includes waiting for the simulator, which shares the machine's cores; posts/s = stored
posts / wall seconds.

The platforms are one table, `PLATFORMS`: a new platform is one line (its source settings, the
mount under the simulator's URL and which simulator credential feeds which secret).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PLATFORMS", "main"]

QUERY = '"andes outdoor" OR andesoutdoor OR #andesoutdoor OR @andesoutdoor OR cumbre OR nube OR volcan'
PG_ADMIN_URL = os.environ.get("TESORO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET = 2_000.0  # posts stored per second


@dataclass(frozen=True)
class Case:
    """One platform: the world it reads, its source settings, where it is mounted, its secrets."""

    world: str
    mount: str = ""
    secrets: dict[str, str] = field(default_factory=dict)  # secret name -> simulator Credentials field
    source: dict[str, Any] = field(default_factory=dict)  # extra [[sources]] keys
    platform: str | None = None  # the source's platform, where the row's name is not one


PLATFORMS: dict[str, Case] = {
    "x": Case("x", "", {"bearer_token": "x_bearer"}),
    "reddit": Case(
        "reddit",
        "",
        {"client_id": "reddit_client_id", "client_secret": "reddit_client_secret"},
        {"subreddits": ["trailrunning", "hiking"]},
    ),
    "bluesky": Case("bluesky", "/bsky", {"handle": "bluesky_handle", "password": "bluesky_password"}),
    "mastodon": Case("mastodon", "/mastodon", {"access_token": "mastodon_token"}, {"page_size": 40}),
    "instagram": Case(
        "instagram",
        "/instagram/v21.0",
        {"access_token": "instagram_token"},
        {"account_id": "17841400000000001", "page_size": 50},
    ),
    "threads": Case(
        "threads",
        "/threads/v1.0",
        {"access_token": "threads_token"},
        {"account_id": "27841400000000001", "quota": {"limit": 1_000_000}},
    ),
    "youtube": Case("youtube", "", {"api_key": "youtube_api_key"}, {"page_size": 50}),
    "tiktok": Case(
        "tiktok", "", {"client_key": "tiktok_client_key", "client_secret": "tiktok_client_secret"}
    ),
    # TikTok API for Business brand mentions: the videos of the tiktok world that @mention the brand
    # (the world is grown with as many of those as --posts; TikTok lists at most the top 1,000).
    "tiktok-mentions": Case(
        "tiktok-mentions",
        "",
        {"access_token": "tiktok_business_token"},
        {"account_id": "-000Sim4ndesOutd00rBusiness"},
        platform="tiktok",
    ),
    "file": Case("x"),  # the X world's posts written to a JSONL file, read by the file source
}


# --------------------------------------------------------------------------------------------
# The simulator, in a child process
# --------------------------------------------------------------------------------------------


def serve(posts: int, worlds: list[str]) -> None:
    """Child: grow the world, print its URL and a JSONL export of the X posts, serve until stdin closes."""
    from tesoro.simulator.server import SimulatorServer
    from tesoro.simulator.state import SimState

    state = SimState()
    # The bench measures throughput, not budgets: every backend's run reads the whole world, which
    # would spend YouTube's 10,000 daily units halfway through the second one.
    state.daily_limits.clear()
    state.meta.keyword_queries_per_day = 10**9  # Threads' 2,200 a day, likewise
    state.world.grow(posts, platforms=tuple(w for w in worlds if w != "tiktok-mentions"))
    if "tiktok-mentions" in worlds:
        _grow_mentions(state, posts)
    with SimulatorServer(state) as sim:
        print(json.dumps({"url": sim.base_url}), flush=True)
        for post in state.world.posts("x"):
            row = {
                "platform": "x",
                "id": str(post.id),
                "text": post.text,
                "created_at": post.created_at.isoformat(),
                "author_handle": post.author.handle,
                "author_followers": post.author.followers,
                "likes": post.likes,
                "reposts": post.reposts,
                "lang": post.lang,
            }
            print(json.dumps(row), flush=False)
        print(json.dumps({"end": True}), flush=True)
        sys.stdin.read()


def _grow_mentions(state: Any, posts: int) -> None:
    """`posts` TikTok videos of the last days that @mention the brand, made by a world of their own and
    added to the simulator's (its own tiktok videos mention the brand only now and then)."""
    from dataclasses import replace as copy_with
    from datetime import timedelta

    from tesoro.simulator.world import World

    handle = state.world.spec.handle
    for i, post in enumerate(World(spec=state.world.spec).grow(posts, platforms=("tiktok",))):
        text = post.text if f"@{handle}" in post.text else f"{post.text} @{handle}"
        created = post.created_at - timedelta(minutes=3 * i)  # spread over the last days, newest first
        state.world.add(copy_with(post, id=state.world.next_id(), text=text, created_at=created))


@contextlib.contextmanager
def simulator(posts: int, worlds: list[str], export: Path) -> Iterator[tuple[str, int]]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--posts", str(posts), "--worlds", ",".join(worlds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        url = json.loads(child.stdout.readline())["url"]
        with export.open("w", encoding="utf-8") as out:
            for line in child.stdout:
                if line.startswith('{"end"'):
                    break
                out.write(line)
        yield url, child.pid
    finally:
        child.stdin.close()
        child.wait(timeout=30)


# --------------------------------------------------------------------------------------------
# Stores
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def store(backend: str, tmp: Path) -> Iterator[Any]:
    from tesoro.store.engine import make_engine
    from tesoro.store.migrate import upgrade

    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp / f'collect-{uuid.uuid4().hex[:6]}.db'}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN_URL)
    name = f"tesoro_bench_collect_{uuid.uuid4().hex[:8]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(admin.set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------------------------
# One measurement
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    platform: str
    backend: str
    stored: int
    wall_s: float
    cpu_s: float
    sim_cpu_s: float
    status: str

    @property
    def rate(self) -> float:
        return self.stored / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_per_1000(self) -> float:
        return self.cpu_s / self.stored * 1000 if self.stored else float("nan")

    @property
    def sim_per_1000(self) -> float:
        return self.sim_cpu_s / self.stored * 1000 if self.stored else float("nan")

    @property
    def ceiling(self) -> float:
        """Posts stored per CPU second of Tesoro: the rate if the platform answered at once."""
        return self.stored / self.cpu_s if self.cpu_s else 0.0


def settings_for(platforms: list[str], url: str, export: Path) -> tuple[Any, dict[str, str]]:
    from tesoro.settings import Settings
    from tesoro.simulator.state import Credentials

    creds = Credentials()
    sources: list[dict[str, Any]] = []
    environ = {"NO_PROXY": "127.0.0.1,localhost"}
    for name in platforms:
        case = PLATFORMS[name]
        platform = case.platform or name
        if name == "file":
            sources.append({"name": "bench-file", "platform": "file", "path": str(export)})
            continue
        credentials = {}
        for secret, attribute in case.secrets.items():
            env = f"BENCH_{name.upper().replace('-', '_')}_{secret.upper()}"
            credentials[f"{secret}_env"] = env
            environ[env] = getattr(creds, attribute)
        sources.append(
            {
                "name": f"bench-{name}",
                "platform": platform,
                "query": "andes",
                "base_url": url + case.mount,
                "page_size": 100,
                "credentials": credentials,
                **case.source,
            }
        )
    raw = {
        "brands": [{"name": "Andes Outdoor"}],
        "queries": [{"name": "andes", "brand": "Andes Outdoor", "query": QUERY}],
        "sources": sources,
    }
    return Settings.model_validate(raw), environ


def child_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the simulator's process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    engine: Any, settings: Any, environ: dict[str, str], name: str, backend: str, sim_pid: int
) -> Row:
    from tesoro.collector.registry import build_collector, build_filter
    from tesoro.collector.runner import run_source
    from tesoro.store.catalog import sync_catalog
    from tesoro.store.engine import session_scope

    with session_scope(engine) as session:
        sync_catalog(session, settings)
    source = next(s for s in settings.sources if s.name == f"bench-{name}")
    collector = build_collector(settings, source, environ)  # client set-up (imports, login) not timed
    keep = build_filter(settings, source)
    wall, cpu, sim = time.perf_counter(), time.process_time(), child_cpu_s(sim_pid)
    result = run_source(engine, source_name=source.name, collector=collector, keep=keep)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sim = child_cpu_s(sim_pid) - sim
    status = result.status if not result.error else result.error
    if result.retries:  # a retried page waited out its backoff: the wall time is not the collector's
        status = f"{status}, {result.retries} retries"
    return Row(name, backend, result.inserted, wall, cpu, sim, status)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=3000, help="posts per platform in the simulator's world")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    # tiktok-mentions adds its own videos to the tiktok world, which the Research API rows would
    # read as well: it is measured on its own (`--platforms tiktok-mentions`).
    parser.add_argument("--platforms", default=",".join(p for p in PLATFORMS if p != "tiktok-mentions"))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worlds", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.posts, [w for w in args.worlds.split(",") if w])
        return
    platforms = [p for p in args.platforms.split(",") if p]
    unknown = set(platforms) - set(PLATFORMS)
    if unknown:
        parser.error(f"unknown platforms: {sorted(unknown)} (known: {', '.join(PLATFORMS)})")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    worlds = sorted({PLATFORMS[p].world for p in platforms})
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        export = tmp / "x-posts.jsonl"
        with simulator(args.posts, worlds, export) as (url, sim_pid):
            settings, environ = settings_for(platforms, url, export)
            for backend in backends:
                for name in platforms:
                    with store(backend, tmp) as engine:
                        rows.append(measure(engine, settings, environ, name, backend, sim_pid))
                        print(
                            f"  {name:9} {backend:8} {rows[-1].rate:8.0f} posts/s",
                            file=sys.stderr,
                            flush=True,
                        )
    cpu = _cpu_name()
    print(f"\n{args.posts} posts per platform in the simulator's world; {cpu}\n")
    print(
        "| platform | store | posts stored | seconds | posts/s | ≥ 2,000/s | Tesoro CPU s per 1,000 posts "
        "| posts per Tesoro CPU second | simulator CPU s per 1,000 posts |"
    )
    print("|---|---|---:|---:|---:|---|---:|---:|---:|")
    for row in rows:
        ok = "yes" if row.rate >= TARGET else "no"
        status = "" if row.status == "ok" else f" ({row.status})"
        print(
            f"| {row.platform}{status} | {row.backend} | {row.stored:,} | {row.wall_s:.2f} | {row.rate:,.0f} "
            f"| {ok} | {row.cpu_per_1000:.3f} | {row.ceiling:,.0f} | {row.sim_per_1000:.3f} |"
        )


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    return "unknown CPU"


if __name__ == "__main__":
    main()
