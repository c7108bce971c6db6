"""Rows edited behind the log's back are caught by `log verify` and shown on the pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select, text
from typer.testing import CliRunner

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cli import app as cli
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.http.deps import Services
from isegoria.log import audit
from isegoria.store.models import LogEntry, Proposal
from isegoria.store.models_cases import Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import build, report_request, run_jobs

runner = CliRunner()


@dataclass(frozen=True)
class Decided:
    """A world with one decided case and the indexes of the entries that recorded it."""

    uow: UnitOfWork
    case_id: int
    verdict_entry: int
    rule_entry: int
    tally_entry: int
    proposal_id: int


@pytest.fixture
def decided(
    app: FastAPI, clock: ManualClock, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Decided:
    services: Services = app.state.services
    uow = services.uow()
    world = build(uow, clock, services.signer, volunteers=10)
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - timedelta(hours=1)),
        )
    run_jobs(uow, clock, services.signer)
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case.id)).one()
        jurors = list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))
    for n, juror in enumerate(jurors):
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case.id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case.id,
                violation=n != 0,
                sanction="remove" if n != 0 else None,
                suspension_days=None,
                reason=f"Reason {n}.",
            )
    with uow.begin(readonly=True):

        def index(kind: str, subject: str) -> int:
            return uow.session.scalars(
                select(LogEntry.idx).where(LogEntry.kind == kind, LogEntry.subject_id == subject)
            ).one()

        proposal = uow.session.scalars(select(Proposal).where(Proposal.rule_id == "MX-1")).one()
        found = Decided(
            uow,
            case.id,
            index("VerdictReached", str(case.id)),
            index("RuleVersionEnacted", "MX-1"),
            index("ProposalTallied", str(proposal.id)),
            proposal.id,
        )
    # The CLI reads the same data directory (the log key) and database as the app.
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", settings.effective_database_url)
    return found


def _tamper(uow: UnitOfWork, edit: Callable[[Connection], object]) -> None:
    with uow.database.engine.begin() as connection:
        edit(connection)


def _audit(uow: UnitOfWork) -> list[audit.Mismatch]:
    with uow.begin(readonly=True):
        return list(audit.audit_state(uow.session))


def test_untouched_state_matches_the_log(decided: Decided, client: TestClient) -> None:
    assert _audit(decided.uow) == []
    result = runner.invoke(cli, ["log", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("log verified (local database)"), result.output
    assert "state audited: every rule version, tally, jury, jury seat, ballot, verdict" in (
        result.output
    )
    for page in (f"/cases/{decided.case_id}", "/law/rules/MX-1"):
        html = client.get(page).text
        assert "Reason 1." in html or "MX-1" in html
        assert "tamper-warning" not in html and "no longer matches" not in html


def _edit_verdict(c: Connection) -> None:
    c.execute(text("UPDATE cases SET outcome = 'no_violation', sanction = 'none'"))


def _edit_case_ballot(c: Connection) -> None:
    c.execute(text("UPDATE case_ballots SET violation = :v, reason = 'forged'"), {"v": False})


def _edit_proposal_tally(c: Connection) -> None:
    c.execute(text("UPDATE proposals SET yes = 0, no = 11 WHERE rule_id = 'MX-1'"))


def _edit_rule_text(c: Connection) -> None:
    c.execute(text("UPDATE rule_versions SET text = 'Do not criticise the government.'"))


def _delete_rule_version(c: Connection) -> None:
    c.execute(text("DELETE FROM rule_versions WHERE rule_id = 'MX-1'"))


@pytest.mark.parametrize(
    ("edit", "entry", "table", "field", "page"),
    [
        (_edit_verdict, "verdict_entry", "cases", "outcome", "case"),
        (_edit_case_ballot, "verdict_entry", "case_ballots", "violation", "case"),
        (_edit_proposal_tally, "tally_entry", "proposals", "yes", None),
        (_edit_rule_text, "rule_entry", "rule_versions", "text", "rule"),
        (_delete_rule_version, "rule_entry", "rule_versions", "*", None),
    ],
)
def test_an_edited_row_is_reported_with_its_entry(
    decided: Decided,
    client: TestClient,
    edit: Callable[[Connection], object],
    entry: str,
    table: str,
    field: str,
    page: str | None,
) -> None:
    index = getattr(decided, entry)
    _tamper(decided.uow, edit)
    found = _audit(decided.uow)
    assert any(m.entry_index == index and m.table == table and m.field == field for m in found), (
        found
    )
    result = runner.invoke(cli, ["log", "verify"])
    assert result.exit_code == 1, result.output
    # The verdict comes first; "log verified" never heads a report of tampered tables.
    assert result.output.startswith("error: log verification failed: "), result.output
    assert "log verified" not in result.output
    assert "the entries themselves check out (local database)" in result.output
    assert re.search(
        rf"state mismatch: {table} row [^\n]*, field {re.escape(field)}: stored [^\n]* but "
        rf"log entry #{index} recorded",
        result.output,
    ), result.output
    assert "no longer match the log entries" in result.output
    if page is not None:
        url = f"/cases/{decided.case_id}" if page == "case" else "/law/rules/MX-1"
        html = client.get(url).text
        assert 'id="tamper-warning"' in html
        assert f"This record no longer matches log entry #{index}" in html
        assert f'href="/log/{index}"' in html


def test_the_warning_is_translated(decided: Decided, client: TestClient) -> None:
    _tamper(decided.uow, _edit_rule_text)
    html = client.get("/law/rules/MX-1", headers={"Accept-Language": "es"}).text
    assert "ya no coincide con la entrada" in html, html[:2000]


def test_an_erased_verdict_and_a_forged_ballot_are_reported(decided: Decided) -> None:
    def erase(c: Connection) -> None:
        c.execute(text("UPDATE cases SET verdict = NULL, statement = NULL"))
        c.execute(
            text(
                "INSERT INTO ballots (id, proposal_id, choice, receipt) VALUES (:i, :p, 'no', :r)"
            ),
            {"i": "forged", "p": decided.proposal_id, "r": "f" * 64},
        )

    _tamper(decided.uow, erase)
    found = {(m.entry_index, m.table, m.field, m.stored) for m in _audit(decided.uow)}
    assert (decided.verdict_entry, "cases", "verdict", "(no row)") in found
    assert (decided.tally_entry, "ballots", "choice", '"no"') in found
