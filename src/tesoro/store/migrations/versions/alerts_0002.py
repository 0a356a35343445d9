"""alerts: editable rules, dedupe marks, delivery log

Revision ID: alerts_0002
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = "alerts_0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("settings_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_rule_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_rule_name"), ["name"], unique=True)

    op.create_table(
        "alert_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "subject", name="uq_alert_mark_rule_subject"),
    )
    with op.batch_alter_table("alert_mark", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_mark_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_mark_rule"), ["rule"], unique=False)

    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_delivery_attempt_at"), ["attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_delivery_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_alert_delivery_rule_channel_at", ["rule", "channel", "attempt_at"], unique=False
        )

    op.create_table(
        "alert_delivery_item",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.ForeignKeyConstraint(["delivery_id"], ["alert_delivery.id"]),
        sa.PrimaryKeyConstraint("delivery_id", "alert_id"),
    )
    with op.batch_alter_table("alert_delivery_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_delivery_item_alert_id"), ["alert_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_delivery_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_delivery_item_alert_id"))
    op.drop_table("alert_delivery_item")
    with op.batch_alter_table("alert_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_delivery_rule_channel_at")
        batch_op.drop_index(batch_op.f("ix_alert_delivery_status"))
        batch_op.drop_index(batch_op.f("ix_alert_delivery_attempt_at"))
    op.drop_table("alert_delivery")
    with op.batch_alter_table("alert_mark", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_mark_rule"))
        batch_op.drop_index(batch_op.f("ix_alert_mark_post_id"))
    op.drop_table("alert_mark")
    with op.batch_alter_table("alert_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_rule_name"))
        batch_op.drop_index(batch_op.f("ix_alert_rule_kind"))
    op.drop_table("alert_rule")
