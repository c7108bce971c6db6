"""What the command line does with an error no command caught: one line, never a traceback.

The root command group runs every command inside ``CliGroup.invoke``; an exception that
escapes a command is turned into a short message and an exit code (``boot.ExitCode``). With
``--debug`` (or ``ISEGORIA_DEBUG=1``) it propagates instead, so the traceback shows.
"""

from __future__ import annotations

from typing import Any

import httpx
import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from typer.core import TyperGroup
from typer.exceptions import TyperException

from isegoria.cli.boot import ExitCode, close_databases, err
from isegoria.config import mask_url
from isegoria.errors import IsegoriaError
from isegoria.store import migrate
from isegoria.store.db import is_disk_full

#: Exceptions that already are an answer: Typer prints them and sets the exit code.
_ANSWERS = (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt, EOFError)


def describe(error: BaseException) -> tuple[str, ExitCode]:
    """The message and exit code for an exception that escaped a command."""
    if isinstance(error, IsegoriaError):
        return error.detail, ExitCode.REFUSED
    if isinstance(error, migrate.SchemaNotCurrent):
        return str(error), ExitCode.SCHEMA
    if isinstance(error, DBAPIError) and is_disk_full(error):
        return (
            "the database's disk is full: nothing was changed; free space where the "
            "database lives (the data folder, for SQLite), then run the command again",
            ExitCode.DATABASE,
        )
    if isinstance(error, DBAPIError):
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        return (
            f"the database failed: {mask_url(reason)}\ncheck ISEGORIA_DATABASE_URL and that the "
            "database server is running",
            ExitCode.DATABASE,
        )
    if isinstance(error, SQLAlchemyError):
        return f"the database failed: {type(error).__name__}", ExitCode.DATABASE
    if isinstance(error, ValidationError):
        return f"configuration error: {error.error_count()} bad setting(s)", ExitCode.USAGE
    if isinstance(error, OSError):
        return _file_problem(error), ExitCode.FILE
    if isinstance(error, httpx.InvalidURL):
        return f"not a valid URL: {error}", ExitCode.USAGE
    if isinstance(error, httpx.HTTPError):
        return f"the remote instance could not be reached: {error}", ExitCode.REFUSED
    return (
        f"internal error ({type(error).__name__}); run the command again with --debug "
        "and report the traceback",
        ExitCode.INTERNAL,
    )


def _file_problem(error: OSError) -> str:
    what = error.strerror or type(error).__name__
    if error.filename is None:
        return f"cannot read or write a file: {what}"
    if isinstance(error, FileExistsError):
        return f"{error.filename} already exists; choose another path"
    if isinstance(error, NotADirectoryError):
        return f"{error.filename}: a file stands where a directory is needed; choose another path"
    return f"cannot use {error.filename}: {what}"


class CliGroup(TyperGroup):
    """The root ``isegoria`` group: runs a command, answers what escapes it in one line."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; close its databases; turn a stray exception into a clean exit."""
        try:
            return super().invoke(ctx)
        except _ANSWERS:
            raise
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            message, code = describe(error)
            err.print(f"error: {message}", markup=False)
            raise typer.Exit(int(code)) from None
        finally:
            close_databases()
