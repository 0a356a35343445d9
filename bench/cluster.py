"""The cluster benchmark (issue 23, item 4): a scaled-out Tesoro on this machine, and its parts killed.

    .venv/bin/python bench/cluster.py [--duration 315] [--rate 2.5] [--phase-s S] [--keep]
                                       [--faults worker,scheduler,redis,api] [--no-score] [--json FILE]

What it starts, every Tesoro process from the command lines of `deploy/Procfile` (the file is
parsed; `tesoro` becomes this virtualenv's, `$TESORO_CONFIG` the settings file written here, and the
ports free ones): 2 API processes, 2 schedulers, 3 workers. Around them: a fresh PostgreSQL
database (dropped at the end unless `--keep`), a Redis server of its own on a free port (so that
dropping its client connections touches no other user of the machine's Redis), and the platform
simulator in this process, whose world grows by `--rate` posts a second, round-robin over X,
Reddit, Bluesky and Mastodon, each post's appearance time noted.

What it measures:

- lag from a post appearing on the simulated platform to its row in the store (`post.collected_at`)
  and to its place in the review queue (`curation_item.ranked_at`, after scoring), p50/p95 per
  phase: before the first fault, then for each fault the window after it ("during") and the
  steady phase that follows ("after");
- posts/s sustained: posts stored and queued per second of the run;
- the faults, in order, a steady phase apart: SIGKILL of a worker's process group (the worker and
  the work horse of the job it runs, as systemd's cgroup would); SIGKILL of the scheduler holding the
  lease, and the time until the standby holds the lease and queues its first job; `CLIENT KILL TYPE
  normal` on Redis (every client connection dropped; the server keeps running); SIGTERM of one API
  process and its start again, while `/readyz` of both is polled. A killed process is started again
  2 s later, as the systemd units in `deploy/systemd/` do (`Restart=always`, `RestartSec=2`);
- at the end: posts lost (posts a clean collection of the same simulator stores that the cluster
  did not), posts unexpected (the other way round), duplicated rows by (platform, external id),
  posts scored twice for one model version, alerts lost (alerts the store holds whose post no Slack
  message named, and alerts never delivered), and the workers' ledger of job outcomes.

Every process's log goes to a temporary folder; on a failure the tail of each is printed. Ctrl-C
(or any error) stops every child. The exit status is 1 when a post or an alert was lost or a post
duplicated.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from redis import Redis
from rq import Worker
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from tesoro.ops.joblock import JobLedger
from tesoro.ops.lease import LEASE_KEY
from tesoro.simulator.bluesky import decode_tid
from tesoro.simulator.demo import demo_environment
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.simulator.world import World
from tesoro.store.engine import make_engine
from tesoro.store.migrate import upgrade
from tesoro.store.ops import advisory_lock_holder

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "deploy" / "Procfile"
PG_ADMIN_URL = os.environ.get("TESORO_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PLATFORMS = ("x", "reddit", "bluesky", "mastodon")
FAULTS = ("worker", "scheduler", "redis", "api")
# How many of each process the bench runs (names as in deploy/Procfile, without the number).
LAYOUT = {"api": 2, "scheduler": 2, "worker": 3}
# As the systemd units: a process that died is started again after RestartSec.
RESTART_AFTER_S = 2.0
LEASE_S = 6
ALERT_RULE = "bench-mentions"
ALERT_MIN_FOLLOWERS = 20_000


# --- the Procfile ---------------------------------------------------------------------------------


def read_procfile(path: Path = PROCFILE) -> dict[str, list[str]]:
    """`name: command` lines (comments and blanks skipped) as argument lists, in file order."""
    entries: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_-]+", name.strip()) or not command.strip():
            raise ValueError(f"{path}:{number}: not a `name: command` line: {line!r}")
        entries[name.strip()] = shlex.split(command)
    return entries


def procfile_command(argv: Sequence[str], *, tesoro: Sequence[str], env: dict[str, str]) -> list[str]:
    """One Procfile command ready to run: `tesoro` replaced, `$VAR` and `${VAR}` expanded from `env`."""

    def expand(arg: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name not in env:
                raise KeyError(f"the Procfile names ${name}, which the bench does not set")
            return env[name]

        return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, arg)

    out = [expand(a) for a in argv]
    if out and out[0] == "tesoro":
        out = [*tesoro, *out[1:]]
    return out


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    """`argv` with `option`'s value replaced (the Procfile's fixed ports become free ones)."""
    if option not in argv:
        raise ValueError(f"the Procfile's command {' '.join(argv)!r} has no {option}")
    at = argv.index(option)
    return [*argv[: at + 1], value, *argv[at + 2 :]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- processes --------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    argv: list[str]
    log: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    port: int | None = None

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            stamp = datetime.now(UTC).isoformat()
            out.write(f"--- start {self.starts} at {stamp}: {shlex.join(self.argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=ROOT,
                start_new_session=True,  # its own process group: the worker and its work horse die together
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.popen is None or self.popen.poll() is not None:
            self.kill_group()  # a work horse may outlive its worker
            return
        self.kill_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            self.popen.wait(timeout=10)
        self.kill_group()

    def children(self) -> list[int]:
        try:
            found = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in found]

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Children:
    """Every process the bench started; `close()` stops them all (also at exit and on Ctrl-C)."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []
        self.others: list[subprocess.Popen[bytes]] = []
        self._closed = False

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        proc.start()
        return proc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for proc in self.procs:
            if proc.alive():
                proc.kill_group(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs:
            if proc.popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            proc.kill_group()
        for other in self.others:
            other.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                other.wait(timeout=10)
            if other.poll() is None:
                other.kill()


# --- the store and the simulator ------------------------------------------------------------------


def _utc(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def sim_id(platform_name: str, external_id: str) -> int | None:
    """The simulator's post id behind a stored post's external id (None: not a simulator post)."""
    try:
        if platform_name in ("x", "mastodon"):
            return int(external_id)
        if platform_name == "reddit":
            return int(external_id.removeprefix("t3_"), 36) if external_id.startswith("t3_") else None
        if platform_name == "bluesky":
            return decode_tid(external_id.rsplit("/", 1)[1])
    except ValueError:
        return None
    return None


class Grower:
    """The simulated platforms' new posts at `rate` a second, round-robin; when each appeared."""

    def __init__(self, state: SimState, rate: float) -> None:
        self.state = state
        self.rate = rate
        self.appeared: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="grower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        start = time.monotonic()
        made = 0
        while not self._stop.is_set():
            due = int((time.monotonic() - start) * self.rate)
            while made < due:
                name = PLATFORMS[made % len(PLATFORMS)]
                for post in self.state.world.grow(1, platforms=(name,)):
                    self.appeared[(name, post.id)] = time.time()
                made += 1
            self._stop.wait(min(0.2, 1 / self.rate))


@dataclass
class Seen:
    stored: dict[tuple[str, int], float] = field(default_factory=dict)
    queued: dict[tuple[str, int], float] = field(default_factory=dict)


class Watcher:
    """Polls the store for when each post was stored and queued (the store's own timestamps)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen = Seen()
        self.errors = 0
        self._after = 0
        self._unqueued: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def poll(self) -> None:
        """New posts since the last poll, and the queue's items of posts stored but not queued yet."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT p.id, p.platform, p.external_id, p.collected_at, c.ranked_at FROM post p "
                    "LEFT JOIN curation_item c ON c.post_id = p.id "
                    "WHERE p.id > :after OR (c.ranked_at IS NOT NULL AND p.id = ANY(:waiting))"
                ),
                {"after": self._after, "waiting": list(self._unqueued)},
            ).all()
        for post_id, name, external_id, collected_at, ranked_at in rows:
            self._after = max(self._after, post_id)
            key = sim_id(name, external_id)
            if key is None:
                continue
            self.seen.stored.setdefault((name, key), _utc(collected_at) or time.time())
            if ranked_at is not None:
                self.seen.queued.setdefault((name, key), _utc(ranked_at) or time.time())
                self._unqueued.pop(post_id, None)
            elif (name, key) not in self.seen.queued:
                self._unqueued[post_id] = (name, key)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.poll()
            except Exception:  # the database is busy or restarting: poll again
                self.errors += 1


