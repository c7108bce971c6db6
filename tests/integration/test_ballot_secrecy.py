"""Secret jury ballots: once a jury closes, nothing stored links a ballot to a person.

The juror keeps a receipt that finds their ballot; the verdict, the state audit and the
log verify as before. Both databases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, select, text, update

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases import secrecy as cases_secrecy
from isegoria.cases.common import get_case, juror_pseudonyms
from isegoria.cases.secrecy import JuryReceipt, receipt_for
from isegoria.clock import ManualClock
from isegoria.log import audit
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.log.signing import LogSigner
from isegoria.log.verify import verify_database
from isegoria.store.models import Account, Proposal
from isegoria.store.models_cases import CaseBallot, Juror, JurorStratumTally, Jury
from isegoria.store.schema import metadata
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs

HOUR = timedelta(hours=1)
# Columns that name a person: an account, a juror's seat.
PERSON_TABLES = {"accounts", "jurors"}


@dataclass
class Closed:
    """A case whose first jury has voted and closed, with what each juror was given."""

    case_id: int
    jurors: list[Juror]
    receipts: dict[int, JuryReceipt]  # by account
    reasons: dict[int, str]  # by account


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


def _open_case(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld) -> int:
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - HOUR),
        )
    run_jobs(uow, clock, signer)
    return case.id


def _seats(uow: UnitOfWork, case_id: int) -> list[Juror]:
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        return list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))


def _vote(uow: UnitOfWork, case_id: int, juror: Juror, n: int) -> tuple[JuryReceipt, str]:
    reason = f"Ballot reason number {n} (kept apart from any name)."
    with uow.begin():
        cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
    with uow.begin():
        receipt = cases_ballots.cast_ballot(
            uow,
            account_id=juror.account_id,
            case_id=case_id,
            violation=n != 1,  # four of five: a clear majority for a note
            sanction="note" if n != 1 else None,
            suspension_days=None,
            reason=reason,
            note_text=f"Context written by ballot {n}." if n != 1 else None,
        )
    return receipt, reason


@pytest.fixture
def closed(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld) -> Closed:
    case_id = _open_case(uow, clock, signer, world)
    jurors = _seats(uow, case_id)
    receipts, reasons = {}, {}
    for n, juror in enumerate(jurors):
        receipts[juror.account_id], reasons[juror.account_id] = _vote(uow, case_id, juror, n)
    with uow.begin(readonly=True):
        assert get_case(uow, case_id).status == "decided"
    return Closed(case_id, jurors, receipts, reasons)


def _all_rows(uow: UnitOfWork) -> dict[str, list[dict[str, Any]]]:
    with uow.begin(readonly=True):
        return {
            table.name: [dict(r._mapping) for r in uow.session.execute(select(table))]
            for table in metadata.sorted_tables
        }


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _person_columns(table: Table) -> set[str]:
    """The columns of ``table`` that point at an account or a juror's seat."""
    return {fk.parent.name for fk in table.foreign_keys if fk.column.table.name in PERSON_TABLES}


def test_after_close_no_row_of_any_table_links_a_ballot_to_a_person(
    uow: UnitOfWork, closed: Closed
) -> None:
    ballot_marks = {r.receipt for r in closed.receipts.values()}
    ballot_marks |= {r.ballot_id for r in closed.receipts.values()}
    ballot_marks |= set(closed.reasons.values())
    pseudonyms = {j.pseudonym for j in closed.jurors}
    accounts = {j.account_id for j in closed.jurors}
    tables = {t.name: t for t in metadata.sorted_tables}
    carrying = []
    for name, rows in _all_rows(uow).items():
        person_columns = _person_columns(tables[name])
        for row in rows:
            values = " ".join(_text(v) for v in row.values())
            if not any(mark in values for mark in ballot_marks):
                continue
            carrying.append(name)
            assert name not in PERSON_TABLES, row
            for column in person_columns:
                assert row[column] not in accounts, (name, column)
            assert not any(p in values for p in pseudonyms), (name, "names a juror")
            assert not {"account_id", "juror_id"} & set(row), (name, "has a person column")
    # The ballots themselves and the verdict's log entry carry them; nothing else does.
    assert "case_ballots" in carrying and "log_entries" in carrying


def test_after_close_the_ballot_rows_hold_no_strata_no_time_and_no_cast_order(
    uow: UnitOfWork, closed: Closed
) -> None:
    with uow.begin(readonly=True):
        rows = list(uow.session.scalars(select(CaseBallot)))
        assert len(rows) == len(closed.jurors)
        assert all((b.juror_region, b.juror_age_band, b.juror_leaning) == (None,) * 3 for b in rows)
        # The order the database returns them in without ORDER BY (SQLite's rowids,
        # PostgreSQL's heap) is the receipt order, not the order they were cast in.
        stored = list(uow.session.scalars(text("SELECT receipt FROM case_ballots")))
        assert stored == sorted(stored)
        cast_order = [closed.receipts[j.account_id].receipt for j in closed.jurors]
        assert stored == sorted(cast_order)
        # The strata survive only as per-day counts over the jurisdiction's closed juries.
        tallies = list(uow.session.scalars(select(JurorStratumTally)))
        by_dimension: dict[str, int] = {}
        for t in tallies:
            by_dimension[t.dimension] = by_dimension.get(t.dimension, 0) + t.ballots
        assert by_dimension == dict.fromkeys(("region", "age_band", "leaning"), len(rows))


