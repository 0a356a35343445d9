"""The reliability probe (issue 17): the figures in the README's reliability section come from here.

    .venv/bin/python bench/probe.py [--trials 10] [--rows 20000] [--examples 4] [--no-postgres]

Four parts, each against the real components (the app over ASGI, SQLite files, the local
PostgreSQL when it answers, `tesoro import` as a real process):

- authorization: every route of the app (API and UI pages) x every method x anonymous and each
  role, a refusal (401, 403, or the UI's redirect to the login) compared with the role matrix;
- hostile rows: `good, hostile, good` imported for each hostile value, per backend: kept (stored,
  normalised), quarantined (`tesoro quarantine list`) or crashed (an exception escaped, or a good
  row was not stored);
- kill -9: `tesoro import` of a large file killed at a random moment, then run again to the end:
  rows lost and rows duplicated;
- schemathesis (when installed): generated valid and invalid requests for every operation, with
  an admin and a coordinator key: examples, server errors and answers off their schema.

Prints one table per part and a summary table (the one the README shows).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, make_url

from tesoro.api.app import create_app
from tesoro.api.auth import ROLE_MATRIX, Access, iter_routes
from tesoro.collector.importer import import_file
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.keys import Role
from tesoro.store.migrate import upgrade
from tesoro.store.tables import Post

ROOT = Path(__file__).resolve().parent.parent
# The API world the test suite seeds (posts, brands, one key per role), from tests/worlds.
sys.path.insert(0, str(ROOT / "tests"))

from worlds.api import Seeded, make_settings, seed  # noqa: E402
from worlds.curator import tiny_encode  # noqa: E402

PG_ADMIN_URL = os.environ.get("TESORO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ANONYMOUS = "anonymous"
CALLERS: list[str] = [ANONYMOUS, *(role.value for role in Role)]


def table(title: str, header: list[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table, ready to paste."""
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


# --- authorization ----------------------------------------------------------------------------------


@dataclass
class MatrixResult:
    calls: int = 0
    mismatches: list[str] = field(default_factory=list)
    by_caller: dict[str, list[int]] = field(default_factory=dict)  # caller -> [calls, refused]


def _fill(path: str) -> str:
    """Path parameters that name nothing: an allowed caller gets a 404 or 422, never a change."""
    return re.sub(r"\{[^}]+\}", lambda m: "999999" if "id" in m.group(0) else "no-such-thing", path)


def probe_authorization(app: Any, seeded: Seeded) -> MatrixResult:
    result = MatrixResult()
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        for route in iter_routes(app.routes):
            if not route.is_api or route.guard is None or route.path in ("/login", "/logout"):
                continue
            for method in sorted(route.methods - {"HEAD"}):
                access = route.guard.access_for(method)
                for caller in CALLERS:
                    headers = {} if caller == ANONYMOUS else seeded.headers(Role(caller))
                    if route.path.startswith("/ui/"):
                        headers["Accept"] = "text/html"
                    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
                    response = client.request(
                        method, _fill(route.path), headers=headers, json=body, follow_redirects=False
                    )
                    refused = response.status_code in (401, 403) or (
                        response.status_code == 303 and "/login" in response.headers.get("location", "")
                    )
                    allowed = access is Access.PUBLIC or (
                        caller != ANONYMOUS and Role(caller) in ROLE_MATRIX[access]
                    )
                    result.calls += 1
                    counts = result.by_caller.setdefault(caller, [0, 0])
                    counts[0] += 1
                    counts[1] += refused
                    if allowed == refused:
                        result.mismatches.append(
                            f"{method} {route.path} as {caller}: {response.status_code} ({access.value})"
                        )
    return result


# --- hostile rows -----------------------------------------------------------------------------------


def _row(ident: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "platform": "x",
        "id": ident,
        "text": f"Good post {ident} about the Cumbre",
        "created_at": "2026-11-01T10:00:00Z",
        "author_handle": "probe",
        "likes": 3,
    }
    return {**base, **fields}


def _hostile_cases(tag: str) -> dict[str, dict[str, Any]]:
    """The hostile values of issue 17 item 1, each in an otherwise good row."""
    h = f"{tag}-h"
    return {
        "created_at NaN": _row(h, created_at=math.nan),
        "created_at 1e20": _row(h, created_at=1e20),
        "created_at year 1": _row(h, created_at="0001-01-01T00:00:00Z"),
        "likes 10**30": _row(h, likes=10**30),
        "lone surrogate in text": _row(h, text="bad \ud800 text"),
        "lone surrogate in name": _row(h, author_name="N\ud800me"),
        "NUL in text": _row(h, text="nul \x00 inside"),
        "NUL in handle": _row(h, author_handle="ha\x00ndle"),
        "5,000-character id": _row(h + "x" * 5000),
        "9 kB media URL": _row(h, media=[{"type": "photo", "url": "https://pbs.twimg.com/" + "a" * 9000}]),
        "media width 2**40": _row(
            h, media=[{"type": "photo", "url": "https://pbs.twimg.com/w.jpg", "width": 2**40}]
        ),
    }