# --- measures -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = [
        f"**{title}**",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


@dataclass
class Phase:
    name: str
    start: float
    end: float


@dataclass
class FaultReport:
    fault: str
    at: float
    detail: dict[str, Any] = field(default_factory=dict)


# --- the bench ------------------------------------------------------------------------------------------


class Cluster:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="tesoro-cluster-"))
        self.logs = self.work / "logs"
        self.logs.mkdir()
        self.children = Children()
        self.db_name = f"tesoro_cluster_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.admin = make_url(PG_ADMIN_URL)
        self.db_url = self.admin.set(database=self.db_name).render_as_string(hide_password=False)
        self.engine: Engine | None = None
        self.redis_port = free_port()
        self.redis = Redis(port=self.redis_port)
        self.queue_name = "bench"
        self.procs: dict[str, Proc] = {}
        self.faults: list[FaultReport] = []
        self.restarts: list[threading.Thread] = []
        self.failed = False

    # set-up
    def _admin(self, sql: str) -> None:
        dsn = self.admin.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def create_database(self) -> None:
        self._admin(f'CREATE DATABASE "{self.db_name}"')
        self.engine = make_engine(self.db_url)
        upgrade(self.engine)

    def drop_database(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        if self.args.keep:
            print(f"kept the database {self.db_name} ({self.db_url})")
            return
        with contextlib.suppress(Exception):
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def start_redis(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise SystemExit("error: redis-server is not installed; the bench runs a Redis of its own")
        log = (self.logs / "redis.log").open("wb")
        proc = subprocess.Popen(
            [
                server,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children.others.append(proc)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.redis.ping()
                return
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("error: the bench's Redis did not start") from None
                time.sleep(0.1)

    def write_settings(self, sim_url: str) -> Path:
        mounts = {"x": "", "reddit": "", "bluesky": "/bsky", "mastodon": "/mastodon"}
        score = "0" if self.args.no_score else f'"{self.args.score_interval}s"'
        sources = []
        for name in PLATFORMS:
            extra = {
                "x": 'credentials = { bearer_token_env = "TESORO_DEMO_X_BEARER" }\n'
                'quota = { plan = "pro", window = "day" }',
                "reddit": 'subreddits = ["trailrunning", "hiking"]\n'
                'credentials = { client_id_env = "TESORO_DEMO_REDDIT_ID", '
                'client_secret_env = "TESORO_DEMO_REDDIT_SECRET" }',
                "bluesky": 'credentials = { handle_env = "TESORO_DEMO_BSKY_HANDLE", '
                'password_env = "TESORO_DEMO_BSKY_PASSWORD" }',
                "mastodon": 'credentials = { access_token_env = "TESORO_DEMO_MASTODON_TOKEN" }',
            }[name]
            sources.append(
                f'[[sources]]\nname = "sim-{name}"\nplatform = "{name}"\nquery = "andes"\n'
                f'interval = "{self.args.collect_interval}s"\nbase_url = "{sim_url}{mounts[name]}"\n{extra}\n'
            )
        config = f"""# Written by bench/cluster.py: the scaled-out mode against the platform simulator.
data_dir = "{self.work / "data"}"
log_level = "INFO"

[database]
url = "{self.db_url}"

[queue]
backend = "rq"
redis_url = "redis://127.0.0.1:{self.redis_port}/0"
name = "{self.queue_name}"
lock_ttl_s = 10
retry_after_s = 15

[server]
run_scheduler = false

[ops]
scheduler_lease_s = {LEASE_S}

[models]
score_interval = {score}

[media]
interval = 0

[rights]
interval_s = 0

[gallery]
recheck_interval = 0

[[brands]]
name = "Andes Outdoor"
description = "Outdoor gear for trail running and hiking: shoes, rain jackets and packs."
hashtags = ["andesoutdoor"]
competitors = ["Patagonia", "Salomon"]

[[products]]
name = "Cumbre Trail Runner"
brand = "Andes Outdoor"
aliases = ["cumbre", "cumbre trail"]

[[products]]
name = "Nube Rain Jacket"
brand = "Andes Outdoor"
aliases = ["nube jacket", "nube"]

[[products]]
name = "Volcan 40L Pack"
brand = "Andes Outdoor"
aliases = ["volcan pack", "volcan 40"]

[[queries]]
name = "andes"
brand = "Andes Outdoor"
query = '"andes outdoor" OR andesoutdoor OR #andesoutdoor OR @andesoutdoor OR cumbre OR nube OR volcan'

{chr(10).join(sources)}
[slack]
webhook_url_env = "DEMO_SLACK_WEBHOOK_URL"

[[alerts]]
name = "{ALERT_RULE}"
kind = "new_mention"
brand = "Andes Outdoor"
min_followers = {ALERT_MIN_FOLLOWERS}
cooldown = "10s"
digest_after = 100
"""
        path = self.work / "tesoro.toml"
        path.write_text(config, encoding="utf-8")
        from tesoro.settings import load_settings

        load_settings(path)  # a bad option fails here, once, rather than in seven processes
        return path

    def start_processes(self, config: Path, env: dict[str, str]) -> None:
        entries = read_procfile()
        tesoro = [str(Path(sys.executable).with_name("tesoro"))]
        if not Path(tesoro[0]).exists():
            tesoro = [sys.executable, "-m", "tesoro"]
        env = {**env, "TESORO_CONFIG": str(config)}
        for kind, count in LAYOUT.items():
            names = [n for n in entries if re.fullmatch(rf"{kind}\d+", n)]
            if len(names) < count:
                raise SystemExit(
                    f"error: {PROCFILE} has {len(names)} {kind} processes; the bench runs {count}"
                )
            for name in names[:count]:
                argv = procfile_command(entries[name], tesoro=tesoro, env=env)
                port = None
                if kind == "api":
                    port = free_port()
                    argv = with_option(argv, "--port", str(port))
                elif kind == "scheduler":
                    argv = with_option(argv, "--metrics-port", str(free_port()))
                proc = Proc(name, argv, self.logs / f"{name}.log", env, port=port)
                self.procs[name] = self.children.add(proc)

    def restart_later(self, proc: Proc, after: float = RESTART_AFTER_S) -> None:
        def run() -> None:
            if proc.popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.popen.wait(timeout=30)
            time.sleep(after)
            if not self.children._closed:
                proc.start()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.restarts.append(thread)

    # probes
    def ready(self, proc: Proc, timeout: float = 2.0) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{proc.port}/readyz", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def lease_holder(self) -> int | None:
        assert self.engine is not None
        with self.engine.connect() as connection:
            name = advisory_lock_holder(connection, LEASE_KEY)
        return None if name is None else int(name.rsplit(":", 1)[1])

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float, every: float = 0.5) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            gone = [p.name for p in self.procs.values() if p.popen is not None and p.popen.poll() is not None]
            if gone and not self.restarts:
                raise RuntimeError(f"waiting for {what}: {', '.join(gone)} exited (see the logs)")
            with contextlib.suppress(Exception):
                if check():
                    return time.monotonic() - start
            time.sleep(every)
        raise TimeoutError(f"{what}: not within {timeout:.0f} s")

    def enqueued_since(self, since: float) -> int:
        """RQ jobs created after `since` (epoch seconds): the scheduler's queued runs."""
        count = 0
        for key in self.redis.scan_iter("rq:job:*", count=500):
            created = self.redis.hget(key, "created_at")
            if created is None:
                continue
            stamp = datetime.fromisoformat(created.decode().replace("Z", "+00:00"))
            if (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp() > since:
                count += 1
        return count

    # faults
    def fault_worker(self) -> FaultReport:
        workers = [p for n, p in self.procs.items() if n.startswith("worker")]
        busy = None
        deadline = time.monotonic() + 20
        while busy is None and time.monotonic() < deadline:  # a worker in the middle of a job, if one comes
            busy = next((p for p in workers if p.children()), None)
            time.sleep(0.1)
        victim = busy or workers[0]
        report = FaultReport("SIGKILL a worker", time.time())
        report.detail["process"] = victim.name
        held = self.held_by(victim.children()) if busy else None
        report.detail["running"] = held or ("a job" if busy else "nothing")
        victim.kill_group(signal.SIGKILL)
        self.restart_later(victim)
        if held is not None:
            start = time.monotonic()
            try:  # its hold expires (lock_ttl_s) and the job's next run takes it on another worker
                self.wait_for(
                    f"another run of {held}", lambda: self.holder_of(held) not in (None, "killed"), 120
                )
                report.detail["run again after (s)"] = round(time.monotonic() - start, 1)
            except TimeoutError as exc:
                report.detail["error"] = str(exc)
                self.failed = True
        return report

    def held_by(self, pids: list[int]) -> str | None:
        """The job whose hold one of `pids` (a worker's work horse) has: the hold's token names its pid."""
        ledger = JobLedger(self.redis, self.queue_name)
        for key in self.redis.scan_iter(ledger.hold_key("*")):
            token = (self.redis.get(key) or b"").decode()
            if any(f":{pid}:" in token for pid in pids):
                self._killed_token = token
                return str(key.decode()).removeprefix(ledger.hold_key(""))
        return None

    _killed_token = ""

    def holder_of(self, job: str) -> str | None:
        """The token holding `job` now ("killed": still the killed horse's, None: nobody's)."""
        token = JobLedger(self.redis, self.queue_name).holder(job)
        return "killed" if token == self._killed_token else token

    def fault_scheduler(self) -> FaultReport:
        holder = self.lease_holder()
        leader = next(
            (p for n, p in self.procs.items() if n.startswith("scheduler") and p.pid == holder), None
        )
        if leader is None:
            raise RuntimeError(f"no bench scheduler holds the lease (holder pid {holder})")
        standby = next(p for n, p in self.procs.items() if n.startswith("scheduler") and p is not leader)
        report = FaultReport("SIGKILL the leading scheduler", time.time())
        report.detail["process"] = leader.name
        killed = time.time()
        leader.kill_group(signal.SIGKILL)
        self.restart_later(leader)
        start = time.monotonic()
        try:
            self.wait_for("the standby's lease", lambda: self.lease_holder() == standby.pid, 60, every=0.1)
            report.detail["lease taken after (s)"] = round(time.monotonic() - start, 1)
            self.wait_for(
                "the standby's first queued job", lambda: self.enqueued_since(killed) > 0, 60, every=0.2
            )
            report.detail["first job queued after (s)"] = round(time.monotonic() - start, 1)
            report.detail["takeover_s"] = report.detail["first job queued after (s)"]
        except TimeoutError as exc:
            report.detail["error"] = str(exc)
            self.failed = True
        return report

    def fault_redis(self) -> FaultReport:
        report = FaultReport("CLIENT KILL TYPE normal on Redis", time.time())
        killed = self.redis.client_kill_filter(_type="normal", skipme=True)
        report.detail["connections dropped"] = killed
        time.sleep(3)
        report.detail["processes exited"] = (
            ", ".join(p.name for p in self.procs.values() if not p.alive()) or "none"
        )
        return report

    def fault_api(self) -> FaultReport:
        apis = [p for n, p in self.procs.items() if n.startswith("api")]
        victim, other = apis[0], apis[1]
        report = FaultReport("restart an API process", time.time())
        report.detail["process"] = victim.name
        probes = failures = 0
        victim.stop()
        down = time.monotonic()
        victim.start()
        back = None
        while time.monotonic() - down < 120:
            probes += 1
            if not self.ready(other):
                failures += 1
            if self.ready(victim, timeout=1.0):
                back = time.monotonic() - down
                break
            time.sleep(0.2)
        report.detail["ready again after (s)"] = fmt(back)
        report.detail["other API failed probes"] = f"{failures} of {probes}"
        if back is None or failures:
            self.failed = True
        return report

    # the run
    def run(self) -> int:
        args = self.args
        faults = [f for f in args.faults.split(",") if f]
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise SystemExit(f"error: unknown faults {sorted(unknown)}; choose from {', '.join(FAULTS)}")
        segments = 1 + 2 * len(faults)
        phase_s = args.phase_s or args.duration / segments
        print(f"work folder {self.work} (logs in {self.logs})", flush=True)
        self.create_database()
        self.start_redis()
        state = SimState(world=World())
        with SimulatorServer(state) as sim:
            config = self.write_settings(sim.base_url)
            env = demo_environment(os.environ, state.credentials, sim.base_url)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
            env["TESORO_API__SESSION_SECRET"] = secrets.token_urlsafe(48)
            env.setdefault("HF_HUB_OFFLINE", "1")
            env.setdefault("TRANSFORMERS_OFFLINE", "1")
            started = time.monotonic()
            self.start_processes(config, env)
            apis = [p for n, p in self.procs.items() if n.startswith("api")]
            self.wait_for(
                "the API processes' /readyz", lambda: all(self.ready(p) for p in apis), 240, every=1
            )
            self.wait_for("a scheduler's lease", lambda: self.lease_holder() is not None, 120)
            workers = sum(1 for n in self.procs if n.startswith("worker"))
            self.wait_for(
                "the workers (registered with RQ)",
                lambda: len(Worker.all(connection=self.redis)) >= workers,
                240,
                every=1,
            )
            print(f"cluster up in {time.monotonic() - started:.0f} s", flush=True)
            assert self.engine is not None
            watcher = Watcher(self.engine)
            watcher.start()
            grower = Grower(state, args.rate)
            t0 = time.time()
            grower.start()
            phases = [Phase("before the faults", t0, t0 + phase_s)]
            time.sleep(phase_s)
            for fault in faults:
                print(f"fault: {fault}", flush=True)
                report = getattr(self, f"fault_{fault}")()
                self.faults.append(report)
                at = report.at
                phases.append(Phase(f"{fault}: during", at, at + phase_s))
                phases.append(Phase(f"{fault}: after", at + phase_s, at + 2 * phase_s))
                rest = at + 2 * phase_s - time.time()
                if rest > 0:
                    time.sleep(rest)
            grower.stop()
            produced_s = time.time() - t0
            print(
                f"posts made: {len(grower.appeared)} in {produced_s:.0f} s; collecting a reference",
                flush=True,
            )
            reference = self.reference(config, env)
            print(f"reference: {len(reference)} posts; draining", flush=True)
            drain_start = time.time()
            drained = self.drain(watcher, reference, args.drain_s)
            watcher.stop()
            with contextlib.suppress(Exception):
                watcher.poll()
            results = self.measure(
                watcher, grower, reference, phases, produced_s, drained, time.time() - drain_start
            )
            results["slack_messages"] = len(state.slack_messages)
            alerts = self.alerts(state.slack_messages)
            results["alerts"] = alerts
            results["jobs"] = self.ledger()
            results["exited"] = [p.name for p in self.procs.values() if not p.alive()]
        self.report(results, phase_s)
        bad = (
            results["lost"]
            or results["duplicated"]
            or results["double_scored"]
            or alerts["lost"]
            or alerts["undelivered"]
            or self.failed
        )
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        if bad:
            self.print_logs()
        return 1 if bad else 0

    def reference(self, config: Path, env: dict[str, str]) -> set[tuple[str, int]]:
        """What one clean collection of the same simulator stores: a fresh SQLite store, every source once."""
        from tesoro.jobs.tasks import collect_once
        from tesoro.settings import load_settings
        from tesoro.store.db import open_store

        settings = load_settings(config)
        data = self.work / "reference"
        data.mkdir()
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": f"sqlite:///{data / 'ref.db'}"})}
        )
        engine = open_store(settings)
        try:
            for result in collect_once(engine, settings, env):
                if result.status != "ok":
                    raise RuntimeError(f"the reference collection of {result.source} failed: {result.error}")
            with engine.connect() as connection:
                rows = connection.execute(text("SELECT platform, external_id FROM post")).all()
        finally:
            engine.dispose()
        return {(name, key) for name, ext in rows if (key := sim_id(name, ext)) is not None}

    def drain(self, watcher: Watcher, reference: set[tuple[str, int]], limit: float) -> bool:
        """Wait until the cluster stored and queued every reference post, and the alerts are out."""
        assert self.engine is not None
        deadline = time.monotonic() + limit

        def caught_up() -> bool:
            stored = reference <= set(watcher.seen.stored)
            queued = self.args.no_score or reference <= set(watcher.seen.queued)
            return stored and bool(queued)

        while time.monotonic() < deadline and not caught_up():
            time.sleep(1)
        settled = time.time()
        while time.monotonic() < deadline:
            with self.engine.connect() as connection:
                evaluated = connection.execute(
                    text("SELECT last_evaluated_at FROM alert_rule WHERE name = :n"), {"n": ALERT_RULE}
                ).scalar()
                pending = connection.execute(
                    text("SELECT count(*) FROM alert WHERE status NOT IN ('delivered', 'failed')")
                ).scalar_one()
            if _utc(evaluated) is not None and (_utc(evaluated) or 0) > settled and not pending:
                break
            time.sleep(2)
        return caught_up() and time.monotonic() < deadline

    def measure(
        self,
        watcher: Watcher,
        grower: Grower,
        reference: set[tuple[str, int]],
        phases: list[Phase],
        produced_s: float,
        drained: bool,
        drain_s: float,
    ) -> dict[str, Any]:
        assert self.engine is not None
        appeared = grower.appeared
        seen = watcher.seen
        lag_rows = []
        for phase in phases:
            keys = [k for k, t in appeared.items() if phase.start <= t < phase.end and k in reference]
            stored = [seen.stored[k] - appeared[k] for k in keys if k in seen.stored]
            queued = [seen.queued[k] - appeared[k] for k in keys if k in seen.queued]
            lag_rows.append(
                {
                    "phase": phase.name,
                    "posts": len(keys),
                    "stored_p50": percentile(stored, 50),
                    "stored_p95": percentile(stored, 95),
                    "queued_p50": percentile(queued, 50),
                    "queued_p95": percentile(queued, 95),
                    "stored": len(stored),
                    "queued": len(queued),
                }
            )
        with self.engine.connect() as connection:
            duplicated = connection.execute(
                text(
                    "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM post "
                    "GROUP BY platform, external_id HAVING count(*) > 1) d"
                )
            ).scalar_one()
            double_scored = connection.execute(
                text(
                    "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM score "
                    "GROUP BY post_id, model_version HAVING count(*) > 1) d"
                )
            ).scalar_one()
            stored_rows = connection.execute(text("SELECT count(*) FROM post")).scalar_one()
        stored = set(seen.stored)
        lost = sorted(reference - stored)
        in_window = [t for k, t in appeared.items() if k in reference]
        first = min(in_window) if in_window else 0.0
        last_stored = max((seen.stored[k] for k in reference if k in seen.stored), default=first)
        last_queued = max((seen.queued[k] for k in reference if k in seen.queued), default=first)
        return {
            "made": len(appeared),
            "produced_s": produced_s,
            "reference": len(reference),
            "stored_rows": int(stored_rows),
            "lost": len(lost),
            "lost_posts": [f"{p}:{i}" for p, i in lost[:20]],
            "unexpected": len(stored - reference),
            "duplicated": int(duplicated),
            "double_scored": int(double_scored),
            "queued": sum(1 for k in reference if k in seen.queued),
            "offered_per_s": len(reference) / produced_s,
            "stored_per_s": len(reference & stored) / max(1e-9, last_stored - first),
            "queued_per_s": sum(1 for k in reference if k in seen.queued) / max(1e-9, last_queued - first),
            "drained": drained,
            "drain_s": drain_s,
            "lag": lag_rows,
            "faults": [{"fault": f.fault, "at_s": f.at - phases[0].start, **f.detail} for f in self.faults],
            "watcher_errors": watcher.errors,
        }

    def alerts(self, messages: list[dict[str, Any]]) -> dict[str, int]:
        assert self.engine is not None
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT subject, status FROM alert WHERE rule = :r"), {"r": ALERT_RULE}
            ).all()
            deliveries = connection.execute(
                text("SELECT count(*) FROM alert_delivery WHERE status = 'delivered' AND kind != 'test'")
            ).scalar_one()
        named: dict[str, int] = {}
        for message in messages:
            for post_id in set(re.findall(r"[?&]post=(\d+)", json.dumps(message))):
                named[post_id] = named.get(post_id, 0) + 1
        subjects = [(s.removeprefix("post:"), status) for s, status in rows]
        delivered = [p for p, status in subjects if status == "delivered"]
        return {
            "raised": len(subjects),
            "delivered": len(delivered),
            "undelivered": sum(1 for _, status in subjects if status != "delivered"),
            "lost": sum(1 for p in delivered if p not in named),
            "slack_messages": len(messages),
            "deliveries_logged": int(deliveries),
            "duplicated_in_slack": sum(n - 1 for n in named.values() if n > 1),
        }

    def ledger(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        with contextlib.suppress(Exception):
            ledger = JobLedger(self.redis, self.queue_name)
            for (job, outcome), n in ledger.counts().items():
                out.setdefault(job, {})[outcome] = n
            for job, seconds in ledger.seconds().items():
                out.setdefault(job, {})["seconds"] = seconds
        return out

    def report(self, r: dict[str, Any], phase_s: float) -> None:
        load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"] * 3
        cpu = (
            next(
                (
                    line.split(":", 1)[1].strip()
                    for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")
                ),
                platform.processor(),
            )
            if Path("/proc/cpuinfo").exists()
            else platform.processor()
        )
        print()
        print(
            f"machine: {cpu}, {os.cpu_count()} cores; load average at the end {' '.join(load)}; "
            f"{self.args.rate} posts/s over {', '.join(PLATFORMS)}, phases of {phase_s:.0f} s, "
            f"collection every {self.args.collect_interval} s, scoring "
            f"{'off' if self.args.no_score else f'every {self.args.score_interval} s'}, lease {LEASE_S} s\n"
        )
        rows = [
            [
                x["phase"],
                x["posts"],
                f"{x['stored']}",
                fmt(x["stored_p50"]),
                fmt(x["stored_p95"]),
                f"{x['queued']}",
                fmt(x["queued_p50"]),
                fmt(x["queued_p95"]),
            ]
            for x in r["lag"]
        ]
        print(
            table(
                "Lag from a post appearing on the platform to the store and to the review queue (s)",
                ["phase", "posts", "stored", "store p50", "store p95", "queued", "queue p50", "queue p95"],
                rows,
            )
        )
        fault_rows = []
        for f in r["faults"]:
            detail = "; ".join(f"{k} {v}" for k, v in f.items() if k not in ("fault", "at_s", "takeover_s"))
            fault_rows.append([f["fault"], f"{f['at_s']:.0f}", detail])
        print(table("Faults", ["fault", "at (s)", "what happened"], fault_rows))
        a = r["alerts"]
        print(
            table(
                "Posts and alerts",
                ["measure", "value"],
                [
                    ["posts made by the simulator", r["made"]],
                    ["posts a clean collection stores (the reference)", r["reference"]],
                    ["posts lost (in the reference, not in the cluster's store)", r["lost"]],
                    ["posts the cluster stored beyond the reference", r["unexpected"]],
                    ["posts duplicated (rows sharing platform and external id)", r["duplicated"]],
                    ["posts scored twice for one model version", r["double_scored"]],
                    ["posts in the review queue", r["queued"]],
                    [
                        "posts/s offered (reference posts over the production time)",
                        f"{r['offered_per_s']:.2f}",
                    ],
                    ["posts/s sustained into the store", f"{r['stored_per_s']:.2f}"],
                    ["posts/s sustained into the queue", f"{r['queued_per_s']:.2f}"],
                    ["alerts raised / delivered", f"{a['raised']} / {a['delivered']}"],
                    ["alerts lost (delivered, yet in no Slack message)", a["lost"]],
                    ["alerts never delivered (left in the outbox)", a["undelivered"]],
                    [
                        "Slack messages received / deliveries logged",
                        f"{a['slack_messages']} / {a['deliveries_logged']}",
                    ],
                    ["alerts sent to Slack more than once", a["duplicated_in_slack"]],
                    ["caught up after the run", f"{'yes' if r['drained'] else 'NO'} ({r['drain_s']:.0f} s)"],
                    ["processes not running at the end", ", ".join(r["exited"]) or "none"],
                ],
            )
        )
        outcomes = ("finished", "failed", "timed_out", "skipped_running", "skipped_queued", "lock_lost")
        job_rows = []
        for job, counts in sorted(r["jobs"].items()):
            ran = sum(counts.get(o, 0) for o in ("finished", "failed", "timed_out"))
            mean = counts.get("seconds", 0) / ran if ran else None
            job_rows.append([job, *(int(counts.get(o, 0)) for o in outcomes), fmt(mean)])
        print(
            table(
                "Job runs on the workers (the ledger in Redis)",
                [
                    "job",
                    "finished",
                    "failed",
                    "timed out",
                    "skipped (running)",
                    "skipped (queued)",
                    "lock lost",
                    "mean run (s)",
                ],
                job_rows,
            )
        )
        if r["lost_posts"]:
            print("lost posts (first 20):", ", ".join(r["lost_posts"]))

    def print_logs(self) -> None:
        for proc in self.procs.values():
            print(f"\n--- {proc.name} ({proc.log}) ---\n{proc.tail()}", file=sys.stderr)

    def close(self) -> None:
        if self.children._closed:  # at exit, after the run's own close
            return
        self.children.close()
        self.drop_database()
        if not self.args.keep_logs and not self.failed:
            shutil.rmtree(self.work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=315, help="seconds the simulator makes posts")
    parser.add_argument("--rate", type=float, default=2.5, help="posts a second, over the four platforms")
    parser.add_argument(
        "--phase-s", type=float, default=None, help="seconds per phase (default: duration split)"
    )
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help=f"in order, comma-separated: {','.join(FAULTS)}"
    )
    parser.add_argument(
        "--collect-interval", type=int, default=10, help="seconds between collections per source"
    )
    parser.add_argument("--score-interval", type=int, default=10, help="seconds between scoring runs")
    parser.add_argument("--no-score", action="store_true", help="no scoring job (measures only the store)")
    parser.add_argument(
        "--drain-s", type=float, default=300, help="how long to wait for the cluster to catch up"
    )
    parser.add_argument("--keep", action="store_true", help="leave the database for inspection")
    parser.add_argument("--keep-logs", action="store_true", help="leave the work folder and its logs")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    cluster = Cluster(args)
    atexit.register(cluster.close)

    def interrupted(signum: int, frame: object) -> None:
        cluster.failed = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        return cluster.run()
    except BaseException:
        cluster.failed = True
        cluster.print_logs()
        raise
    finally:
        cluster.close()
        if cluster.failed:
            print(f"logs kept in {cluster.logs}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
