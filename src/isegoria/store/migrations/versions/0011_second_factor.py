"""second factor: TOTP secrets (sealed), recovery codes (hashed), sessions bound to a factor

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import isegoria.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "second_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", isegoria.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_second_factors_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_factors")),
    )
    with op.batch_alter_table("second_factors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_second_factors_account_id"), ["account_id"], unique=False
        )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("used_at", isegoria.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_recovery_codes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_codes_account_id"), ["account_id"], unique=False
        )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("factor", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("factor_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_web_sessions_factor_id"), ["factor_id"], unique=False)
    # Sessions opened before this revision were verified by password alone: staff ones
    # end now (staff need a second factor), citizens' carry on as password sessions.
    op.execute(
        "DELETE FROM web_sessions WHERE account_id IN "
        "(SELECT id FROM accounts WHERE role <> 'citizen')"
    )
    op.execute("UPDATE web_sessions SET factor = 'password'")


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_factor_id"))
        batch_op.drop_column("factor_id")
        batch_op.drop_column("factor")
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_codes_account_id"))
    op.drop_table("recovery_codes")
    with op.batch_alter_table("second_factors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_second_factors_account_id"))
    op.drop_table("second_factors")
