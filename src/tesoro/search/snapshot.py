"""Library index snapshots: the index's arrays in versioned files that API processes map, shared.

Every API process used to build the whole library index from the store (about a minute and
2.3 GB at a million posts, each). With snapshots, one process (the `index:snapshot` job) writes
the index's arrays into a versioned folder, and each API process maps those files
copy-on-write (`np.load(mmap_mode="c")`): the pages come from the kernel's page cache, one copy
for every process on the machine, and the few rows a process then changes (the decisions and new
posts since the snapshot, read from the store by the index's ordinary `refresh`) become pages
of that process alone. The files themselves are never written after the folder is published.

Layout of `<root>/v<version>-<built at>/`:

- `columns.<name>.npy`: the index's columns, embeddings and int8 codes, one file each, with spare
  rows past the live ones (filled as an empty row is) so new posts need no copy;
- `text.<name>.npy`: the full-text index (forward index, inverted index, the vocabulary as one
  newline-separated UTF-8 array and its sorted order);
- `manifest.json`, written last: the format, the version, when it was built, the refresh
  watermark (every change stamped before it, less the index's look-back, is in the files), the
  rows, and each file's size, dtype, shape and SHA-256.

A snapshot is written into `<root>/.tmp-...` and renamed into place, so a reader never sees a
half-written one; a reader checks the manifest, every file's size and (by default) its SHA-256,
and refuses the snapshot with a `SnapshotError` otherwise (the index then builds from the store).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

__all__ = [
    "FORMAT",
    "MANIFEST",
    "Snapshot",
    "SnapshotError",
    "SnapshotInfo",
    "SnapshotPart",
    "newest_snapshots",
    "open_snapshot",
    "prune_snapshots",
    "write_snapshot",
]

log = logging.getLogger(__name__)

# Bumped whenever the files or their meaning change; a reader refuses any other format.
FORMAT = 1
MANIFEST = "manifest.json"
_NAME = re.compile(r"^v(\d+)-[0-9TZ]+$")
_TMP = ".tmp-"
# Bytes per write and per hashed read.
_CHUNK = 16 << 20


class SnapshotError(Exception):
    """A snapshot that cannot be used: missing, half-written, corrupt or of another format."""


@dataclass(frozen=True, slots=True)
class SnapshotPart:
    """One array to write: its live rows, the rows its file holds (spare ones filled) and their fill."""

    array: npt.NDArray[Any]
    rows: int
    fill: Any = 0


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    path: Path
    version: int
    built_at: datetime
    watermark: datetime
    rows: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An opened snapshot: its manifest's meta and its arrays (mapped copy-on-write)."""

    info: SnapshotInfo
    meta: dict[str, Any]
    arrays: dict[str, npt.NDArray[Any]]

    def part(self, prefix: str) -> dict[str, npt.NDArray[Any]]:
        """The arrays named `<prefix>.<name>`, by name."""
        start = prefix + "."
        return {name[len(start) :]: arr for name, arr in self.arrays.items() if name.startswith(start)}


class _Hashing:
    """A binary file that hashes what is written to it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.sha.update(view)
        self.raw.write(view)
        self.size += len(view)
        return len(view)


def _write_npy(path: Path, part: SnapshotPart) -> dict[str, Any]:
    arr = np.ascontiguousarray(part.array) if part.array.ndim > 1 else part.array
    if part.rows < len(arr):
        raise ValueError(f"{path.name}: {part.rows} rows cannot hold {len(arr)}")
    shape = (part.rows, *arr.shape[1:])
    header = {"descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False, "shape": shape}
    row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * arr.dtype.itemsize)
    step = max(1, _CHUNK // row_bytes)
    with path.open("wb") as raw:
        out = _Hashing(raw)
        np.lib.format.write_array_header_2_0(out, header)
        for start in range(0, len(arr), step):
            out.write(np.ascontiguousarray(arr[start : start + step]))
        spare = part.rows - len(arr)
        if spare:
            block = np.full((min(spare, step), *shape[1:]), part.fill, dtype=arr.dtype)
            while spare:
                take = min(spare, len(block))
                out.write(block[:take])
                spare -= take
        raw.flush()
        os.fsync(raw.fileno())
    return {"bytes": out.size, "sha256": out.sha.hexdigest(), "dtype": arr.dtype.str, "shape": list(shape)}


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _versions(root: Path) -> list[tuple[int, Path]]:
    """Published snapshot folders under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _NAME.match(child.name)
        if match and child.is_dir():
            found.append((int(match.group(1)), child))
    return sorted(found)


