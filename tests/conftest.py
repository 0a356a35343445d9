"""Shared fixtures: the platform simulator, a clean network environment, and migrated stores.

Every test gets a fresh, migrated, empty store, but the migrations run once per test run
(once per xdist worker): a session-scoped SQLite template file is copied per test, and a
PostgreSQL template database is cloned per test with `CREATE DATABASE ... TEMPLATE`.
Copying a file or cloning a database is several times cheaper than replaying the chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL, Engine, make_url

from tesoro.simulator.model import WorldSpec
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.simulator.world import World
from tesoro.store.engine import make_engine
from tesoro.store.migrate import upgrade

# The clients must reach the simulator directly, never through a proxy from the environment.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Rich sizes its tables to the terminal, and an xdist worker has none (80 columns, so long cells are
# cut) while a developer's shell may have 200: one fixed width keeps CLI output, and the tests reading
# it, the same everywhere. COLUMNS is Rich's, TERMINAL_WIDTH typer's for --help. Set before any test
# module imports tesoro.cli: its consoles read the width when they are created.
os.environ["COLUMNS"] = "200"
os.environ["TERMINAL_WIDTH"] = "200"

# The xdist worker ("gw0", ...; "main" without xdist), part of every database name a test creates:
# parallel workers never share one (their tmp_path folders are apart already).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

STORE_FILE = "tesoro.db"


@pytest.fixture
def sim_state() -> SimState:
    """An empty, seeded world; tests grow it or add hand-made posts."""
    return SimState(world=World(spec=WorldSpec(seed=11)), timeout_hold_s=1.5)


@pytest.fixture
def sim(sim_state: SimState) -> Iterator[SimulatorServer]:
    with SimulatorServer(sim_state) as server:
        yield server


# --- the store: a real SQLite file, and the real PostgreSQL where the machine runs one -------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test run; tests get copies, never this file."""
    path = tmp_path_factory.mktemp("template") / STORE_FILE
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        # Everything into the main file, so that copying that one file copies the whole store.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def migrated_sqlite(sqlite_template: Path) -> Callable[[Path], Path]:
    """Put a fresh copy of the migrated template at a path (e.g. where a settings file's store is).

    `open_store` on such a copy finds the schema at head, so its upgrade is a no-op.
    """

    def copy(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sqlite_template, path)
        return path

    return copy


def _sqlite_copy(template: Path, path: Path) -> Iterator[Engine]:
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


