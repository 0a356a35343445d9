"""Index snapshots: the same answers as an index built from the store, the store's later changes
on top, a newer snapshot picked up, broken ones refused, and the pages shared between processes.

The reference is always a `Library` whose index was built from the store in this process.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from test_library_topk import build_library

import tesoro.search.meaning as meaning_module
from tesoro.curator.queue import decide
from tesoro.search.index import LibraryIndex, int8_available
from tesoro.search.library import Library, LibraryFilters, LibraryPage, LibraryQuery
from tesoro.search.snapshot import SnapshotError, open_snapshot, prune_snapshots
from tesoro.settings import CuratorSettings
from tesoro.store.engine import session_scope
from worlds.common import eventually, stays
from worlds.curator import index_row, tiny_encode

QUERIES = [
    LibraryQuery(),
    LibraryQuery(text="trail"),
    LibraryQuery(text="trail", sort="date", limit=7, offset=3),
    LibraryQuery(text='"trail shoes" -sendero'),
    LibraryQuery(text="sender* OR storm"),
    LibraryQuery(meaning="rain jacket in a storm"),
    LibraryQuery(meaning="trail shoes ridge", min_similarity=0.1, sort="engagement"),
    LibraryQuery(filters=LibraryFilters(platforms=("bluesky",), languages=("es",)), sort="date"),
    LibraryQuery(filters=LibraryFilters(states=("featured",)), text="trail"),
    LibraryQuery(filters=LibraryFilters(states=("new",))),
    LibraryQuery(filters=LibraryFilters(content_types=("photo",)), sort="treasure", limit=5, offset=5),
]


def page_of(page: LibraryPage) -> tuple[Any, ...]:
    return (
        page.total,
        [h.entry.card.id for h in page.items],
        [h.relevance for h in page.items],
        page.facets,
        page.sort,
    )


def answers(library: Library) -> list[tuple[Any, ...]]:
    return [page_of(library.search(q)) for q in QUERIES]


def reader(engine: Engine, root: Path, **kwargs: Any) -> Library:
    index = LibraryIndex(min_refresh_s=0.0, snapshots=root, **kwargs)
    library = Library(engine, CuratorSettings(), encode=tiny_encode, index=index)
    library.cache = False
    return library


def written(engine: Engine, root: Path) -> LibraryIndex:
    """What the `index:snapshot` job does: an index from the store (or the last snapshot), written."""
    index = LibraryIndex(min_refresh_s=0.0, snapshots=root)
    with session_scope(engine) as session:
        index.refresh(session, force=True)
    index.write_snapshot(root)
    return index


def fresh(engine: Engine) -> Library:
    library = Library(engine, CuratorSettings(), encode=tiny_encode, index=LibraryIndex(min_refresh_s=0.0))
    library.cache = False
    return library


@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_a_snapshot_answers_like_the_index_built_from_the_store(
    engine: Engine, tmp_path: Path, int8: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if int8:
        if not int8_available():
            pytest.skip("simsimd is not installed")
        monkeypatch.setattr(meaning_module, "INT8_MIN_ROWS", 0)  # the int8 scan on a small index too
    _, built = build_library(engine)
    built.cache = False
    written(engine, tmp_path)
    mapped = reader(engine, tmp_path)
    assert answers(mapped) == answers(built)
    index = mapped.index
    assert index.snapshot is not None and index.snapshot.version == 1
    # The rows are the snapshot's files, mapped, not copies.
    for name in ("embedding", "state", "post_id") + (("codes",) if int8 else ()):
        assert isinstance(index.columns.arrays[name], np.memmap), name
    assert isinstance(index._text._post_rows, np.memmap)


def test_the_store_s_changes_after_the_snapshot_are_applied_on_top(engine: Engine, tmp_path: Path) -> None:
    data, _ = build_library(engine)
    written(engine, tmp_path)
    # No look-back: the decisions below must come from reading the store since the snapshot's
    # watermark, not from a look-back window that happens to cover them.
    early = reader(engine, tmp_path, lookback_s=0.0)
    early.search(LibraryQuery())  # opened before the decisions
    queued = sorted(pid for pid in data.ids.values() if pid % 7 == 0)
    approved = sorted(pid for pid in data.ids.values() if pid % 7 != 0)
    with session_scope(engine) as session:
        decide(session, post_ids=queued[:3], action="approve", actor="lucia")
        decide(session, post_ids=approved[:2], action="reject", actor="lucia")
    late = reader(engine, tmp_path, lookback_s=0.0)  # opened after them: its delta holds them
    expected = answers(fresh(engine))
    assert answers(early) == expected
    assert answers(late) == expected
    assert late.index.snapshot is not None and early.index.snapshot is not None
    library = late.search(LibraryQuery(limit=200))
    assert set(queued[:3]) <= {h.entry.card.id for h in library.items}
    assert not set(approved[:2]) & {h.entry.card.id for h in library.items}
    # The snapshot's files were not written: a third reader opens them as they were, same answers.
    info = late.index.snapshot
    assert open_snapshot(info.path).info.version == 1
    assert answers(reader(engine, tmp_path)) == expected


def test_new_rows_fill_the_spare_rows_then_grow(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = LibraryIndex(dim=8, quantized=False)
    vec = np.ones(8, dtype=np.float32).tobytes()
    index.add_rows([index_row(i, embedding=vec, score=float(i)) for i in range(1, 101)])
    index._text.set_docs(np.arange(100), [f"word{i % 7} shared" for i in range(100)])
    index.write_snapshot(tmp_path, spare_rows=10)
    mapped = LibraryIndex(dim=8, quantized=False, snapshots=tmp_path)
    mapped._install(mapped._open(next(tmp_path.glob("v*"))))
    assert mapped.columns.capacity == 110
    mapped.add_rows([index_row(i, embedding=vec, score=float(i)) for i in range(101, 111)])
    assert isinstance(mapped.columns.arrays["embedding"], np.memmap)  # in the spare rows, no copy
    with caplog.at_level(logging.WARNING, logger="tesoro.search.columns"):
        mapped.add_rows([index_row(i, embedding=vec, score=float(i)) for i in range(111, 131)])
    assert not isinstance(mapped.columns.arrays["embedding"], np.memmap)  # past them: copied, grown
    assert "spare rows are used up" in caplog.text
    assert mapped.columns.capacity == 130 + 4096  # by a step, not doubled
    assert len(mapped) == 130
    total, ids, _ = mapped.page(np.ones(130, dtype=np.bool_), key="score", limit=3, offset=0)
    assert (total, ids) == (130, [130, 129, 128])
    assert mapped.rows_of([1, 100, 130]).tolist() == [0, 99, 129]


def test_a_newer_snapshot_is_picked_up_and_a_search_in_flight_keeps_its_rows(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    data, _ = build_library(sqlite_engine)
    written(sqlite_engine, tmp_path)
    library = reader(sqlite_engine, tmp_path, snapshot_check_s=0.0)
    library.search(LibraryQuery())
    index = library.index
    assert index.snapshot is not None and index.snapshot.version == 1
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[min(data.ids.values())], action="reject", actor="lucia")
    written(sqlite_engine, tmp_path)  # the job again: from snapshot 1 plus the decision
    old_columns = index.columns
    with index.hold():  # a search in flight: the swap waits for it
        library.search(LibraryQuery())  # sees version 2 and starts opening it in the background
        assert stays(lambda: index.columns is old_columns, for_s=0.5), "swapped under a search in flight"
    eventually(
        lambda: index.snapshot is not None and index.snapshot.version == 2,
        timeout=10,
        message="the newer snapshot was not picked up",
    )
    assert index.columns is not old_columns
    assert answers(library) == answers(fresh(sqlite_engine))
    # A third snapshot, adopted directly; the first is pruned once the grace period is over.
    written(sqlite_engine, tmp_path)
    with session_scope(sqlite_engine) as session:
        assert index.adopt_newest(session)
        assert not index.adopt_newest(session)  # nothing newer
    assert index.snapshot is not None and index.snapshot.version == 3
    assert [p.name[:7] for p in prune_snapshots(tmp_path, keep=2, grace_s=0)] == ["v000001"]
    assert sorted(p.name[:7] for p in tmp_path.glob("v*")) == ["v000002", "v000003"]


def _corrupt(path: Path) -> None:
    """Flip one byte in the middle of the embeddings."""
    file = path / "columns.embedding.npy"
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "no-manifest", "other-format", "other-dim"])
def test_a_broken_snapshot_is_refused_and_the_store_builds_the_index(
    sqlite_engine: Engine, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    build_library(sqlite_engine)
    written(sqlite_engine, tmp_path)
    (path,) = tmp_path.glob("v*")
    if damage == "corrupt":
        _corrupt(path)
    elif damage == "truncated":
        file = path / "text.post_rows.npy"
        file.write_bytes(file.read_bytes()[:-8])
    elif damage == "no-manifest":  # as a crashed writer would leave it, had it published early
        (path / "manifest.json").unlink()
    elif damage == "other-format":
        manifest = json.loads((path / "manifest.json").read_text())
        manifest["format"] = 999
        (path / "manifest.json").write_text(json.dumps(manifest))
    if damage != "other-dim":
        with pytest.raises(SnapshotError):
            open_snapshot(path)
    library = reader(sqlite_engine, tmp_path, **({"dim": 64} if damage == "other-dim" else {}))
    caplog.set_level(logging.WARNING, logger="tesoro.search.index")
    if damage == "other-dim":
        with session_scope(sqlite_engine) as session:
            library.index.refresh(session)
    else:
        assert answers(library) == answers(fresh(sqlite_engine))
    assert library.index.snapshot is None and library.index.built
    assert "refusing the snapshot" in caplog.text and "building from the store" in caplog.text


def test_an_older_snapshot_serves_when_the_newest_is_broken_and_a_half_written_one_is_ignored(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    build_library(sqlite_engine)
    written(sqlite_engine, tmp_path)
    written(sqlite_engine, tmp_path)
    newest = sorted(tmp_path.glob("v*"))[-1]
    _corrupt(newest)
    (tmp_path / ".tmp-v3-1-abc").mkdir()  # a writer still at work
    library = reader(sqlite_engine, tmp_path)
    assert answers(library) == answers(fresh(sqlite_engine))
    assert library.index.snapshot is not None and library.index.snapshot.version == 1


_CHILD = r"""
import sys, time
from pathlib import Path
from tesoro.search.index import LibraryIndex
from tesoro.store.engine import make_engine, session_scope

