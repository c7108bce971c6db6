"""Hostile command-line arguments: every command answers with a clean exit, never a traceback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from isegoria.cli import app

runner = CliRunner()

# Commands that serve, run forever, or reach out over the network are not fuzzed here: their
# arguments are parsed by the same Typer/Click machinery exercised below.
NOT_FUZZED = {
    ("serve",),
    ("worker",),
    ("demo",),
    ("log", "witness"),
    ("restore",),
}


def _leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    # Typer vendors its own Click, so groups are recognised by their sub-commands.
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path


def _options(path: tuple[str, ...]) -> list[str]:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return [opt for param in command.params for opt in param.opts if opt.startswith("--")]


COMMANDS = sorted(
    p
    for p in _leaves(typer.main.get_command(app))
    if p[:2] not in NOT_FUZZED and p[:1] not in NOT_FUZZED
)
HOSTILE = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        max_size=30,
    ),
    st.sampled_from(
        [
            "-1",
            "0",
            "99999999999999999999999999",
            "1e309",
            "NaN",
            "../../../../etc/passwd",
            "' OR 1=1 --",
            "%s%n%x",
            "--",
            "-",
            "MX-1",
            "\u202emx",
            "é" * 300,
            "x" * 5000,
            "http://[::1",
            "2026-13-45",
        ]
    ),
)


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A migrated instance on SQLite that the fuzzed commands may read and change."""
    data = tmp_path_factory.mktemp("cli-fuzz")
    saved = {k: os.environ.get(k) for k in ("ISEGORIA_DATA_DIR", "ISEGORIA_DATABASE_URL")}
    os.environ["ISEGORIA_DATA_DIR"] = str(data)
    os.environ.pop("ISEGORIA_DATABASE_URL", None)
    try:
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        yield data
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    path = draw(st.sampled_from(COMMANDS))
    options = _options(path)
    words = st.one_of(HOSTILE, st.sampled_from(options)) if options else HOSTILE
    return [*path, *draw(st.lists(words, max_size=5))]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=invocations())
def test_hostile_arguments_exit_cleanly(instance: Path, args: list[str]) -> None:
    result = runner.invoke(app, args)
    # Typer turns usage errors into exit 2 and our commands' refusals into exit 1; an
    # unexpected exception would be left in result.exception with its traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args,
        result.output,
        result.exception,
    )
    assert "Traceback" not in result.output, (args, result.output)


def test_the_fuzzed_commands_cover_the_cli() -> None:
    assert len(COMMANDS) >= 20
    assert ("log", "verify") in COMMANDS and ("cases", "show") in COMMANDS
