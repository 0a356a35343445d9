"""Requests per second and latency of the gallery feed, its kept copies and the library searches under load.

    .venv/bin/python bench/api.py [--duration 30] [--workers 2] [--connections 64] [--posts 20000]
                                  [--library-posts 20000]

Builds a temporary SQLite store with `--posts` posts (1 in 50 approved with rights
granted, so the gallery has something to show), starts `uvicorn --workers N` on
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
The library search is the curator's (full-text index plus the in-memory facet index)
over `--library-posts` ranked, approved simulator posts, authenticated with a viewer key.
(The older `/api/browse/search` LIKE scan is retired: it answers 410 and is no longer measured.)

The library keeps the answer to an identical question until the library changes
(facet counts and page order; never the post cards), so the repeated
`q=cumbre` row measures that path. The "new query each time" row sends the same
search with an exclusion of a word no post has, numbered per request
(`q=cumbre -nocache17`): the same posts, but a question the server has not seen,
so nothing comes from what it kept. `--only library` runs just the library rows.
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

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _seed_library(folder: Path, posts: int) -> None:
    """A ranked, approved library of simulator posts with synthetic scores (no model needed).

    The curator's search only covers ranked, approved posts; `curator_sim` (beside this
    file) stores simulator posts with the score sets a good scorer would give them.
    """
    from curator_sim import generate, store_world
    from sqlalchemy import text

    from tesoro.curator.ranking import rank_posts
    from tesoro.settings import CuratorSettings

    settings = load_settings(folder / "tesoro.toml", environ={})
    engine = open_store(settings)
    store_world(engine, generate(max(1, posts // 4), seed=11), seed=11, batch=5000)
    rank_posts(engine, CuratorSettings(), batch_size=5000)
    with engine.begin() as conn:
        conn.execute(text("UPDATE post SET queue_state = 'approved' WHERE queue_state = 'new'"))
    engine.dispose()


def _seed(folder: Path, posts: int) -> str:
    # The kept copies go in the temporary folder (a relative copies_dir would follow the working directory).
    config = CONFIG.replace('copies_dir = "copies"', f"copies_dir = {json.dumps(str(folder / 'copies'))}")
    (folder / "tesoro.toml").write_text(config, encoding="utf-8")
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
                    external_id=str(i),
                    text=" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))),
                    created_at=now - timedelta(minutes=i),
                    author=NormalizedAuthor(Platform.X, handle, handle, display_name=handle.title()),
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
            "rights_status = 'granted', treasure_score = (id % 97) / 97.0 WHERE id % 50 = 0"
        )
        token = create_key(session, name="bench", role="viewer").token
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


def _start_server(folder: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
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
        "--library-posts", type=int, default=20000, help="ranked, approved posts for the library search"
    )
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    parser.add_argument(
        "--only", choices=("gallery", "copies", "library"), action="append", help="run only these endpoints"
    )
    args = parser.parse_args(argv)

    # The machine is shared: say how busy it was, so a slow run can be told from a slow server.
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    folder = Path(tempfile.mkdtemp(prefix="tesoro-bench-api-"))
    started = time.perf_counter()
    token = _seed(folder, args.posts)
    if args.library_posts:
        _seed_library(folder, args.library_posts)
    COPY_PATHS[:] = _seed_copies(folder)
    print(f"seeded {args.posts:,} posts in {time.perf_counter() - started:.1f} s ({folder})", file=sys.stderr)
    port = _free_port()
    server = _start_server(folder, port, args.workers)
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
            "library  GET /api/curator/library?q=cumbre",
            "/api/curator/library?q=cumbre&limit=24",
            {"Authorization": f"Bearer {token}"},
            args.search_connections,
        ),
        (
            "library  GET /api/curator/library?q=cumbre+-nocache{n} (a new query each time)",
            "/api/curator/library?q=cumbre+-nocache{n}&limit=24",
            {"Authorization": f"Bearer {token}"},
            args.search_connections,
        ),
    ]
    if args.only:
        targets = [t for t in targets if t[0].split()[0] in args.only]
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    results: list[Result] = []
    try:
        for name, path, headers, connections in targets:
            if use_wrk:
                url = f"http://127.0.0.1:{port}{path}"
                if args.warmup:
                    _wrk(name, url, headers, args.warmup, connections, args.threads)
                results.append(_wrk(name, url, headers, args.duration, connections, args.threads))
            else:
                path = path.replace("/{copies}", COPY_PATHS[0])  # the Python load asks for one copy
                procs = max(2, connections // 16)
                if args.warmup:
                    _python_load(name, port, path, headers, args.warmup, procs)
                results.append(_python_load(name, port, path, headers, args.duration, procs))
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"\nuvicorn --workers {args.workers}, "
        f"{args.duration} s per endpoint after {args.warmup} s of warm-up, {args.posts:,} posts, "
        f"{os.cpu_count()} CPUs, "
        f"load average before: {load_before}\n"
    )
    print("| endpoint | load | connections | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r, target in zip(results, targets, strict=True):
        print(
            f"| {r.name} | {r.tool} | {target[3]} | {r.requests:,} | {r.rps:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |"
        )
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
