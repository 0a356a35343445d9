"""The review repository on SQLite and PostgreSQL: queue order, decisions with audit rows, search facets."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_world import HOSTILE_TEXT, make_settings, seed
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tesoro.store.browse import PostFilter, author_detail, gallery_posts, overview, search_posts
from tesoro.store.engine import session_scope
from tesoro.store.keys import (
    Role,
    create_key,
    create_session,
    list_keys,
    resolve_session,
    revoke_key,
    verify_key,
)
from tesoro.store.review import ReviewError, assign_product, decide, list_queue, set_rights
from tesoro.store.tables import AuditLog, CurationDecision, Post, Score
from tesoro.store.tables_api import ApiKey


@pytest.fixture
def world(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    return seed(engine, make_settings(tmp_path))


def test_queue_is_ordered_by_treasure_score_then_recency(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        items = list_queue(session, state="new")
    texts = [i.post.text for i in items]
    assert texts[0] == "Best treasure in the queue" and texts[1] == "Middle of the queue"
    assert texts[-1] == "New but granted"  # unscored last
    dup = next(i for i in items if i.post.external_id == "dup-x")
    assert [d.platform for d in dup.duplicates] == ["bluesky"]


def test_explanation_comes_from_the_latest_score(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    post_id = world.posts["q-high"]
    with session_scope(engine) as session:
        session.add(Score(post_id=post_id, model_version="v1", relevance=0.2, sentiment="negative"))
        session.add(
            Score(
                post_id=post_id,
                model_version="v2",
                relevance=0.91,
                sentiment="positive",
                sentiment_probs={"positive": 0.88},
                content_types=["review"],
                engagement_vs_median=2.5,
                safety={"toxicity": 0.1},
            )
        )
    with session_scope(engine) as session:
        item = next(i for i in list_queue(session) if i.post.id == post_id)
    parts = {p.key: p for p in item.explanation}
    assert item.scored and parts["relevance"].value == 0.91 and parts["sentiment"].detail == "positive"
    assert parts["content"].detail == "review" and parts["engagement"].value == 2.5 and "safety" not in parts


def test_decisions_write_state_audit_and_decision_rows(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    post_id = world.posts["q-mid"]
    with session_scope(engine) as session:
        result = decide(session, post_id=post_id, action="feature", actor="key:abc (ana)")
        assign_product(
            session, post_id=post_id, product_id=world.products["Cumbre Trail Runner"], actor="ana"
        )
        set_rights(session, post_id=post_id, status="granted", actor="ana")
    assert (result.from_state, result.to_state) == ("new", "featured")
    with session_scope(engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.queue_state == "featured" and post.rights_status == "granted"
        audit = list(session.exec(select(AuditLog).where(col(AuditLog.entity_id) == str(post_id))))
        decisions = list(
            session.exec(select(CurationDecision).where(col(CurationDecision.post_id) == post_id))
        )
    assert [a.action for a in audit] == ["post.feature", "post.assign_product", "post.set_rights"]
    assert [d.action for d in decisions] == ["feature", "assign_product", "set_rights"]
    assert decisions[0].from_state == "new" and decisions[0].to_state == "featured"
    with session_scope(engine) as session:
        shown = gallery_posts(session, brand_id=world.brands["Andes Outdoor"])
    assert shown[0].id == post_id or any(p.id == post_id for p in shown)


def test_review_errors(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        with pytest.raises(ReviewError):
            decide(session, post_id=999999, action="approve", actor="x")
        with pytest.raises(ValueError):
            decide(session, post_id=world.posts["q-mid"], action="explode", actor="x")
        with pytest.raises(ReviewError, match="another brand"):
            assign_product(
                session, post_id=world.posts["q-mid"], product_id=world.products["Other Thing"], actor="x"
            )


def test_search_filters_and_facets(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        page = search_posts(session, filters=PostFilter(q="the CUMBRE"))
        assert {p.text for p in page.items} == {"Great grip on the Cumbre", HOSTILE_TEXT}
        assert page.total == 3  # the hostile text appears twice (gallery and queue)
        facets = {c.value: c.count for c in page.facets["state"]}
        assert facets == {"approved": 2, "new": 1}
        only_new = search_posts(session, filters=PostFilter(q="cumbre", state="new"))
        assert only_new.total == 1
        # A facet ignores its own filter, so the other states stay visible with their counts.
        assert {c.value: c.count for c in only_new.facets["state"]} == {"approved": 2, "new": 1}
        literal = search_posts(session, filters=PostFilter(q="100%_"))
        assert literal.total == 0
        by_platform = search_posts(session, filters=PostFilter(platform="bluesky"))
        assert by_platform.total == 1
        product = search_posts(session, filters=PostFilter(product_id=world.products["Cumbre Trail Runner"]))
        assert product.total == 1
        assert {c.label for c in product.facets["product"] if c.value} == {
            "Cumbre Trail Runner",
            "Nube Rain Jacket",
        }


def test_author_detail_and_overview(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        post = session.get(Post, world.posts["gal-photo"])
        assert post is not None
        detail = author_detail(session, author_id=post.author_id)
        o = overview(session)
    assert detail is not None and detail.author.handle == "ana" and detail.post_count >= 5
    assert detail.activity == [("2026-11", detail.post_count)]
    assert o.total_posts == 12 and o.by_state["new"] == 6 and o.by_platform == {"x": 11, "bluesky": 1}


def test_keys_are_stored_hashed_and_revocable(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        created = create_key(session, name="ci", role=Role.VIEWER)
        token = created.token
    with session_scope(engine) as session:
        rows = list(session.exec(select(ApiKey)))
        assert all(token.split("_", 2)[2] not in (r.secret_hash + r.key_id + r.name) for r in rows)
        assert verify_key(session, token=token) is not None
        assert verify_key(session, token=token + "x") is None
        assert verify_key(session, token="tso_" + token.split("_")[1] + "_wrong") is None
        assert verify_key(session, token="not a token") is None
        key = verify_key(session, token=token)
        assert key is not None
        session_token, _ = create_session(session, api_key=key, ttl_s=60)
        assert resolve_session(session, token=session_token) is not None
        revoke_key(session, key_id=key.key_id)
    with session_scope(engine) as session:
        assert verify_key(session, token=token) is None
        assert resolve_session(session, token=session_token) is None
        assert any(k.revoked_at for k in list_keys(session))
        assert all(not k.revoked_at for k in list_keys(session, include_revoked=False))
    with session_scope(engine) as session, pytest.raises(ValueError):
        create_key(session, name="  ", role="viewer")
    with session_scope(engine) as session, pytest.raises(ValueError):
        create_key(session, name="x", role="superuser")