def _json_line(row: dict[str, Any]) -> str:
    # json.dumps writes NaN as NaN (what a hostile producer sends) and a lone surrogate as \ud800.
    return json.dumps(row, allow_nan=True)


@contextlib.contextmanager
def _postgres_engine() -> Iterator[Engine | None]:
    """A fresh PostgreSQL database for the probe (dropped after), or None when the server does not answer."""
    admin = make_url(PG_ADMIN_URL)
    name = f"tesoro_probe_{uuid.uuid4().hex[:8]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        yield None
        return
    engine = make_engine(admin.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stored(engine: Engine, ids: list[str]) -> int:
    with session_scope(engine) as session:
        return int(
            session.execute(
                select(func.count()).select_from(Post).where(Post.external_id.in_(ids))  # type: ignore[attr-defined]
            ).scalar_one()
        )


def probe_hostile_rows(engine: Engine, backend: str, workdir: Path) -> list[list[object]]:
    upgrade(engine)
    rows: list[list[object]] = []
    for n, (case, hostile) in enumerate(_hostile_cases(f"{backend}{os.getpid()}").items()):
        goods = [f"{backend}-{n}-a", f"{backend}-{n}-b"]
        hostile = {**hostile, "id": f"{n}-{hostile['id']}"}
        path = workdir / f"{backend}-{n}.jsonl"
        path.write_text(
            "\n".join(_json_line(r) for r in (_row(goods[0]), hostile, _row(goods[1]))) + "\n",
            encoding="utf-8",
        )
        try:
            report = import_file(engine, path)
        except Exception as exc:  # the probe counts what escapes; it must be nothing
            rows.append([backend, case, "crashed", f"{type(exc).__name__}: {str(exc)[:60]}"])
            continue
        good_stored = _stored(engine, goods)
        hostile_stored = _stored(engine, [str(hostile["id"])])
        if good_stored < 2:
            outcome = "crashed"
        elif report.quarantined:
            outcome = "quarantined"
        elif hostile_stored:
            outcome = "kept"
        else:
            outcome = "lost"  # neither stored nor quarantined: only a bad-row line in the report
        rows.append([backend, case, outcome, f"{good_stored}/2 good rows stored"])
    return rows


# --- kill -9 ----------------------------------------------------------------------------------------


def _write_big(path: Path, rows: int) -> None:
    rng = random.Random(17)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            row = _row(
                str(50_000_000 + i),
                platform=rng.choice(["x", "bluesky", "mastodon", "reddit"]),
                author_handle=f"user{rng.randrange(5000)}",
            )
            handle.write(json.dumps(row) + "\n")


def _counts(db: Path) -> tuple[int, int]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM post")).scalar_one()
            distinct = conn.execute(
                text("SELECT count(*) FROM (SELECT DISTINCT platform, external_id FROM post)")
            ).scalar_one()
        return int(total), int(distinct)
    except Exception:  # the schema may not exist yet when the kill came first
        return 0, 0
    finally:
        engine.dispose()


def probe_kill9(trials: int, rows: int, workdir: Path) -> list[list[object]]:
    data = workdir / "big.jsonl"
    _write_big(data, rows)
    env = {**os.environ, "TESORO_PROGRESS": "0"}
    results: list[list[object]] = []
    rng = random.Random(9)
    for trial in range(trials):
        db = workdir / f"kill-{trial}.db"
        config = workdir / f"kill-{trial}.toml"
        config.write_text(f'[database]\npath = "{db}"\n', encoding="utf-8")
        command = [sys.executable, "-m", "tesoro", "import", str(data), "-c", str(config)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait until rows arrive, then kill at a random moment of the import.
        deadline = time.monotonic() + 60
        while _counts(db)[0] == 0 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(rng.uniform(0.0, 1.5))
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        at_kill = _counts(db)[0]
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        total, distinct = _counts(db)
        results.append([trial + 1, at_kill, total, rows - distinct, total - distinct])
    return results


# --- schemathesis -----------------------------------------------------------------------------------


def probe_schemathesis(
    app: Any, seeded: Seeded, examples: int, failures: set[str]
) -> list[list[object]] | None:
    try:
        import schemathesis  # optional: a dev dependency, imported only when the probe runs it
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st
        from schemathesis.checks import response_schema_conformance
        from schemathesis.core.result import Ok
        from schemathesis.generation import GenerationMode
    except ImportError:
        return None
    rows: list[list[object]] = []
    for role in (Role.ADMIN, Role.COORDINATOR):
        headers = seeded.headers(role)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)
        operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
        calls = server_errors = violations = 0
        for operation in operations:
            if operation.method.upper() == "DELETE" and operation.path == "/api/keys/{key_id}":
                continue  # revoking the caller's own key would end the run, not find a bug
            strategy = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
            )

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                nonlocal calls, server_errors, violations
                calls += 1
                try:
                    response = case.call(headers=headers)  # noqa: B023 (run() runs within this iteration)
                except Exception as exc:  # the app raised: over HTTP, a 500
                    server_errors += 1
                    failures.add(f"{case.method} {case.path}: {type(exc).__name__}: {str(exc)[:80]}")
                    return
                if response.status_code >= 500:
                    server_errors += 1
                    failures.add(f"{case.method} {case.path}: {response.status_code}")
                    return
                try:
                    case.validate_response(
                        response,
                        checks=[response_schema_conformance],
                        headers=headers,  # noqa: B023 (run() runs within this iteration)
                    )
                except Exception as exc:  # a schema violation: counted, the probe goes on
                    violations += 1
                    failures.add(
                        f"{case.method} {case.path}: off its schema: {str(exc).splitlines()[0][:80]}"
                    )

            run()
        rows.append([role.value, len(operations), calls, server_errors, violations])
    return rows


