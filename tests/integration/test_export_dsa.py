"""`isegoria export dsa`: decided cases become valid DSA Transparency Database records."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from isegoria.cases import intake as cases_intake
from isegoria.cli import app
from isegoria.clock import ManualClock
from isegoria.domain.decisions import Decision
from isegoria.integrations.dsa_schema import validate_record
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import DecisionRow
from isegoria.unit_of_work import UnitOfWork
from tests.integration.test_cases_flow import _jurors, _serve
from tests.support.cases_world import build, report_request, run_jobs


def _decide(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    platform: int,
    jurisdictions: tuple[str, ...],
    violation: bool,
) -> None:
    request = report_request(uow.now())
    request = replace(request, snapshot=replace(request.snapshot, jurisdictions=jurisdictions))
    with uow.begin():
        case, _ = cases_intake.file_report(uow, platform_id=platform, request=request)
    run_jobs(uow, clock, signer)
    _serve(uow, case.id, _jurors(uow, case.id, "first"), violation=violation)


def test_export_writes_valid_records_and_says_what_it_skipped(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = build(uow, clock, signer, volunteers=30)
    day = clock.now().date().isoformat()
    _decide(uow, clock, signer, world.base.platform_id, ("MX", "FR"), violation=True)
    _decide(uow, clock, signer, world.base.platform_id, ("MX",), violation=True)
    _decide(uow, clock, signer, world.base.platform_id, ("MX", "FR"), violation=False)
    with uow.begin(readonly=True):
        bodies = [
            json.loads(r.body) for r in uow.session.query(DecisionRow).order_by(DecisionRow.id)
        ]
    assert Decision.from_dict(bodies[0]).to_dict() == bodies[0]  # the body reads back exactly
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "dsa"
    result = CliRunner().invoke(
        app, ["export", "dsa", "--from", day, "--to", "2100-01-01", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "1 statements exported" in result.output and "1 skipped" in result.output
    assert "no EEA country" in result.output
    batch = json.loads((out / "statements-0001.json").read_text())
    records = batch["statements"] if isinstance(batch, dict) else batch
    assert len(records) == 1 and validate_record(records[0]) == []
    assert records[0]["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    rows = list(csv.DictReader(io.StringIO((out / "statements.csv").read_text())))
    assert len(rows) == 1


def test_bad_dates_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["export", "dsa", "--from", "yesterday", "--to", "2026-01-01", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "--from must be a date" in result.output
