"""SQLModel tables, one module per domain; importing this package registers the whole schema.

catalog (brands, products, queries, sources), posts (authors, posts, media, scores),
curation (decisions, tags, ranked items, duplicate bands, undo records, learned
rankers), corrections (coordinator labels and the calibrations they teach), gallery (per-day
tile counts), copies (kept copies of rights-cleared media), access (API keys, sessions, audit log),
alerts (outbox, rules, marks, deliveries), relationships (people, logged events, orders, ROR,
identities), instagram (the hashtag ledger), rights (terms, requests, replies, receipts), tokens
(access tokens a platform renewed).

Alembic owns the schema (`tesoro db upgrade`); these classes are what the migrations
are checked against (`tests/store/test_migrations.py`), not a `create_all` at start-up.
Every datetime column is `UtcDateTime`: aware UTC in and out on both backends.
"""

from __future__ import annotations

from tesoro.store.tables.access import ApiKey, ApiSession, AuditLog
from tesoro.store.tables.alerts import Alert, AlertDelivery, AlertDeliveryItem, AlertMark, AlertRule
from tesoro.store.tables.catalog import Brand, ListeningQuery, Product, Source, SourceHealth, SourceSpend
from tesoro.store.tables.copies import KeptCopy
from tesoro.store.tables.corrections import CorrectionModel, PostCorrection
from tesoro.store.tables.curation import (
    CurationBand,
    CurationChange,
    CurationDecision,
    CurationItem,
    CuratorRanker,
    CuratorRelevance,
    PostTag,
)
from tesoro.store.tables.gallery import GalleryStat
from tesoro.store.tables.instagram import InstagramHashtagSearch
from tesoro.store.tables.media import MediaImage, MediaStatus
from tesoro.store.tables.posts import (
    Author,
    Media,
    Post,
    PostAlias,
    PostVersion,
    QueueState,
    RightsState,
    Score,
    ScoreMark,
)
from tesoro.store.tables.quarantine import QuarantineItem
from tesoro.store.tables.relationships import (
    CustomerOrder,
    IdentityDismissal,
    Person,
    RelationshipEvent,
    RorScore,
)
from tesoro.store.tables.rights import RightsReceipt, RightsReply, RightsRequest, RightsTerms
from tesoro.store.tables.tokens import PlatformToken
from tesoro.store.tables.types import UtcDateTime, as_utc, utcnow

__all__ = [
    "Alert",
    "AlertDelivery",
    "AlertDeliveryItem",
    "AlertMark",
    "AlertRule",
    "ApiKey",
    "ApiSession",
    "AuditLog",
    "Author",
    "Brand",
    "CorrectionModel",
    "CurationBand",
    "CurationChange",
    "CurationDecision",
    "CurationItem",
    "CuratorRanker",
    "CuratorRelevance",
    "CustomerOrder",
    "GalleryStat",
    "IdentityDismissal",
    "InstagramHashtagSearch",
    "KeptCopy",
    "ListeningQuery",
    "Media",
    "MediaImage",
    "MediaStatus",
    "Person",
    "PlatformToken",
    "Post",
    "PostAlias",
    "PostCorrection",
    "PostTag",
    "PostVersion",
    "Product",
    "QuarantineItem",
    "QueueState",
    "RelationshipEvent",
    "RightsReceipt",
    "RightsReply",
    "RightsRequest",
    "RightsState",
    "RightsTerms",
    "RorScore",
    "Score",
    "ScoreMark",
    "Source",
    "SourceHealth",
    "SourceSpend",
    "UtcDateTime",
    "as_utc",
    "utcnow",
]
