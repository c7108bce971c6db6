"""`isegoria federation`: the labeler identity and the Flag-outcome deliveries, for operators."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.errors import IsegoriaError
from isegoria.federation import activitypub_delivery
from isegoria.integrations.federation_identity import actor_urls, labeler_key
from isegoria.ops import staff_trail

federation_app = typer.Typer(help="ActivityPub and AT Protocol.", no_args_is_help=True)


@federation_app.command("identity")
def identity() -> None:
    """The actor and inbox URLs, the labeler DID and its did:key (for a did:plc document)."""
    settings = boot.settings()
    actor, key_id, inbox = actor_urls(settings.effective_public_url)
    # Plain echo, not Rich: Rich would render the ":key:" of "did:key:" as an emoji.
    typer.echo(f"activitypub actor  {actor}")
    typer.echo(f"activitypub key    {key_id}")
    typer.echo(f"activitypub inbox  {inbox}")
    typer.echo(f"labeler DID        {settings.effective_labeler_did}")
    typer.echo(f"labeler key        {labeler_key(boot.secret(settings)).did_key}")


@federation_app.command("outcomes")
def outcomes(
    state: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Flag outcomes sent (or not yet) to reporting servers, newest first."""
    try:
        uow = boot.ready_uow(boot.settings(), signed=False)
        with uow.begin(readonly=True):
            rows = activitypub_delivery.outcomes(uow, state=state, limit=limit)
    except IsegoriaError as error:  # an unknown --state: a bad option
        raise boot.fail(error.detail, boot.ExitCode.USAGE) from None
    table = Table("id", "decision", "state", "attempts", "inbox", "last error")
    for row in rows:
        table.add_row(
            str(row.id),
            str(row.decision_id),
            row.delivery,
            str(row.attempts),
            row.inbox,
            (row.error or "")[:80],
        )
    console.print(table)


@federation_app.command("requeue")
def requeue(
    delivery_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The delivery's id.")],
) -> None:
    """Send a dead Flag outcome again (after the remote server was fixed)."""
    try:
        uow = boot.ready_uow(boot.settings(), signed=False)
        with uow.begin():
            activitypub_delivery.requeue(uow, delivery_id, actor=staff_trail.cli_actor())
    except IsegoriaError as error:
        raise boot.refused(error) from None
    console.print(f"Flag outcome {delivery_id} is queued again")
