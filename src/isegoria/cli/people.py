"""``isegoria citizens`` and ``isegoria staff``: accounts that can log in."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.cli.mfa import register as register_second_factor
from isegoria.domain.identity import Role
from isegoria.errors import IsegoriaError
from isegoria.ops import staff_trail
from isegoria.people import accounts as people
from isegoria.people import staff

citizens_app = typer.Typer(help="Citizens.", no_args_is_help=True)
staff_app = typer.Typer(help="Operators and auditors.", no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option(help="Read the password from stdin.")]


def read_password(password_stdin: bool) -> str:
    """The new account's password: one line of stdin, or typed twice at a prompt."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@citizens_app.command("add")
def citizens_add(
    login: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    jurisdiction: Annotated[list[str], typer.Option(help="Residence (repeatable).")],
    region: str | None = None,
    age_band: Annotated[str | None, typer.Option(help="18-29, 30-44, 45-59 or 60+")] = None,
    leaning: str | None = None,
    jury: Annotated[bool, typer.Option("--jury/--no-jury", help="Opt in to jury service.")] = False,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a citizen who can log in."""
    uow = boot.ready_uow(boot.settings())
    password = read_password(password_stdin)
    try:
        with uow.begin():
            account = people.add_account(
                uow,
                login=login,
                display_name=name,
                role=Role.CITIZEN,
                password=password,
                residences=jurisdiction,
                strata=people.Strata(region=region, age_band=age_band, leaning=leaning),
                jury_opt_in=jury,
            )
    except IsegoriaError as error:
        raise boot.refused(error) from None
    console.print(f"citizen {account.login} added (id {account.id})")


@citizens_app.command("list")
def citizens_list(
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
) -> None:
    """List citizens by login."""
    uow = boot.ready_uow(boot.settings())
    with uow.begin(readonly=True):
        rows = people.list_accounts(uow, role=Role.CITIZEN, limit=limit)
        total = people.count_citizens(uow)
        table = Table("login", "name", "residence", "region", "age", "leaning", "jury")
        for a in rows:
            table.add_row(
                a.login,
                a.display_name,
                ",".join(sorted(r.jurisdiction_code for r in a.residences)),
                a.region or "",
                a.age_band or "",
                a.leaning or "",
                "yes" if a.jury_opt_in else "no",
            )
    console.print(table)
    console.print(f"{len(rows)} of {total:,} citizens shown")


@staff_app.command("add")
def staff_add(
    login: str,
    role: Annotated[str, typer.Option(help="operator or auditor")],
    name: Annotated[str, typer.Option(help="Display name.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Add an operator or an auditor."""
    if role not in (Role.OPERATOR.value, Role.AUDITOR.value):
        raise boot.fail("--role must be operator or auditor", boot.ExitCode.USAGE)
    uow = boot.ready_uow(boot.settings())
    password = read_password(password_stdin)
    try:
        with uow.begin():
            account = staff.add_staff(
                uow,
                login=login,
                display_name=name,
                role=Role(role),
                password=password,
                actor=staff_trail.cli_actor(),
            )
    except IsegoriaError as error:
        raise boot.refused(error) from None
    console.print(f"{role} {account.login} added (id {account.id})")


@staff_app.command("remove")
def staff_remove(login: str) -> None:
    """Take an operator's or auditor's access away (the account is disabled, sessions end)."""
    uow = boot.ready_uow(boot.settings())
    try:
        with uow.begin():
            account = people.get_account_by_login(uow, login)
            staff.remove_staff(uow, account, actor=staff_trail.cli_actor())
    except IsegoriaError as error:
        raise boot.refused(error) from None
    console.print(f"{login} removed: they can no longer sign in")


# After this module's own commands, so that help lists them first.
register_second_factor(staff_app)  # `isegoria staff totp operator` (demo), reset-second-factor
