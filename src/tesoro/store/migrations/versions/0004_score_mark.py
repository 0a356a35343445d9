"""Score marks: how far the posts are known to be scored, per model version

Revision ID: 0004_score_mark
Revises: 0003_platform_token
Create Date: 2026-12-08

The scoring job looked for posts without a score by an anti-join from the first post id, a scan that
grew with the whole history; it now starts at the version's mark (`store.scores`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_score_mark"
down_revision = "0003_platform_token"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_mark",
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("below_id", sa.BigInteger(), nullable=False),
        sa.Column("candidate_id", sa.BigInteger(), nullable=True),
        sa.Column("candidate_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("model_version"),
    )


def downgrade() -> None:
    op.drop_table("score_mark")
