"""relationships: customer orders, ROR snapshots, dismissed identity suggestions

Revision ID: relationships_0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "relationships_0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
        sa.ForeignKeyConstraint(["author_id"], ["author.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_key", name="uq_customer_order_key"),
    )
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_order_customer"), ["customer"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_order_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_order_ordered_at"), ["ordered_at"], unique=False)

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
        sa.ForeignKeyConstraint(["author_id"], ["author.id"]),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ror_score", schema=None) as batch_op:
        batch_op.create_index("ix_ror_score_brand_score", ["brand_id", "score"], unique=False)
        batch_op.create_index(batch_op.f("ix_ror_score_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ror_score_author_id"), ["author_id"], unique=False)

    op.create_table(
        "identity_dismissal",
        sa.Column("author_a", sa.Integer(), nullable=False),
        sa.Column("author_b", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["author_a"], ["author.id"]),
        sa.ForeignKeyConstraint(["author_b"], ["author.id"]),
        sa.PrimaryKeyConstraint("author_a", "author_b"),
    )


def downgrade() -> None:
    op.drop_table("identity_dismissal")
    with op.batch_alter_table("ror_score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ror_score_author_id"))
        batch_op.drop_index(batch_op.f("ix_ror_score_person_id"))
        batch_op.drop_index("ix_ror_score_brand_score")
    op.drop_table("ror_score")
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_order_ordered_at"))
        batch_op.drop_index(batch_op.f("ix_customer_order_author_id"))
        batch_op.drop_index(batch_op.f("ix_customer_order_customer"))
    op.drop_table("customer_order")
