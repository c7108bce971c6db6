"""Issue 18 §4: every user error is one or two lines with a distinct exit code, no traceback."""

from __future__ import annotations

import logging.config
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from isegoria.cases.jury_verify import JuryVerificationError, fetch_evidence
from isegoria.cli import app, boot
from isegoria.cli import serve as serve_module
from isegoria.cli import simulate as simulate_module
from isegoria.cli.boot import ExitCode
from isegoria.config import Settings
from isegoria.http.deps import Services
from isegoria.log.signing import load_signer
from tests.integration.test_log_verify import fill_log

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(data))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return data


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_an_unreachable_postgresql_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(tmp_path / "data"))
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", "postgresql+psycopg://app:s3cret@127.0.0.1:1/x")
    for command in (["cases", "list"], ["db", "current"], ["db", "upgrade"], ["log", "verify"]):
        result = runner.invoke(app, command)
        assert result.exit_code == ExitCode.DATABASE, (command, result.output)
        lines = _error_lines(result.output)
        assert len(lines) <= 2, result.output
        assert lines[0].startswith("error: cannot reach the database postgresql+psycopg://app:***@")
        assert "s3cret" not in result.output and "Traceback" not in result.output


def test_a_sqlite_url_to_a_missing_directory_is_refused_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(tmp_path / "data"))
    missing = tmp_path / "typo" / "isegoria.db"
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", f"sqlite:///{missing}")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == ExitCode.DATABASE, result.output
    assert f"the directory {missing.parent} of ISEGORIA_DATABASE_URL does not exist" in (
        result.output
    )
    assert not missing.parent.exists()


def test_an_empty_database_says_to_upgrade_with_its_own_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ISEGORIA_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["cases", "list"])
    assert result.exit_code == ExitCode.SCHEMA, result.output
    assert "run `isegoria db upgrade`" in result.output


def test_jury_verify_of_a_case_that_does_not_exist_says_so(env: Path) -> None:
    result = runner.invoke(app, ["jury", "verify", "999"])
    assert result.exit_code == ExitCode.REFUSED, result.output
    assert _error_lines(result.output) == ["error: no case 999"]


def test_export_dsa_refuses_a_file_as_its_output_directory(env: Path, tmp_path: Path) -> None:
    existing = tmp_path / "passwd"
    existing.write_text("root:x:0:0\n")
    dates = ["export", "dsa", "--from", "2026-01-01", "--to", "2026-02-01"]
    result = runner.invoke(app, [*dates, "--out", str(existing)])
    assert result.exit_code == ExitCode.FILE, result.output
    assert f"--out {existing} is a file; give a directory" in result.output
    assert existing.read_text() == "root:x:0:0\n"
    below = runner.invoke(app, [*dates, "--out", str(existing / "batches")])
    assert below.exit_code == ExitCode.FILE, below.output
    assert "Traceback" not in below.output


def test_backup_never_replaces_a_file_nor_takes_an_option_for_a_name(
    env: Path, tmp_path: Path
) -> None:
    existing = tmp_path / "kept.gz"
    existing.write_bytes(b"precious")
    replaced = runner.invoke(app, ["backup", "--out", str(existing)])
    assert replaced.exit_code == ExitCode.FILE, replaced.output
    assert existing.read_bytes() == b"precious"
    option = runner.invoke(app, ["backup", "--out", "--out"])
    assert option.exit_code == ExitCode.USAGE, option.output
    assert "looks like an option" in option.output
    assert not (tmp_path / "--out").exists()