def newest_snapshots(root: Path) -> Iterator[Path]:
    """Published snapshot folders under `root`, newest first."""
    for _, path in reversed(_versions(root)):
        yield path


def write_snapshot(
    root: Path, parts: dict[str, SnapshotPart], meta: dict[str, Any], *, watermark: datetime, rows: int
) -> SnapshotInfo:
    """Write the arrays into the next version's folder under `root` (atomically: temp folder, rename)."""
    root.mkdir(parents=True, exist_ok=True)
    built_at = datetime.now(UTC)
    known = _versions(root)
    version = (known[-1][0] + 1) if known else 1
    tmp = root / f"{_TMP}v{version}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        files = {name: _write_npy(tmp / f"{name}.npy", part) for name, part in parts.items()}
        manifest = {
            "format": FORMAT,
            "version": version,
            "built_at": built_at.isoformat(),
            "watermark": watermark.astimezone(UTC).isoformat(),
            "rows": rows,
            "meta": meta,
            "files": files,
        }
        with (tmp / MANIFEST).open("w", encoding="utf-8") as fh:
            json.dump(manifest, fh)
            fh.flush()
            os.fsync(fh.fileno())
        final = root / f"v{version:06d}-{_stamp(built_at)}"
        os.rename(tmp, final)  # fails if another writer took the version: never two at once
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(root)
    size = sum(int(f["bytes"]) for f in files.values())
    return SnapshotInfo(final, version, built_at, watermark, rows, size)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def open_snapshot(path: Path, *, verify: bool = True) -> Snapshot:
    """Check and map the snapshot at `path` (every array copy-on-write); `SnapshotError` if unusable.

    `verify` also reads every file once to check its SHA-256 (about a second per GB; the pages
    read stay in the shared page cache).
    """
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SnapshotError(
            f"{path}: no {MANIFEST} (a snapshot still being written, or a broken one)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{path}: unreadable {MANIFEST}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise SnapshotError(f"{path}: snapshot format {found!r}, this version reads format {FORMAT}")
    arrays: dict[str, npt.NDArray[Any]] = {}
    try:
        files: dict[str, dict[str, Any]] = manifest["files"]
        for name, entry in files.items():
            file = path / f"{name}.npy"
            size = file.stat().st_size if file.exists() else None
            if size != entry["bytes"]:
                raise SnapshotError(f"{file}: {size} bytes, the manifest says {entry['bytes']}")
            if verify and _sha256(file) != entry["sha256"]:
                raise SnapshotError(f"{file}: the SHA-256 differs from the manifest's (a corrupt file)")
            arr = np.load(file, mmap_mode="c", allow_pickle=False)
            if arr.dtype.str != entry["dtype"] or list(arr.shape) != list(entry["shape"]):
                raise SnapshotError(f"{file}: {arr.dtype.str} {list(arr.shape)}, the manifest says otherwise")
            arrays[name] = arr
        info = SnapshotInfo(
            path,
            int(manifest["version"]),
            datetime.fromisoformat(manifest["built_at"]),
            datetime.fromisoformat(manifest["watermark"]),
            int(manifest["rows"]),
            sum(int(e["bytes"]) for e in files.values()),
        )
        meta: dict[str, Any] = manifest["meta"]
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise SnapshotError(f"{path}: {type(exc).__name__}: {exc}") from exc
    return Snapshot(info, meta, arrays)


def prune_snapshots(root: Path, *, keep: int = 2, grace_s: float = 900.0) -> list[Path]:
    """Delete snapshot folders beyond the newest `keep` once `grace_s` has passed since a newer one
    was published (a process may still be opening them; one that mapped them keeps its mapping),
    and leftover temporary folders older than an hour. Returns what was deleted."""
    now = time.time()
    removed: list[Path] = []
    versions = _versions(root)
    old = len(versions) - keep
    for (_, path), (_, newer) in list(pairwise(versions))[: max(0, old)]:
        try:
            if now - newer.stat().st_mtime >= grace_s:
                shutil.rmtree(path)
                removed.append(path)
        except OSError as exc:
            log.warning("could not delete the old index snapshot %s: %s", path, exc)
    if root.is_dir():
        for child in root.iterdir():
            if child.name.startswith(_TMP) and now - child.stat().st_mtime > 3600:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    return removed
