"""ballot secrecy: jury ballots by random id and receipt, no juror; per-jury pseudonym keys

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 01:45:00

A jury ballot used to be keyed by its juror's seat (``case_ballots.juror_id``) with the
time it was cast, and a juror's note draft by the seat too. This revision rebuilds
``case_ballots`` with a random id and a receipt instead, moves each note draft onto its
ballot, and unlinks every existing ballot from its seat:

* a ballot of a jury already closed keeps its vote; its juror's strata are added to the
  per-day counters (``juror_stratum_tallies``, by the day it was cast, as the stratum
  report counted it before) and not kept on the ballot;
* a ballot of a jury still open keeps its juror's strata until that jury closes;
* every ballot gets a receipt that nobody holds (the hash of a fresh random id): its juror
  was never shown one, and the verdict entries of closed juries name juror pseudonyms,
  which ``log verify`` compares as a multiset of votes;
* the rows are written in receipt order, and the law's counted ballots are rewritten in
  receipt order too, so that no table keeps the order in which ballots were cast.

It cannot be undone: the links it removes are gone (restore a backup to go back).
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from alembic import op

import isegoria.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MIGRATED_RECEIPT_DOMAIN = "isegoria-jury-ballot-migrated"
STRATA = (("region", "juror_region"), ("age_band", "juror_age_band"), ("leaning", "juror_leaning"))

_old_ballots = sa.table(
    "case_ballots",
    sa.column("juror_id", sa.Integer()),
    sa.column("jury_id", sa.Integer()),
    sa.column("violation", sa.Boolean()),
    sa.column("sanction", sa.String()),
    sa.column("suspension_days", sa.Integer()),
    sa.column("reason", sa.Text()),
    sa.column("cast_at", isegoria.store.types.UTCDateTime()),
)
_jurors = sa.table("jurors", sa.column("id", sa.Integer()), sa.column("account_id", sa.Integer()))
_juries = sa.table(
    "juries",
    sa.column("id", sa.Integer()),
    sa.column("case_id", sa.Integer()),
    sa.column("closed", sa.Boolean()),
)
_cases = sa.table("cases", sa.column("id", sa.Integer()), sa.column("jurisdiction", sa.String()))
_accounts = sa.table(
    "accounts",
    sa.column("id", sa.Integer()),
    sa.column("region", sa.String()),
    sa.column("age_band", sa.String()),
    sa.column("leaning", sa.String()),
)
_drafts = sa.table("jury_note_drafts", sa.column("juror_id", sa.Integer()), sa.column("text"))
_law_ballots = sa.table(
    "ballots",
    sa.column("id", sa.String()),
    sa.column("proposal_id", sa.Integer()),
    sa.column("choice", sa.String()),
    sa.column("receipt", sa.String()),
)
_proposals = sa.table(
    "proposals", sa.column("id", sa.Integer()), sa.column("tallied_at", sa.DateTime())
)


def _old_rows(bind: sa.Connection) -> list[dict[str, Any]]:
    query = (
        sa.select(
            _old_ballots,
            _juries.c.closed,
            _cases.c.jurisdiction,
            _accounts.c.region,
            _accounts.c.age_band,
            _accounts.c.leaning,
            _drafts.c.text.label("note_text"),
        )
        .select_from(_old_ballots)
        .join(_jurors, _jurors.c.id == _old_ballots.c.juror_id)
        .join(_juries, _juries.c.id == _old_ballots.c.jury_id)
        .join(_cases, _cases.c.id == _juries.c.case_id)
        .join(_accounts, _accounts.c.id == _jurors.c.account_id)
        .outerjoin(_drafts, _drafts.c.juror_id == _old_ballots.c.juror_id)
    )
    return [dict(row._mapping) for row in bind.execute(query)]


def _new_rows(old: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The unlinked ballots in receipt order, and the counters of the closed juries' strata."""
    rows = []
    counters: dict[tuple[str, Any, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for b in old:
        ballot_id = secrets.token_hex(16)
        receipt = hashlib.sha256(f"{MIGRATED_RECEIPT_DOMAIN}\n{ballot_id}".encode()).hexdigest()
        strata = {"region": b["region"], "age_band": b["age_band"], "leaning": b["leaning"]}
        if b["closed"]:
            day = b["cast_at"].astimezone(UTC).date()
            for dimension, _column in STRATA:
                tally = counters[
                    (b["jurisdiction"], day, dimension, strata[dimension] or "undeclared")
                ]
                tally[0] += 1
                tally[1] += int(bool(b["violation"]))
        rows.append(
            {
                "id": ballot_id,
                "jury_id": b["jury_id"],
                "receipt": receipt,
                "violation": b["violation"],
                "sanction": b["sanction"],
                "suspension_days": b["suspension_days"],
                "reason": b["reason"],
                "note_text": b["note_text"],
                **{
                    column: None if b["closed"] else strata[dimension]
                    for dimension, column in STRATA
                },
            }
        )
    rows.sort(key=lambda r: r["receipt"])
    tallies = [
        {
            "jurisdiction": j,
            "day": d,
            "dimension": dim,
            "value": v,
            "ballots": n,
            "violations": k,
        }
        for (j, d, dim, v), (n, k) in sorted(counters.items())
    ]
    return rows, tallies


def upgrade() -> None:
    """Apply this revision."""
    bind = op.get_bind()
    old = _old_rows(bind)
    with op.batch_alter_table("juries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pseudonym_key", sa.String(length=64), nullable=True))
    tallies_table = op.create_table(
        "juror_stratum_tallies",
        sa.Column("jurisdiction", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("ballots", sa.Integer(), nullable=False),
        sa.Column("violations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "jurisdiction", "day", "dimension", "value", name=op.f("pk_juror_stratum_tallies")
        ),
    )
    op.drop_table("jury_note_drafts")
    with op.batch_alter_table("case_ballots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_ballots_jury_id"))
    op.drop_table("case_ballots")
    ballots_table = op.create_table(
        "case_ballots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("jury_id", sa.Integer(), nullable=False),
        sa.Column("receipt", sa.String(length=64), nullable=False),
        sa.Column("violation", sa.Boolean(), nullable=False),
        sa.Column("sanction", sa.String(length=16), nullable=True),
        sa.Column("suspension_days", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("note_text", sa.Text(), nullable=True),
        sa.Column("juror_region", sa.String(length=64), nullable=True),
        sa.Column("juror_age_band", sa.String(length=16), nullable=True),
        sa.Column("juror_leaning", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["jury_id"], ["juries.id"], name=op.f("fk_case_ballots_jury_id_juries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_ballots")),
        sa.UniqueConstraint("receipt", name=op.f("uq_case_ballots_receipt")),
    )
    with op.batch_alter_table("case_ballots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_ballots_jury_id"), ["jury_id"], unique=False)
    rows, tallies = _new_rows(old)
    for row in rows:  # one by one, in receipt order: the rows' physical order
        bind.execute(sa.insert(ballots_table), row)
    if tallies:
        bind.execute(sa.insert(tallies_table), tallies)
    _law_ballots_in_receipt_order(bind)


def _law_ballots_in_receipt_order(bind: sa.Connection) -> None:
    """Rewrite the counted proposals' ballots in receipt order (no elector points at them)."""
    counted = sa.select(_proposals.c.id).where(_proposals.c.tallied_at.is_not(None))
    where = _law_ballots.c.proposal_id.in_(counted)
    rows = [
        dict(row._mapping)
        for row in bind.execute(
            sa.select(_law_ballots).where(where).order_by(_law_ballots.c.receipt)
        )
    ]
    bind.execute(sa.delete(_law_ballots).where(where))
    for row in rows:
        bind.execute(sa.insert(_law_ballots), row)


def downgrade() -> None:
    """Refuse: the links between ballots and jurors this revision removed are gone."""
    raise NotImplementedError(
        "revision 0009 unlinked jury ballots from jurors and cannot be undone; "
        "restore a backup taken before the upgrade instead"
    )
