"""The alerts and settings pages' world: the API world's settings with queries, sources and alert
rules, and a delivery log with a hostile post in it (delivered, failed, a digest, a test, an old one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from tesoro.settings import Settings
from tesoro.store.alerts import add_alerts, record_delivery, sync_rules
from tesoro.store.engine import session_scope
from worlds.api import BASE_TIME, HOSTILE_IMG, HOSTILE_SCRIPT, SHOP_ORIGIN

# What a stranger's post may try on a Slack message and on a page: markup, a ping to everyone,
# a disguised link and a script.
HOSTILE_POST = f"<!channel> @here {HOSTILE_IMG} <https://evil.example|Tesoro> {HOSTILE_SCRIPT} hated it"
SHOP_URL = f"{SHOP_ORIGIN}/cumbre"


def admin_settings(tmp_path: Path, **gallery: Any) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "base_dir": tmp_path,
            "source_file": tmp_path / "tesoro.toml",
            "brands": [
                {"name": "Andes Outdoor", "hashtags": ["andes"], "handles": {"x": "andesoutdoor"}},
                {"name": "Other Brand"},
            ],
            "products": [
                {
                    "name": "Cumbre Trail Runner",
                    "brand": "Andes Outdoor",
                    "aliases": ["cumbre", "zapatilla cumbre"],
                    "shop_url": SHOP_URL,
                },
                {"name": "Nube Rain Jacket", "brand": "Andes Outdoor", "description": HOSTILE_SCRIPT},
                {"name": "Other Thing", "brand": "Other Brand"},
            ],
            "queries": [
                {"name": "andes-cumbre", "brand": "Andes Outdoor", "query": 'cumbre OR "trail runner"'},
            ],
            "sources": [
                {
                    "name": "andes-mastodon",
                    "platform": "mastodon",
                    "query": "andes-cumbre",
                    "base_url": "https://mastodon.example",
                },
            ],
            "alerts": [
                {"name": "vip", "kind": "negative_influencer", "min_followers": 1000, "cooldown": "2h"},
                {"name": "mentions", "kind": "new_mention", "brand": "Andes Outdoor"},
            ],
            "gallery": {"allowed_origins": [SHOP_ORIGIN], **gallery},
        }
    )


def _post_alert(post_id: int, handle: str, text: str, summary: str) -> dict[str, Any]:
    return {
        "kind": "negative_influencer",
        "title": "Negative post by an influencer",
        "summary": summary,
        "rank": 1.0,
        "post": {
            "id": post_id,
            "platform": "x",
            "url": f"https://x.com/{handle}/status/{post_id}",
            "text": text,
            "created_at": BASE_TIME.isoformat(),
            "author": {
                "handle": handle,
                "name": HOSTILE_IMG,
                "followers": 12345,
                "url": f"https://x.com/{handle}",
            },
            "metrics": {"likes": 3},
            "scores": {"sentiment": "negative"},
        },
    }


@dataclass
class AlertLog:
    """The delivery ids by what they are."""

    deliveries: dict[str, int] = field(default_factory=dict)


def seed_alerts(engine: Engine, settings: Settings) -> AlertLog:
    """The rules from the settings, and five deliveries (newest last): each kind and status once."""
    log = AlertLog()
    with session_scope(engine) as session:
        sync_rules(session, settings, now=BASE_TIME)
        hostile, calm, other = add_alerts(
            session,
            rule="vip",
            alerts=[
                ("post:1", _post_alert(1, "mallory", HOSTILE_POST, "A negative post by @mallory")),
                ("post:2", _post_alert(2, "bea", "The sole came off", "A negative post by @bea")),
                ("post:3", _post_alert(3, "carl", "Too small", "A negative post by @carl")),
            ],
            now=BASE_TIME,
        )
        plan: list[tuple[str, dict[str, Any]]] = [
            (
                "old",
                {
                    "kind": "alert",
                    "status": "delivered",
                    "alert_ids": [other],
                    "at": BASE_TIME - timedelta(days=3),
                },
            ),
            (
                "failed",
                {
                    "kind": "alert",
                    "status": "failed",
                    "alert_ids": [hostile],
                    "at": BASE_TIME,
                    "http_status": 500,
                    "error": "HTTP 500 from https://bot:SECRET@hooks.example/services",
                    "retries": 2,
                },
            ),
            ("hostile", {"kind": "alert", "status": "delivered", "alert_ids": [hostile], "at": BASE_TIME}),
            (
                "digest",
                {"kind": "digest", "status": "delivered", "alert_ids": [calm, other], "at": BASE_TIME},
            ),
            ("test", {"kind": "test", "status": "uncertain", "alert_ids": [], "at": BASE_TIME}),
        ]
        for name, args in plan:
            log.deliveries[name] = record_delivery(
                session, rule="test" if name == "test" else "vip", channel="slack:#social", **args
            )
    return log
