"""electors.ballot_id is indexed: deleting a proposal's ballots no longer scans every elector

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 21:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # The tally rewrites a proposal's ballots (law/votes.py); each deleted ballot makes the
    # database look for electors still pointing at it (the foreign key), which without an
    # index is a scan of every elector of every proposal, once per ballot.
    op.create_index(op.f("ix_electors_ballot_id"), "electors", ["ballot_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_electors_ballot_id"), table_name="electors")
