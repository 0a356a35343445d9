"""The score mark: where the search for unscored posts starts, how it moves on, how an edit moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from tesoro.models import NormalizedAuthor, NormalizedPost, Platform, PostMetrics
from tesoro.store.engine import session_scope
from tesoro.store.posts import upsert_posts
from tesoro.store.scores import SCORE_MARK_LAG, advance_score_mark, lower_score_marks, score_mark
from tesoro.store.tables import ScoreMark

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def _posts(*ids: str) -> list[NormalizedPost]:
    who = NormalizedAuthor(Platform.X, external_id="a1", handle="ana", followers=10, following=5)
    return [
        NormalizedPost(
            Platform.X, external_id=i, text=f"post {i}", created_at=T0, author=who, metrics=PostMetrics()
        )
        for i in ids
    ]


def _advance(engine: Engine, minutes: int, version: str = "v1") -> int:
    with session_scope(engine) as session:
        return advance_score_mark(session, model_version=version, now=T0 + timedelta(minutes=minutes))


def _row(engine: Engine, version: str = "v1") -> tuple[int, int | None]:
    with session_scope(engine) as session:
        row = session.get(ScoreMark, version)
        assert row is not None
        return row.below_id, row.candidate_id


def test_a_candidate_becomes_the_mark_only_once_it_is_old_enough(engine: Engine) -> None:
    assert timedelta(minutes=10) == SCORE_MARK_LAG
    with session_scope(engine) as session:
        assert score_mark(session, model_version="v1") == 0  # nothing known: search from the first post
    assert _advance(engine, 0) == 0 and _row(engine) == (0, 1)  # an empty store: candidate 1
    with session_scope(engine) as session:
        upsert_posts(session, _posts("1", "2", "3"))
    # Five minutes on, a post that took an id before the candidate could still be committing: wait,
    # and keep the old candidate (refreshing it every run would never let it age).
    assert _advance(engine, 5) == 0 and _row(engine) == (0, 1)
    assert _advance(engine, 10) == 1  # ten minutes: the candidate is the mark, a new one is set
    newest = _row(engine)[1]
    assert newest is not None and newest >= 4
    assert _advance(engine, 15) == 1
    assert _advance(engine, 20) == newest
    with session_scope(engine) as session:
        assert score_mark(session, model_version="v1") == newest
        assert score_mark(session, model_version="v2") == 0  # each version has its own


def test_dropping_a_posts_scores_moves_every_versions_mark_and_candidate_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        upsert_posts(session, _posts("1", "2", "3", "4"))
    for version in ("v1", "v2"):
        _advance(engine, 0, version)
        _advance(engine, 10, version)
    below, candidate = _row(engine, "v1")
    assert below >= 5 and candidate is not None
    with session_scope(engine) as session:
        lower_score_marks(session, post_id=2)
    assert _row(engine, "v1") == (2, 2) and _row(engine, "v2") == (2, 2)
    with session_scope(engine) as session:
        lower_score_marks(session, post_id=3)  # above the mark: nothing moves up
    assert _row(engine, "v1") == (2, 2)
