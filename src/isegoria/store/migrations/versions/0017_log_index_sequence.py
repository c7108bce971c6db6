"""PostgreSQL: log indexes come from a sequence, so writers no longer queue on log_head

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 23:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # log/sequence.py: a writer takes its entry's index with nextval, which no transaction
    # waits on; the tree is extended later by one integrator (log/integrate.py). SQLite has
    # one writer at a time and reads the next index from the entries themselves.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE log_index_seq AS bigint MINVALUE 0 START WITH 0")
    op.execute("SELECT setval('log_index_seq', coalesce(max(idx) + 1, 0), false) FROM log_entries")


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE log_index_seq")
