"""Review decisions: transitions, bulk actions, products, tags, notes, rights, the audit log and undo."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.curator.queue import (
    Action,
    InvalidTransition,
    NotFound,
    QueueError,
    decide,
    normalize_tag,
    undo_last,
)
from tesoro.curator.ranking import rank_posts
from tesoro.curator.rights import rights_history, set_rights
from tesoro.settings import CuratorSettings
from tesoro.store.audit import audit_entries
from tesoro.store.curation import list_queue, queue_entries
from tesoro.store.decisions import decision_history, reviewables, tag_counts
from tesoro.store.engine import session_scope
from tesoro.store.tables import AuditLog, CurationDecision
from worlds.curator import NOW, Seeded, Spec, seed


def _world(engine: Engine) -> Seeded:
    data = seed(
        engine,
        [
            Spec(
                f"p{i}",
                f"Post number {i} about my Cumbre shoes on a long trail run",
                author=f"a{i}",
                hours_ago=i,
            )
            for i in range(5)
        ]
        + [
            Spec("surf", "Riding the Ola board at dawn was a dream come true", brand="Costa Surf", author="s")
        ],
    )
    rank_posts(engine, CuratorSettings(), now=NOW)
    return data


def state(engine: Engine, post_id: int) -> str:
    with session_scope(engine) as session:
        return reviewables(session, post_ids=[post_id])[post_id].queue_state


def test_transitions_audit_and_undo(engine: Engine) -> None:
    data = _world(engine)
    p0, p1 = data.ids["p0"], data.ids["p1"]
    with session_scope(engine) as session:
        result = decide(session, post_ids=[p0], action="approve", actor="lucia", note="great light")
    assert [o.post_id for o in result.applied] == [p0]
    assert state(engine, p0) == "approved"
    with session_scope(engine) as session:
        decide(session, post_ids=[p0], action=Action.FEATURE, actor="lucia")
        bad = decide(session, post_ids=[p1, p0], action="reopen", actor="lucia")
    assert [o.post_id for o in bad.applied] == []
    assert {o.post_id: o.reason for o in bad.skipped} == {
        p1: f"post {p1} is already new",
        p0: "a featured post cannot be moved to new",
    }
    with session_scope(engine) as session:
        history = decision_history(session, post_id=p0)
        audit = audit_entries(session, entity_id=str(p0))
    assert [(d.action, d.from_state, d.to_state, d.actor) for d in history] == [
        ("feature", "approved", "featured", "lucia"),
        ("approve", "new", "approved", "lucia"),
    ]
    assert history[1].note == "great light"
    assert [a.action for a in audit] == ["curation.feature", "curation.approve"]
    assert audit[1].before["queue_state"] == "new" and audit[1].after["queue_state"] == "approved"
    assert audit[1].at is not None
    # Undo walks back one batch at a time, like Ctrl-Z.
    with session_scope(engine) as session:
        first = undo_last(session, actor="lucia")
    assert [o.to_state for o in first.restored] == ["approved"]
    with session_scope(engine) as session:
        second = undo_last(session, actor="lucia")
        third = undo_last(session, actor="lucia")
    assert [o.to_state for o in second.restored] == ["new"] and third.batch_id is None
    assert state(engine, p0) == "new"
    with session_scope(engine) as session:
        undone = [d.undone for d in decision_history(session, post_id=p0) if d.action != "undo"]
    assert undone == [True, True]


def test_bulk_actions_are_one_undo_step_and_skip_what_cannot_move(sqlite_engine: Engine) -> None:
    data = _world(sqlite_engine)
    ids = [data.ids[f"p{i}"] for i in range(4)]
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[ids[0]], action="reject", actor="lucia")
        bulk = decide(
            session, post_ids=[*ids, 999_999], action="approve", actor="lucia", add=["Summer  Trail"]
        )
    assert len(bulk.applied) == 4  # rejected -> approved is allowed
    assert [o.reason for o in bulk.skipped] == ["no post 999999"]
    with session_scope(sqlite_engine) as session:
        assert list_queue(session).total == 2  # p4 and the surf post
        assert tag_counts(session) == [("summer trail", 4)]
        result = undo_last(session, actor="lucia")
    assert len(result.restored) == 4
    with session_scope(sqlite_engine) as session:
        now = reviewables(session, post_ids=ids)
        assert [now[i].queue_state for i in ids] == ["rejected", "new", "new", "new"]
        assert all(now[i].tags == () for i in ids)
        batches = {d.batch_id for d in decision_history(session, actor="lucia") if d.action == "approve"}
    assert len(batches) == 1


def test_undo_does_not_overwrite_someone_elses_later_decision(sqlite_engine: Engine) -> None:
    data = _world(sqlite_engine)
    p0 = data.ids["p0"]
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[p0], action="approve", actor="lucia")
        decide(session, post_ids=[p0], action="archive", actor="tomas")
        result = undo_last(session, actor="lucia")
    assert result.restored == [] and result.skipped[0].reason == "queue_state changed since"
    assert state(sqlite_engine, p0) == "archived"


def test_products_tags_and_notes(sqlite_engine: Engine) -> None:
    data = _world(sqlite_engine)
    p0, surf = data.ids["p0"], data.ids["surf"]
    nube, ola = data.products["Nube Rain Jacket"], data.products["Ola Board"]
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[p0], action="assign_product", actor="lucia", product_id=nube)
        wrong = decide(session, post_ids=[p0], action="assign_product", actor="lucia", product_id=ola)
        decide(session, post_ids=[surf], action="approve", actor="lucia", product_id=ola)
        decide(session, post_ids=[p0], action="tag", actor="lucia", add=["rain", "UGC"], remove=[])
        decide(session, post_ids=[p0], action="tag", actor="lucia", remove=["ugc"])
        decide(session, post_ids=[p0], action="note", actor="lucia", note="ask for the raw photo")
        unknown = decide(session, post_ids=[p0], action="approve", actor="lucia", product_id=12345)
    assert unknown.skipped[0].reason == "no product 12345"
    assert "belongs to another brand" in (wrong.skipped[0].reason or "")
    with session_scope(sqlite_engine) as session:
        now = reviewables(session, post_ids=[p0, surf])
        notes = [d.note for d in decision_history(session, post_id=p0) if d.action == "note"]
    assert now[p0].product_id == nube and now[p0].tags == ("rain",)
    assert now[surf].product_id == ola and now[surf].queue_state == "approved"
    assert notes == ["ask for the raw photo"]
    with session_scope(sqlite_engine) as session, pytest.raises(QueueError):
        decide(session, post_ids=[p0], action="tag", actor="lucia")
    with pytest.raises(QueueError):
        normalize_tag("   ")


def test_bulk_include_copies_rejects_a_whole_duplicate_group(sqlite_engine: Engine) -> None:
    text = "Win a free Cumbre pair, follow and retweet, winners announced friday at noon"
    data = seed(
        sqlite_engine,
        [
            Spec(f"c{i}", text, platform=p, author=f"u{i}", hours_ago=5 - i)
            for i, p in enumerate(["x", "bluesky", "mastodon"])
        ],
    )
    rank_posts(sqlite_engine, CuratorSettings(), now=NOW)
    with session_scope(sqlite_engine) as session:
        result = decide(
            session, post_ids=[data.ids["c0"]], action="reject", actor="lucia", include_copies=True
        )
    assert len(result.applied) == 3


def test_rights_are_set_by_hand_audited_and_undoable(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    data = _world(engine)
    p0 = data.ids["p0"]
    with session_scope(engine) as session:
        set_rights(session, post_ids=[p0], status="requested", actor="lucia", note="DM sent")
        set_rights(session, post_ids=[p0], status="granted", actor="lucia")
        with pytest.raises(QueueError):
            set_rights(session, post_ids=[p0], status="maybe", actor="lucia")
        with pytest.raises(NotFound):
            set_rights(session, post_ids=[987_654], status="granted", actor="lucia")
        history = rights_history(session, post_id=p0)
    assert [(d.actor, d.note) for d in history] == [("lucia", None), ("lucia", "DM sent")]
    with session_scope(engine) as session:
        audit = list(
            session.execute(
                select(AuditLog).where(col(AuditLog.entity_id) == str(p0)).order_by(col(AuditLog.id))
            ).scalars()
        )
        assert [(a.before["rights_status"], a.after["rights_status"]) for a in audit] == [
            ("none", "requested"),
            ("requested", "granted"),
        ]
        undo_last(session, actor="lucia")
        assert reviewables(session, post_ids=[p0])[p0].rights_status == "requested"
        decisions = session.execute(select(CurationDecision)).scalars().all()
        assert all(d.to_state is None for d in decisions)  # rights changes never teach the ranker


def test_decisions_need_an_actor(sqlite_engine: Engine) -> None:
    data = _world(sqlite_engine)
    with session_scope(sqlite_engine) as session, pytest.raises(QueueError):
        decide(session, post_ids=[data.ids["p0"]], action="approve", actor=" ")
    with pytest.raises(InvalidTransition):
        raise InvalidTransition("x")


def test_approving_confirms_the_suggested_product_unless_the_coordinator_chose(engine: Engine) -> None:
    data = seed(
        engine,
        [
            Spec(
                f"s{i}", f"My Cumbre trail runners after {i + 3} muddy races", author=f"s{i}", product=product
            )
            for i, product in enumerate(
                ["Cumbre Trail Runner", "Cumbre Trail Runner", "Cumbre Trail Runner", "Ola Board", None]
            )
        ],
    )
    rank_posts(engine, CuratorSettings(), now=NOW)
    s0, s1, s2, s3, s4 = (data.ids[f"s{i}"] for i in range(5))
    cumbre, nube = data.products["Cumbre Trail Runner"], data.products["Nube Rain Jacket"]
    with session_scope(engine) as session:
        # s1: the coordinator cleared the suggestion on purpose; s2: they picked another product.
        decide(session, post_ids=[s1], action="assign_product", actor="lucia", product_id=None)
        decide(session, post_ids=[s2], action="approve", actor="lucia", product_id=nube)
        # s3's suggestion is another brand's product (never confirmed); s4 has none.
        approved = decide(session, post_ids=[s0, s1, s3, s4], action="approve", actor="lucia")
    assert [o.post_id for o in approved.applied] == [s0, s1, s3, s4]
    with session_scope(engine) as session:
        now = reviewables(session, post_ids=[s0, s1, s2, s3, s4])
        history = decision_history(session, post_id=s0)
    assert {pid: r.product_id for pid, r in now.items()} == {
        s0: cumbre,
        s1: None,
        s2: nube,
        s3: None,
        s4: None,
    }
    assert history[0].product_id == cumbre  # the decision log says which product the approval confirmed
    with session_scope(engine) as session:
        cards = {e.card.id: e for e in queue_entries(session, post_ids=[s1, s4])}
    assert cards[s1].scored_product_id is None and cards[s1].product_id is None  # declined: not shown
    with session_scope(engine) as session:
        undone = undo_last(session, actor="lucia")
        assert {o.post_id for o in undone.restored} == {s0, s1, s3, s4}
        assert reviewables(session, post_ids=[s0])[s0].product_id is None  # undo takes the confirmation back
        # Featuring straight from the queue confirms it too.
        decide(session, post_ids=[s0], action="feature", actor="marco")
        assert reviewables(session, post_ids=[s0])[s0].product_id == cumbre
