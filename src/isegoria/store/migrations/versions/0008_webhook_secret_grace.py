"""webhook secret rotation grace: the previous sealed secret and when it was replaced

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 22:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import isegoria.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("platforms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_webhook_secret", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "webhook_secret_rotated_at", isegoria.store.types.UTCDateTime(), nullable=True
            )
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("platforms", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret_rotated_at")
        batch_op.drop_column("previous_webhook_secret")
