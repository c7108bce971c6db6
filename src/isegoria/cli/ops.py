"""``isegoria backup`` and ``isegoria restore``: a whole instance to one file and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isegoria.cli import boot
from isegoria.config import Settings
from isegoria.ops.backup import BackupError, backup_to_file, restore_from_file
from isegoria.store.db import Database

ops_app = typer.Typer(help="Backups.", no_args_is_help=True)


def _settings_and_database() -> tuple[Settings, Database]:
    settings = boot.settings()
    return settings, boot.database(settings)


@ops_app.command("backup")
def backup(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write (gzip JSON lines).")],
) -> None:
    """Write a consistent snapshot of every table and the instance's keys to one file."""
    if out.name.startswith("-"):  # `--out --force` and the like: a forgotten value
        raise boot.fail(
            f"--out {out} looks like an option, not a file name; give the backup's path",
            boot.ExitCode.USAGE,
        )
    if out.exists():
        raise boot.fail(
            f"{out} exists; a backup never replaces a file: choose a new name", boot.ExitCode.FILE
        )
    settings, database = _settings_and_database()
    try:
        summary = backup_to_file(database, settings, out)
    except BackupError as error:
        typer.echo(f"backup failed: {error}", err=True)
        raise typer.Exit(boot.ExitCode.REFUSED) from None
    typer.echo(
        f"backup written to {out}: {summary.total_rows} rows in {len(summary.rows)} tables, "
        f"schema {summary.schema_revision}, keys: {', '.join(summary.key_files) or 'none'}"
    )


@ops_app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `isegoria backup`.")],
) -> None:
    """Restore a backup into an empty database at the same schema revision, keys included."""
    settings, database = _settings_and_database()
    try:
        summary = restore_from_file(database, settings, file)
    except BackupError as error:
        typer.echo(f"restore failed: {error}", err=True)
        raise typer.Exit(boot.ExitCode.REFUSED) from None
    typer.echo(
        f"restored {summary.total_rows} rows in {len(summary.rows)} tables at schema "
        f"{summary.schema_revision}; key files written: {', '.join(summary.key_files) or 'none'}"
        "\nnext: `isegoria log verify`"
    )
