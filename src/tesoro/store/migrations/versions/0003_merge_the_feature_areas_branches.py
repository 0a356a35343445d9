"""merge the feature areas' branches

Revision ID: 0003
Revises: alerts_0002, api_0002, curator_0002, relationships_0002
Create Date: 2026-11-22 20:42:23.773938
"""

from __future__ import annotations

revision = '0003'
down_revision = ('alerts_0002', 'api_0002', 'curator_0002', 'relationships_0002')
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: this joins the areas' branches so the next migration has one parent."""


def downgrade() -> None:
    """Nothing to undo."""
