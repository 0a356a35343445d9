"""KPIs, ROE, derived relationship events and purchases against the hand-counted world (conftest.py).

These run on SQLite and, where the machine has it, PostgreSQL: the aggregates are
portable SQL and must give the same hand-counted numbers on both.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from tesoro.insights import service
from tesoro.insights.events import EventKind, events_from_facts
from tesoro.insights.orders import import_orders, parse_amount
from tesoro.models import NormalizedAuthor, NormalizedPost, Platform, PostMetrics
from tesoro.store.engine import session_scope
from tesoro.store.posts import upsert_posts
from tesoro.store.relationships import relationship_facts
from tesoro.store.tables import AuditLog, Brand, Post
from worlds.insights import AS_OF, BRAND, NOV, World


def test_kpis_match_the_hand_count(world: World) -> None:
    report = service.kpi_report(world.engine, world.settings, since=NOV[0], until=NOV[1])
    assert report["brand"] == BRAND
    volume = report["volume"]
    # p1 p3 p5 p6 p7 p8: the brand's own reply (p4) and the unbranded p9 are not mentions.
    assert (volume["mentions"], volume["unique_authors"], volume["interactions"]) == (6, 5, 48)
    assert volume["potential_reach"] == 1000 + 500 + 100 + 200  # caro has no follower count
    assert volume["previous"]["mentions"] == 1  # p2, in October
    assert volume["change"]["mentions"] == pytest.approx(5.0)

    s = report["sentiment"]
    assert (s["positive"], s["neutral"], s["negative"], s["unscored"]) == (4, 0, 1, 1)
    assert s["share"]["positive"] == pytest.approx(0.8)
    assert s["net"] == pytest.approx(0.6)
    assert s["previous"]["net"] == 0.0 and s["net_change"] == pytest.approx(0.6)

    assert {p["platform"]: p["mentions"] for p in report["by_platform"]} == {
        "x": 3,
        "reddit": 1,
        "mastodon": 1,
        "bluesky": 1,
    }
    voice = {v["name"]: (v["mentions"], v["share"]) for v in report["share_of_voice"]}
    assert voice == {BRAND: (6, 0.6), "Patagonia": (2, 0.2), "Salomon": (2, 0.2)}


def test_engagement_rate_against_the_platform_median(sqlite_world: World) -> None:
    report = service.kpi_report(sqlite_world.engine, sqlite_world.settings, since=NOV[0], until=NOV[1])
    rates = {e["platform"]: e for e in report["engagement"]}
    x = rates["x"]
    # Per-follower rates 13/1000, 6/500 and 0/500: the median is 0.012, against X's 0.035 %.
    assert x["median_rate"] == pytest.approx(0.012)
    assert (x["platform_median"], x["median_source"]) == (0.00035, "published")
    assert x["vs_median"] == pytest.approx(0.012 / 0.00035)
    assert rates["reddit"]["rated_posts"] == 0 and rates["reddit"]["median_rate"] is None
    # Mastodon has no published benchmark and fewer than 30 collected posts: no comparison yet.
    assert rates["mastodon"]["median_rate"] == pytest.approx(0.04)
    assert rates["mastodon"]["platform_median"] is None and rates["mastodon"]["vs_median"] is None


def test_derived_median_for_platforms_without_a_benchmark(sqlite_world: World) -> None:
    who = [
        NormalizedAuthor(Platform.MASTODON, f"m{i}", f"m{i}@mastodon.social", followers=100)
        for i in range(40)
    ]
    posts = [
        NormalizedPost(
            platform=Platform.MASTODON,
            external_id=f"m-{i}",
            text="#andesoutdoor",
            created_at=datetime(2026, 9, 1, tzinfo=UTC),
            author=who[i],
            metrics=PostMetrics(likes=i),
        )
        for i in range(40)
    ]
    with session_scope(sqlite_world.engine) as session:
        upsert_posts(session, posts)
    report = service.kpi_report(sqlite_world.engine, sqlite_world.settings, since=NOV[0], until=NOV[1])
    mastodon = next(e for e in report["engagement"] if e["platform"] == "mastodon")
    # 41 collected Mastodon posts: rates 0/100 .. 39/100 and dan's 4/100; the 21st of them sorted is 19/100.
    assert mastodon["median_source"] == "derived"
    assert mastodon["platform_median"] == pytest.approx(0.19)
    assert mastodon["vs_median"] == pytest.approx(0.04 / 0.19)


def test_platform_filter_and_top_ugc(sqlite_world: World) -> None:
    report = service.kpi_report(
        sqlite_world.engine, sqlite_world.settings, platform="x", since=NOV[0], until=NOV[1], top=5
    )
    assert report["volume"]["mentions"] == 3
    assert [p["post_id"] for p in report["top_ugc"]] == [sqlite_world.posts["p1"]]
    everywhere = service.kpi_report(
        sqlite_world.engine, sqlite_world.settings, since=NOV[0], until=NOV[1], top=5
    )
    # Photo p1 and review p6 are UGC; with no treasure score yet, more interactions first.
    assert [p["post_id"] for p in everywhere["top_ugc"]] == [
        sqlite_world.posts["p6"],
        sqlite_world.posts["p1"],
    ]


def test_series_has_every_bucket_of_the_window(world: World) -> None:
    bucket, points = service.volume_report(
        world.engine, brand_name=None, platform=None, since=NOV[0], until=NOV[1], bucket="week"
    )
    assert bucket == "week"
    assert points[0].start == datetime(2026, 10, 26, tzinfo=UTC)  # the Monday of Nov 1's week
    assert sum(p.posts for p in points) == 6
    assert sum(p.sentiment.negative for p in points) == 1
    _, days = service.volume_report(world.engine, brand_name=None, platform=None, since=NOV[0], until=NOV[1])
    assert len(days) == 30
    assert {p.start.day: p.posts for p in days if p.posts} == {3: 1, 10: 1, 12: 1, 15: 1, 20: 1, 25: 1}


def test_relationship_events_are_derived_from_the_store(world: World) -> None:
    with session_scope(world.engine) as session:
        brand = session.exec(select(Brand)).one()
        facts = relationship_facts(
            session,
            brand_id=brand.id,
            brand_handles=[brand.handles],
            ugc_content_types=world.settings.relationship.ugc_content_types,
            until=AS_OF,
        )
    kinds = Counter((e.author_id, e.kind) for e in events_from_facts(facts).to_events())
    ana, ana_sky, ben = (
        world.authors["ana@x"],
        world.authors["ana.bsky.social@bluesky"],
        world.authors["ben@x"],
    )
    caro, dan = world.authors["caro@reddit"], world.authors["dan@mastodon.social@mastodon"]
    assert {k for (a, k) in kinds if a == ana} == {
        EventKind.MENTION,
        EventKind.POSITIVE_MENTION,
        EventKind.UGC,
        EventKind.UGC_APPROVED,
        EventKind.RIGHTS_GRANTED,
        EventKind.RECOMMENDATION,  # mentions @friend1
    }
    assert kinds[(ana, EventKind.MENTION)] == 2
    assert {k for (a, k) in kinds if a == ben} == {
        EventKind.MENTION,
        EventKind.NEGATIVE_MENTION,
        EventKind.BRAND_REPLY,
        EventKind.POSITIVE_MENTION,
        EventKind.REPLIED_BACK,  # a positive reply to the brand is not a recommendation
    }
    assert kinds[(ana_sky, EventKind.RECOMMENDATION)] == 1  # answered someone else's post positively
    assert {k for (a, k) in kinds if a == caro} == {
        EventKind.MENTION,
        EventKind.POSITIVE_MENTION,
        EventKind.UGC,
    }
    assert {k for (a, k) in kinds if a == dan} == {EventKind.MENTION}
    assert all(a != world.authors["andesoutdoor@x"] for a, _ in kinds)
    approved = next(e for e in events_from_facts(facts).to_events() if e.kind is EventKind.UGC_APPROVED)
    assert approved.at == datetime(2026, 11, 5, 12, tzinfo=UTC)  # the coordinator's decision, not the post


def test_leaderboard_and_person_page(sqlite_world: World) -> None:
    result = service.refresh_ror(sqlite_world.engine, sqlite_world.settings, as_of=AS_OF)
    assert (result.people, result.events) == (5, 20)
    board = service.leaderboard(sqlite_world.engine, sqlite_world.settings, top=10)
    names = [row["handle"] for row in board["items"]]
    assert names[0] == "ana" and names[-1] == "dan@mastodon.social"
    scores = [row["score"] for row in board["items"]]
    assert scores == sorted(scores, reverse=True)

    page = service.person_page(
        sqlite_world.engine, sqlite_world.settings, author_id=sqlite_world.authors["ana@x"], as_of=AS_OF
    )
    assert page["ror"]["score"] == pytest.approx(board["items"][0]["score"], abs=1e-3)
    terms = page["ror"]["terms"]
    assert page["ror"]["score"] == pytest.approx(sum(terms.values()), abs=1e-3)
    assert page["ror"]["months_active"] == 2
    assert [p["at"][:10] for p in page["history"]["points"]] == ["2026-10-31", "2026-11-30", "2026-12-01"]
    assert page["history"]["points"][-1]["score"] == pytest.approx(page["ror"]["score"], abs=1e-3)
    # The bio names ana.bsky.social: the page suggests linking it.
    assert [s["other_id"] for s in page["link_suggestions"]] == [
        sqlite_world.authors["ana.bsky.social@bluesky"]
    ]


def test_linking_makes_one_person_with_one_score(sqlite_world: World) -> None:
    ana, sky = sqlite_world.authors["ana@x"], sqlite_world.authors["ana.bsky.social@bluesky"]
    service.refresh_ror(sqlite_world.engine, sqlite_world.settings, as_of=AS_OF)
    apart = {
        r["author_id"]: r["score"]
        for r in service.leaderboard(sqlite_world.engine, sqlite_world.settings)["items"]
    }
    person = service.link(sqlite_world.engine, author_ids=[ana, sky], actor="coordinator@test")
    service.refresh_ror(sqlite_world.engine, sqlite_world.settings, as_of=AS_OF)
    board = service.leaderboard(sqlite_world.engine, sqlite_world.settings)["items"]
    top = board[0]
    assert (top["author_id"], top["person_id"], top["accounts"]) == (ana, person, 2)
    assert len(board) == 4
    # Together: the same events, but loyalty is counted once over their months.
    assert top["score"] > apart[ana]
    assert top["score"] < apart[ana] + apart[sky]
    page = service.person_page(sqlite_world.engine, sqlite_world.settings, author_id=sky, as_of=AS_OF)
    assert page["ror"]["score"] == pytest.approx(top["score"], abs=1e-3)
    assert {a["author_id"] for a in page["accounts"]} == {ana, sky}
    assert page["link_suggestions"] == []


def test_roe_per_brand_and_campaign_hashtag_with_trend(world: World) -> None:
    results = {(r.target, r.start.month): r for r in service.roe_report(world.engine, world.settings)}
    november = results[(f"brand:{BRAND}", 11)]
    # Earned: 48 interactions + 25 x 2 UGC posts; effort: 10 h, 100 spent, and 1 post by the brand (p4).
    assert (november.interactions, november.ugc, november.earned) == (48, 2, 98.0)
    assert november.posts_published == 1
    assert (november.per_post, november.per_hour, november.per_spend) == pytest.approx((98.0, 9.8, 0.98))
    october = results[(f"brand:{BRAND}", 10)]
    assert (october.earned, october.per_hour) == (1.0, 1.0)
    assert november.trend["per_hour"] == pytest.approx(8.8)
    tag = results[("#andesoutdoor", 11)]
    assert (tag.posts_about, tag.interactions, tag.ugc, tag.per_hour) == (1, 4, 0, 2.0)
    assert tag.trend["per_hour"] is None


def test_orders_import_links_customers_and_compares_advocates(world: World, tmp_path: Path) -> None:
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text(
        "customer,date,amount\n"
        "@ana,2026-11-02,50\n"
        'ANA,2026-11-20,"30,00"\n'
        "ben,2026-11-03,20\n"
        "zoe@example.com,2026-11-04,$100\n"
        "ben,not-a-date,5\n"
        ",2026-11-04,5\n",
        encoding="utf-8",
    )
    first = import_orders(world.engine, csv_file)
    assert (first.read, first.inserted, first.linked) == (4, 4, 3)
    assert [b.line for b in first.bad_rows] == [6, 7]
    again = import_orders(world.engine, csv_file)
    assert (again.inserted, again.linked) == (0, 0)

    service.refresh_ror(world.engine, world.settings, as_of=AS_OF)
    report = service.purchases_report(
        world.engine, world.settings, since=datetime(2026, 1, 1, tzinfo=UTC), until=AS_OF
    )
    assert (report["orders"], report["linked_orders"]) == (4, 3)
    # ana (ROR 23.4) is an advocate at the default threshold 15; ben (4.7) is not.
    assert report["advocates"] == {
        "customers": 1,
        "orders": 2,
        "revenue": 80.0,
        "purchase_frequency": 2.0,
        "average_order_value": 40.0,
        "repeat_purchase_rate": 1.0,
    }
    rest = report["everyone_else"]
    assert (rest["customers"], rest["orders"], rest["average_order_value"], rest["repeat_purchase_rate"]) == (
        2,
        2,
        60.0,
        0.0,
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [("12.50", 12.5), ("$1,234.50", 1234.5), ("1.234,50 EUR", 1234.5), ("12,5", 12.5), ("1,234", 1234.0)],
)
def test_order_amounts(text: str, value: float) -> None:
    assert parse_amount(text) == value


def test_unknown_brand_is_a_lookup_error(sqlite_world: World) -> None:
    with pytest.raises(LookupError, match="no brand named"):
        service.kpi_report(
            sqlite_world.engine, sqlite_world.settings, brand_name="Nope", since=NOV[0], until=NOV[1]
        )


def test_windows_parse_dates_times_and_relative_spans() -> None:
    now = datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert service.parse_window("2026-11-01", "2026-11-30") == (NOV[0], NOV[1])
    assert service.parse_window("30d", None, now=now) == (datetime(2026, 11, 1, 15, tzinfo=UTC), now)
    assert service.parse_window(None, "2026-11-30T10:00:00Z")[1] == datetime(2026, 11, 30, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="empty"):
        service.parse_window("2026-12-01", "2026-11-01")
    with pytest.raises(ValueError, match="not a date"):
        service.parse_window("yesterday", None)
    assert col is not None  # keep the sqlmodel import honest for the type checker


def test_posts_scored_as_spam_build_no_relationship(sqlite_world: World) -> None:
    from sqlalchemy import update

    from tesoro.store.tables import Score

    dan = sqlite_world.authors["dan@mastodon.social@mastodon"]
    with session_scope(sqlite_world.engine) as session:
        session.add(Score(post_id=sqlite_world.posts["p7"], model_version="t2", spam=0.95, content_types=[]))
        session.execute(update(Score).where(col(Score.post_id) == sqlite_world.posts["p1"]).values(spam=0.69))
    service.refresh_ror(sqlite_world.engine, sqlite_world.settings, as_of=AS_OF)
    board = service.leaderboard(sqlite_world.engine, sqlite_world.settings)["items"]
    assert dan not in {row["author_id"] for row in board}  # his only post is now scored 0.95 spam
    assert board[0]["handle"] == "ana"  # 0.69 is under the 0.7 threshold: still counts


def test_events_logged_by_hand_count_in_ror_and_leave_an_audit_trail(world: World) -> None:
    dan = world.authors["dan@mastodon.social@mastodon"]
    service.refresh_ror(world.engine, world.settings, as_of=AS_OF)

    def score() -> float:
        rows = service.leaderboard(world.engine, world.settings)["items"]
        return float(next(r["score"] for r in rows if r["author_id"] == dan))

    before = score()
    logged = service.log_event(
        world.engine,
        author_id=dan,
        kind="Meet up",  # normalised to a label
        weight=10,
        occurred_at=AS_OF - timedelta(days=90),  # one half-life before: worth half its weight
        note="met at the Bariloche store opening\x00",  # a NUL no database text column takes
        actor="coordinator@test",
        now=AS_OF,
    )
    assert logged["kind"] == "meet_up" and logged["weight"] == 10.0
    service.refresh_ror(world.engine, world.settings, as_of=AS_OF)
    assert score() == pytest.approx(before + 5.0, abs=1e-3)
    page = service.person_page(world.engine, world.settings, author_id=dan, as_of=AS_OF)
    assert [(e["kind"], e["note"]) for e in page["logged_events"]] == [
        ("meet_up", "met at the Bariloche store opening")
    ]
    assert any(e["kind"] == "manual" and e["value"] == pytest.approx(10.0) for e in page["ror"]["events"])

    service.delete_event(world.engine, author_id=dan, event_id=logged["id"], actor="coordinator@test")
    service.refresh_ror(world.engine, world.settings, as_of=AS_OF)
    assert score() == pytest.approx(before, abs=1e-3)
    with session_scope(world.engine) as session:
        audit = list(session.exec(select(AuditLog).order_by(col(AuditLog.id))))
    assert [(a.action, a.entity, a.entity_id) for a in audit] == [
        ("relationship.log", "relationship_event", str(logged["id"])),
        ("relationship.unlog", "relationship_event", str(logged["id"])),
    ]
    assert audit[0].after is not None and audit[0].after["note"] == "met at the Bariloche store opening"
    assert audit[1].before is not None and audit[1].before["kind"] == "meet_up"


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"kind": "mention"}, ValueError, "derived from posts"),
        ({"kind": "rights_granted"}, ValueError, "derived from posts"),
        ({"kind": "<script>alert(1)</script>"}, ValueError, "short label"),
        ({"kind": ""}, ValueError, "short label"),
        ({"weight": 0.0}, ValueError, "non-zero"),
        ({"weight": 101.0}, ValueError, "between -100 and 100"),
        ({"weight": float("nan")}, ValueError, "non-zero"),
        ({"occurred_at": AS_OF + timedelta(days=1)}, ValueError, "in the future"),
        ({"note": "x" * 501}, ValueError, "500 characters"),
        ({"author_id": 999_999}, LookupError, "no author"),
        ({"post_id": 999_999}, LookupError, "no post"),
    ],
)
def test_logging_an_event_refuses_bad_input(
    sqlite_world: World, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    args: dict[str, Any] = {
        "author_id": sqlite_world.authors["dan@mastodon.social@mastodon"],
        "kind": "purchase",
        "weight": 3.0,
        "actor": "t",
        "now": AS_OF,
        **changes,
    }
    with pytest.raises(error, match=message):
        service.log_event(sqlite_world.engine, **args)
    with session_scope(sqlite_world.engine) as session:
        assert session.exec(select(AuditLog)).first() is None


def test_a_logged_event_may_only_name_the_authors_own_post_and_be_removed_by_its_author(
    sqlite_world: World,
) -> None:
    ana, dan = sqlite_world.authors["ana@x"], sqlite_world.authors["dan@mastodon.social@mastodon"]
    with session_scope(sqlite_world.engine) as session:
        anas_post = session.exec(select(Post.id).where(col(Post.author_id) == ana)).first()
    with pytest.raises(ValueError, match="is not by author"):
        service.log_event(sqlite_world.engine, author_id=dan, kind="gift", post_id=anas_post, actor="t")
    event = service.log_event(sqlite_world.engine, author_id=ana, kind="gift", post_id=anas_post, actor="t")
    assert event["post_id"] == anas_post
    with pytest.raises(LookupError, match="no logged event"):
        service.delete_event(sqlite_world.engine, author_id=dan, event_id=event["id"], actor="t")


def test_an_order_whose_customer_is_collected_later_is_linked_by_the_refresh_not_by_a_report(
    world: World, tmp_path: Path
) -> None:
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text("customer,date,amount\n@newcomer,2026-11-05,40\n", encoding="utf-8")
    assert import_orders(world.engine, csv_file).linked == 0
    newcomer = NormalizedPost(
        platform=Platform.X,
        external_id="newcomer-1",
        text="my first Cumbre post",
        created_at=datetime(2026, 11, 6, tzinfo=UTC),
        author=NormalizedAuthor(platform=Platform.X, external_id="n1", handle="newcomer"),
        metrics=PostMetrics(),
    )
    with session_scope(world.engine) as session:
        upsert_posts(session, [newcomer])
    since = datetime(2026, 1, 1, tzinfo=UTC)
    read = service.purchases_report(world.engine, world.settings, since=since, until=AS_OF)
    assert read["orders"] - read["linked_orders"] >= 1  # the report only read: still unlinked
    again = service.purchases_report(world.engine, world.settings, since=since, until=AS_OF)
    assert again["linked_orders"] == read["linked_orders"]
    service.refresh_ror(world.engine, world.settings, as_of=AS_OF)
    after = service.purchases_report(world.engine, world.settings, since=since, until=AS_OF)
    assert after["linked_orders"] == read["linked_orders"] + 1
