"""Rights for future posts: a receipt may rest on an earlier receipt's consent

Revision ID: 0002_rights_future_posts
Revises: 0001
Create Date: 2026-12-07

An author who approves "for my future posts as well" on the consent page covers their later
posts for the brand: each such grant writes a receipt of its own whose `parent_receipt_id` is the
receipt of that consent (revoking the consent revokes them too).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rights_future_posts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rights_receipt") as batch:
        batch.add_column(sa.Column("parent_receipt_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_rights_receipt_parent_receipt_id", "rights_receipt", ["parent_receipt_id"], ["id"]
        )
        batch.create_index("ix_rights_receipt_parent_receipt_id", ["parent_receipt_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rights_receipt") as batch:
        batch.drop_index("ix_rights_receipt_parent_receipt_id")
        batch.drop_constraint("fk_rights_receipt_parent_receipt_id", type_="foreignkey")
        batch.drop_column("parent_receipt_id")
