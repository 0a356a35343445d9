"""The `tesoro` command line, end to end on a real SQLite file."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url
from typer.testing import CliRunner, Result

from tesoro.cli.kit import CHATTY_LOGGERS, configure_logging
from tesoro.cli.main import app
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.keys import create_key

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "import", "serve", "db", "sources"):
        assert command in result.output


def test_init_writes_a_loadable_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "tesoro.toml"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    assert "[[sources]]" in target.read_text()
    again = runner.invoke(app, ["init", str(target)])
    assert again.exit_code == 1 and "already exists" in again.output
    upgraded = runner.invoke(app, ["db", "upgrade", "-c", str(target)])
    assert upgraded.exit_code == 0, upgraded.output
    assert (tmp_path / "data" / "tesoro.db").exists()


def test_bad_config_exits_2_with_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = -1\n")
    result = runner.invoke(app, ["db", "upgrade", "-c", str(bad)])
    assert result.exit_code == 2
    assert "server.port" in result.output


def test_import_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n')
    rows = [
        {"id": str(i), "text": f"post {i}", "created_at": "2026-11-01T00:00:00Z", "author_handle": "ana"}
        for i in range(30)
    ]
    data = tmp_path / "posts.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    first = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert first.exit_code == 0, first.output
    assert "30 new, 0 updated, 1 bad row\n" in first.output  # not "1 bad rows"
    assert "line 31: not valid JSON" in first.output
    second = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert "0 new, 30 updated, 1 bad row" in second.output


def test_import_of_only_bad_rows_fails(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n')
    data = tmp_path / "bad.jsonl"
    data.write_text('{"id": "1"}\n')
    result = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert result.exit_code == 1
    assert "line 1: `text` is missing" in result.output


def test_import_unknown_brand(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n')
    data = tmp_path / "p.jsonl"
    data.write_text("")
    result = runner.invoke(app, ["import", str(data), "-c", str(config), "--brand", "Nobody"])
    assert result.exit_code == 2 and "no brand named 'Nobody'" in result.output


def _brand_config(tmp_path: Path, *brands: str, queries: dict[str, str] | None = None) -> Path:
    lines = ['[database]\npath = "store.db"']
    lines += [f'[[brands]]\nname = "{name}"' for name in brands]
    lines += [
        f'[[queries]]\nname = "q{i}"\nbrand = "{brand}"\nquery = "{query}"'
        for i, (brand, query) in enumerate((queries or {}).items())
    ]
    config = tmp_path / "t.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _rows(path: Path, *rows: dict[str, str]) -> Path:
    base = {"created_at": "2026-11-01T00:00:00Z", "author_handle": "ana"}
    path.write_text("".join(json.dumps(base | row) + "\n" for row in rows))
    return path


def _brands_of(tmp_path: Path) -> dict[str, str | None]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT post.external_id, brand.name FROM post LEFT JOIN brand ON brand.id = post.brand_id"
            ).all()
    finally:
        engine.dispose()
    return {external_id: name for external_id, name in rows}


def test_import_gives_posts_the_only_brand(tmp_path: Path) -> None:
    config = _brand_config(tmp_path, "Andes Outdoor")
    data = _rows(tmp_path / "p.jsonl", {"id": "1", "text": "my Cumbre"}, {"id": "2", "text": "my Nube"})
    result = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "2 posts: brand Andes Outdoor" in result.output
    assert _brands_of(tmp_path) == {"1": "Andes Outdoor", "2": "Andes Outdoor"}


def test_a_second_import_sets_the_brand_and_rows_may_name_theirs(tmp_path: Path) -> None:
    config = _brand_config(tmp_path, "Andes Outdoor", "Rival")
    data = _rows(
        tmp_path / "p.jsonl",
        {"id": "1", "text": "my Cumbre"},
        {"id": "2", "text": "my Nube"},
        {"id": "3", "text": "their shoe", "brand": "Rival"},
    )
    first = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert first.exit_code == 0, first.output
    assert "2 posts: no brand" in first.output
    assert _brands_of(tmp_path) == {"1": None, "2": None, "3": "Rival"}
    second = runner.invoke(app, ["import", str(data), "-c", str(config), "--brand", "Andes Outdoor"])
    assert second.exit_code == 0, second.output
    assert "0 new, 3 updated" in second.output
    # The empty brands are set; a brand once set does not move.
    assert _brands_of(tmp_path) == {"1": "Andes Outdoor", "2": "Andes Outdoor", "3": "Rival"}
    unknown = _rows(tmp_path / "u.jsonl", {"id": "9", "text": "x", "brand": "Nobody"})
    result = runner.invoke(app, ["import", str(unknown), "-c", str(config)])
    assert "line 1: unknown brand 'Nobody' (brands: Andes Outdoor, Rival)" in result.output


def test_import_applies_the_listening_queries(tmp_path: Path) -> None:
    config = _brand_config(
        tmp_path, "Andes Outdoor", "Rival", queries={"Andes Outdoor": "cumbre OR nube", "Rival": "rival"}
    )
    rows = (
        {"id": "1", "text": "my Cumbre"},
        {"id": "2", "text": "the Rival shoe"},
        {"id": "3", "text": "lunch was great"},
        {"id": "4", "text": "off topic", "brand": "Andes Outdoor"},
    )
    strict = runner.invoke(
        app, ["import", str(_rows(tmp_path / "p.jsonl", *rows)), "-c", str(config), "--strict"]
    )
    assert strict.exit_code == 0, strict.output
    assert "2 rows match no listening query of their brand: kept out (--strict)" in strict.output
    assert "file 3: matches no listening query of any brand" in strict.output
    assert "file 4: matches no listening query of Andes Outdoor" in strict.output
    # Without a brand named, each row gets the brand whose query it matches.
    assert _brands_of(tmp_path) == {"1": "Andes Outdoor", "2": "Rival"}
    loose = runner.invoke(app, ["import", str(tmp_path / "p.jsonl"), "-c", str(config)])
    assert "2 rows match no listening query of their brand: imported anyway" in loose.output
    assert _brands_of(tmp_path) == {"1": "Andes Outdoor", "2": "Rival", "3": None, "4": "Andes Outdoor"}


def _viewer_key(db: Path) -> str:

    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_scope(engine) as session:
            return create_key(session, name="test", role="viewer").token
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(150)
def test_serve_answers_on_localhost(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n[server]\nrun_scheduler = false\n')
    port = _free_port()
    env = {**os.environ, "NO_PROXY": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tesoro", "serve", "-c", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # A few seconds on a quiet machine; the whole stack's imports took over 45 s on a 2-core machine
        # at a load average of 11, so the wait is for a server that never comes, not for a slow one.
        deadline = time.monotonic() + 120
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
                assert time.monotonic() < deadline, "server did not answer in time"
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.2)  # a short pause that also notices an early exit
        assert response.status_code == 200 and response.json()["status"] == "ok"
        # The API needs a key (issue 7); make one in the store the server uses.
        assert httpx.get(f"http://127.0.0.1:{port}/api/posts").status_code == 401
        headers = {"X-API-Key": _viewer_key(tmp_path / "store.db")}
        assert httpx.get(f"http://127.0.0.1:{port}/api/posts", headers=headers).json() == {
            "total": 0,
            "items": [],
        }
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_on_a_taken_port_says_so_and_starts_nothing(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "-c", str(config), "--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "collecting from" not in result.output and "Tesoro serving" not in result.output


# Start-up failures (issue 17): one line that says what failed and what to do, exit status 1; the
# traceback only with `tesoro --debug`. Each case uses the real service on a port that refuses.

PG_URL = os.environ.get("TESORO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that is bound but never listens: every connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def _one_error_line(result: Result) -> str:
    lines = _lines(result.output)
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["sources"], ["serve"], ["collect", "--once"], ["scheduler"], ["import", "POSTS"]],
)
def test_an_unreachable_postgresql_is_one_line_and_exit_1(
    tmp_path: Path, closed_port: int, command: list[str]
) -> None:
    config = tmp_path / "t.toml"
    config.write_text(
        f'[database]\nurl = "postgresql+psycopg://tesoro:s3cret@127.0.0.1:{closed_port}/tesoro"\n'
    )
    posts = tmp_path / "posts.jsonl"
    posts.write_text("")
    args = [str(posts) if part == "POSTS" else part for part in command]
    result = runner.invoke(app, [*args, "-c", str(config)])
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert f"cannot open the database postgresql+psycopg://tesoro:***@127.0.0.1:{closed_port}/tesoro" in line
    assert "Connection refused" in line and "[database] url" in line
    assert "s3cret" not in result.output


@pytest.mark.postgres
def test_a_database_that_does_not_exist_says_create_it(tmp_path: Path) -> None:
    url = make_url(PG_URL).set(database="tesoro_no_such_database")
    config = tmp_path / "t.toml"
    config.write_text(f'[database]\nurl = "{url.render_as_string(hide_password=False)}"\n')
    result = runner.invoke(app, ["db", "upgrade", "-c", str(config)])
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert 'database "tesoro_no_such_database" does not exist' in line and "createdb" in line


def test_a_database_url_with_an_unknown_driver_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\nurl = "postgresql+nosuchdriver://tesoro@127.0.0.1/tesoro"\n')
    result = runner.invoke(app, ["sources", "-c", str(config)])
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert "is not valid" in line and "fix [database] url" in line


def test_a_sqlite_path_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    config = tmp_path / "t.toml"
    config.write_text(f'[database]\npath = "{blocker}/tesoro.db"\n')
    result = runner.invoke(app, ["serve", "-c", str(config)])
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert "cannot open the database sqlite:///" in line and "[database] path" in line


@pytest.mark.parametrize("command", [["worker", "--burst"], ["scheduler"], ["serve"]])
def test_an_unreachable_redis_is_one_line_with_the_password_masked(
    tmp_path: Path, closed_port: int, command: list[str]
) -> None:
    config = tmp_path / "t.toml"
    config.write_text(
        '[database]\npath = "store.db"\n'
        f'[queue]\nbackend = "rq"\nredis_url = "redis://:hunter2@127.0.0.1:{closed_port}/0"\n'
    )
    result = runner.invoke(app, [*command, "-c", str(config)])
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert f"cannot reach Redis at redis://:***@127.0.0.1:{closed_port}/0" in line
    assert "[queue] redis_url" in line and "hunter2" not in result.output


_X_SOURCE = """
[database]
path = "store.db"

