"""The command line's one start-up: settings, database, schema check, unit of work.

Every command starts here, so every command fails the same way: one or two lines on
standard error that say what was wrong and what to do, and an exit code from ``ExitCode``
(docs/operators.md, "Exit codes"). Databases opened here are closed when the command ends.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.text import Text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from isegoria.clock import Clock
from isegoria.config import Settings, mask_url
from isegoria.errors import IsegoriaError
from isegoria.log.signing import LogSigner, load_signer
from isegoria.store import migrate
from isegoria.store.db import Database, SqliteSync
from isegoria.unit_of_work import UnitOfWork

#: The one console for messages and progress; soft wrap keeps a path or a key on one line.
err = Console(stderr=True, soft_wrap=True, highlight=False)
#: Where commands print their results: a path or a key stays on one line, in a pipe too.
out = Console(soft_wrap=True)


class ExitCode(IntEnum):
    """What an ``isegoria`` command's exit status means (documented in docs/operators.md)."""

    OK = 0
    REFUSED = 1  # understood, but refused or a check failed (unknown case, bad signature...)
    USAGE = 2  # a bad command, option, argument or ISEGORIA_* setting
    DATABASE = 3  # the database cannot be reached or opened
    SCHEMA = 4  # the database schema is not the one this isegoria needs
    FILE = 5  # a file or directory cannot be read or written
    INTERNAL = 70  # a bug (EX_SOFTWARE): rerun with --debug and report it


def fail(message: str, code: ExitCode = ExitCode.REFUSED) -> typer.Exit:
    """Print ``error: message`` on standard error; the exit to raise."""
    err.print(Text.assemble(("error:", "red"), " ", message))  # no markup: text is as given
    return typer.Exit(int(code))


def refused(error: IsegoriaError) -> typer.Exit:
    """A service's refusal, as one line and exit code 1."""
    return fail(error.detail, ExitCode.REFUSED)


_opened: list[Database] = []


def close_databases() -> None:
    """Dispose of every database this command opened (its pooled connections)."""
    while _opened:
        _opened.pop().dispose()


def settings() -> Settings:
    """The instance's settings, or exit 2 naming the bad ``ISEGORIA_*`` variable."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"ISEGORIA_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise fail(f"configuration error: {problems}", ExitCode.USAGE) from None
    except SettingsError as error:  # e.g. a JSON setting that is not JSON
        raise fail(f"configuration error: {error}", ExitCode.USAGE) from None


def secret(config: Settings) -> bytes:
    """The instance secret (created on first use), or exit 5 if its file is unusable."""
    try:
        return config.secret_key
    except ValueError as error:
        raise fail(
            f"the instance secret {config.secret_key_path} is unusable ({error}); "
            "restore it from a backup or point ISEGORIA_SECRET_KEY_FILE at it",
            ExitCode.FILE,
        ) from None


def signer(config: Settings) -> LogSigner:
    """The log signer (its key created on first use), or exit 5 if the key file is unusable."""
    try:
        return load_signer(config.origin, config.signing_key_path)
    except ValueError as error:
        raise fail(
            f"the log signing key {config.signing_key_path} is unusable ({error}); "
            "restore it from a backup or point ISEGORIA_SIGNING_KEY_FILE at it",
            ExitCode.FILE,
        ) from None


def database(config: Settings, *, sqlite_synchronous: SqliteSync = "full") -> Database:
    """The configured database (closed when the command ends); refused if it cannot exist.

    ``sqlite_synchronous``: SQLite's sync at commit; ``full`` unless the command's writes may
    be lost with the machine (the demo build, which starts over on an empty database).
    """
    url = config.effective_database_url
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise fail(
            f"ISEGORIA_DATABASE_URL {mask_url(url)!r} is not a database URL; "
            "e.g. sqlite:////srv/isegoria/isegoria.db or postgresql+psycopg://user:pw@host/db",
            ExitCode.USAGE,
        ) from None
    if config.database_url is not None and parsed.get_backend_name() == "sqlite":
        _check_sqlite_directory(parsed.database)
    try:
        opened = Database(url, sqlite_synchronous=sqlite_synchronous)
    except (ArgumentError, ImportError, ValueError) as error:
        raise fail(f"cannot use the database {mask_url(url)}: {error}", ExitCode.USAGE) from None
    _opened.append(opened)
    return opened


def _check_sqlite_directory(path: str | None) -> None:
    # The default database lives in the data directory, which isegoria creates; a URL the
    # operator wrote names a place that must exist, or a typo would start an empty instance.
    if not path or path == ":memory:":
        return
    directory = Path(path).parent
    if not directory.is_dir():
        raise fail(
            f"the directory {directory} of ISEGORIA_DATABASE_URL does not exist; "
            "create it or correct the URL",
            ExitCode.DATABASE,
        )


def unreachable(config: Settings, error: DBAPIError) -> typer.Exit:
    """The one line that says the database cannot be reached, and why."""
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return fail(
        f"cannot reach the database {mask_url(config.effective_database_url)}: {reason}\n"
        "check ISEGORIA_DATABASE_URL and that the database server is running",
        ExitCode.DATABASE,
    )


def check_schema(config: Settings, opened: Database) -> None:
    """Exit 3 if the database cannot be reached, 4 if its schema is not current."""
    try:
        migrate.ensure_current(opened)
    except DBAPIError as error:
        raise unreachable(config, error) from None
    except migrate.SchemaNotCurrent as error:
        raise fail(str(error), ExitCode.SCHEMA) from None


def ready_database(config: Settings) -> Database:
    """The configured database, reachable and at the current schema."""
    opened = database(config)
    check_schema(config, opened)
    return opened


def ready_uow(config: Settings, clock: Clock | None = None, *, signed: bool = True) -> UnitOfWork:
    """A unit of work on a current database; ``signed`` loads the log key to sign with."""
    opened = ready_database(config)
    log_signer = signer(config) if signed else None
    return UnitOfWork(opened, clock, signer=log_signer, secret=secret(config))
