"""``isegoria rules``: read the law from the command line (list, show, export). Read-only.

There is deliberately no command that writes a rule: law is made only by citizens' votes.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

import typer
from rich.table import Table

from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.clockfile import clock_from_environment
from isegoria.domain.rulebook import RuleVersion
from isegoria.errors import IsegoriaError
from isegoria.law import read as law_read
from isegoria.log.entries import format_instant

rules_app = typer.Typer(
    help="The law: rules in force, their versions, exports.", no_args_is_help=True
)

JurisdictionOption = Annotated[str, typer.Option("--jurisdiction", "-j", help="e.g. MX")]
AtOption = Annotated[
    str | None,
    typer.Option(help="Date (end of that day, UTC) or ISO instant with timezone; default now."),
]


def parse_at(text: str | None) -> datetime:
    """A moment from ``YYYY-MM-DD`` (end of that day, UTC) or an ISO instant; default now."""
    if not text:
        return clock_from_environment().now()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD) or ISO instant") from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no timezone; add Z or +01:00")
    return moment


def version_dict(v: RuleVersion) -> dict[str, Any]:
    """A rule version as JSON-ready data."""
    return {
        "rule_id": v.rule_id,
        "version": v.version,
        "jurisdiction": v.jurisdiction,
        "title": v.title,
        "text": v.text,
        "harm_category": v.harm_category.value,
        "dsa_category": v.harm_category.dsa_category,
        "ground": v.ground.value,
        "sanction_cap": v.sanction_cap.value,
        "max_suspension_days": v.max_suspension_days,
        "covered_examples": list(v.covered_examples),
        "not_covered_examples": list(v.not_covered_examples),
        "effective_from": format_instant(v.effective_from),
        "effective_until": format_instant(v.effective_until) if v.effective_until else None,
        "enacted_by_proposal": v.enacted_by,
    }


def version_markdown(v: RuleVersion) -> str:
    """A rule version as a Markdown section."""
    lines = [
        f"## {v.rule_id} v{v.version}: {v.title}",
        "",
        f"*{v.jurisdiction} · {v.harm_category.value} · {v.ground.value} · highest sanction: "
        f"{v.ceiling.describe()} · {v.describe_interval()} · proposal {v.enacted_by}*",
        "",
        v.text.strip(),
        "",
    ]
    if v.covered_examples:
        lines += ["Covers, for example:", ""] + [f"- {e}" for e in v.covered_examples] + [""]
    if v.not_covered_examples:
        lines += ["Does not cover, for example:", ""]
        lines += [f"- {e}" for e in v.not_covered_examples] + [""]
    return "\n".join(lines)


def _in_force(jurisdiction: str, at: datetime) -> list[RuleVersion]:
    uow = boot.ready_uow(boot.settings(), signed=False)
    try:
        with uow.begin(readonly=True):
            return law_read.in_force(uow, jurisdiction, at)
    except IsegoriaError as error:
        raise boot.refused(error) from None


@rules_app.command("list")
def rules_list(jurisdiction: JurisdictionOption, at: AtOption = None) -> None:
    """The rules in force in a jurisdiction (its parents' too) at a moment."""
    moment = parse_at(at)
    versions = _in_force(jurisdiction, moment)
    table = Table("rule", "title", "jurisdiction", "category", "highest sanction", "since")
    for v in versions:
        table.add_row(
            v.label,
            v.title,
            v.jurisdiction,
            v.harm_category.value,
            v.ceiling.describe(),
            format_instant(v.effective_from),
        )
    console.print(table)
    console.print(f"{len(versions)} rules in force in {jurisdiction} at {format_instant(moment)}")


@rules_app.command("show")
def rules_show(rule_id: str) -> None:
    """Every version of one rule, with its text."""
    uow = boot.ready_uow(boot.settings(), signed=False)
    try:
        with uow.begin(readonly=True):
            history = law_read.rule_history(uow, rule_id)
    except IsegoriaError as error:
        raise boot.refused(error) from None
    for v in history:
        console.print(version_markdown(v), markup=False, highlight=False)


@rules_app.command("export")
def rules_export(
    jurisdiction: JurisdictionOption,
    at: AtOption = None,
    output_format: Annotated[str, typer.Option("--format", help="json or markdown")] = "json",
) -> None:
    """The law in force at a moment, as JSON or Markdown on standard output."""
    if output_format not in ("json", "markdown"):
        raise typer.BadParameter("--format is json or markdown")
    moment = parse_at(at)
    versions = _in_force(jurisdiction, moment)
    if output_format == "json":
        document = {
            "jurisdiction": jurisdiction,
            "at": format_instant(moment),
            "rules": [version_dict(v) for v in versions],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    parts = [f"# The law in {jurisdiction} at {format_instant(moment)}", ""]
    parts += [version_markdown(v) for v in versions]
    typer.echo("\n".join(parts))
