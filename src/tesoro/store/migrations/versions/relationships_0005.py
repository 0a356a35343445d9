"""relationships: a note on each relationship event logged by hand

Revision ID: relationships_0005
Revises: curator_0004

Coordinators log what Tesoro cannot see (a purchase, a meet-up) with a short note;
existing rows get none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "relationships_0005"
down_revision = "curator_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("relationship_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("relationship_event", schema=None) as batch_op:
        batch_op.drop_column("note")
