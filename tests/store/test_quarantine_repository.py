"""The quarantine repository on both backends: hostile content is stored safely, an item seen again
keeps one row, and items are listed, counted, marked and released (issue 17 item 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from tesoro.models import RejectedItem
from tesoro.store.engine import session_scope
from tesoro.store.quarantine import count_quarantined, list_quarantined, mark_still_bad, quarantine, release

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_hostile_content_is_stored_as_ascii_json_on_every_backend(engine: Engine) -> None:
    raw = {"text": "a\x00b \ud800", "likes": 10**30, "when": float("nan"), "big": "x" * 100_000}
    item = RejectedItem("x\x00", "id\x00\ud800" + "9" * 400, raw, "reason with \x00 and \udfff " + "r" * 2000)
    unwritable = RejectedItem("x", None, {"n": 10**5000}, "an int too long to write")
    with session_scope(engine) as session:
        assert quarantine(session, [item, unwritable], source="feed\x00", at=T0) == 2
    with session_scope(engine) as session:
        first, second = sorted(list_quarantined(session), key=lambda i: i.id or 0)
    assert first.raw.isascii() and len(first.raw) == 65_536  # cut: no longer JSON, a retry says so
    assert first.raw.startswith('{"text": "a\\u0000b \\ud800", "likes": 1000000000000000000000000000000')
    assert first.source == "feed\\u0000" and first.platform == "x\\u0000"
    assert first.external_id is not None and len(first.external_id) == 256
    assert "\x00" not in first.reason and len(first.reason) == 1000
    assert "not kept" in json.loads(second.raw) and second.external_id is None


def test_an_item_seen_again_keeps_one_row(engine: Engine) -> None:
    item = RejectedItem("x", "1", {"id": "1"}, "first reason", line=3)
    with session_scope(engine) as session:
        quarantine(session, [item, item], source="feed", at=T0)
    with session_scope(engine) as session:
        quarantine(
            session,
            [RejectedItem("x", "1", {"id": "1"}, "second reason", line=4)],
            source="feed",
            at=T0 + timedelta(hours=1),
        )
        quarantine(session, [item], source="other", at=T0)  # another source: another row
    with session_scope(engine) as session:
        assert count_quarantined(session) == 2 and count_quarantined(session, source="feed") == 1
        [row] = list_quarantined(session, source="feed")
    assert (row.reason, row.line, row.times_seen) == ("second reason", 4, 2)
    assert row.first_seen_at == T0 and row.last_seen_at == T0 + timedelta(hours=1)


def test_list_pages_latest_first_and_mark_and_release(engine: Engine) -> None:
    with session_scope(engine) as session:
        for i in range(3):
            quarantine(
                session,
                [RejectedItem("x", str(i), {"id": i}, "bad")],
                source="feed",
                at=T0 + timedelta(minutes=i),
            )
    with session_scope(engine) as session:
        ids = [row.id for row in list_quarantined(session)]
        assert [row.external_id for row in list_quarantined(session)] == ["2", "1", "0"]
        assert [row.external_id for row in list_quarantined(session, limit=1, offset=1)] == ["1"]
        assert [row.external_id for row in list_quarantined(session, ids=[ids[0]])] == ["2"]
    assert all(i is not None for i in ids)
    with session_scope(engine) as session:
        mark_still_bad(session, ids[1] or 0, reason="still bad\x00", at=T0 + timedelta(days=1))
        assert release(session, [ids[0] or 0]) == 1 and release(session, []) == 0
    with session_scope(engine) as session:
        [marked] = list_quarantined(session, ids=[ids[1] or 0])
        assert count_quarantined(session) == 2
    assert (marked.reason, marked.retries) == ("still bad\\u0000", 1)
    assert marked.last_seen_at == T0 + timedelta(days=1)