# --- main -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="kill -9 trials")
    parser.add_argument("--rows", type=int, default=20_000, help="rows each kill -9 trial imports")
    parser.add_argument("--examples", type=int, default=4, help="schemathesis examples per operation")
    parser.add_argument("--no-postgres", action="store_true", help="hostile rows on SQLite only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # each quarantined row logs a warning; the tables say it

    with tempfile.TemporaryDirectory(prefix="tesoro-probe-") as tmp:
        work = Path(tmp)
        engine = make_engine(f"sqlite:///{work / 'api.db'}")
        upgrade(engine)
        settings = make_settings(work)
        seeded = seed(engine, settings)
        app = create_app(settings, engine, encode=tiny_encode)

        started = time.monotonic()
        matrix = probe_authorization(app, seeded)
        table(
            f"Authorization: {matrix.calls} route x role calls, {len(matrix.mismatches)} mismatches "
            f"({time.monotonic() - started:.0f} s)",
            ["caller", "calls", "refused"],
            [[caller, *counts] for caller, counts in matrix.by_caller.items()],
        )
        for mismatch in matrix.mismatches:
            print(f"  mismatch: {mismatch}")

        hostile = probe_hostile_rows(make_engine(f"sqlite:///{work / 'hostile.db'}"), "sqlite", work)
        if not args.no_postgres:
            with _postgres_engine() as pg:
                if pg is None:
                    print("\n(PostgreSQL does not answer: hostile rows on SQLite only)")
                else:
                    hostile += probe_hostile_rows(pg, "postgresql", work)
        table(
            "Hostile rows (good, hostile, good) imported",
            ["backend", "case", "outcome", "detail"],
            hostile,
        )

        started = time.monotonic()
        kills = probe_kill9(args.trials, args.rows, work)
        table(
            f"kill -9 during `tesoro import` of {args.rows:,} rows, then the same import again "
            f"({time.monotonic() - started:.0f} s)",
            ["trial", "rows at the kill", "rows after", "lost", "duplicated"],
            kills,
        )

        started = time.monotonic()
        failures: set[str] = set()
        fuzz = probe_schemathesis(app, seeded, args.examples, failures)
        if fuzz is None:
            print("\n(schemathesis is not installed: no fuzzing figures)")
        else:
            table(
                f"Schemathesis, {args.examples} examples per operation and mode "
                f"({time.monotonic() - started:.0f} s)",
                ["key", "operations", "examples", "server errors", "schema violations"],
                fuzz,
            )
            for failure in sorted(failures):
                print(f"  found: {failure}")

    outcomes: dict[str, int] = {}
    for row in hostile:
        outcomes[str(row[2])] = outcomes.get(str(row[2]), 0) + 1
    summary = [
        [
            "routes x roles (authorization matrix)",
            f"{matrix.calls} calls",
            f"{len(matrix.mismatches)} mismatches",
        ],
        [
            "hostile rows imported (good, hostile, good)",
            f"{len(hostile)} cases",
            ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())),
        ],
        [
            "kill -9 during import, then import again",
            f"{len(kills)} trials",
            f"{sum(int(str(k[3])) for k in kills)} rows lost, "
            f"{sum(int(str(k[4])) for k in kills)} duplicated",
        ],
    ]
    if fuzz is not None:
        summary.append(
            [
                "schemathesis (admin and coordinator keys)",
                f"{sum(int(str(r[2])) for r in fuzz)} examples",
                f"{sum(int(str(r[3])) for r in fuzz)} server errors, "
                f"{sum(int(str(r[4])) for r in fuzz)} schema violations",
            ]
        )
    table("Summary", ["probe", "size", "result"], summary)


if __name__ == "__main__":
    main()
