"""The ``isegoria`` command line: one Typer app, one command group per module.

``boot`` is the one start-up (settings, database, schema check, unit of work) and
``errors`` turns whatever escapes a command into one line and an exit code.

A command's module is imported only when the command line names it (``main`` reads the
command's name first): ``isegoria config`` starts in a fraction of the seconds it took when
every command's module (the reports' statistics, the Mastodon client, the web pages) loaded.
``COMMANDS`` is the one place that names the modules (the architecture test checks that it
is the only import by name in the package); ``app`` (for tests and help) holds them all.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Annotated

import typer

from isegoria.cli.errors import CliGroup

__all__ = ["COMMANDS", "Group", "app", "build", "main"]


@dataclass(frozen=True)
class Group:
    """A Typer app of a module of this package, and the top-level commands it answers."""

    module: str  # under isegoria.cli
    attribute: str
    name: str | None  # None: its commands sit at the top level
    commands: tuple[str, ...]


def _named(module: str, attribute: str, name: str) -> Group:
    return Group(module, attribute, name, (name,))


#: Every top-level command, in the order help lists them.
COMMANDS: tuple[Group, ...] = (
    Group("instance", "instance_app", None, ("config",)),
    Group("serve", "serve_app", None, ("worker", "serve", "demo")),
    _named("instance", "db_app", "db"),
    _named("people", "citizens_app", "citizens"),
    _named("people", "staff_app", "staff"),
    _named("platforms", "platforms_app", "platforms"),
    _named("platforms", "jurisdictions_app", "jurisdictions"),
    _named("rules", "rules_app", "rules"),
    _named("log", "log_app", "log"),
    _named("cases", "cases_app", "cases"),
    _named("cases", "jury_app", "jury"),
    Group("simulate", "simulate_app", None, ("simulate",)),
    Group("report", "report_app", None, ("report",)),
    _named("export", "export_app", "export"),
    _named("notes", "notes_app", "notes"),
    _named("federation", "federation_app", "federation"),
    Group("ops", "ops_app", None, ("backup", "restore")),
)


def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="ISEGORIA_DEBUG", help="Show the traceback of an unexpected error."
        ),
    ] = False,
) -> None:
    """isegoria: moderation by public law and citizen juries."""


def build(command: str | None = None) -> typer.Typer:
    """The command line: every command, or only the group answering ``command``."""
    groups = [g for g in COMMANDS if command in g.commands] or list(COMMANDS)
    root = typer.Typer(
        cls=CliGroup,
        help="isegoria: moderation by public law and citizen juries.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,  # locals hold secrets (keys, passwords)
    )
    root.callback()(_root)
    for group in groups:
        module = importlib.import_module(f"{__name__}.{group.module}")
        sub: typer.Typer = getattr(module, group.attribute)
        if group.name is None:
            root.add_typer(sub)
        else:
            root.add_typer(sub, name=group.name)
    return root


def _command_named(argv: list[str]) -> str | None:
    """The command a command line names: its first word that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole command line, built when first asked for."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    whole = globals()["app"] = build()
    return whole


def main() -> None:
    """Entry point of the `isegoria` command."""
    build(_command_named(sys.argv[1:]))()
