"""``isegoria rules`` and ``isegoria worker`` against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from isegoria.cli import app as cli_app
from isegoria.clock import ManualClock
from isegoria.clockfile import CLOCK_FILE_ENV
from isegoria.http.deps import Services
from isegoria.law.proposals import get_proposal
from tests.support.world import LawWorld, World, law_world, seed

runner = CliRunner()


@pytest.fixture
def law(
    app: FastAPI, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> LawWorld:
    services: Services = app.state.services
    assert isinstance(services.clock, ManualClock)
    world: World = seed(services.uow(), services.box)
    assert world.citizen == "ana"
    made = law_world(services.uow(), services.clock)
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    clock_file = tmp_path / "clock"
    clock_file.write_text(services.clock.now().isoformat())
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock_file))
    return made


def test_export_json_as_the_law_stood_on_a_date(law: LawWorld) -> None:
    now = runner.invoke(cli_app, ["rules", "export", "--jurisdiction", "MX"])
    assert now.exit_code == 0, now.output
    document = json.loads(now.output)
    assert [r["rule_id"] for r in document["rules"]] == ["MX-1"]
    assert document["rules"][0]["text"] == "Do not threaten people."
    before = runner.invoke(
        cli_app, ["rules", "export", "--jurisdiction", "MX", "--at", "2026-01-20"]
    )
    assert json.loads(before.output)["rules"] == []


def test_export_markdown_and_list_and_show(law: LawWorld) -> None:
    markdown = runner.invoke(cli_app, ["rules", "export", "-j", "MX", "--format", "markdown"])
    assert markdown.exit_code == 0, markdown.output
    assert markdown.output.startswith("# The law in MX at ")
    assert "## MX-1 v1: No credible threats" in markdown.output
    listed = runner.invoke(cli_app, ["rules", "list", "-j", "MX"])
    assert "MX-1 v1" in listed.output and "1 rules in force" in listed.output
    shown = runner.invoke(cli_app, ["rules", "show", "MX-1"])
    assert "Do not threaten people." in shown.output


def test_bad_input_is_refused_with_a_clear_error(law: LawWorld) -> None:
    unknown = runner.invoke(cli_app, ["rules", "list", "-j", "XX"])
    assert unknown.exit_code == 1 and "no jurisdiction with code 'XX'" in unknown.output
    naive = runner.invoke(cli_app, ["rules", "list", "-j", "MX", "--at", "2026-01-20T10:00"])
    assert naive.exit_code == 2 and "timezone" in naive.output
    missing = runner.invoke(cli_app, ["rules", "show", "MX-9"])
    assert missing.exit_code == 1 and "no rule MX-9" in missing.output


def test_worker_once_counts_a_vote_when_its_time_has_come(
    app: FastAPI, law: LawWorld, tmp_path: Path
) -> None:
    services: Services = app.state.services
    idle = runner.invoke(cli_app, ["worker", "--once"])
    assert idle.exit_code == 0 and "0 jobs done" in idle.output
    uow = services.uow()
    with uow.begin(readonly=True):
        closes = get_proposal(uow, law.voting_id).voting_closes_at.isoformat()
    (tmp_path / "clock").write_text(closes)
    done = runner.invoke(cli_app, ["worker", "--once"])
    assert done.exit_code == 0 and "1 jobs done" in done.output
    listed = runner.invoke(cli_app, ["rules", "list", "-j", "MX"])
    assert "MX-1 v2" in listed.output