# Database names: prefix, this machine, creating process id, xdist worker, random suffix. The
# machine and the process id tell which databases a killed run left behind (see _drop_left_behind).
MACHINE = hashlib.blake2b(socket.gethostname().encode(), digest_size=3).hexdigest()
TEMPLATE_PREFIX = f"tesoro_tpl_{MACHINE}_"
CLONE_PREFIX = f"tesoro_test_{MACHINE}_"
PG_ADMIN_URL = os.environ.get("TESORO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class PgTemplate:
    """A migrated template database on the local server, cloned per test.

    Creating a database waits on the server's disk more than on a CPU, so a background thread
    keeps `AHEAD` clones ready for the next tests; a test only waits when its clone is not ready.
    Dropping one forces a checkpoint of the whole server (a second or more on a busy disk), but
    checkpoints asked for at once are shared: used clones are dropped together at the end of the
    run, `DROPPERS` at a time, instead of one checkpoint per test. Those drops took about two minutes
    at the end of each worker's run, so the run hands them to a detached process (`_drop_later`)
    and ends at once; a database that process could not drop is dropped by the next run
    (`_drop_left_behind`: its creating process is gone).
    """

    AHEAD = 2
    DROPPERS = 4

    def __init__(self, admin: URL) -> None:
        self.admin = admin
        self.conninfo = (
            f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
        )
        self.name = f"{TEMPLATE_PREFIX}{os.getpid()}_{WORKER}_{uuid.uuid4().hex[:8]}"
        self._cloner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-clone")
        self._ready: deque[Future[str]] = deque()
        self._used: list[str] = []

    def create(self) -> None:
        """Create the template and migrate it to head (once per test run and xdist worker)."""
        self._drop_left_behind()
        self._execute(f'CREATE DATABASE "{self.name}"')
        engine = make_engine(self.url(self.name))
        upgrade(engine)
        # A template must have no open connections while it is cloned.
        engine.dispose()

    def take(self) -> str:
        """The name of a fresh clone for one test; clones for the next tests start behind it."""
        while len(self._ready) <= self.AHEAD:
            self._ready.append(self._cloner.submit(self._clone))
        return self._ready.popleft().result()

    def give_back(self, name: str) -> None:
        """A test is done with its database (dropped by `close`)."""
        self._used.append(name)

    def close(self) -> None:
        """Drop every clone, used or made ahead, then the template itself (in a detached process)."""
        while self._ready:
            ahead = self._ready.popleft()
            if ahead.exception() is None:
                self._used.append(ahead.result())
        self._cloner.shutdown(wait=True)
        names, self._used = [*self._used, self.name], []
        try:
            _drop_later(self.conninfo, names, self.DROPPERS)
        except OSError as exc:  # no process to spare: drop them here, as the run ends
            warnings.warn(f"dropping the test databases in this process: {exc}", stacklevel=1)
            with ThreadPoolExecutor(max_workers=self.DROPPERS, thread_name_prefix="pg-drop") as droppers:
                list(droppers.map(self._try_drop, names))

    def url(self, name: str) -> str:
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def _clone(self) -> str:
        name = f"{CLONE_PREFIX}{os.getpid()}_{WORKER}_{uuid.uuid4().hex[:8]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        # A test database need not survive a server crash: commits skip the wait for the disk.
        self._execute(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
        return name

    def _drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _try_drop(self, name: str) -> str | None:
        try:
            self._drop(name)
        except psycopg.Error as exc:
            return str(exc).strip()
        return None

    def _drop_left_behind(self) -> None:
        """Drop the databases of test runs on this machine that were killed before they cleaned up.

        Names carry the machine and the creating process id; a database of this machine whose
        process is gone is a leftover. Only for a server on this machine, the usual set-up.
        """
        if self.admin.host not in ("127.0.0.1", "localhost", "::1"):
            return
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            names = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
                (f"{TEMPLATE_PREFIX}%", f"{CLONE_PREFIX}%"),
            ).fetchall()
        for (name,) in names:
            parts = name.removeprefix(TEMPLATE_PREFIX).removeprefix(CLONE_PREFIX).split("_")
            if len(parts) == 3 and parts[0].isdigit() and not _alive(int(parts[0])):
                with contextlib.suppress(psycopg.Error):  # another worker may be dropping it too
                    self._drop(name)

    def _execute(self, statement: str) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(statement.encode())


# Run by `_drop_later` in its own process: DROP each database named on the command line.
_DROPPER = """
import sys
from concurrent.futures import ThreadPoolExecutor
import psycopg

conninfo, threads, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def drop(name):
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name).encode())
    except psycopg.Error:
        pass  # the next run drops what is left (_drop_left_behind)

with ThreadPoolExecutor(max_workers=threads) as pool:
    list(pool.map(drop, names))
"""


def _drop_later(conninfo: str, names: list[str], threads: int) -> None:
    """Drop `names` in a detached process, so the test run need not wait for the checkpoints."""
    subprocess.Popen(
        [sys.executable, "-c", _DROPPER, conninfo, str(threads), *names],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return True


@pytest.fixture(scope="session")
def pg_template() -> Iterator[PgTemplate]:
    """The template database, migrated once per test run (per xdist worker), dropped at the end.

    Skips the test where no PostgreSQL answers on the configured address.
    """
    template = PgTemplate(make_url(PG_ADMIN_URL))
    try:
        psycopg.connect(template.conninfo, autocommit=True, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {template.admin.host}:{template.admin.port}: {exc}")
    try:
        template.create()
        yield template
    finally:
        template.close()


def _postgres_copy(template: PgTemplate) -> Iterator[Engine]:
    """A fresh clone of the migrated template, dropped afterwards."""
    name = template.take()
    engine = make_engine(template.url(name))
    try:
        yield engine
    finally:
        engine.dispose()
        template.give_back(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store on each backend: the same repository tests run on both."""
    if request.param == "sqlite":
        yield from _sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path / STORE_FILE)
    else:
        yield from _postgres_copy(request.getfixturevalue("pg_template"))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """Like `engine`, but one store per test module and backend: for modules whose tests only read
    or are refused (a 422), so that they can share one seeded store and one app."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module-store") / STORE_FILE
        yield from _sqlite_copy(request.getfixturevalue("sqlite_template"), path)
    else:
        yield from _postgres_copy(request.getfixturevalue("pg_template"))


@pytest.fixture(scope="module")
def module_sqlite_engine(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Like `sqlite_engine`, but one store per test module (see `module_engine`)."""
    yield from _sqlite_copy(sqlite_template, tmp_path_factory.mktemp("module-store") / STORE_FILE)


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty SQLite store at `tmp_path / "tesoro.db"`."""
    yield from _sqlite_copy(sqlite_template, tmp_path / STORE_FILE)
