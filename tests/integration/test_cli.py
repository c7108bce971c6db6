"""The command line against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from isegoria.app import create_app
from isegoria.cli import app
from isegoria.config import Settings
from isegoria.store import migrate
from tests.support.demo_world import DemoCopy

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(data))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    return data


def test_config_masks_secrets(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", "postgresql+psycopg://app:s3cret-pw@db/isegoria")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert "s3cret-pw" not in result.output
    assert "app:***@db" in result.output
    assert "isegoria.localhost/log+" in result.output  # the log's public verifier key
    assert "PRIVATE" not in result.output


def test_config_rejects_a_bad_port(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISEGORIA_PORT", "99999")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert "port" in result.output.lower()


def test_db_current_reports_head(env: Path) -> None:
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0, result.output
    assert f"current: {migrate.head_revision()}" in result.output


def test_citizens_add_and_list(env: Path) -> None:
    assert runner.invoke(app, ["jurisdictions", "add", "MX", "--name", "Mexico"]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "citizens",
            "add",
            "lupita",
            "--name",
            "Lupita",
            "--jurisdiction",
            "MX",
            "--age-band",
            "30-44",
            "--jury",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["citizens", "list"])
    assert "lupita" in listed.output and "30-44" in listed.output
    assert "1 of 1 citizens" in listed.output


def test_citizens_add_refuses_unknown_jurisdiction(env: Path) -> None:
    result = runner.invoke(
        app,
        ["citizens", "add", "lupita", "--name", "L", "--jurisdiction", "XX", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 1
    assert "no jurisdiction with code 'XX'" in result.output
    assert "lupita" not in runner.invoke(app, ["citizens", "list"]).output


def test_citizens_add_refuses_a_short_or_common_password(env: Path) -> None:
    assert runner.invoke(app, ["jurisdictions", "add", "MX", "--name", "Mexico"]).exit_code == 0
    command = ["citizens", "add", "lupita", "--name", "L", "--jurisdiction", "MX"]
    short = runner.invoke(app, [*command, "--password-stdin"], input="eleven char\n")
    assert short.exit_code == 1
    assert "a password is 12 to 256 characters" in short.output
    common = runner.invoke(app, [*command, "--password-stdin"], input="Password1234\n")
    assert common.exit_code == 1
    assert "commonly used and breached" in common.output
    assert "lupita" not in runner.invoke(app, ["citizens", "list"]).output


def test_platform_add_list_and_rotate(env: Path) -> None:
    added = runner.invoke(app, ["platforms", "add", "Forum", "--scopes", "reports:write"])
    assert added.exit_code == 0, added.output
    first_key = next(w for w in added.output.split() if w.startswith("isg_"))
    rotated = runner.invoke(app, ["platforms", "rotate-key", "Forum"])
    assert rotated.exit_code == 0, rotated.output
    second_key = next(w for w in rotated.output.split() if w.startswith("isg_"))
    assert first_key != second_key
    listed = runner.invoke(app, ["platforms", "list"])
    assert second_key.split("_")[1] in listed.output
    assert first_key.split("_")[1] not in listed.output  # the old key is revoked


def test_platform_add_names_an_unknown_scope(env: Path) -> None:
    result = runner.invoke(app, ["platforms", "add", "Forum", "--scopes", "everything"])
    assert result.exit_code == 2
    assert "unknown scope 'everything'" in result.output


def test_demo_builds_once_and_reuses(
    demo_copy: DemoCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite's one build of this engine's demo world (tests/support/demo_world.py).
    built = demo_copy.built
    logins = json.loads((built.data_dir / "demo-logins.json").read_text())
    assert set(logins["people"]) == {"ana", "marie", "jonas", "sam", "operator", "auditor"}
    assert (built.data_dir / "demo-logins.json").stat().st_mode & 0o077 == 0
    assert "demo keys of seed 0 (DEMO KEY" in built.output
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(demo_copy.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", demo_copy.database_url)
    monkeypatch.chdir(tmp_path)
    shown = runner.invoke(app, ["config"])
    assert "demo_keys" in shown.output and "seed 0: DEMO KEY" in shown.output
    with TestClient(create_app(Settings())) as client:
        assert "demo key of seed 0" in client.get("/log").text
    second = runner.invoke(app, ["demo", "--no-serve"])
    assert "reusing the demo world" in second.output
    assert logins["people"]["ana"] in second.output
    listed = runner.invoke(app, ["citizens", "list", "--limit", "1"])
    assert "of 304 citizens" in listed.output  # 300 synthetic + 4 named
