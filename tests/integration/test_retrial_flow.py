"""Consistency retrials on a real database: two disjoint juries, neither told, milder stands."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases import jury_verify
from isegoria.cases import views as cases_views
from isegoria.cases.common import get_case
from isegoria.cases.retrial import retrial_draw_value
from isegoria.clock import ManualClock
from isegoria.domain.constitution import ProposalKind
from isegoria.log import audit
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.log.signing import LogSigner
from isegoria.reports import instance as reports
from isegoria.reports.figures import Scope
from isegoria.store.models_cases import CaseBallot, DecisionRow, Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, pass_proposal, report_request, run_jobs

HOUR = timedelta(hours=1)


def _world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, share: str) -> CasesWorld:
    world = build(uow, clock, signer)
    if share != "0":
        pass_proposal(
            uow,
            clock,
            signer,
            voters=world.voters,
            kind=ProposalKind.CONSTITUTION,
            title="Try some cases twice",
            changes={"consistency_retrial_share": share},
        )
    return world


def _file(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld) -> int:
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow, platform_id=world.base.platform_id, request=report_request(uow.now() - HOUR)
        )
    run_jobs(uow, clock, signer)
    return case.id


def _jury(uow: UnitOfWork, case_id: int, stage: str) -> list[Juror]:
    with uow.begin(readonly=True):
        jury = uow.session.scalars(
            select(Jury).where(Jury.case_id == case_id, Jury.stage == stage)
        ).first()
        if jury is None:
            return []
        return list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))


def _serve(uow: UnitOfWork, case_id: int, jurors: list[Juror], violation: bool) -> None:
    for juror in jurors:
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=violation,
                sanction="remove" if violation else None,
                suspension_days=None,
                reason="A threat." if violation else "Hyperbole.",
            )


def _facts(uow: UnitOfWork, case_id: int, kind: str) -> list[dict[str, object]]:
    with uow.begin(readonly=True):
        rows = log_read.entries_about(uow.session, "case", str(case_id))
        return [decode_entry(r.payload).facts for r in rows if r.kind == kind]


@pytest.fixture
def paired(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> tuple[CasesWorld, int]:
    world = _world(uow, clock, signer, "1")  # every case is tried twice
    return world, _file(uow, clock, signer, world)


def test_two_disjoint_juries_are_drawn_from_public_inputs(
    uow: UnitOfWork, paired: tuple[CasesWorld, int]
) -> None:
    _world_, case_id = paired
    first, second = _jury(uow, case_id, "first"), _jury(uow, case_id, "retrial")
    assert len(first) == len(second) == 5
    assert not {j.account_id for j in first} & {j.account_id for j in second}
    draws = _facts(uow, case_id, "JuryDrawn")
    assert [d["stage"] for d in draws] == ["first", "retrial"]
    assert draws[0]["seed_root"] == draws[1]["seed_root"]  # the same signed checkpoint
    assert retrial_draw_value(bytes.fromhex(str(draws[0]["seed"]))) < 1


def test_retrial_jurors_are_not_told(uow: UnitOfWork, paired: tuple[CasesWorld, int]) -> None:
    _world_, case_id = paired
    juror = _jury(uow, case_id, "retrial")[0]
    with uow.begin(readonly=True):
        [seat] = [
            s for s in cases_views.summons_for(uow, juror.account_id) if s["case_id"] == case_id
        ]
    assert seat["stage"] == "first"
    with uow.begin():
        cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
    with uow.begin(readonly=True):
        case_file = cases_views.case_file(uow, juror.account_id, case_id)
    assert case_file["stage"] == "first" and "retrial" not in json.dumps(case_file, default=str)


def test_disagreement_settles_on_the_milder_verdict(
    uow: UnitOfWork, paired: tuple[CasesWorld, int]
) -> None:
    _world_, case_id = paired
    _serve(uow, case_id, _jury(uow, case_id, "first"), violation=True)
    with uow.begin(readonly=True):
        assert get_case(uow, case_id).outcome is None  # waits for the other jury
    assert _facts(uow, case_id, "VerdictReached") == []
    _serve(uow, case_id, _jury(uow, case_id, "retrial"), violation=False)
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        assert (case.outcome, case.sanction) == ("no_violation", "none")
        kinds = [
            d.kind
            for d in uow.session.scalars(select(DecisionRow).where(DecisionRow.case_id == case_id))
        ]
    assert kinds == ["no_action"]
    [settled] = _facts(uow, case_id, "ConsistencyRetrialSettled")
    assert settled["stands"] == "retrial"
    assert settled["first"]["outcome"] == "violation"  # type: ignore[index]
    assert settled["retrial"]["outcome"] == "no_violation"  # type: ignore[index]
    [verdict] = _facts(uow, case_id, "VerdictReached")
    assert verdict["outcome"] == "no_violation" and verdict["stage"] == "first"
    with uow.begin(readonly=True):
        report = reports.transparency_report(uow, Scope())
    assert report["consistency"]["pairs"] == 1
    [row] = report["consistency"]["violation"]
    assert (row["rule"], row["pairs"], row["raw_agreement"]) == ("MX-1", 1, 0.0)
    assert report["cases"]["no_violation"] == 1 and report["sanctions"]["total"] == 0


def test_agreement_keeps_the_common_verdict(
    uow: UnitOfWork, paired: tuple[CasesWorld, int]
) -> None:
    _world_, case_id = paired
    _serve(uow, case_id, _jury(uow, case_id, "retrial"), violation=True)
    _serve(uow, case_id, _jury(uow, case_id, "first"), violation=True)
    with uow.begin(readonly=True):
        assert get_case(uow, case_id).outcome == "violation"
    [settled] = _facts(uow, case_id, "ConsistencyRetrialSettled")
    assert settled["stands"] == "first"


def test_without_a_share_no_case_is_tried_twice(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    world = _world(uow, clock, signer, "0")
    for _ in range(3):
        case_id = _file(uow, clock, signer, world)
        assert len(_jury(uow, case_id, "first")) == 5
        assert _jury(uow, case_id, "retrial") == []


def test_replacements_never_come_from_the_other_jury(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, paired: tuple[CasesWorld, int]
) -> None:
    _world_, case_id = paired
    for juror in _jury(uow, case_id, "first"):
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=False)
    run_jobs(uow, clock, signer)  # the replacement job
    first = _jury(uow, case_id, "first")
    retrial = {j.account_id for j in _jury(uow, case_id, "retrial")}
    assert len(first) == 10  # five decliners and their five replacements
    assert not {j.account_id for j in first} & retrial
    [replaced] = _facts(uow, case_id, "JurorsReplaced")
    assert len(replaced["excluded"]) == 5  # type: ignore[arg-type]


def test_the_retrial_draw_can_be_rerun_from_public_data(
    uow: UnitOfWork, signer: LogSigner, paired: tuple[CasesWorld, int]
) -> None:
    _world_, case_id = paired
    with uow.begin(readonly=True):
        record = cases_views.draw_record(uow, case_id, "retrial")
        assert record is not None
        head = log_read.checkpoint_at(uow.session, record["seed_checkpoint_size"])
        assert head is not None
        note = head.note
    [drawn] = [d for d in _facts(uow, case_id, "JuryDrawn") if d["stage"] == "retrial"]
    evidence = jury_verify.DrawEvidence(case_id, "retrial", record, drawn, note)
    result = jury_verify.verify_draw(evidence, signer.verifier_key)
    assert sorted(result.jurors) == sorted(j.pseudonym for j in _jury(uow, case_id, "retrial"))


@pytest.mark.parametrize("retrial_stands", [True, False])
def test_a_settled_retrial_audits_clean_whichever_jury_stands(
    uow: UnitOfWork, client: TestClient, paired: tuple[CasesWorld, int], retrial_stands: bool
) -> None:
    """The standing verdict lists its own jury's ballots; neither jury's rows look tampered."""
    _world_, case_id = paired
    _serve(uow, case_id, _jury(uow, case_id, "first"), violation=True)
    _serve(uow, case_id, _jury(uow, case_id, "retrial"), violation=not retrial_stands)
    [settled] = _facts(uow, case_id, "ConsistencyRetrialSettled")
    assert settled["stands"] == ("retrial" if retrial_stands else "first")
    with uow.begin(readonly=True):
        assert list(audit.audit_state(uow.session)) == []
        assert audit.case_mismatches(uow.session, case_id) == []
    html = client.get(f"/cases/{case_id}").text
    assert "tamper-warning" not in html and "no longer matches" not in html


def test_a_changed_ballot_of_the_jury_that_did_not_stand_is_found(
    uow: UnitOfWork, paired: tuple[CasesWorld, int]
) -> None:
    """Both juries' ballots are covered: the overruled jury's by the settlement entry."""
    _world_, case_id = paired
    _serve(uow, case_id, _jury(uow, case_id, "first"), violation=True)
    _serve(uow, case_id, _jury(uow, case_id, "retrial"), violation=False)
    first = _jury(uow, case_id, "first")[0]
    with uow.database.engine.begin() as connection:
        receipt = connection.execute(
            select(CaseBallot.receipt)
            .where(CaseBallot.jury_id == first.jury_id)
            .order_by(CaseBallot.receipt)
            .limit(1)
        ).scalar_one()
        connection.execute(
            update(CaseBallot).where(CaseBallot.receipt == receipt).values(reason="forged")
        )
    with uow.begin(readonly=True):
        found = list(audit.audit_state(uow.session))
    assert [(m.table, m.field, m.stored) for m in found] == [
        ("case_ballots", "reason", '"forged"')
    ], found
    assert f"{case_id} (first) ballot {receipt[:12]}" == found[0].row
