"""``isegoria platforms`` and ``isegoria jurisdictions``: who sends reports, under which law."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.cli.connectors import register as register_connectors
from isegoria.domain.identity import Scope, parse_scopes
from isegoria.errors import IsegoriaError
from isegoria.ops import staff_trail
from isegoria.people import accounts as people
from isegoria.people import jurisdictions, platforms
from isegoria.security import SecretBox

platforms_app = typer.Typer(help="Platforms and their API keys.", no_args_is_help=True)
jurisdictions_app = typer.Typer(help="Jurisdictions.", no_args_is_help=True)
PlatformArgument = Annotated[str, typer.Argument(help="Platform id or name.")]


@platforms_app.command("add")
def platforms_add(
    name: str,
    scopes: Annotated[str, typer.Option(help="Comma-separated scopes.")] = ",".join(Scope),
) -> None:
    """Register a platform; prints its API key and webhook secret once."""
    settings = boot.settings()
    uow = boot.ready_uow(settings)
    box = SecretBox(settings.secret_key)
    try:
        parsed = parse_scopes(scopes)
        with uow.begin():
            platform, issued = platforms.add_platform(
                uow, box, name=name, scopes=parsed, actor=staff_trail.cli_actor()
            )
            secret = platforms.webhook_secret(box, platform)
    except ValueError as error:
        raise boot.fail(str(error), boot.ExitCode.USAGE) from None
    except IsegoriaError as error:
        raise boot.refused(error) from None
    console.print(f"platform {platform.name} (id {platform.id}) registered")
    console.print(f"API key (shown once): {issued.key}")
    console.print(f"webhook secret (shown once): {secret}")


@platforms_app.command("list")
def platforms_list() -> None:
    """List platforms and their live keys."""
    uow = boot.ready_uow(boot.settings())
    with uow.begin(readonly=True):
        table = Table("id", "name", "webhook", "live keys", "scopes")
        for p in platforms.list_platforms(uow):
            live = [k for k in p.api_keys if k.revoked_at is None]
            table.add_row(
                str(p.id),
                p.name,
                p.webhook_url or "",
                ", ".join(f"isg_{k.prefix}_…" for k in live),
                "; ".join(k.scopes for k in live),
            )
    console.print(table)


@platforms_app.command("rotate-key")
def platforms_rotate_key(
    platform: PlatformArgument,
    scopes: Annotated[str | None, typer.Option(help="Scopes of the new key.")] = None,
) -> None:
    """Issue a new API key and revoke the platform's older keys."""
    uow = boot.ready_uow(boot.settings())
    try:
        parsed = parse_scopes(scopes) if scopes is not None else None
        with uow.begin():
            issued = platforms.rotate_key(
                uow,
                platforms.find_platform(uow, platform),
                scopes=parsed,
                actor=staff_trail.cli_actor(),
            )
    except ValueError as error:
        raise boot.fail(str(error), boot.ExitCode.USAGE) from None
    except IsegoriaError as error:
        raise boot.refused(error) from None
    console.print(f"new API key (shown once): {issued.key}")


@platforms_app.command("rotate-webhook-secret")
def platforms_rotate_webhook_secret(platform: PlatformArgument) -> None:
    """Replace the platform's webhook signing secret; prints the new one once."""
    settings = boot.settings()
    uow = boot.ready_uow(settings)
    try:
        with uow.begin():
            secret = platforms.rotate_webhook_secret(
                uow,
                SecretBox(settings.secret_key),
                platforms.find_platform(uow, platform),
                actor=staff_trail.cli_actor(),
            )
    except IsegoriaError as error:
        raise boot.refused(error) from None
    console.print(f"new webhook secret (shown once): {secret}")
    hours = int(platforms.WEBHOOK_SECRET_GRACE.total_seconds() // 3600)
    console.print(
        f"install it at the platform within {hours} h: until then deliveries are signed "
        "with the new and the old secret"
    )


@jurisdictions_app.command("list")
def jurisdictions_list() -> None:
    """List jurisdictions."""
    uow = boot.ready_uow(boot.settings())
    with uow.begin(readonly=True):
        table = Table("code", "name", "parent", "languages", "citizens")
        for j in jurisdictions.list_jurisdictions(uow):
            table.add_row(
                j.code,
                j.name,
                j.parent_code or "",
                j.languages,
                str(people.count_citizens(uow, j.code)),
            )
    console.print(table)


@jurisdictions_app.command("add")
def jurisdictions_add(
    code: str,
    name: Annotated[str, typer.Option()],
    parent: Annotated[str | None, typer.Option()] = None,
    language: Annotated[list[str] | None, typer.Option(help="BCP 47 tag (repeatable).")] = None,
) -> None:
    """Add a jurisdiction."""
    uow = boot.ready_uow(boot.settings())
    try:
        with uow.begin():
            jurisdictions.add_jurisdiction(
                uow, code=code, name=name, parent=parent, languages=language or []
            )
    except IsegoriaError as error:
        raise boot.refused(error) from None
    console.print(f"jurisdiction {code} added")


# After this module's own commands, so that help lists them first.
register_connectors(platforms_app)  # `isegoria platforms connect-matrix ...`
