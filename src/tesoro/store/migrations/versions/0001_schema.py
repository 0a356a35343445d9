"""The whole schema: catalog, posts, curation, access, alerts, relationships, rights, full-text search

Revision ID: 0001
Revises:
Create Date: 2026-12-07

One revision creates today's schema (nothing was released, so the build-order chain
of area branches and merges was squashed into it). Tables are checked against the
models by tests/store/test_migrations.py. Full-text search is backend-specific and
kept in sync by the database itself, so the models cannot express it: SQLite gets an
FTS5 table over `curation_item.doc` (external content, so the text is stored once)
with triggers; PostgreSQL gets a generated `tsvector` column with a GIN index. Both
index the same pre-folded, pre-stemmed document (`tesoro.text.search`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The document is folded already (`tesoro.text.fold`): the tokenizer must not fold it again, or
# "año" would find "ano" on SQLite and not elsewhere.
SQLITE_FTS = [
    """CREATE VIRTUAL TABLE curation_fts USING fts5(
        doc, content='curation_item', content_rowid='post_id', tokenize='unicode61 remove_diacritics 0'
    )""",
    """CREATE TRIGGER curation_item_fts_insert AFTER INSERT ON curation_item BEGIN
        INSERT INTO curation_fts(rowid, doc) VALUES (new.post_id, new.doc);
    END""",
    """CREATE TRIGGER curation_item_fts_delete AFTER DELETE ON curation_item BEGIN
        INSERT INTO curation_fts(curation_fts, rowid, doc) VALUES ('delete', old.post_id, old.doc);
    END""",
    """CREATE TRIGGER curation_item_fts_update AFTER UPDATE OF doc ON curation_item
    WHEN old.doc IS NOT new.doc BEGIN
        INSERT INTO curation_fts(curation_fts, rowid, doc) VALUES ('delete', old.post_id, old.doc);
        INSERT INTO curation_fts(rowid, doc) VALUES (new.post_id, new.doc);
    END""",
]

POSTGRES_FTS = [
    "ALTER TABLE curation_item ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, doc)) STORED",
    "CREATE INDEX ix_curation_item_search ON curation_item USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "quarantine_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=256), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("raw_sha256"),
    )
    op.create_index("ix_quarantine_item_source", "quarantine_item", ["source"], unique=False)
    op.create_index("ix_quarantine_item_last_seen_at", "quarantine_item", ["last_seen_at"], unique=False)
    op.create_table(
        "instagram_hashtag_search",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("hashtag", sa.String(length=100), nullable=False),
        sa.Column("hashtag_id", sa.String(length=64), nullable=True),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "hashtag", name="uq_instagram_hashtag_search_account_hashtag"),
    )
    op.create_index(
        "ix_instagram_hashtag_search_searched_at", "instagram_hashtag_search", ["searched_at"], unique=False
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_created_at", "alert", ["created_at"], unique=False)
    op.create_index("ix_alert_rule", "alert", ["rule"], unique=False)
    op.create_index("ix_alert_status", "alert", ["status"], unique=False)
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response", sa.String(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_delivery_attempt_at", "alert_delivery", ["attempt_at"], unique=False)
    op.create_index(
        "ix_alert_delivery_rule_channel_at", "alert_delivery", ["rule", "channel", "attempt_at"], unique=False
    )
    op.create_index("ix_alert_delivery_status", "alert_delivery", ["status"], unique=False)
    op.create_table(
        "alert_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "subject", name="uq_alert_mark_rule_subject"),
    )
    op.create_index("ix_alert_mark_post_id", "alert_mark", ["post_id"], unique=False)
    op.create_index("ix_alert_mark_rule", "alert_mark", ["rule"], unique=False)
    op.create_table(
        "alert_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("settings_hash", sa.String(), nullable=True),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_rule_kind", "alert_rule", ["kind"], unique=False)
    op.create_index("ix_alert_rule_name", "alert_rule", ["name"], unique=True)
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_key_key_id", "api_key", ["key_id"], unique=True)
    op.create_index("ix_api_key_role", "api_key", ["role"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"], unique=False)
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_table(
        "brand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("handles", sa.JSON(), nullable=False),
        sa.Column("hashtags", sa.JSON(), nullable=False),
        sa.Column("competitors", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_brand_name", "brand", ["name"], unique=True)
    op.create_table(
        "curator_ranker",
        sa.Column("brand_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("positives", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("brand_key"),
    )
    op.create_table(
        "curator_relevance",
        sa.Column("brand_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("approvals", sa.Integer(), nullable=False),
        sa.Column("rejections", sa.Integer(), nullable=False),
        sa.Column("off_topic", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("brand_id"),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "alert_delivery_item",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["alert_delivery.id"],
        ),
        sa.PrimaryKeyConstraint("delivery_id", "alert_id"),
    )
    op.create_index("ix_alert_delivery_item_alert_id", "alert_delivery_item", ["alert_id"], unique=False)
    op.create_table(
        "api_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_key.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_session_api_key_id", "api_session", ["api_key_id"], unique=False)
    op.create_index("ix_api_session_expires_at", "api_session", ["expires_at"], unique=False)
    op.create_index("ix_api_session_token_hash", "api_session", ["token_hash"], unique=True)
    op.create_table(
        "author",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("handle", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("following", sa.BigInteger(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("profile_url", sa.String(), nullable=True),
        sa.Column("avatar_url", sa.String(), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("gone", sa.Boolean(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "external_id", name="uq_author_platform_external"),
    )
    op.create_index("ix_author_handle", "author", ["handle"], unique=False)
    op.create_index("ix_author_person_id", "author", ["person_id"], unique=False)
    op.create_index("ix_author_platform", "author", ["platform"], unique=False)
    op.create_table(
        "listening_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brand.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_listening_query_brand_id", "listening_query", ["brand_id"], unique=False)
    op.create_index("ix_listening_query_name", "listening_query", ["name"], unique=True)
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("line", sa.String(), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("shop_url", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brand.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_product_brand_id", "product", ["brand_id"], unique=False)
    op.create_index("ix_product_line", "product", ["line"], unique=False)
    op.create_index("ix_product_name", "product", ["name"], unique=True)
    op.create_table(
        "customer_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_key", sa.String(), nullable=False),
        sa.Column("customer", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["author.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_key", name="uq_customer_order_key"),
    )
    op.create_index("ix_customer_order_author_id", "customer_order", ["author_id"], unique=False)
    op.create_index("ix_customer_order_customer", "customer_order", ["customer"], unique=False)
    op.create_index("ix_customer_order_ordered_at", "customer_order", ["ordered_at"], unique=False)
    op.create_table(
        "identity_dismissal",
        sa.Column("author_a", sa.Integer(), nullable=False),
        sa.Column("author_b", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_a"],
            ["author.id"],
        ),
        sa.ForeignKeyConstraint(
            ["author_b"],
            ["author.id"],
        ),
        sa.PrimaryKeyConstraint("author_a", "author_b"),
    )
    op.create_table(
        "ror_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("events_term", sa.Float(), nullable=False),
        sa.Column("loyalty_term", sa.Float(), nullable=False),
        sa.Column("advocacy_term", sa.Float(), nullable=False),
        sa.Column("trend_term", sa.Float(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("months_active", sa.Integer(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["author.id"],
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brand.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ror_score_author_id", "ror_score", ["author_id"], unique=False)
    op.create_index("ix_ror_score_brand_score", "ror_score", ["brand_id", "score"], unique=False)
    op.create_index("ix_ror_score_person_id", "ror_score", ["person_id"], unique=False)
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=True),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=True),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_allowed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("posts_collected", sa.BigInteger(), nullable=False),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("plan_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["listening_query.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_source_name", "source", ["name"], unique=True)
    op.create_index("ix_source_platform", "source", ["platform"], unique=False)
    op.create_table(
        "source_spend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_source_spend_source_at", "source_spend", ["source_id", "at"], unique=False)
    op.create_table(
        "post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("lang", sa.String(), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("reposts", sa.BigInteger(), nullable=False),
        sa.Column("replies", sa.BigInteger(), nullable=False),
        sa.Column("quotes", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=True),
        sa.Column("reply_to_id", sa.String(), nullable=True),
        sa.Column("quote_of_id", sa.String(), nullable=True),
        sa.Column("conversation_id", sa.String(), nullable=True),
        sa.Column("hashtags", sa.JSON(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("content_flags", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=True),
        sa.Column("queue_state", sa.String(length=16), nullable=False),
        sa.Column("rights_status", sa.String(length=16), nullable=False),
        sa.Column("treasure_score", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("held_version", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rights_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["author.id"],
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brand.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "external_id", name="uq_post_platform_external"),
    )
    op.create_index("ix_post_author_id", "post", ["author_id"], unique=False)
    op.create_index("ix_post_brand_id", "post", ["brand_id"], unique=False)
    op.create_index("ix_post_content_hash", "post", ["content_hash"], unique=False)
    op.create_index("ix_post_created_at", "post", ["created_at"], unique=False)
    op.create_index("ix_post_lang", "post", ["lang"], unique=False)
    op.create_index("ix_post_platform", "post", ["platform"], unique=False)
    op.create_index("ix_post_product_id", "post", ["product_id"], unique=False)
    op.create_index("ix_post_rights_status", "post", ["rights_status"], unique=False)
    op.create_index("ix_post_source_id", "post", ["source_id"], unique=False)
    op.create_index("ix_post_state_created", "post", ["queue_state", "created_at"], unique=False)
    op.create_index("ix_post_state_treasure", "post", ["queue_state", "treasure_score"], unique=False)
    op.create_index("ix_post_treasure_score", "post", ["treasure_score"], unique=False)
    op.create_index("ix_post_updated_at", "post", ["updated_at"], unique=False)
    op.create_table(
        "post_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "version", name="uq_post_version"),
    )
    op.create_index("ix_post_version_post_id", "post_version", ["post_id"], unique=False)
    op.create_table(
        "post_alias",
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("platform", "external_id"),
    )
    op.create_index("ix_post_alias_post_id", "post_alias", ["post_id"], unique=False)
    op.create_table(
        "post_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("model_value", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "field", name="uq_post_correction_field"),
    )
    op.create_index("ix_post_correction_post_id", "post_correction", ["post_id"], unique=False)
    op.create_index("ix_post_correction_brand_id", "post_correction", ["brand_id"], unique=False)
    op.create_index("ix_post_correction_field", "post_correction", ["field"], unique=False)
    op.create_index("ix_post_correction_corrected_at", "post_correction", ["corrected_at"], unique=False)
    op.create_table(
        "correction_model",
        sa.Column("brand_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("head", sa.String(length=16), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("brand_id", "head"),
    )
    op.create_table(
        "curation_band",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", "post_id", name="pk_curation_band"),
    )
    op.create_index("ix_curation_band_post_id", "curation_band", ["post_id"], unique=False)
    op.create_table(
        "curation_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("from_state", sa.String(), nullable=True),
        sa.Column("to_state", sa.String(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_curation_decision_decided_at", "curation_decision", ["decided_at"], unique=False)
    op.create_index("ix_curation_decision_post_id", "curation_decision", ["post_id"], unique=False)
    op.create_table(
        "curation_item",
        sa.Column("post_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("content_mask", sa.Integer(), nullable=False),
        sa.Column("content_types", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("base_score", sa.Float(), nullable=False),
        sa.Column("learned", sa.Float(), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("filtered", sa.String(length=200), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("skeleton", sa.String(length=40), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("score_id", sa.Integer(), nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("ranked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("post_id"),
    )
    op.create_index("ix_curation_item_brand_score", "curation_item", ["brand_id", "score"], unique=False)
    op.create_index("ix_curation_item_duplicate_of", "curation_item", ["duplicate_of"], unique=False)
    op.create_index("ix_curation_item_score", "curation_item", ["score"], unique=False)
    op.create_index("ix_curation_item_skeleton", "curation_item", ["skeleton"], unique=False)
    op.create_index("ix_curation_item_updated_at", "curation_item", ["updated_at"], unique=False)
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("preview_url", sa.String(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("alt_text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "url", name="uq_media_post_url"),
    )
    op.create_index("ix_media_post_id", "media", ["post_id"], unique=False)
    op.create_table(
        "media_image",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=True),
        sa.Column("thumb", sa.LargeBinary(), nullable=True),
        sa.Column("thumb_width", sa.Integer(), nullable=True),
        sa.Column("thumb_height", sa.Integer(), nullable=True),
        sa.Column("thumb_etag", sa.String(length=40), nullable=True),
        sa.Column("blurhash", sa.String(length=64), nullable=True),
        sa.Column("phash", sa.BigInteger(), nullable=True),
        sa.Column("image_group", sa.Integer(), nullable=True),
        sa.Column("sharpness", sa.Float(), nullable=True),
        sa.Column("exposure", sa.Float(), nullable=True),
        sa.Column("resolution", sa.Float(), nullable=True),
        sa.Column("aspect", sa.Float(), nullable=True),
        sa.Column("quality", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("media_id"),
    )
    op.create_index("ix_media_image_post_id", "media_image", ["post_id"], unique=False)
    op.create_index("ix_media_image_image_group", "media_image", ["image_group"], unique=False)
    op.create_index("ix_media_image_status_next", "media_image", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "post_tag",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.PrimaryKeyConstraint("post_id", "tag"),
    )
    op.create_index("ix_post_tag_tag", "post_tag", ["tag"], unique=False)
    op.create_table(
        "relationship_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("reach", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["author.id"],
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_relationship_event_author_id", "relationship_event", ["author_id"], unique=False)
    op.create_index("ix_relationship_event_kind", "relationship_event", ["kind"], unique=False)
    op.create_index("ix_relationship_event_occurred_at", "relationship_event", ["occurred_at"], unique=False)
    op.create_table(
        "score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("sentiment", sa.String(), nullable=True),
        sa.Column("sentiment_probs", sa.JSON(), nullable=True),
        sa.Column("relevance", sa.Float(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("product_confidence", sa.Float(), nullable=True),
        sa.Column("content_types", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("safety", sa.JSON(), nullable=False),
        sa.Column("spam", sa.Float(), nullable=True),
        sa.Column("engagement_rate", sa.Float(), nullable=True),
        sa.Column("engagement_vs_median", sa.Float(), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_use", sa.LargeBinary(), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "model_version", name="uq_score_post_version"),
    )
    op.create_index("ix_score_model_version", "score", ["model_version"], unique=False)
    op.create_index("ix_score_post_id", "score", ["post_id"], unique=False)
    op.create_index("ix_score_sentiment", "score", ["sentiment"], unique=False)
    op.create_table(
        "curation_change",
        sa.Column("decision_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["curation_decision.id"],
        ),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_index("ix_curation_change_actor", "curation_change", ["actor"], unique=False)
    op.create_index("ix_curation_change_batch_id", "curation_change", ["batch_id"], unique=False)
    op.create_table(
        "gallery_stat",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("shop_clicks", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("day", "post_id", "product_id"),
    )
    op.create_index("ix_gallery_stat_post_id", "gallery_stat", ["post_id"], unique=False)
    op.create_table(
        "kept_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("url_sha", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("object_key", sa.String(length=300), nullable=True),
        sa.Column("etag", sa.String(length=40), nullable=True),
        sa.Column("content_type", sa.String(length=40), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "url_sha", name="uq_kept_copy_post_url"),
    )
    op.create_index("ix_kept_copy_post_id", "kept_copy", ["post_id"], unique=False)

    op.create_table(
        "rights_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("brand_id", "version", name="uq_rights_terms_brand_version"),
    )
    op.create_index("ix_rights_terms_brand_id", "rights_terms", ["brand_id"], unique=False)
    op.create_table(
        "rights_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("hashtag", sa.String(), nullable=False),
        sa.Column("terms_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=True),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("asked_by", sa.String(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_external_id", sa.String(), nullable=True),
        sa.Column("reply_url", sa.String(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("consent_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("future_posts", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["author.id"]),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"]),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.ForeignKeyConstraint(["terms_id"], ["rights_terms.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rights_request_post_id", "rights_request", ["post_id"], unique=False)
    op.create_index("ix_rights_request_brand_id", "rights_request", ["brand_id"], unique=False)
    op.create_index("ix_rights_request_author_id", "rights_request", ["author_id"], unique=False)
    op.create_index("ix_rights_request_platform", "rights_request", ["platform"], unique=False)
    op.create_index("ix_rights_request_status", "rights_request", ["status"], unique=False)
    op.create_index("ix_rights_request_asked_at", "rights_request", ["asked_at"], unique=False)
    op.create_index(
        "ix_rights_request_consent_nonce_hash", "rights_request", ["consent_nonce_hash"], unique=False
    )
    op.create_table(
        "rights_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("author_external_id", sa.String(), nullable=False),
        sa.Column("author_handle", sa.String(), nullable=True),
        sa.Column("from_author", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["rights_request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "external_id", name="uq_rights_reply_request_external"),
    )
    op.create_index("ix_rights_reply_request_id", "rights_reply", ["request_id"], unique=False)
    op.create_table(
        "rights_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("post_url", sa.String(), nullable=True),
        sa.Column("author_external_id", sa.String(), nullable=False),
        sa.Column("author_handle", sa.String(), nullable=True),
        sa.Column("request_text", sa.Text(), nullable=False),
        sa.Column("terms_version", sa.Integer(), nullable=False),
        sa.Column("terms_sha256", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reply_url", sa.String(), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("future_posts", sa.Boolean(), nullable=False),
        sa.Column("asked_by", sa.String(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["author.id"]),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"]),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["rights_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rights_receipt_request_id", "rights_receipt", ["request_id"], unique=False)
    op.create_index("ix_rights_receipt_post_id", "rights_receipt", ["post_id"], unique=False)
    op.create_index("ix_rights_receipt_author_id", "rights_receipt", ["author_id"], unique=False)
    op.create_index("ix_rights_receipt_granted_at", "rights_receipt", ["granted_at"], unique=False)
    op.create_index("ix_rights_receipt_ends_at", "rights_receipt", ["ends_at"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRES_FTS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS curation_item_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS curation_fts")
    op.drop_index("ix_instagram_hashtag_search_searched_at", table_name="instagram_hashtag_search")
    op.drop_table("instagram_hashtag_search")
    for table, columns in (
        ("rights_receipt", ("request_id", "post_id", "author_id", "granted_at", "ends_at")),
        ("rights_reply", ("request_id",)),
        (
            "rights_request",
            ("post_id", "brand_id", "author_id", "platform", "status", "asked_at", "consent_nonce_hash"),
        ),
        ("rights_terms", ("brand_id",)),
    ):
        for column in columns:
            op.drop_index(f"ix_{table}_{column}", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_kept_copy_post_id", table_name="kept_copy")
    op.drop_table("kept_copy")
    op.drop_index("ix_gallery_stat_post_id", table_name="gallery_stat")
    op.drop_table("gallery_stat")
    op.drop_index("ix_quarantine_item_last_seen_at", table_name="quarantine_item")
    op.drop_index("ix_quarantine_item_source", table_name="quarantine_item")
    op.drop_table("quarantine_item")
    op.drop_index("ix_curation_change_batch_id", table_name="curation_change")
    op.drop_index("ix_curation_change_actor", table_name="curation_change")
    op.drop_table("curation_change")
    op.drop_index("ix_score_sentiment", table_name="score")
    op.drop_index("ix_score_post_id", table_name="score")
    op.drop_index("ix_score_model_version", table_name="score")
    op.drop_table("score")
    op.drop_index("ix_relationship_event_occurred_at", table_name="relationship_event")
    op.drop_index("ix_relationship_event_kind", table_name="relationship_event")
    op.drop_index("ix_relationship_event_author_id", table_name="relationship_event")
    op.drop_table("relationship_event")
    op.drop_index("ix_post_tag_tag", table_name="post_tag")
    op.drop_table("post_tag")
    op.drop_index("ix_media_image_status_next", table_name="media_image")
    op.drop_index("ix_media_image_image_group", table_name="media_image")
    op.drop_index("ix_media_image_post_id", table_name="media_image")
    op.drop_table("media_image")
    op.drop_index("ix_media_post_id", table_name="media")
    op.drop_table("media")
    op.drop_table("correction_model")
    op.drop_index("ix_post_correction_corrected_at", table_name="post_correction")
    op.drop_index("ix_post_correction_field", table_name="post_correction")
    op.drop_index("ix_post_correction_brand_id", table_name="post_correction")
    op.drop_index("ix_post_correction_post_id", table_name="post_correction")
    op.drop_table("post_correction")
    op.drop_index("ix_curation_item_updated_at", table_name="curation_item")
    op.drop_index("ix_curation_item_skeleton", table_name="curation_item")
    op.drop_index("ix_curation_item_score", table_name="curation_item")
    op.drop_index("ix_curation_item_duplicate_of", table_name="curation_item")
    op.drop_index("ix_curation_item_brand_score", table_name="curation_item")
    op.drop_table("curation_item")
    op.drop_index("ix_curation_decision_post_id", table_name="curation_decision")
    op.drop_index("ix_curation_decision_decided_at", table_name="curation_decision")
    op.drop_table("curation_decision")
    op.drop_index("ix_curation_band_post_id", table_name="curation_band")
    op.drop_table("curation_band")
    op.drop_index("ix_post_alias_post_id", table_name="post_alias")
    op.drop_table("post_alias")
    op.drop_index("ix_post_version_post_id", table_name="post_version")
    op.drop_table("post_version")
    op.drop_index("ix_post_updated_at", table_name="post")
    op.drop_index("ix_post_treasure_score", table_name="post")
    op.drop_index("ix_post_state_treasure", table_name="post")
    op.drop_index("ix_post_state_created", table_name="post")
    op.drop_index("ix_post_source_id", table_name="post")
    op.drop_index("ix_post_rights_status", table_name="post")
    op.drop_index("ix_post_product_id", table_name="post")
    op.drop_index("ix_post_platform", table_name="post")
    op.drop_index("ix_post_lang", table_name="post")
    op.drop_index("ix_post_created_at", table_name="post")
    op.drop_index("ix_post_content_hash", table_name="post")
    op.drop_index("ix_post_brand_id", table_name="post")
    op.drop_index("ix_post_author_id", table_name="post")
    op.drop_table("post")
    op.drop_index("ix_source_spend_source_at", table_name="source_spend")
    op.drop_table("source_spend")
    op.drop_index("ix_source_platform", table_name="source")
    op.drop_index("ix_source_name", table_name="source")
    op.drop_table("source")
    op.drop_index("ix_ror_score_person_id", table_name="ror_score")
    op.drop_index("ix_ror_score_brand_score", table_name="ror_score")
    op.drop_index("ix_ror_score_author_id", table_name="ror_score")
    op.drop_table("ror_score")
    op.drop_table("identity_dismissal")
    op.drop_index("ix_customer_order_ordered_at", table_name="customer_order")
    op.drop_index("ix_customer_order_customer", table_name="customer_order")
    op.drop_index("ix_customer_order_author_id", table_name="customer_order")
    op.drop_table("customer_order")
    op.drop_index("ix_product_name", table_name="product")
    op.drop_index("ix_product_line", table_name="product")
    op.drop_index("ix_product_brand_id", table_name="product")
    op.drop_table("product")
    op.drop_index("ix_listening_query_name", table_name="listening_query")
    op.drop_index("ix_listening_query_brand_id", table_name="listening_query")
    op.drop_table("listening_query")
    op.drop_index("ix_author_platform", table_name="author")
    op.drop_index("ix_author_person_id", table_name="author")
    op.drop_index("ix_author_handle", table_name="author")
    op.drop_table("author")
    op.drop_index("ix_api_session_token_hash", table_name="api_session")
    op.drop_index("ix_api_session_expires_at", table_name="api_session")
    op.drop_index("ix_api_session_api_key_id", table_name="api_session")
    op.drop_table("api_session")
    op.drop_index("ix_alert_delivery_item_alert_id", table_name="alert_delivery_item")
    op.drop_table("alert_delivery_item")
    op.drop_table("person")
    op.drop_table("curator_relevance")
    op.drop_table("curator_ranker")
    op.drop_index("ix_brand_name", table_name="brand")
    op.drop_table("brand")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_action", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_api_key_role", table_name="api_key")
    op.drop_index("ix_api_key_key_id", table_name="api_key")
    op.drop_table("api_key")
    op.drop_index("ix_alert_rule_name", table_name="alert_rule")
    op.drop_index("ix_alert_rule_kind", table_name="alert_rule")
    op.drop_table("alert_rule")
    op.drop_index("ix_alert_mark_rule", table_name="alert_mark")
    op.drop_index("ix_alert_mark_post_id", table_name="alert_mark")
    op.drop_table("alert_mark")
    op.drop_index("ix_alert_delivery_status", table_name="alert_delivery")
    op.drop_index("ix_alert_delivery_rule_channel_at", table_name="alert_delivery")
    op.drop_index("ix_alert_delivery_attempt_at", table_name="alert_delivery")
    op.drop_table("alert_delivery")
    op.drop_index("ix_alert_status", table_name="alert")
    op.drop_index("ix_alert_rule", table_name="alert")
    op.drop_index("ix_alert_created_at", table_name="alert")
    op.drop_table("alert")
