"""Command line for the second factor: reset a colleague's, print a demo staff code."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from isegoria.config import Settings
from isegoria.demo import world
from isegoria.errors import IsegoriaError
from isegoria.identity import mfa
from isegoria.log.signing import load_signer
from isegoria.services import people
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.uow import UnitOfWork

console = Console()
err = Console(stderr=True, soft_wrap=True)


def reset_second_factor(
    login: Annotated[str, typer.Argument(help="The login whose second factor is lost.")],
) -> None:
    """Remove a person's second factor and end their sessions; staff enrol again at login.

    For a colleague who lost both their phone and their recovery codes: check who they
    are first, out of band (this is what an attacker would ask for).
    """
    try:
        settings = Settings()
    except Exception as error:  # noqa: BLE001 - pydantic names the bad variable
        err.print(f"[red]configuration error:[/red] {error}")
        raise typer.Exit(2) from None
    database = Database(settings.effective_database_url)
    try:
        migrate.ensure_current(database)
        uow = UnitOfWork(
            database,
            signer=load_signer(settings.origin, settings.signing_key_path),
            secret=settings.secret_key,
        )
        with uow.begin():
            removed = mfa.remove_second_factor(uow, people.get_account_by_login(uow, login))
    except migrate.SchemaNotCurrent as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    except IsegoriaError as error:
        err.print(f"[red]error:[/red] {error.detail}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    console.print(
        f"{login}: {removed} second factor(s) removed, sessions ended; "
        "they set up a new one at their next login"
    )


def demo_totp(
    login: Annotated[str, typer.Argument(help="operator or auditor, of the demo world.")],
) -> None:
    """Print the current code of a demo staff account (the demo world's only, never others').

    The code comes from the secret the demo saved in its logins file (readable by its owner
    only), exactly as an authenticator app holding that secret would show it; accounts of a
    real instance have no secret there, so this prints nothing for them.
    """
    try:
        settings = Settings()
    except Exception as error:  # noqa: BLE001 - pydantic names the bad variable
        err.print(f"[red]configuration error:[/red] {error}")
        raise typer.Exit(2) from None
    logins = world.saved_logins(settings.data_dir)
    secret = logins.totp.get(login) if logins is not None else None
    if secret is None:
        err.print(
            f"[red]error:[/red] {login!r} is not a staff login of the demo world in "
            f"{settings.data_dir}; a real account's code is in its owner's authenticator app"
        )
        raise typer.Exit(1)
    console.print(mfa.current_code(secret, time.time()))


def register(staff_app: typer.Typer) -> None:
    """Add the second-factor commands to the ``staff`` group."""
    staff_app.command("reset-second-factor")(reset_second_factor)
    staff_app.command("totp")(demo_totp)
