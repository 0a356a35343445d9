"""What the alerts and settings pages read from the store, on SQLite and PostgreSQL alike: the delivery
log by time, one delivery with the alerts it carried, the rule names the log holds, the latest posts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, update

from tesoro.models import NormalizedAuthor, NormalizedPost, Platform
from tesoro.store.alerts import add_alerts, delivery_alerts, delivery_rules, list_deliveries, record_delivery
from tesoro.store.engine import session_scope
from tesoro.store.posts import upsert_posts
from tesoro.store.recent import recent_posts
from tesoro.store.tables import Post
from worlds.api import BASE_TIME


def test_the_delivery_log_by_time_and_one_delivery_with_its_alerts(engine: Engine) -> None:
    with session_scope(engine) as session:
        first, second = add_alerts(
            session, rule="vip", alerts=[("post:1", {"n": 1}), ("post:2", {"n": 2})], now=BASE_TIME
        )
        ids = [
            record_delivery(
                session,
                rule=rule,
                channel="slack:#a",
                kind="digest" if alerts else "test",
                status="delivered",
                alert_ids=alerts,
                at=BASE_TIME + timedelta(hours=hours),
            )
            for rule, alerts, hours in (("vip", [second, first], 0), ("test", [], 1), ("mentions", [], 2))
        ]
    with session_scope(engine) as session:
        window = list_deliveries(
            session, since=BASE_TIME + timedelta(hours=1), until=BASE_TIME + timedelta(hours=2)
        )
        assert [d.id for d in window] == [ids[1]]  # since included, until left out
        assert [d.id for d in list_deliveries(session, since=BASE_TIME)] == ids[::-1]
        assert delivery_rules(session) == ["mentions", "test", "vip"]
        found = delivery_alerts(session, delivery_id=ids[0])
        assert found is not None
        row, alerts = found
        assert row.kind == "digest" and [a.id for a in alerts] == [first, second]  # oldest first
        assert [a.payload for a in alerts] == [{"n": 1}, {"n": 2}]
        empty = delivery_alerts(session, delivery_id=ids[1])
        assert empty is not None and empty[1] == []
        assert delivery_alerts(session, delivery_id=max(ids) + 1) is None


def _post(name: str, *, title: str | None = None) -> NormalizedPost:
    return NormalizedPost(
        platform=Platform.REDDIT,
        external_id=name,
        text=f"text of {name}",
        title=title,
        created_at=BASE_TIME,
        author=NormalizedAuthor(platform=Platform.REDDIT, external_id=f"r-{name}", handle=f"h{name}"),
        lang="es",
    )


def test_the_latest_posts_newest_stored_first_without_deleted_ones(engine: Engine) -> None:
    with session_scope(engine) as session:
        upsert_posts(session, [_post("a"), _post("b", title="Title of b"), _post("c"), _post("d")])
        session.execute(update(Post).where(col(Post.external_id) == "c").values(deleted_at=BASE_TIME))
    with session_scope(engine) as session:
        latest = recent_posts(session, limit=2)
        assert [p.author_handle for p in latest] == ["hd", "hb"]
        assert latest[1].matched_text == "Title of b\ntext of b" and latest[0].matched_text == "text of d"
        assert latest[0].lang == "es" and latest[0].platform == "reddit"
        assert len(recent_posts(session, limit=100)) == 3
