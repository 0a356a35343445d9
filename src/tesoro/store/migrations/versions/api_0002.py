"""api keys and web sessions

Revision ID: api_0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api_0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_key_id"), ["key_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_api_key_role"), ["role"], unique=False)

    op.create_table(
        "api_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_session_token_hash"), ["token_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_api_session_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_session_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_api_session_api_key_id"))
        batch_op.drop_index(batch_op.f("ix_api_session_token_hash"))
    op.drop_table("api_session")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_role"))
        batch_op.drop_index(batch_op.f("ix_api_key_key_id"))
    op.drop_table("api_key")
