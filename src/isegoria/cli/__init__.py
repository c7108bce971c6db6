"""The ``isegoria`` command line: one Typer app, one command group per module.

``boot`` is the one start-up (settings, database, schema check, unit of work) and
``errors`` turns whatever escapes a command into one line and an exit code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from isegoria.cli.cases import cases_app, jury_app
from isegoria.cli.connectors import register as register_connectors
from isegoria.cli.errors import CliGroup
from isegoria.cli.export import export_app
from isegoria.cli.federation import federation_app
from isegoria.cli.instance import db_app, instance_app
from isegoria.cli.log import log_app
from isegoria.cli.mfa import register as register_second_factor
from isegoria.cli.notes import notes_app
from isegoria.cli.ops import ops_app
from isegoria.cli.people import citizens_app, staff_app
from isegoria.cli.platforms import jurisdictions_app, platforms_app
from isegoria.cli.report import report_app
from isegoria.cli.rules import rules_app
from isegoria.cli.serve import serve_app
from isegoria.cli.simulate import simulate_app

__all__ = ["app", "main"]

app = typer.Typer(
    cls=CliGroup,
    help="isegoria: moderation by public law and citizen juries.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals hold secrets (keys, passwords)
)
app.add_typer(instance_app)  # `isegoria config` at the top level
app.add_typer(serve_app)  # `isegoria serve`, `worker` and `demo` at the top level
app.add_typer(db_app, name="db")
app.add_typer(citizens_app, name="citizens")
app.add_typer(staff_app, name="staff")
app.add_typer(platforms_app, name="platforms")
app.add_typer(jurisdictions_app, name="jurisdictions")
app.add_typer(rules_app, name="rules")
app.add_typer(log_app, name="log")
app.add_typer(cases_app, name="cases")
app.add_typer(jury_app, name="jury")
app.add_typer(simulate_app)  # `isegoria simulate` at the top level
app.add_typer(report_app)  # `isegoria report` at the top level
app.add_typer(export_app, name="export")
app.add_typer(notes_app, name="notes")
app.add_typer(federation_app, name="federation")
app.add_typer(ops_app)  # no name: `isegoria backup` and `isegoria restore` at the top level
register_connectors(platforms_app)  # `isegoria platforms connect-matrix ...`
register_second_factor(staff_app)  # `isegoria staff totp operator` (demo), reset-second-factor


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="ISEGORIA_DEBUG", help="Show the traceback of an unexpected error."
        ),
    ] = False,
) -> None:
    """isegoria: moderation by public law and citizen juries."""


def main() -> None:
    """Entry point of the `isegoria` command."""
    app()
