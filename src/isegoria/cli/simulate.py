"""`isegoria simulate`: what citizen juries need at a platform's scale (the capacity model)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from isegoria.algorithms import capacity_feasibility
from isegoria.algorithms.capacity import CapacityInputs, estimate
from isegoria.cli import boot
from isegoria.cli.boot import out as console

# The defaults are the worked example of docs/capacity.md (100 million daily users).
simulate_app = typer.Typer()


@simulate_app.command()
def simulate(
    users: Annotated[int, typer.Option(help="Daily active users.")] = 100_000_000,
    posts_per_user_per_day: Annotated[float, typer.Option()] = 2.0,
    reports_per_post: Annotated[float, typer.Option()] = 0.005,
    jury_share: Annotated[float, typer.Option(help="Share of reports tried by a jury.")] = 0.1,
    jury_size: Annotated[int, typer.Option()] = 12,
    appeal_rate: Annotated[float, typer.Option()] = 0.1,
    appeal_jury_size: Annotated[int, typer.Option(help="Default 2n+1.")] = 0,
    acceptance_rate: Annotated[float, typer.Option()] = 0.5,
    no_show_rate: Annotated[float, typer.Option()] = 0.1,
    citizen_share: Annotated[float, typer.Option()] = 0.5,
    volunteer_share: Annotated[float, typer.Option()] = 0.1,
    max_services_per_year: Annotated[int, typer.Option()] = 12,
    reply_deadline_hours: Annotated[float, typer.Option()] = 24.0,
    ballot_deadline_hours: Annotated[float, typer.Option()] = 72.0,
) -> None:
    """How many jurors a day a platform of this size needs, how often a volunteer is called,
    and how long a verdict takes (see docs/capacity.md for the model and its assumptions)."""
    try:
        inputs = CapacityInputs(
            users=users,
            posts_per_user_per_day=posts_per_user_per_day,
            reports_per_post=reports_per_post,
            jury_share=jury_share,
            jury_size=jury_size,
            appeal_rate=appeal_rate,
            appeal_jury_size=appeal_jury_size or 2 * jury_size + 1,
            acceptance_rate=acceptance_rate,
            no_show_rate=no_show_rate,
            citizen_share=citizen_share,
            volunteer_share=volunteer_share,
            max_services_per_year=max_services_per_year,
            reply_deadline_hours=reply_deadline_hours,
            ballot_deadline_hours=ballot_deadline_hours,
        )
    except ValueError as error:
        raise boot.fail(str(error), boot.ExitCode.USAGE) from None
    result = estimate(inputs)
    table = Table("figure", "value", title=f"Citizen juries for {users:,} daily users")
    for name, value in asdict(result).items():
        shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
        table.add_row(name.replace("_", " "), shown)
    console.print(table)
    for line in capacity_feasibility.describe(capacity_feasibility.check(inputs, result), inputs):
        console.print(line, markup=False, highlight=False)