[[brands]]
name = "Andes Outdoor"

[[queries]]
name = "andes"
brand = "Andes Outdoor"
query = "andes"

[[sources]]
name = "x-mentions"
platform = "x"
query = "andes"
base_url = "http://127.0.0.1:9"
credentials = { bearer_token_env = "TESORO_TEST_UNSET_BEARER" }
"""


@pytest.mark.parametrize("command", [["collect", "--once"], ["serve"], ["scheduler"]])
def test_a_missing_secret_names_the_variable_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.delenv("TESORO_TEST_UNSET_BEARER", raising=False)
    config = tmp_path / "t.toml"
    config.write_text(_X_SOURCE)
    port = ["--port", "9"] if command == ["serve"] else []
    result = runner.invoke(app, [*command, "-c", str(config), *port])
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert "source 'x-mentions' needs TESORO_TEST_UNSET_BEARER, which is not set; export it" in line


def test_a_tiktok_mentions_source_needs_the_business_token_not_research_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESORO_TEST_UNSET_TT_TOKEN", raising=False)
    config = tmp_path / "t.toml"
    config.write_text(
        _X_SOURCE.replace('platform = "x"', 'platform = "tiktok"\naccount_id = "-000biz"')
        .replace("bearer_token_env", "access_token_env")
        .replace("TESORO_TEST_UNSET_BEARER", "TESORO_TEST_UNSET_TT_TOKEN")
    )
    result = runner.invoke(app, ["collect", "--once", "-c", str(config)])
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert "source 'x-mentions' needs TESORO_TEST_UNSET_TT_TOKEN, which is not set" in line
    assert "client_key" not in line


def test_a_settings_file_that_is_not_toml_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text("[server\nport = 1\n")
    result = runner.invoke(app, ["serve", "-c", str(config)])
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert f"invalid settings in {config}" in line and "not valid TOML" in line and "fix the file" in line


def test_a_taken_port_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n[server]\nrun_scheduler = false\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "-c", str(config), "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert "--port or [server] port" in _one_error_line(result)


def test_debug_shows_the_traceback_and_the_default_is_one_line(tmp_path: Path, closed_port: int) -> None:
    config = tmp_path / "t.toml"
    config.write_text(f'[database]\nurl = "postgresql+psycopg://tesoro@127.0.0.1:{closed_port}/tesoro"\n')
    env = {**os.environ, "COLUMNS": "300"}
    plain = subprocess.run(
        [sys.executable, "-m", "tesoro", "db", "upgrade", "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert plain.returncode == 1
    assert plain.stdout == "" and len(_lines(plain.stderr)) == 1, plain.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "tesoro", "--debug", "db", "upgrade", "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "DatabaseUnavailable" in debug.stderr
    assert len(_lines(debug.stderr)) > 10


def test_the_console_log_leaves_out_scheduler_chatter_unless_debugging() -> None:
    """Every job start and end is an APScheduler INFO line: the demo's console would be mostly those."""
    scheduler_log = logging.getLogger("apscheduler")
    before = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    try:
        configure_logging("INFO")
        assert not scheduler_log.isEnabledFor(logging.INFO)
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)  # a line per HTTP request
        assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
        assert logging.getLogger("tesoro").level == logging.NOTSET  # Tesoro's own lines follow the root
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)
