"""Hostile command-line arguments: every command answers with a clean exit, never a traceback.

Every command is run, in a scratch working directory several levels deep (so that even
``../../../../etc/passwd`` lands inside it): the fuzzing never writes where the suite runs.
What would serve or run forever (uvicorn, the worker loops) is replaced by a stub, and the
demo world counts as built, so those commands parse and check their arguments like any other.
"""

from __future__ import annotations

import logging.config
import os
from collections.abc import Iterator
from itertools import cycle
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from isegoria.cli import app
from isegoria.cli import serve as serve_module
from isegoria.cli.boot import ExitCode
from isegoria.decisions import outbox
from isegoria.demo import world
from isegoria.federation import activitypub_delivery
from isegoria.jobs import queue as jobs

runner = CliRunner()
REPOSITORY = Path(__file__).parents[2]
#: Read by the commands (and set by ``serve --host/--port``): restored after the module.
ENVIRONMENT = ("ISEGORIA_DATA_DIR", "ISEGORIA_DATABASE_URL", "ISEGORIA_HOST", "ISEGORIA_PORT")


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


COMMANDS = sorted(_leaves(typer.main.get_command(app)))
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


def _stub_what_never_ends(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(serve_module, "uvicorn", SimpleNamespace(run=lambda *a, **k: None))
    patch.setattr(serve_module, "_start_worker", lambda settings, clock=None: None)
    patch.setattr(logging.config, "dictConfig", lambda config: None)  # keeps pytest's logging
    patch.setattr(jobs.Worker, "run_forever", lambda self: None)
    patch.setattr(outbox.OutboxWorker, "start_thread", lambda self: None)
    patch.setattr(activitypub_delivery, "start_worker", lambda *a: SimpleNamespace(stop=None))
    patch.setattr(world, "exists", lambda uow: True)  # `demo` reuses, never builds
    patch.setattr(world, "saved_logins", lambda data_dir: None)


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A migrated instance on SQLite that the fuzzed commands may read and change."""
    root = tmp_path_factory.mktemp("cli-fuzz")
    data = root / "data"
    scratch = root.joinpath("a", "b", "c", "d", "e", "f")  # deeper than any ../ we send
    scratch.mkdir(parents=True)
    before = sorted(p.name for p in REPOSITORY.iterdir())
    saved = {k: os.environ.get(k) for k in ENVIRONMENT}
    cwd = Path.cwd()
    os.environ["ISEGORIA_DATA_DIR"] = str(data)
    os.environ.pop("ISEGORIA_DATABASE_URL", None)
    os.chdir(scratch)
    try:
        with pytest.MonkeyPatch.context() as patch:
            _stub_what_never_ends(patch)
            assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
            yield data
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert sorted(p.name for p in REPOSITORY.iterdir()) == before  # nothing written there


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
    _check_clean(args)


def _check_clean(args: list[str]) -> None:
    # Usage errors exit 2, refusals 1, and so on (boot.ExitCode); an unexpected exception
    # would be left in result.exception, or answered as an internal error (exit 70).
    result = runner.invoke(app, args, input="")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args,
        result.output,
        result.exception,
    )
    assert "Traceback" not in result.output, (args, result.output)
    assert result.exit_code != ExitCode.INTERNAL, (args, result.output)


FIXED = cycle(
    ["-1", "99999999999999999999999999", "../../../../etc/passwd", "é" * 300, "http://[::1"]
)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_and_option_takes_hostile_values(instance: Path, path: tuple[str]) -> None:
    """Each command bare, with a hostile positional word, and each option given a bad value."""
    _check_clean([*path])
    _check_clean([*path, "\u202emx", "x" * 5000])
    for option in _options(path):
        _check_clean([*path, option, next(FIXED)])


def test_the_fuzzed_commands_cover_the_cli() -> None:
    assert len(COMMANDS) >= 38
    for command in [("serve",), ("worker",), ("demo",), ("log", "witness"), ("restore",)]:
        assert command in COMMANDS
    assert ("log", "verify") in COMMANDS and ("log", "checkpoint") in COMMANDS
