"""curator: learned relevance weights per brand

Revision ID: curator_0004
Revises: 0003

One row per brand whose relevance weights were learned from its coordinator's
decisions (`tesoro.curator.relevance_model`); a brand without a row uses the
hand-set defaults, so the upgrade changes no score.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "curator_0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
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


def downgrade() -> None:
    op.drop_table("curator_relevance")
