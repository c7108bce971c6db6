"""A case from report to final decision, through the services, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases.common import get_case
from isegoria.clock import ManualClock
from isegoria.decisions import lifecycle as cases_decisions
from isegoria.domain.decisions import DecisionKind
from isegoria.errors import Conflict, Forbidden, InvalidInput, NotFound
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import DecisionRow, Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs

HOUR = timedelta(hours=1)


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


def _file(uow: UnitOfWork, world: CasesWorld, **kwargs: object) -> int:
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - HOUR, **kwargs),  # type: ignore[arg-type]
        )
        return case.id


def _jurors(uow: UnitOfWork, case_id: int, stage: str) -> list[Juror]:
    with uow.begin(readonly=True):
        jury = uow.session.scalars(
            select(Jury).where(Jury.case_id == case_id, Jury.stage == stage)
        ).one()
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
                reason="A threat." if violation else "Hyperbole, not a threat.",
            )


def _kinds(uow: UnitOfWork, case_id: int) -> list[str]:
    with uow.begin(readonly=True):
        return [e.kind for e in log_read.entries_about(uow.session, "case", str(case_id))]


def test_report_to_verdict_to_appeal_overturned(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world)
    assert run_jobs(uow, clock, signer).done >= 1
    first = _jurors(uow, case_id, "first")
    assert len(first) == 5 and all(j.status == "summoned" for j in first)
    _serve(uow, case_id, first, violation=True)
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        assert (case.status, case.outcome, case.sanction) == ("decided", "violation", "remove")
        statement = json.loads(case.statement or "{}")
        assert statement["rule_id"] == "MX-1" and statement["automated_decision"] is False
        # Written in the language of the post (Spanish here), which its author reads.
        assert statement["tally"]["violation"] == 5 and statement["language"] == "es"
        assert "apelar" in statement["redress"] and "(s)" not in statement["facts"]
        imposed = uow.session.scalars(
            select(DecisionRow).where(DecisionRow.case_id == case_id)
        ).one()
        assert imposed.kind == DecisionKind.SANCTION_IMPOSED.value
    # The author links their platform account and appeals.
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym="@troll"
        )
    author = world.volunteers[-1]
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=author, code=code)
    with uow.begin():
        cases_appeal.file_appeal(
            uow, account_id=author, case_id=case_id, statement="It was a quote."
        )
    run_jobs(uow, clock, signer)
    appeal = _jurors(uow, case_id, "appeal")
    assert len(appeal) == 11
    assert not {j.account_id for j in appeal} & {j.account_id for j in first}
    assert author not in {j.account_id for j in appeal}
    _serve(uow, case_id, appeal, violation=False)
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        assert (case.status, case.appeal_outcome, case.appeal_sanction) == (
            "final",
            "no_violation",
            "none",
        )
        rows = list(
            uow.session.scalars(
                select(DecisionRow).where(DecisionRow.case_id == case_id).order_by(DecisionRow.id)
            )
        )
        assert [r.kind for r in rows] == ["sanction_imposed", "sanction_lifted"]
        assert json.loads(rows[1].body)["restores"] == rows[0].id
    kinds = _kinds(uow, case_id)
    assert kinds[0] == "CaseOpened" and kinds[1] == "JuryDrawn"
    assert kinds.count("VerdictReached") == 2
    assert {"SanctionImposed", "AppealFiled", "SanctionLifted", "CaseClosed"} <= set(kinds)


def test_second_report_joins_the_case(uow: UnitOfWork, world: CasesWorld) -> None:
    first = _file(uow, world, content_id="post-join")
    second = _file(uow, world, content_id="post-join", reporter="@other")
    assert first == second
    assert _kinds(uow, first) == ["CaseOpened", "ReportFiled"]


def test_rule_not_in_force_when_posted_is_refused(uow: UnitOfWork, world: CasesWorld) -> None:
    with pytest.raises(InvalidInput, match="MX-1 was not in force") as error:
        with uow.begin():
            cases_intake.file_report(
                uow,
                platform_id=world.base.platform_id,
                request=report_request(world.rule_effective - timedelta(seconds=1)),
            )
    assert error.value.field == "rule"
    # One second after the rule took effect, the same post can be reported.
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(world.rule_effective + timedelta(seconds=1)),
        )
    assert case.rule_version == 1


def test_content_outside_the_rules_jurisdiction_is_refused(
    uow: UnitOfWork, world: CasesWorld
) -> None:
    request = report_request(uow.now() - HOUR)
    request = type(request)(
        **{
            **request.__dict__,
            "snapshot": type(request.snapshot)(
                **{**request.snapshot.__dict__, "jurisdictions": ("FR",)}
            ),
        }
    )
    with pytest.raises(InvalidInput, match="does not apply to content posted in FR"):
        with uow.begin():
            cases_intake.file_report(uow, platform_id=world.base.platform_id, request=request)


def test_only_jurors_vote_once_before_the_deadline(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world)
    run_jobs(uow, clock, signer)
    jurors = _jurors(uow, case_id, "first")
    outsider = next(v for v in world.volunteers if v not in {j.account_id for j in jurors})
    with pytest.raises(NotFound, match="no seat"):
        with uow.begin():
            cases_jury.reply(uow, account_id=outsider, case_id=case_id, accept=True)
    juror = jurors[0]
    with pytest.raises(Conflict, match="accept the summons"):
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=False,
                sanction=None,
                suspension_days=None,
                reason="x",
            )
    _serve(uow, case_id, [juror], violation=False)
    with pytest.raises(Conflict, match="already voted"):
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=True,
                sanction="remove",
                suspension_days=None,
                reason="changed my mind",
            )
    with pytest.raises(Forbidden, match="only the author"):
        with uow.begin():
            cases_appeal.submit_statement(uow, account_id=outsider, case_id=case_id, text="hi")


def test_a_ballot_above_the_cap_is_refused(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world)
    run_jobs(uow, clock, signer)
    juror = _jurors(uow, case_id, "first")[0]
    with uow.begin():
        cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
    with pytest.raises(InvalidInput):
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=True,
                sanction="ban",
                suspension_days=None,
                reason="ban them",
            )


def test_deadline_closes_the_jury_and_too_few_ballots_lapse(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world)
    run_jobs(uow, clock, signer)
    jurors = _jurors(uow, case_id, "first")
    _serve(uow, case_id, jurors[:2], violation=True)  # quorum is 3
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
    clock.set(jury.ballot_deadline + timedelta(seconds=1))
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        assert (case.outcome, case.sanction) == ("lapsed", "none")


def test_decliners_are_replaced_from_the_same_lottery(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world)
    run_jobs(uow, clock, signer)
    jurors = _jurors(uow, case_id, "first")
    with uow.begin():
        cases_jury.reply(uow, account_id=jurors[0].account_id, case_id=case_id, accept=False)
    run_jobs(uow, clock, signer)
    after = _jurors(uow, case_id, "first")
    assert len(after) == 6
    replacement = next(j for j in after if j.replaces == jurors[0].id)
    assert replacement.account_id not in {j.account_id for j in jurors}
    assert "JurorsReplaced" in _kinds(uow, case_id)


def test_interim_measure_lapses_unless_upheld(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world, interim=True)
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        assert case.interim_state == "active" and case.interim_until is not None
    clock.set(case.interim_until + timedelta(seconds=1))
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        assert get_case(uow, case_id).interim_state == "lapsed"
        kinds = [
            r.kind
            for r in uow.session.scalars(select(DecisionRow).where(DecisionRow.case_id == case_id))
        ]
    assert kinds == ["interim_lapsed"]


def test_platform_confirms_a_decision_once(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world)
    run_jobs(uow, clock, signer)
    _serve(uow, case_id, _jurors(uow, case_id, "first"), violation=True)
    with uow.begin(readonly=True):
        pending = cases_decisions.pending_for(uow, world.base.platform_id)
    assert len(pending) == 1
    with uow.begin():
        cases_decisions.confirm(
            uow,
            platform_id=world.base.platform_id,
            decision_id=pending[0].id,
            applied=True,
            reason=None,
        )
    with pytest.raises(Conflict, match="already confirmed"):
        with uow.begin():
            cases_decisions.confirm(
                uow,
                platform_id=world.base.platform_id,
                decision_id=pending[0].id,
                applied=True,
                reason=None,
            )
    with uow.begin(readonly=True):
        entry = log_read.entries_about(uow.session, "decision", str(pending[0].id))[0]
        assert decode_entry(entry.payload).facts["on_time"] is True
