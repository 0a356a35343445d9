"""curator: ranked items, duplicate bands, undo records, learned rankers, full-text search

Revision ID: curator_0002
Revises: 0001

Full-text search is backend-specific and kept in sync by the database itself:
SQLite gets an FTS5 table over `curation_item.doc` (external content, so the text is
stored once) with triggers; PostgreSQL gets a generated `tsvector` column with a GIN
index. Both index the same pre-folded, pre-stemmed document (`tesoro.text.search`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "curator_0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_FTS = [
    """CREATE VIRTUAL TABLE curation_fts USING fts5(
        doc, content='curation_item', content_rowid='post_id', tokenize='unicode61 remove_diacritics 2'
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

_POSTGRES_FTS = [
    "ALTER TABLE curation_item ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, doc)) STORED",
    "CREATE INDEX ix_curation_item_search ON curation_item USING gin (search_vector)",
]


def upgrade() -> None:
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
    for column in ("score", "duplicate_of", "skeleton", "updated_at"):
        op.create_index(f"ix_curation_item_{column}", "curation_item", [column])
    op.create_index("ix_curation_item_brand_score", "curation_item", ["brand_id", "score"])

    op.create_table(
        "curation_band",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", "post_id", name="pk_curation_band"),
    )
    op.create_index("ix_curation_band_post_id", "curation_band", ["post_id"])

    op.create_table(
        "curation_change",
        sa.Column("decision_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["curation_decision.id"]),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_index("ix_curation_change_batch_id", "curation_change", ["batch_id"])
    op.create_index("ix_curation_change_actor", "curation_change", ["actor"])

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

    # The queue reads new posts by treasure score; the library index follows changed posts.
    op.create_index("ix_post_state_treasure", "post", ["queue_state", "treasure_score"])
    op.create_index("ix_post_updated_at", "post", ["updated_at"])

    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_FTS if dialect == "sqlite" else _POSTGRES_FTS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS curation_item_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS curation_fts")
    op.drop_index("ix_post_updated_at", table_name="post")
    op.drop_index("ix_post_state_treasure", table_name="post")
    op.drop_table("curator_ranker")
    op.drop_table("curation_change")
    op.drop_table("curation_band")
    op.drop_table("curation_item")
