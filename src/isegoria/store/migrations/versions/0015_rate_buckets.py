"""rate-limit buckets shared by every app process (UNLOGGED on PostgreSQL)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "rate_buckets",
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("rule", "key", name=op.f("pk_rate_buckets")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Buckets need no durability: a crash that empties them only hands out fresh bursts.
        op.execute("ALTER TABLE rate_buckets SET UNLOGGED")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("rate_buckets")
