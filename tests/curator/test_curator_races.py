"""Coordinators racing each other: bulk decisions over the same posts, in opposite orders, at once.

Each race runs on both backends with real threads and real transactions. On
PostgreSQL the two batches used to lock the same rows in opposite orders and one
died of a deadlock (a 500 from the API); now the rows are locked in id order and a
lost race is retried, so the race ends with one decision per post and no error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from tesoro.api.app import init_state
from tesoro.api.routes import queue as queue_routes
from tesoro.curator.queue import BatchResult, decide
from tesoro.curator.ranking import rank_posts
from tesoro.store.engine import is_transient, run_transaction, session_scope
from tesoro.store.tables import CurationDecision, Post
from worlds.curator import NOW, Spec, catalog_settings, seed

POSTS = 20
ROUNDS = 3


def _posts(engine: Engine, count: int) -> list[int]:
    specs = [
        Spec(f"race{i}", f"Race post {i} about my Cumbre shoes on a long muddy trail", author=f"r{i}")
        for i in range(count)
    ]
    data = seed(engine, specs, catalog_settings())
    rank_posts(engine, catalog_settings().curator, now=NOW)
    return [data.ids[s.key] for s in specs]


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; returns each one's result or exception."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # reported to the test, which fails on it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _decisions(engine: Engine, ids: list[int]) -> dict[int, int]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(col(CurationDecision.post_id), func.count())
            .where(col(CurationDecision.post_id).in_(ids))
            .group_by(col(CurationDecision.post_id))
        ).all()
    return {int(p): int(n) for p, n in rows}


def _states(engine: Engine, ids: list[int]) -> set[str]:
    with session_scope(engine) as session:
        return set(session.execute(select(col(Post.queue_state)).where(col(Post.id).in_(ids))).scalars())


def test_opposite_bulk_approvals_end_with_one_decision_per_post(engine: Engine) -> None:
    ids = _posts(engine, POSTS * ROUNDS)
    for n in range(ROUNDS):
        batch = ids[n * POSTS : (n + 1) * POSTS]

        def approve(order: list[int], actor: str) -> Callable[[], BatchResult]:
            return lambda: run_transaction(
                engine, lambda session: decide(session, post_ids=order, action="approve", actor=actor)
            )

        results = _race([approve(batch, "lucia"), approve(batch[::-1], "marco")])
        assert not [r for r in results if isinstance(r, Exception)], results
        assert sum(len(r.applied) for r in results) == POSTS
        assert all(len(r.applied) + len(r.skipped) == POSTS for r in results)
        assert {o.problem for r in results for o in r.skipped} <= {"invalid", "conflict"}
        assert _decisions(engine, batch) == dict.fromkeys(batch, 1)
        assert _states(engine, batch) == {"approved"}


def test_opposite_bulk_decisions_over_http_never_answer_500(engine: Engine) -> None:
    ids = _posts(engine, POSTS * ROUNDS)
    settings = catalog_settings()
    app = FastAPI()
    init_state(app, settings, engine)
    app.include_router(queue_routes.router)
    clients = [TestClient(app), TestClient(app)]
    for n in range(ROUNDS):
        batch = ids[n * POSTS : (n + 1) * POSTS]

        def bulk(client: TestClient, order: list[int], actor: str) -> Callable[[], Any]:
            return lambda: client.post(
                "/api/curator/decisions/bulk",
                json={"action": "approve", "post_ids": order},
                headers={"X-Tesoro-Actor": actor},
            )

        responses = _race([bulk(clients[0], batch, "lucia"), bulk(clients[1], batch[::-1], "marco")])
        assert [getattr(r, "status_code", r) for r in responses] == [200, 200]
        assert sum(len(r.json()["applied"]) for r in responses) == POSTS
        assert _decisions(engine, batch) == dict.fromkeys(batch, 1)


def test_a_transaction_that_loses_a_race_runs_again_a_bounded_number_of_times(engine: Engine) -> None:
    attempts: list[int] = []

    def deadlocked(session: Session) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            error = type("DeadlockDetected", (Exception,), {"sqlstate": "40P01"})("deadlock detected")
            raise OperationalError("UPDATE post ...", {}, error)
        session.execute(select(1))
        return "done"

    assert run_transaction(engine, deadlocked, backoff_s=0.001) == "done" and len(attempts) == 3

    attempts.clear()

    def always(session: Session) -> str:
        attempts.append(1)
        raise OperationalError("UPDATE post ...", {}, Exception("database is locked"))

    with pytest.raises(OperationalError) as raised:
        run_transaction(engine, always, attempts=4, backoff_s=0.001)
    assert is_transient(raised.value) and len(attempts) == 4

    attempts.clear()

    def broken(session: Session) -> str:
        attempts.append(1)
        raise OperationalError("SELECT nope", {}, Exception("no such table: nope"))

    with pytest.raises(OperationalError):
        run_transaction(engine, broken, backoff_s=0.001)
    assert len(attempts) == 1  # a real error is never retried
