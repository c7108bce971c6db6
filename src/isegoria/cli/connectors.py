"""Command line for connectors: connect a platform to its Matrix or Mastodon server.

The commands join the ``platforms`` group (``isegoria platforms connect-matrix ...``);
``isegoria.cli`` calls ``register`` once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.config import Settings
from isegoria.connectors import intake as connector_intake
from isegoria.connectors import setup as connectors
from isegoria.errors import IsegoriaError
from isegoria.ops import staff_trail
from isegoria.security import SecretBox

#: A rule mapping file is small (reasons, keywords, rule ids); refuse anything absurd.
MAX_RULES_FILE_BYTES = 1_000_000

RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help='JSON file: {"reasons": {...}, "keywords": {...}, "platform_rules": {...}, '
        '"categories": {...}, "known_rules": [...]}. Without it every report goes to triage.',
    ),
]
JurisdictionOption = Annotated[
    list[str], typer.Option("--jurisdiction", help="Whose law applies (repeatable).")
]
TokenOption = Annotated[
    str,
    typer.Option(
        prompt="Admin access token",
        hide_input=True,
        envvar="ISEGORIA_CONNECT_ADMIN_TOKEN",
        help="The server admin's access token (prompted, or from the environment).",
    ),
]


def _rules(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        if path.stat().st_size > MAX_RULES_FILE_BYTES:
            raise ValueError(f"it is larger than {MAX_RULES_FILE_BYTES:,} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise boot.fail(
            f"cannot read the rule mapping {path}: {error}", boot.ExitCode.USAGE
        ) from None
    if not isinstance(data, dict):
        raise boot.fail(f"the rule mapping {path} must be a JSON object", boot.ExitCode.USAGE)
    return data


def _connect(request: connectors.ConnectorRequest) -> tuple[int, Settings]:
    settings = boot.settings()
    uow = boot.ready_uow(settings)
    try:
        with uow.begin():
            connector = connectors.connect(
                uow,
                SecretBox(settings.secret_key),
                request,
                allow_private=settings.webhook_allow_private,
                actor=staff_trail.cli_actor(),
            )
            connector_id = connector.id
    except IsegoriaError as error:
        raise boot.refused(error) from None
    return connector_id, settings


def connect_matrix(
    platform: Annotated[str, typer.Argument(help="Platform id or name.")],
    url: Annotated[str, typer.Option(help="The homeserver's client URL, e.g. https://hs.example")],
    jurisdiction: JurisdictionOption,
    admin_token: TokenOption,
    rules: RulesOption = None,
    language: Annotated[str, typer.Option(help="BCP 47 tag of the rooms' language.")] = "und",
    reduce_reach: Annotated[str | None, typer.Option(help="shadow_ban (default) or none")] = None,
    ban: Annotated[str | None, typer.Option(help="deactivate (default) or lock")] = None,
    notify: Annotated[str | None, typer.Option(help="server_notice (default) or none")] = None,
    user_reports: Annotated[
        bool, typer.Option("--user-reports/--no-user-reports", help="Read user reports too.")
    ] = True,
) -> None:
    """Connect a platform to its Synapse homeserver: reports in, decisions out."""
    options: dict[str, Any] = {"user_reports": user_reports}
    for key, value in (("reduce_reach", reduce_reach), ("ban", ban), ("notify", notify)):
        if value is not None:
            options[key] = value
    connector_id, _ = _connect(
        connectors.ConnectorRequest(
            platform=platform,
            kind="matrix",
            base_url=url,
            admin_token=admin_token,
            rules=_rules(rules),
            jurisdictions=jurisdiction,
            language=language,
            options=options,
        )
    )
    console.print(f"connector {connector_id}: platform {platform} reads reports from {url}")
    console.print("`isegoria serve` or `isegoria worker` polls it and applies decisions on it")


def connect_mastodon(
    platform: Annotated[str, typer.Argument(help="Platform id or name.")],
    url: Annotated[str, typer.Option(help="The server's URL, e.g. https://social.example")],
    jurisdiction: JurisdictionOption,
    admin_token: TokenOption,
    webhook_secret: Annotated[
        str,
        typer.Option(
            prompt="Webhook secret",
            hide_input=True,
            envvar="ISEGORIA_CONNECT_WEBHOOK_SECRET",
            help="The secret Mastodon shows for the report.created webhook.",
        ),
    ],
    rules: RulesOption = None,
    language: Annotated[str, typer.Option(help="Used for statuses without one.")] = "und",
    ban: Annotated[str | None, typer.Option(help="suspend (default) or disable")] = None,
    send_email: Annotated[
        bool, typer.Option("--send-email/--no-send-email", help="Mastodon e-mails the warning.")
    ] = True,
) -> None:
    """Connect a platform to its Mastodon server: report webhooks in, account actions out."""
    options: dict[str, Any] = {"send_email": send_email}
    if ban is not None:
        options["ban"] = ban
    connector_id, settings = _connect(
        connectors.ConnectorRequest(
            platform=platform,
            kind="mastodon",
            base_url=url,
            admin_token=admin_token,
            rules=_rules(rules),
            jurisdictions=jurisdiction,
            language=language,
            options=options,
            webhook_secret=webhook_secret,
        )
    )
    hook = f"{settings.effective_public_url}/api/v1/connectors/{connector_id}/mastodon/webhook"
    console.print(f"connector {connector_id}: platform {platform} acts on {url}")
    console.print(f"in Mastodon, Administration > Webhooks: send report.created to {hook}")


def connectors_list() -> None:
    """List connectors, their servers, last poll and last error."""
    uow = boot.ready_uow(boot.settings())
    with uow.begin(readonly=True):
        table = Table("id", "platform", "kind")
        table.add_column("server", no_wrap=True)  # a URL cut in two cannot be copied
        for header in ("jurisdictions", "last poll", "error"):
            table.add_column(header)
        for c in connectors.list_connectors(uow):
            table.add_row(
                str(c.id),
                str(c.platform_id),
                c.kind,
                c.base_url,
                c.jurisdictions,
                c.last_polled_at.isoformat(timespec="seconds") if c.last_polled_at else "",
                (c.last_error or "")[:60],
            )
        waiting = len(connector_intake.triage_queue(uow, limit=1000))
    console.print(table)
    console.print(f"{waiting} platform reports wait in the triage queue (/triage)")


def register(platforms_app: typer.Typer) -> None:
    """Add the connector commands to the ``platforms`` group."""
    platforms_app.command("connect-matrix")(connect_matrix)
    platforms_app.command("connect-mastodon")(connect_mastodon)
    platforms_app.command("connectors")(connectors_list)