def test_config_never_cuts_the_log_key_and_masks_secrets(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISEGORIA_OIDC_CLIENT_SECRET", "oidc-s3cret")
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", "postgresql+psycopg://app:pw-s3cret@db/isegoria")
    result = runner.invoke(app, ["config"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    key = load_signer("isegoria.localhost/log", env / "log-signing.key").verifier_key
    key_line = next(line for line in result.output.splitlines() if "log_verifier_key" in line)
    assert key_line.split() == ["log_verifier_key", key]
    assert len(key_line) > 80  # wider than the terminal: a table would have cut the key
    assert "oidc-s3cret" not in result.output and "pw-s3cret" not in result.output
    assert "app:***@db" in result.output


def test_an_unexpected_error_is_one_line_and_its_traceback_needs_debug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(_inputs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(simulate_module, "estimate", broken)
    quiet = runner.invoke(app, ["simulate"])
    assert quiet.exit_code == ExitCode.INTERNAL
    assert _error_lines(quiet.output) == [
        "error: internal error (RuntimeError); run the command again with --debug and report "
        "the traceback"
    ]
    loud = runner.invoke(app, ["--debug", "simulate"])
    assert isinstance(loud.exception, RuntimeError)


def test_serve_takes_host_and_port_and_the_environment_still_works(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda *a, **k: calls.append(k))
    monkeypatch.setattr(serve_module, "_start_worker", lambda settings, clock=None: None)
    monkeypatch.setattr(logging.config, "dictConfig", lambda config: None)  # pytest's stays
    monkeypatch.setenv("ISEGORIA_PORT", "8123")  # restored, with ISEGORIA_HOST, after the test
    monkeypatch.setenv("ISEGORIA_HOST", "127.0.0.1")
    from_env = runner.invoke(app, ["serve"])
    assert from_env.exit_code == 0, from_env.output
    assert (calls[-1]["host"], calls[-1]["port"]) == ("127.0.0.1", 8123)
    given = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9001"])  # noqa: S104
    assert given.exit_code == 0, given.output
    assert (calls[-1]["host"], calls[-1]["port"]) == ("0.0.0.0", 9001)  # noqa: S104
    assert "serving on http://0.0.0.0:9001" in given.output
    bad = runner.invoke(app, ["serve", "--port", "70000"])
    assert bad.exit_code == ExitCode.USAGE


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """``serve`` as far as starting uvicorn: the keyword arguments of each start, none run."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda *a, **k: calls.append(k))
    monkeypatch.setattr(serve_module, "_start_worker", lambda settings, clock=None: None)
    monkeypatch.setattr(logging.config, "dictConfig", lambda config: None)
    return calls


def test_several_worker_processes_need_postgresql(
    env: Path, backend: str, served: list[dict[str, Any]]
) -> None:
    calls = served
    result = runner.invoke(app, ["serve", "--workers", "2"])
    if backend == "sqlite":
        assert result.exit_code == ExitCode.USAGE, result.output
        assert "--workers 2 needs PostgreSQL" in result.output
        assert calls == []
    else:
        assert result.exit_code == 0, result.output
        assert calls[-1]["workers"] == 2
    one = runner.invoke(app, ["serve", "--workers", "1"])
    assert one.exit_code == 0, one.output


def test_shared_rate_limits_need_postgresql(
    env: Path, backend: str, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = served
    monkeypatch.setenv("ISEGORIA_RATELIMIT_SHARED", "true")
    result = runner.invoke(app, ["serve"])
    if backend == "sqlite":
        assert result.exit_code == ExitCode.USAGE, result.output
        assert "ISEGORIA_RATELIMIT_SHARED=true needs PostgreSQL" in result.output
        assert calls == []
    else:
        assert result.exit_code == 0, result.output
        assert len(calls) == 1


@pytest.mark.parametrize(
    ("language", "title", "chart"),
    [
        ("en", "Transparency report", "Reports and verdicts per day"),
        ("de", "Transparenzbericht", "Meldungen und Urteile pro Tag"),
        ("fr", "Rapport de transparence", "Signalements et verdicts par jour"),
    ],
)
def test_report_html_is_written_with_its_charts_in_the_chosen_language(
    env: Path, tmp_path: Path, language: str, title: str, chart: str
) -> None:
    target = tmp_path / f"report-{language}.html"
    result = runner.invoke(
        app, ["report", "--format", "html", "--output", str(target), "--language", language]
    )
    assert result.exit_code == 0, result.output
    html = target.read_text("utf-8")
    assert f'<html lang="{language}">' in html
    assert f"<h1>{title}</h1>" in html
    assert html.count("<svg") >= 4  # the report's charts, drawn inline
    assert f"<title>{chart}</title>" in html or f">{chart}</text>" in html
    unknown = runner.invoke(app, ["report", "--format", "html", "--language", "xx"])
    assert unknown.exit_code == ExitCode.USAGE and "--language 'xx'" in unknown.output


def test_log_checkpoint_prints_what_the_server_publishes(
    app_under_test: tuple[Services, TestClient],
) -> None:
    services, client = app_under_test
    empty = runner.invoke(app, ["log", "checkpoint"])
    assert empty.exit_code == ExitCode.REFUSED
    assert "no checkpoint has been issued yet" in empty.output
    fill_log(services.uow(), (3, 2))
    published = client.get("/api/v1/log/checkpoint")
    assert published.status_code == 200
    printed = runner.invoke(app, ["log", "checkpoint"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == published.text
    origin, size, _root = printed.stdout.splitlines()[:3]
    assert (origin, size) == (services.settings.origin, "5")


@pytest.fixture
def app_under_test(
    app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[Services, TestClient]:
    """The app and the CLI on the same data directory and database."""
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", settings.effective_database_url)
    services: Services = app.state.services
    return services, TestClient(app)


def test_the_exit_codes_are_distinct_and_documented() -> None:
    codes = [code.value for code in ExitCode]
    assert len(set(codes)) == len(codes)
    documented = (Path(__file__).parents[2] / "docs" / "operators.md").read_text("utf-8")
    for code in ExitCode:
        assert f"| {code.value} |" in documented, code
    assert boot.fail("x", ExitCode.FILE).exit_code == ExitCode.FILE


def test_a_setting_that_is_not_json_is_a_usage_error(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISEGORIA_ACTIVITYPUB_RULES", "{not json")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert _error_lines(result.output) == [
        'error: configuration error: error parsing value for field "activitypub_rules" from '
        'source "EnvSettingsSource"'
    ]


@pytest.mark.parametrize("variable", ["ISEGORIA_SECRET_KEY_FILE", "ISEGORIA_SIGNING_KEY_FILE"])
def test_an_unusable_key_file_is_named_with_what_to_do(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key\n")
    monkeypatch.setenv(variable, str(garbage))
    result = runner.invoke(app, ["platforms", "list"])
    assert result.exit_code == ExitCode.FILE, result.output
    (line,) = _error_lines(result.output)
    assert f"{garbage} is unusable" in line and f"point {variable} at it" in line


def test_a_remote_jury_verify_of_a_missing_case_says_so(
    app_under_test: tuple[Services, TestClient],
) -> None:
    _services, client = app_under_test
    with pytest.raises(JuryVerificationError, match="^http://testserver has no case 999$"):
        fetch_evidence("http://testserver", 999, "first", client)