def test_after_close_the_instance_secret_no_longer_names_the_pool(
    uow: UnitOfWork, closed: Closed
) -> None:
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == closed.case_id)).one()
        assert jury.pseudonym_key is None  # erased with the close
        pool = json.loads(jury.pool)
        names = {m for p in pool["profiles"] for m in p["members"]}
        accounts = list(uow.session.scalars(select(Account.id)))
    # Whoever holds the instance secret tries every account: no pool name comes out.
    guessed = juror_pseudonyms(uow.secret, closed.case_id, jury.stage, accounts)
    assert not names & set(guessed)


def test_the_jurors_receipt_finds_their_ballot(uow: UnitOfWork, closed: Closed) -> None:
    with uow.begin(readonly=True):
        entries = log_read.entries_about(uow.session, "case", str(closed.case_id))
        verdict = next(e for e in entries if e.kind == "VerdictReached")
        published = decode_entry(verdict.payload).facts["ballots"]
    assert [b["receipt"] for b in published] == sorted(b["receipt"] for b in published)
    assert all("juror" not in b for b in published)
    for account, receipt in closed.receipts.items():
        # The juror recomputes the receipt from what they were shown and what they cast.
        assert receipt_for(closed.case_id, receipt.ballot_id, receipt.vote, receipt.nonce) == (
            receipt.receipt
        )
        vote = json.loads(receipt.vote)
        assert vote["reason"] == closed.reasons[account]
        mine = next(b for b in published if b["receipt"] == receipt.receipt)
        assert {k: mine[k] for k in vote} == vote  # counted as cast
        with uow.begin(readonly=True):
            found = cases_secrecy.check_receipt(uow, receipt.receipt.upper())
        assert found is not None and found.closed and found.reason == closed.reasons[account]
    with uow.begin(readonly=True):
        assert cases_secrecy.check_receipt(uow, "0" * 64) is None


def test_before_the_close_a_receipt_shows_no_vote(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _open_case(uow, clock, signer, world)
    juror = _seats(uow, case_id)[0]
    receipt, _reason = _vote(uow, case_id, juror, 1)
    with uow.begin(readonly=True):
        found = cases_secrecy.check_receipt(uow, receipt.receipt)
        assert found is not None and not found.closed and found.reason is None
        # Still open: the ballot carries its juror's strata for the stratum counters.
        ballot = uow.session.scalars(select(CaseBallot)).one()
        assert ballot.juror_region is not None
        assert "juror_id" not in CaseBallot.__table__.c


def test_the_verdict_audit_and_log_verify_still_pass(
    uow: UnitOfWork, signer: LogSigner, closed: Closed
) -> None:
    with uow.begin(readonly=True):
        assert list(audit.audit_state(uow.session)) == []
        case = get_case(uow, closed.case_id)
        statement = json.loads(case.statement or "{}")
    assert statement["tally"]["cast"] == len(closed.jurors)
    verify_database(uow.database, signer.verifier_key)  # raises on any fault
    # A ballot changed after the close is caught, named by its receipt.
    some = sorted(r.receipt for r in closed.receipts.values())[0]
    with uow.database.engine.begin() as connection:
        connection.execute(
            update(CaseBallot).where(CaseBallot.receipt == some).values(reason="forged")
        )
    with uow.begin(readonly=True):
        found = list(audit.audit_state(uow.session))
    assert [(m.table, m.field) for m in found] == [("case_ballots", "reason")]
    assert some[:12] in found[0].row


def test_the_jury_note_comes_from_a_ballot_not_a_seat(uow: UnitOfWork, closed: Closed) -> None:
    with uow.begin(readonly=True):
        case = get_case(uow, closed.case_id)
        notes = list(
            uow.session.scalars(
                text("SELECT text FROM notes WHERE case_id = :c"), {"c": closed.case_id}
            )
        )
    assert case.sanction == "note"
    assert len(notes) == 1 and notes[0].startswith("Context written by ballot ")


def test_law_ballots_are_stored_in_receipt_order_after_the_tally(
    uow: UnitOfWork, world: CasesWorld
) -> None:
    with uow.begin(readonly=True):
        counted = list(
            uow.session.scalars(select(Proposal.id).where(Proposal.tallied_at.is_not(None)))
        )
        assert counted
        rows = uow.session.execute(text("SELECT proposal_id, receipt FROM ballots")).all()
    assert len(rows) == len({r for _p, r in rows}) > 0
    by_proposal: dict[int, list[str]] = {}
    for proposal, receipt in rows:
        by_proposal.setdefault(proposal, []).append(receipt)
    assert set(by_proposal) <= set(counted)
    for receipts in by_proposal.values():  # each tally rewrote its rows in receipt order
        assert receipts == sorted(receipts)


def test_the_receipt_page_finds_a_jury_ballot(client: TestClient, closed: Closed) -> None:
    receipt = next(iter(closed.receipts.values())).receipt
    page = client.get("/receipts", params={"receipt": receipt})
    assert page.status_code == 200
    assert f"published in the verdict of case {closed.case_id}" in page.text
    missing = client.get("/receipts", params={"receipt": "f" * 64})
    assert "No ballot has this receipt" in missing.text
