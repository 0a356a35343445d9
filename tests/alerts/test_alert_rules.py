"""Each rule kind on hand-made store rows: what fires, what does not, and nothing twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session

from tesoro.alerts.rules import evaluate_rules
from tesoro.settings import AlertRuleSettings, Settings
from tesoro.store.alerts import create_rule, get_rule, list_alerts, sync_rules, update_rule
from tesoro.store.engine import session_scope
from tesoro.store.tables import Alert, Post
from worlds.alerts import T0, Seeder, make_settings

SeederFor = Callable[[Settings], Seeder]
MIN = timedelta(minutes=1)


def alerts(seeder: Seeder, rule: str) -> list[Alert]:
    with session_scope(seeder.engine) as session:
        return sorted(list_alerts(session, rule=rule, limit=10_000), key=lambda a: a.id or 0)


def start(seeder_for: SeederFor, *rules: dict[str, Any]) -> Seeder:
    """Settings with `rules`, a synced store, and the rules created at T0 (their starting point)."""
    seeder = seeder_for(make_settings(rules))
    report = evaluate_rules(seeder.engine, seeder.settings, now=T0)
    assert report.alerts == 0 and all(o.error is None for o in report.outcomes)
    return seeder


def test_new_mention_matches_query_filter_and_followers_once(seeder_for: SeederFor) -> None:
    seeder = start(
        seeder_for,
        {"name": "mentions", "kind": "new_mention", "query": "andes", "min_followers": 50},
        {"name": "spanish", "kind": "new_mention", "brand": "Andes Outdoor", "filter": "cumbre lang:es"},
    )
    [big] = seeder.posts(["My new Cumbre shoes!"], collected_at=T0 + MIN, followers=5000, handle="big")
    seeder.posts(["Cumbre for the win"], collected_at=T0 + MIN, followers=10, handle="small")
    seeder.posts(["nothing about us"], collected_at=T0 + MIN, followers=5000, handle="other")
    [es] = seeder.posts(["Mis cumbre nuevas"], collected_at=T0 + MIN, lang="es", handle="eva", followers=5)

    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 5 * MIN)
    mentions = alerts(seeder, "mentions")
    assert [a.subject for a in mentions] == [f"post:{big}"]
    payload = mentions[0].payload
    assert payload["kind"] == "new_mention" and payload["post"]["text"] == "My new Cumbre shoes!"
    assert payload["post"]["author"]["followers"] == 5000
    assert [a.subject for a in alerts(seeder, "spanish")] == [f"post:{es}"]

    # Running again, even overlapping the same posts, adds nothing.
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 6 * MIN)
    assert len(alerts(seeder, "mentions")) == 1 and len(alerts(seeder, "spanish")) == 1


def test_new_mention_ignores_backfills_and_what_came_before_the_rule(seeder_for: SeederFor) -> None:
    seeder = seeder_for(make_settings([{"name": "mentions", "kind": "new_mention", "query": "andes"}]))
    seeder.posts(["cumbre before the rule existed"], collected_at=T0 - 30 * MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    seeder.posts(["cumbre from an old import"], collected_at=T0 + MIN, created_at=T0 - timedelta(days=30))
    [fresh] = seeder.posts(["cumbre today"], collected_at=T0 + MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    assert [a.subject for a in alerts(seeder, "mentions")] == [f"post:{fresh}"]


def test_negative_influencer_alerts_once_per_author_per_cooldown(seeder_for: SeederFor) -> None:
    seeder = start(
        seeder_for,
        {"name": "unhappy", "kind": "negative_influencer", "min_followers": 10_000, "cooldown": "1h"},
    )
    angry = seeder.posts(
        ["cumbre broke", "still broken"], collected_at=T0 + MIN, followers=50_000, handle="star"
    )
    [fine] = seeder.posts(["love it"], collected_at=T0 + MIN, followers=50_000, handle="fan")
    [small] = seeder.posts(["meh, broke"], collected_at=T0 + MIN, followers=100, handle="nobody")
    seeder.scores([*angry, small], "negative", at=T0 + 2 * MIN)
    seeder.scores([fine], "positive", at=T0 + 2 * MIN)

    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 5 * MIN)
    [alert] = alerts(seeder, "unhappy")
    assert alert.subject.startswith("author:")
    assert alert.payload["post"]["scores"]["sentiment"] == "negative"
    assert "50,000 followers" in alert.payload["summary"]

    # Another angry post within the hour: cooled down. After the hour: a new alert.
    [later] = seeder.posts(["worst purchase"], collected_at=T0 + 20 * MIN, followers=50_000, handle="star")
    seeder.scores([later], "negative", at=T0 + 21 * MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 25 * MIN)
    assert len(alerts(seeder, "unhappy")) == 1
    [again] = seeder.posts(["refund please"], collected_at=T0 + 90 * MIN, followers=50_000, handle="star")
    seeder.scores([again], "negative", at=T0 + 91 * MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 95 * MIN)
    assert [a.payload["post"]["id"] for a in alerts(seeder, "unhappy")][-1] == again


def test_negative_influencer_uses_ror_when_known_and_ignores_it_otherwise(seeder_for: SeederFor) -> None:
    seeder = start(
        seeder_for, {"name": "vip", "kind": "negative_influencer", "min_followers": 1000, "min_ror": 0.5}
    )
    [low] = seeder.posts(["bad"], collected_at=T0 + MIN, followers=5000, handle="low")
    [high] = seeder.posts(["bad"], collected_at=T0 + MIN, followers=5000, handle="high")
    [unknown] = seeder.posts(["bad"], collected_at=T0 + MIN, followers=5000, handle="unknown")
    seeder.scores([low, high, unknown], "negative", at=T0 + 2 * MIN)
    with session_scope(seeder.engine) as session:
        author = {pid: session.get(Post, pid).author_id for pid in (low, high)}  # type: ignore[union-attr]

    def ror(_session: Session, author_ids: Sequence[int], brand_id: int | None) -> Mapping[int, float]:
        return {author[low]: 0.1, author[high]: 0.9}

    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 5 * MIN, ror=ror)
    posts = sorted(a.payload["post"]["id"] for a in alerts(seeder, "vip"))
    assert posts == sorted([high, unknown])
    assert {a.payload["post"]["scores"]["ror"] for a in alerts(seeder, "vip")} == {0.9, None}


def test_negative_influencer_reads_the_stored_ror_when_the_relationships_area_has_one(
    seeder_for: SeederFor,
) -> None:
    seeder = start(
        seeder_for, {"name": "vip", "kind": "negative_influencer", "min_followers": 1000, "min_ror": 0.5}
    )
    with session_scope(seeder.engine) as session:
        if not inspect(session.connection()).has_table("ror_score"):
            pytest.skip("no ror_score table in this schema: ROR is ignored (tested above)")
    low, high = (
        seeder.posts(["bad"], collected_at=T0 + MIN, followers=5000, handle=h)[0] for h in ("lo", "hi")
    )
    seeder.scores([low, high], "negative", at=T0 + 2 * MIN)
    with session_scope(seeder.engine) as session:
        rows = [(session.get(Post, pid).author_id, score) for pid, score in ((low, 0.1), (high, 0.9))]  # type: ignore[union-attr]
        for author_id, score in rows:
            session.execute(
                text(
                    "INSERT INTO ror_score (brand_id, person_id, author_id, score, events_term, loyalty_term,"
                    " advocacy_term, trend_term, events, months_active, computed_at)"
                    " VALUES (NULL, NULL, :a, :s, 0, 0, 0, 0, 1, 1, :t)"
                ),
                {"a": author_id, "s": score, "t": T0},
            )
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 5 * MIN)
    assert [a.payload["post"]["id"] for a in alerts(seeder, "vip")] == [high]


def test_rules_needing_sentiment_find_nothing_before_scoring(seeder_for: SeederFor) -> None:
    seeder = start(seeder_for, {"name": "unhappy", "kind": "negative_influencer", "min_followers": 1})
    seeder.posts(["terrible"], collected_at=T0 + MIN, followers=10**6)
    report = evaluate_rules(seeder.engine, seeder.settings, now=T0 + 5 * MIN)
    assert report.alerts == 0 and report.outcomes[0].error is None


def test_new_treasure_above_the_score_after_a_baseline(seeder_for: SeederFor) -> None:
    seeder = seeder_for(make_settings([{"name": "gems", "kind": "new_treasure", "min_score": 0.8}]))
    old = seeder.posts(["an old gem"], collected_at=T0 - 10 * MIN)
    seeder.set_posts(old, treasure_score=0.95)
    evaluate_rules(seeder.engine, seeder.settings, now=T0)  # first run: the existing gem is history
    gem, plain = seeder.posts(["a new gem", "a plain post"], collected_at=T0 + MIN)
    seeder.set_posts([gem], treasure_score=0.91)
    seeder.set_posts([plain], treasure_score=0.4)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 5 * MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 6 * MIN)
    [alert] = alerts(seeder, "gems")
    assert alert.subject == f"post:{gem}"
    assert alert.payload["post"]["scores"]["treasure"] == 0.91
    assert alert.payload["rank"] == 0.91


def test_rights_granted_fires_when_the_status_changes(seeder_for: SeederFor) -> None:
    seeder = seeder_for(make_settings([{"name": "rights", "kind": "rights_granted"}]))
    before, later = seeder.posts(["granted long ago", "asked"], collected_at=T0 - timedelta(days=3))
    seeder.set_posts([before], rights_status="granted")
    seeder.set_posts([later], rights_status="requested")
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    assert alerts(seeder, "rights") == []
    seeder.set_posts([later], rights_status="granted")
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    assert [a.subject for a in alerts(seeder, "rights")] == [f"post:{later}"]


def test_source_failing_alerts_on_the_transition_with_cooldown(seeder_for: SeederFor) -> None:
    seeder = start(seeder_for, {"name": "sources", "kind": "source_failing", "cooldown": "1h"})
    seeder.source("x-main", health="failing", consecutive_failures=3, last_error="HTTP 503 from X")
    seeder.source("reddit-main", health="ok")
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    [alert] = alerts(seeder, "sources")
    assert alert.subject == "source:x-main"
    assert alert.payload["source"]["last_error"] == "HTTP 503 from X"


def test_spike_rules_fire_with_an_explanation_then_cool_down(seeder_for: SeederFor) -> None:
    seeder = start(
        seeder_for,
        {"name": "volume", "kind": "volume_spike", "brand": "Andes Outdoor", "min_volume": 20},
        {"name": "anger", "kind": "negative_spike", "brand": "Andes Outdoor", "min_volume": 20},
    )
    now = T0 + timedelta(days=15)
    history = seeder.posts(
        [f"cumbre trail day {i}" for i in range(15 * 24 * 4)],
        collected_at=T0,
        created_at=now - timedelta(days=15) + timedelta(minutes=7),
        spread=timedelta(minutes=15),  # 4 posts an hour for 15 days
        handle="u{i}",
    )
    seeder.scores(history[::4], "negative", at=T0)  # one negative post an hour
    spike = seeder.posts(
        [f"cumbre sole broke again, recall now {i}" for i in range(60)],
        collected_at=now - MIN,
        created_at=now - 50 * MIN,
        spread=timedelta(seconds=30),
        handle="angry{i}",
    )
    seeder.scores(spike, "negative", at=now - MIN)

    report = evaluate_rules(seeder.engine, seeder.settings, now=now)
    assert report.alerts == 2, report
    [volume] = alerts(seeder, "volume")
    details = volume.payload["details"]
    assert details.startswith("64 mentions in the last hour against 4 ± 2 usually"), details
    assert {"sole", "broke", "recall"} & set(volume.payload["terms"])
    assert len(volume.payload["samples"]) == 3
    [anger] = alerts(seeder, "anger")
    assert anger.payload["details"].startswith("61 negative mentions in the last hour against 1 ± 1")

    evaluate_rules(seeder.engine, seeder.settings, now=now + 10 * MIN)
    assert len(alerts(seeder, "volume")) == 1, "within the cooldown a continuing spike is not re-alerted"
    with session_scope(seeder.engine) as session:
        rule = get_rule(session, "volume")
        assert rule is not None and rule.state["last_check"]["spike"] is True


def test_a_broken_rule_does_not_stop_the_others(seeder_for: SeederFor) -> None:
    seeder = seeder_for(make_settings([{"name": "mentions", "kind": "new_mention", "query": "andes"}]))
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    with session_scope(seeder.engine) as session:
        create_rule(
            session,
            AlertRuleSettings(name="ghost", kind="new_mention", brand="Nobody"),
            now=T0,
        )
    seeder.posts(["cumbre"], collected_at=T0 + MIN)
    report = evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    errors = {o.rule: o.error for o in report.outcomes}
    assert errors["mentions"] is None and "Nobody" in (errors["ghost"] or "")
    assert len(alerts(seeder, "mentions")) == 1


def test_sync_keeps_api_edits_until_the_file_changes(seeder_for: SeederFor) -> None:
    rule = {"name": "mentions", "kind": "new_mention", "query": "andes", "cooldown": "1h"}
    seeder = seeder_for(make_settings([rule]))
    with session_scope(seeder.engine) as session:
        sync_rules(session, seeder.settings, now=T0)
        row = get_rule(session, "mentions")
        assert row is not None and row.origin == "settings"
        update_rule(session, row, AlertRuleSettings.model_validate({**rule, "cooldown": "2h"}), now=T0)
    with session_scope(seeder.engine) as session:
        sync_rules(session, seeder.settings, now=T0 + MIN)  # a restart with the same file
        row = get_rule(session, "mentions")
        assert row is not None and row.config["cooldown"] == 7200 and row.edited
    changed = make_settings([{**rule, "cooldown": "30m"}])
    with session_scope(seeder.engine) as session:
        sync_rules(session, changed, now=T0 + 2 * MIN)  # the file was edited: it wins
        row = get_rule(session, "mentions")
        assert row is not None and row.config["cooldown"] == 1800 and not row.edited
    with session_scope(seeder.engine) as session:
        sync_rules(session, make_settings([]), now=T0 + 3 * MIN)  # removed from the file: disabled
        row = get_rule(session, "mentions")
        assert row is not None and row.enabled is False


def test_new_mention_sees_a_post_committed_late_stamped_before_the_last_run(seeder_for: SeederFor) -> None:
    seeder = start(seeder_for, {"name": "mentions", "kind": "new_mention", "query": "andes"})
    [first] = seeder.posts(["cumbre one"], collected_at=T0 + MIN)
    [second] = seeder.posts(["cumbre two"], collected_at=T0 + 2 * MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 3 * MIN)
    # A post stamped before the last run (a slow transaction) shows up only now.
    [late] = seeder.posts(["cumbre late"], collected_at=T0 + 2 * MIN + timedelta(seconds=30))
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 4 * MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 30 * MIN)
    assert [a.subject for a in alerts(seeder, "mentions")] == [f"post:{i}" for i in (first, second, late)]
    with session_scope(seeder.engine) as session:
        rule = get_rule(session, "mentions")
        assert rule is not None and rule.state["after_id"] == late, "the cursor moved once posts settled"


def test_rights_declined_revoked_and_expiring(seeder_for: SeederFor) -> None:
    seeder = seeder_for(
        make_settings(
            [
                {"name": "no", "kind": "rights_declined"},
                {"name": "gone", "kind": "rights_revoked"},
                {"name": "ending", "kind": "rights_expiring"},
            ],
            rights={"expiry_warning_days": 14},
        )
    )
    asked, granted, ends_soon, ends_later = seeder.posts(
        ["asked", "granted", "ends soon", "ends later"], collected_at=T0 - timedelta(days=3)
    )
    seeder.set_posts([asked, granted], rights_status="requested")
    seeder.set_posts([ends_soon], rights_status="granted", rights_until=T0 + timedelta(days=10))
    seeder.set_posts([ends_later], rights_status="granted", rights_until=T0 + timedelta(days=40))
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    # Expiring rights are news on the first run too; the other kinds take a baseline.
    assert [a.subject for a in alerts(seeder, "ending")] == [f"post:{ends_soon}"]
    seeder.set_posts([asked], rights_status="declined")
    seeder.set_posts([granted], rights_status="revoked")
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    assert [a.subject for a in alerts(seeder, "no")] == [f"post:{asked}"]
    assert [a.subject for a in alerts(seeder, "gone")] == [f"post:{granted}"]
    assert "revoked" in alerts(seeder, "gone")[0].payload["summary"]
    assert len(alerts(seeder, "ending")) == 1  # once per post
