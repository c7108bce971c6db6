"""Command line for the second factor: reset a colleague's, print a demo staff code."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.demo import world
from isegoria.errors import IsegoriaError
from isegoria.identity import mfa
from isegoria.ops import staff_trail
from isegoria.people import accounts as people


def reset_second_factor(
    login: Annotated[str, typer.Argument(help="The login whose second factor is lost.")],
) -> None:
    """Remove a person's second factor and end their sessions; staff enrol again at login.

    For a colleague who lost both their phone and their recovery codes: check who they
    are first, out of band (this is what an attacker would ask for).
    """
    uow = boot.ready_uow(boot.settings())
    try:
        with uow.begin():
            removed = mfa.reset_second_factor(
                uow, people.get_account_by_login(uow, login), actor=staff_trail.cli_actor()
            )
    except IsegoriaError as error:
        raise boot.refused(error) from None
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
    settings = boot.settings()
    logins = world.saved_logins(settings.data_dir)
    secret = logins.totp.get(login) if logins is not None else None
    if secret is None:
        raise boot.fail(
            f"{login!r} is not a staff login of the demo world in {settings.data_dir}; "
            "a real account's code is in its owner's authenticator app"
        )
    console.print(mfa.current_code(secret, time.time()))


def register(staff_app: typer.Typer) -> None:
    """Add the second-factor commands to the ``staff`` group."""
    staff_app.command("reset-second-factor")(reset_second_factor)
    staff_app.command("totp")(demo_totp)
