"""Secret jury ballots: receipts, and what closing a jury erases.

The scheme (the law's votes work the same way, services.law_votes)
-------------------------------------------------------------------
* A ballot row holds a random ballot id, the receipt hash, the vote, and nothing that
  names the juror: the juror's seat only turns to "voted", in the same transaction.
* The receipt is ``SHA-256("isegoria-jury-ballot-v1\\n" case "\\n" ballot_id "\\n" vote
  "\\n" nonce)``, where ``vote`` is the canonical JSON of the ballot's violation, sanction,
  suspension days and reason. The juror is shown the ballot id, the nonce and the receipt
  once; the nonce is not stored. When the jury closes, ``VerdictReached`` publishes every
  ballot with its receipt, sorted by receipt: the juror finds theirs and can check that it
  is counted as cast, nobody else can tell which is theirs.
* While the jury is open, the ballot row also carries the juror's declared strata (region,
  age band, leaning) for the stratum report, and the jury's pseudonyms are an HMAC under a
  key of its own. Closing the jury (:func:`seal_jury`, in the closing transaction) adds the
  strata to per-day counters of the jurisdiction and erases them, erases the pseudonym key,
  and rewrites the jury's ballot rows in receipt order, so that neither their values nor
  their order (SQLite's rowids, PostgreSQL's heap) say in what order they were cast.
  After the close, no table holds anything that links a ballot to a person, and the pool's
  pseudonyms cannot be recomputed from accounts, with the instance secret or without.
* Before the close, whoever can read the live database (the operator) can watch ballots
  arrive next to the seats that turn "voted"; the scheme protects the record afterwards,
  backups and archives included, not a compromised live server.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from isegoria.store.models import Account
from isegoria.store.models_cases import Case, CaseBallot, JurorStratumTally, Jury
from isegoria.unit_of_work import UnitOfWork

RECEIPT_DOMAIN: Final = "isegoria-jury-ballot-v1"
#: 128-bit ballot ids and nonces: unguessable, so a receipt cannot be brute-forced to a juror.
BALLOT_ID_BYTES: Final = 16
NONCE_BYTES: Final = 16
#: The juror strata the stratum report counts, as (tally dimension, ballot column).
STRATA: Final = (
    ("region", "juror_region"),
    ("age_band", "juror_age_band"),
    ("leaning", "juror_leaning"),
)
UNDECLARED: Final = "undeclared"

_BALLOTS = cast(Table, CaseBallot.__table__)
_TALLIES = cast(Table, JurorStratumTally.__table__)
_JUROR_STRATA = select(Account.region, Account.age_band, Account.leaning).where(
    Account.id == bindparam("account_id")
)


def vote_text(
    violation: bool, sanction: str | None, suspension_days: int | None, reason: str
) -> str:
    """A ballot's vote as the receipt hashes it: canonical JSON, keys sorted, no spaces."""
    vote = {
        "violation": violation,
        "sanction": sanction,
        "suspension_days": suspension_days,
        "reason": reason,
    }
    return json.dumps(vote, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def receipt_for(case_id: int, ballot_id: str, vote: str, nonce: str) -> str:
    """The receipt hash a juror can recompute from what they were shown and what they cast."""
    message = f"{RECEIPT_DOMAIN}\n{case_id}\n{ballot_id}\n{vote}\n{nonce}"
    return hashlib.sha256(message.encode()).hexdigest()


@dataclass(frozen=True)
class JuryReceipt:
    """What a juror is shown once after voting: enough to find and check their ballot."""

    case_id: int
    ballot_id: str
    nonce: str
    receipt: str
    vote: str  # the canonical JSON the receipt hashes


def seal_ballot(
    uow: UnitOfWork,
    *,
    account_id: int,
    case_id: int,
    jury_id: int,
    violation: bool,
    sanction: str | None,
    suspension_days: int | None,
    reason: str,
    note_text: str | None,
) -> JuryReceipt:
    """Store a ballot under a random id and receipt, with no link to the juror's seat."""
    ballot_id = uow.token_hex(BALLOT_ID_BYTES)
    nonce = uow.token_hex(NONCE_BYTES)
    vote = vote_text(violation, sanction, suspension_days, reason)
    receipt = receipt_for(case_id, ballot_id, vote, nonce)
    connection = uow.session.connection()
    region, age_band, leaning = connection.execute(_JUROR_STRATA, {"account_id": account_id}).one()
    connection.execute(
        insert(_BALLOTS),
        {
            "id": ballot_id,
            "jury_id": jury_id,
            "receipt": receipt,
            "violation": violation,
            "sanction": sanction,
            "suspension_days": suspension_days,
            "reason": reason,
            "note_text": note_text,
            "juror_region": region,
            "juror_age_band": age_band,
            "juror_leaning": leaning,
        },
    )
    return JuryReceipt(case_id, ballot_id, nonce, receipt, vote)


def seal_jury(uow: UnitOfWork, jury: Jury, case: Case) -> None:
    """At the close: count the strata, then erase them, the pseudonym key and the cast order."""
    jury.pseudonym_key = None
    connection = uow.session.connection()
    rows = [
        dict(row._mapping)
        for row in connection.execute(
            select(_BALLOTS).where(_BALLOTS.c.jury_id == jury.id).order_by(_BALLOTS.c.receipt)
        )
    ]
    if not rows:
        return
    _count_strata(uow, case.jurisdiction, rows)
    connection.execute(delete(_BALLOTS).where(_BALLOTS.c.jury_id == jury.id))
    for row in rows:
        for _dimension, column in STRATA:
            row[column] = None
    # Inserted in receipt order, in one statement: the new rows' physical order is that order.
    connection.execute(insert(_BALLOTS), rows)


def _count_strata(uow: UnitOfWork, jurisdiction: str, rows: list[dict[str, Any]]) -> None:
    """Add the jury's ballots to the jurisdiction's per-day stratum counters."""
    day = uow.now().astimezone(UTC).date()
    counts: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        for dimension, column in STRATA:
            tally = counts.setdefault((dimension, str(row[column] or UNDECLARED)), [0, 0])
            tally[0] += 1
            tally[1] += int(bool(row["violation"]))
    connection = uow.session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    table = _TALLIES
    statement = dialect.insert(table)
    # One statement for every counter (executemany), whatever the jury's size or its strata.
    # Two juries of one jurisdiction may close at once (PostgreSQL): add, never overwrite.
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["jurisdiction", "day", "dimension", "value"],
            set_={
                "ballots": table.c.ballots + statement.excluded.ballots,
                "violations": table.c.violations + statement.excluded.violations,
            },
        ),
        [
            {
                "jurisdiction": jurisdiction,
                "day": day,
                "dimension": dimension,
                "value": value,
                "ballots": ballots,
                "violations": violations,
            }
            for (dimension, value), (ballots, violations) in sorted(counts.items())
        ],
    )


@dataclass(frozen=True)
class JuryReceiptCheck:
    """Where a jury receipt was found, and the vote counted once the jury closed."""

    case_id: int
    closed: bool
    violation: bool | None = None
    sanction: str | None = None
    suspension_days: int | None = None
    reason: str | None = None


def check_receipt(uow: UnitOfWork, receipt: str) -> JuryReceiptCheck | None:
    """Find a jury ballot by its receipt (its vote is shown only once the jury closed)."""
    found = uow.session.execute(
        select(CaseBallot, Jury)
        .join(Jury, Jury.id == CaseBallot.jury_id)
        .where(CaseBallot.receipt == receipt.strip().lower())
    ).first()
    if found is None:
        return None
    ballot, jury = found
    if not jury.closed:
        return JuryReceiptCheck(jury.case_id, closed=False)
    return JuryReceiptCheck(
        jury.case_id,
        closed=True,
        violation=ballot.violation,
        sanction=ballot.sanction,
        suspension_days=ballot.suspension_days,
        reason=ballot.reason,
    )
