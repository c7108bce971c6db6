"""The command line imports a command's module only when the command line names it.

``isegoria.cli.COMMANDS`` names each top-level command's module; ``main`` builds the app
with only that group, ``app`` (and help, and a misspelt command) with every one.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from isegoria import cli
from isegoria.cli import COMMANDS, _command_named, build


def names(app: typer.Typer) -> list[str]:
    """The top-level commands of an app, in the order help lists them."""
    group = typer.main.get_group(app)
    return group.list_commands(typer.Context(group))


def test_the_table_names_every_command_of_every_group_once() -> None:
    listed = [name for group in COMMANDS for name in group.commands]
    assert len(listed) == len(set(listed))
    assert names(cli.app) == listed
    for group in COMMANDS:
        if group.name is None:  # merged into the top level: the table must name them all
            assert names(build(group.commands[0])) == list(group.commands)


@pytest.mark.parametrize("command", [name for group in COMMANDS for name in group.commands])
def test_each_command_builds_its_own_group_only(command: str) -> None:
    built = names(build(command))
    assert command in built
    assert built == next(list(g.commands) for g in COMMANDS if command in g.commands)


def test_the_command_is_the_first_word_that_is_not_an_option() -> None:
    assert _command_named(["--debug", "demo", "--no-serve"]) == "demo"
    assert _command_named(["log", "verify"]) == "log"
    assert _command_named(["--help"]) is None
    assert _command_named([]) is None
    # an unknown word builds everything, so that the misspelling gets its suggestion
    assert names(build("demox")) == names(cli.app)


def test_the_demo_loads_no_other_commands_module() -> None:
    """In a fresh interpreter, as `isegoria demo` starts."""
    probe = (
        "import sys\n"
        "from isegoria.cli import build\n"
        "build('demo')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('isegoria.cli.'))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert loaded.split() == [
        "isegoria.cli.boot",
        "isegoria.cli.errors",
        "isegoria.cli.progress",
        "isegoria.cli.serve",
    ]
