"""Where a Reddit collection stands: incremental and crash-safe without `since_id`.

Reddit has no "newer than" parameter: listings come newest first and page
backwards with `after`. Each stream (submissions found by search; comments, when
enabled) therefore walks down from the top until it meets the newest item it
stored last time (compared by id: base36 ids grow with time). That walk is a
*pass*, and the stream's cursor says where it stands::

    idle:     {"newest": M}
    mid-pass: {"newest": M, "pass": {"newest": N, "after": A, "floor": F}}
    done:     {"newest": N}

`M` is the newest item already stored before the pass (`{"fullname", "created_utc"}`,
or None before the first run); `N` the newest item of this pass (its first item);
`A` Reddit's `after` for the next page; `F` (first pass only) the `created_utc`
below which the initial backfill stops. `N` only replaces `M` once the pass has
reached `M` (or the end of the listing, or `F`), so a crash or a retry resumes
from `A` with nothing lost and nothing repeated: items published while the pass
runs sit above `N` and are picked up by the next pass. `max_pages` ends a run
mid-pass; the next run continues the same pass before starting a new one.

The whole cursor is `{"v": 1, "submissions": stream, "comments": stream}`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tesoro.models import Cursor

__all__ = ["CURSOR_VERSION", "Marker", "Stream", "decode", "encode", "first_marker", "fresh_children"]

log = logging.getLogger(__name__)

CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class Marker:
    """One listing item, as far as ordering is concerned."""

    fullname: str
    created_utc: float

    @property
    def rank(self) -> int:
        return int(self.fullname.partition("_")[2], 36)

    def to_json(self) -> dict[str, Any]:
        return {"fullname": self.fullname, "created_utc": self.created_utc}

    @classmethod
    def from_json(cls, value: Any) -> Marker | None:
        if not isinstance(value, Mapping):
            return None
        return _marker(value.get("fullname"), value.get("created_utc"))


def _marker(fullname: Any, created_utc: Any) -> Marker | None:
    """A marker from raw values, or None when they are not a Reddit fullname and a time."""
    if (
        not isinstance(fullname, str)
        or not isinstance(created_utc, int | float)
        or isinstance(created_utc, bool)
    ):
        return None
    kind, sep, rid = fullname.partition("_")
    if not sep or not kind or not rid.isalnum():
        return None
    return Marker(fullname, float(created_utc))


def _newer(a: Marker | None, b: Marker | None) -> Marker | None:
    if a is None or b is None:
        return a or b
    return a if a.rank >= b.rank else b


@dataclass(frozen=True, slots=True)
class Stream:
    """One listing's position: see the module docstring for the three states."""

    newest: Marker | None = None
    pass_newest: Marker | None = None
    after: str | None = None
    floor: float | None = None

    @property
    def in_pass(self) -> bool:
        return self.after is not None

    def to_json(self) -> dict[str, Any]:
        state: dict[str, Any] = {"newest": self.newest.to_json() if self.newest else None}
        if self.in_pass:
            state["pass"] = {
                "newest": self.pass_newest.to_json() if self.pass_newest else None,
                "after": self.after,
                "floor": self.floor,
            }
        return state

    @classmethod
    def from_json(cls, value: Any) -> Stream:
        if not isinstance(value, Mapping):
            return cls()
        newest = Marker.from_json(value.get("newest"))
        running = value.get("pass")
        if not isinstance(running, Mapping) or not isinstance(running.get("after"), str):
            return cls(newest)
        floor = running.get("floor")
        return cls(
            newest,
            Marker.from_json(running.get("newest")),
            running["after"],
            float(floor) if isinstance(floor, int | float) and not isinstance(floor, bool) else None,
        )

    def finished(self) -> Stream:
        return Stream(_newer(self.newest, self.pass_newest))


# --------------------------------------------------------------------------- collector


def decode(cursor: Cursor | None) -> dict[str, Stream]:
    cursor = cursor or {}
    return {name: Stream.from_json(cursor.get(name)) for name in ("submissions", "comments")}


def encode(streams: Mapping[str, Stream]) -> Cursor:
    return {"v": CURSOR_VERSION, **{name: state.to_json() for name, state in streams.items()}}


def fresh_children(
    children: Sequence[Mapping[str, Any]], state: Stream
) -> tuple[list[Mapping[str, Any]], bool]:
    """The children newer than the stored mark (and above the backfill floor), and whether
    the page reached either, which ends the pass."""
    fresh: list[Mapping[str, Any]] = []
    reached = False
    for child in children:
        data = child.get("data")
        marker = _marker(data.get("name"), data.get("created_utc")) if isinstance(data, Mapping) else None
        if marker is None:
            log.warning("skipping a Reddit listing item without a fullname or time: %r", child.get("kind"))
            continue
        if _covered(marker, state):
            reached = True
        else:
            fresh.append(child)
    return fresh, reached


def _covered(marker: Marker, state: Stream) -> bool:
    """Already stored (at or below the mark), or older than the first run's backfill floor."""
    if state.newest is not None and marker.rank <= state.newest.rank:
        return True
    return state.floor is not None and marker.created_utc < state.floor


def first_marker(children: Sequence[Mapping[str, Any]]) -> Marker | None:
    markers = (_marker(c["data"].get("name"), c["data"].get("created_utc")) for c in children)
    return max((m for m in markers if m is not None), key=lambda m: m.rank, default=None)