engine = make_engine(sys.argv[1])
index = LibraryIndex(snapshots=Path(sys.argv[2]))
with session_scope(engine) as session:
    index.refresh(session)
assert index.snapshot is not None, "no snapshot"
embedding = index.columns.arrays["embedding"]
float(embedding.sum())  # read every page
name = str(Path(embedding.filename).resolve())
shared = rss = None
lines = Path("/proc/self/smaps").read_text().splitlines()
for at, line in enumerate(lines):
    if line.endswith(name):
        block = [l.split(":", 1) for l in lines[at + 1 : at + 20] if ":" in l]
        fields = {k: v for k, v in block if " " not in k}
        rss = int(fields["Rss"].split()[0])
        shared = int(fields["Shared_Clean"].split()[0])
        break
print(f"{rss} {shared}", flush=True)
sys.stdin.readline()  # stay alive (and mapped) until told
"""


def test_two_processes_share_the_snapshot_pages(sqlite_engine: Engine, tmp_path: Path) -> None:
    build_library(sqlite_engine)
    root = tmp_path / "index"
    written(sqlite_engine, root)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    url = str(sqlite_engine.url)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        first = children[0].stdout.readline().split()  # type: ignore[union-attr]
        second = children[1].stdout.readline().split()  # type: ignore[union-attr]
        assert first and second, "a child failed"
        rss, shared = int(second[0]), int(second[1])
        # The second process's pages of the embeddings are the first one's: all shared, none its own
        # (unless the first had not mapped them yet: then the first ones are shared in the first).
        first_shared = int(first[1])
        assert rss > 0 and (shared == rss or first_shared == int(first[0])), (first, second)
    finally:
        for child in children:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=30)


def test_concurrent_searches_while_snapshots_swap(sqlite_engine: Engine, tmp_path: Path) -> None:
    build_library(sqlite_engine)
    written(sqlite_engine, tmp_path)
    library = reader(sqlite_engine, tmp_path, snapshot_check_s=0.0)
    expected = answers(fresh(sqlite_engine))
    failures: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                assert answers(library) == expected
            except BaseException as exc:  # reported below
                failures.append(exc)
                return

    threads = [threading.Thread(target=search) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            written(sqlite_engine, tmp_path)
            with session_scope(sqlite_engine) as session:
                library.index.adopt_newest(session)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not failures, failures[0]
    assert library.index.snapshot is not None and library.index.snapshot.version == 4


def test_the_snapshot_job_writes_skips_and_prunes_and_api_processes_follow(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    from tesoro.api.app import init_state
    from tesoro.jobs.scheduler import build_scheduler
    from tesoro.jobs.tasks import index_snapshot_job
    from tesoro.settings import Settings

    def settings(**search: Any) -> Settings:
        return Settings.model_validate({"data_dir": "data", "base_dir": tmp_path, "search": search})

    off, on = settings(), settings(snapshot_interval_s=60, snapshot_keep_s=0)
    assert index_snapshot_job(sqlite_engine, off) is None and off.index_snapshots() is None
    jobs = {job.id: job for job in build_scheduler(sqlite_engine, on, {}).get_jobs()}
    assert jobs["index:snapshot"].func.__wrapped__ is index_snapshot_job
    assert "index:snapshot" not in {job.id for job in build_scheduler(sqlite_engine, off, {}).get_jobs()}
    with pytest.raises(ValueError):
        settings(snapshot_interval_s=5)

    data, _ = build_library(sqlite_engine)
    root = tmp_path / "data" / "index"
    assert on.index_snapshots() == root
    first = index_snapshot_job(sqlite_engine, on)
    assert first is not None and first["version"] == 1 and first["rows"] == len(data.ids)
    assert index_snapshot_job(sqlite_engine, on) == {
        "skipped": "nothing changed since snapshot 1",
        "rows": len(data.ids),
    }
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[max(data.ids.values())], action="reject", actor="lucia")
    assert (index_snapshot_job(sqlite_engine, on) or {}).get("version") == 2
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[min(data.ids.values())], action="reject", actor="lucia")
    assert (index_snapshot_job(sqlite_engine, on) or {}).get("version") == 3
    assert sorted(p.name[:7] for p in root.glob("v*")) == ["v000002", "v000003"]  # the newest two

    # An API process of that configuration maps the newest snapshot, with the same answers.
    app = type("App", (), {"state": type("State", (), {})()})()
    init_state(app, on, sqlite_engine, encode=tiny_encode)  # type: ignore[arg-type]
    library: Library = app.state.library  # type: ignore[attr-defined]
    library.cache = False
    assert library.index.snapshots == root
    assert answers(library) == answers(fresh(sqlite_engine))
    assert library.index.snapshot is not None and library.index.snapshot.version == 3


def test_a_process_that_built_from_the_store_moves_to_the_first_snapshot(
    sqlite_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    build_library(sqlite_engine)
    caplog.set_level(logging.WARNING, logger="tesoro.search.index")
    library = reader(sqlite_engine, tmp_path / "index", snapshot_check_s=0.0)
    expected = answers(fresh(sqlite_engine))
    assert answers(library) == expected  # no snapshot yet: built from the store, with a warning
    assert library.index.snapshot is None and "building from the store" in caplog.text
    written(sqlite_engine, tmp_path / "index")
    library.search(LibraryQuery())  # the next search notices the snapshot; a thread adopts it
    eventually(
        lambda: library.index.snapshot is not None,
        timeout=10,
        message="the first snapshot was not adopted",
    )
    assert isinstance(library.index.columns.arrays["embedding"], np.memmap)
    assert answers(library) == expected
