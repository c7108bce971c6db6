"""``isegoria config`` and ``isegoria db``: the instance's settings and its database schema."""

from __future__ import annotations

import typer
from sqlalchemy.exc import DBAPIError

from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.log import demo_keys as keys
from isegoria.store import migrate

instance_app = typer.Typer()
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@instance_app.command()
def config() -> None:
    """Print the effective settings (secrets masked) and the log's public key."""
    settings = boot.settings()
    rows = dict(settings.masked())
    verifier_key = boot.signer(settings).verifier_key
    rows["log_verifier_key"] = verifier_key
    demo_seed = keys.is_demo_key(settings.data_dir, verifier_key)
    if demo_seed is not None:
        rows["demo_keys"] = f"seed {demo_seed}: {keys.DEMO_KEY_LABEL}"
    # Plain lines, never a table: a key or a URL cut at the terminal's edge cannot be copied.
    width = max(len(name) for name in rows)
    typer.echo("isegoria configuration")
    for name, value in rows.items():
        typer.echo(f"{name:<{width}}  {value}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    settings = boot.settings()
    database = boot.database(settings)
    try:
        migrate.upgrade(database)
        revision = migrate.current_revision(database)
    except DBAPIError as error:
        raise boot.unreachable(settings, error) from None
    console.print(f"database at revision {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and the newest one."""
    settings = boot.settings()
    database = boot.database(settings)
    try:
        current = migrate.current_revision(database)
    except DBAPIError as error:
        raise boot.unreachable(settings, error) from None
    head = migrate.head_revision()
    console.print(f"current: {current or '(empty)'}\nhead:    {head}")
    if current != head:
        console.print("[yellow]not at head: run `isegoria db upgrade`[/yellow]")
        raise typer.Exit(boot.ExitCode.SCHEMA)
