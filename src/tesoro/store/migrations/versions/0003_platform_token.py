"""Renewed platform tokens: the newest access and refresh token a platform gave an account

Revision ID: 0003_platform_token
Revises: 0002_rights_future_posts
Create Date: 2026-12-08

TikTok API for Business may replace the refresh token with each renewal; the configured one in the
environment is then spent, so the renewed pair is kept in the store (`store.tokens`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_platform_token"
down_revision = "0002_rights_future_posts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "platform_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "account_id", name="uq_platform_token_platform_account"),
    )


def downgrade() -> None:
    op.drop_table("platform_token")
