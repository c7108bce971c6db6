"""Command line for cases: list, show, and re-run a jury draw from public data."""

from __future__ import annotations

import json
from typing import Annotated

import httpx
import typer
from rich.table import Table

from isegoria.cases import common as cases_common
from isegoria.cases import views as cases_views
from isegoria.cases.jury_verify import (
    DrawEvidence,
    JuryVerificationError,
    check_seat_holders,
    fetch_evidence,
    verify_draw,
)
from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.config import Settings
from isegoria.errors import IsegoriaError
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.unit_of_work import UnitOfWork

cases_app = typer.Typer(help="Cases.", no_args_is_help=True)
jury_app = typer.Typer(help="Juries.", no_args_is_help=True)
MAX_CASE_ID = 2**31 - 1  # cases.id is a 32-bit INTEGER on PostgreSQL
CaseIdArgument = Annotated[int, typer.Argument(min=1, max=MAX_CASE_ID, help="The case number.")]


def _uow() -> tuple[UnitOfWork, Settings]:
    settings = boot.settings()
    return boot.ready_uow(settings, signed=False), settings


@cases_app.command("list")
def cases_list(
    status: Annotated[str | None, typer.Option(help="open, decided, appealed or final")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """List cases, newest first."""
    uow, _ = _uow()
    with uow.begin(readonly=True):
        table = Table("case", "rule", "status", "stage", "outcome", "sanction", "opened")
        for c in cases_views.list_cases(uow, status=status, limit=limit, before=None):
            table.add_row(
                str(c.id),
                f"{c.rule_id} v{c.rule_version}",
                c.status,
                c.stage,
                c.appeal_outcome or c.outcome or "",
                c.appeal_sanction or c.sanction or "",
                f"{c.opened_at:%Y-%m-%d %H:%M}",
            )
    console.print(table)


@cases_app.command("show")
def cases_show(case_id: CaseIdArgument) -> None:
    """Show a case: the post, the rule, every logged step and the reasons."""
    uow, _ = _uow()
    try:
        with uow.begin(readonly=True):
            view = cases_views.case_view(uow, case_id)
    except IsegoriaError as error:
        raise boot.refused(error) from None
    console.print(
        f"[bold]Case {view['id']}[/bold]: {view['rule']} ({view['rule_title']}), "
        f"{view['status']}, stage {view['stage']}"
    )
    console.print(f"post by {view['author']} on {view['posted_at']:%Y-%m-%d %H:%M} UTC:")
    console.print(view["content_text"], markup=False, highlight=False)
    for item in view["timeline"]:
        console.print(f"  #{item['index']} {item['at']:%Y-%m-%d %H:%M} {item['kind']}")
    if view["reports_not_listed"]:
        console.print(f"  ... and {view['reports_not_listed']} further reports (in the log)")
    if view["statement"]:
        console.print("statement of reasons:")
        console.print(json.dumps(view["statement"], indent=2, ensure_ascii=False), markup=False)


def _local_evidence(case_id: int, stage: str) -> tuple[DrawEvidence, str]:
    uow, settings = _uow()
    with uow.begin(readonly=True):
        cases_common.get_case(uow, case_id)  # "no case N" before "no jury"
        record = cases_views.draw_record(uow, case_id, stage)
        if record is None:
            raise JuryVerificationError(f"case {case_id} has no {stage} jury")
        drawn = next(
            (
                decode_entry(e.payload).facts
                for e in log_read.entries_about(uow.session, "case", str(case_id))
                if e.kind == "JuryDrawn" and decode_entry(e.payload).facts["stage"] == stage
            ),
            None,
        )
        replaced = tuple(
            facts
            for e in log_read.entries_about(uow.session, "case", str(case_id))
            if e.kind == "JurorsReplaced"
            and (facts := decode_entry(e.payload).facts)["stage"] == stage
        )
        head = log_read.checkpoint_at(uow.session, record["seed_checkpoint_size"])
        if drawn is None or head is None:
            raise JuryVerificationError("the draw's log entry or checkpoint is missing")
        note = head.note
    key = boot.signer(settings).verifier_key
    return DrawEvidence(case_id, stage, record, drawn, note, replaced), key


def _check_local_seats(case_id: int, stage: str) -> int | None:
    """On the instance itself: the account in each seat is the one behind its pseudonym."""
    uow, _settings = _uow()
    with uow.begin(readonly=True):
        return check_seat_holders(uow, case_id, stage)


@jury_app.command("verify")
def jury_verify(
    case_id: CaseIdArgument,
    stage: Annotated[str, typer.Option(help="first, appeal or retrial")] = "first",
    url: Annotated[str | None, typer.Option(help="Verify a remote instance instead")] = None,
    key: Annotated[str | None, typer.Option(help="The log's verifier key (pin it!)")] = None,
) -> None:
    """Re-run a jury draw from public data and check it gives the published jury."""
    try:
        if url is None:
            evidence, own_key = _local_evidence(case_id, stage)
            key = key or own_key
        else:
            with httpx.Client(timeout=30) as client:
                evidence = fetch_evidence(url, case_id, stage, client)
                if key is None:
                    key = client.get(url.rstrip("/") + "/api/v1/log/key").json()["verifier_key"]
                    boot.err.print(
                        "warning: trusting the verifier key the server serves; pin it with --key"
                    )
        result = verify_draw(evidence, key)
        seats_checked = _check_local_seats(case_id, stage) if url is None else None
    except IsegoriaError as error:
        raise boot.refused(error) from None
    except (JuryVerificationError, httpx.HTTPError) as error:
        raise boot.fail(str(error)) from None
    console.print(
        f"case {case_id} {stage} jury verified: {len(result.jurors)} jurors re-drawn from a pool "
        f"of {result.pool_size} with seed {result.seed[:16]}…; smallest selection probability "
        f"{result.min_probability}"
        + (" among the volunteers who can be seated" if result.cannot_be_seated else "")
    )
    console.print("jurors: " + ", ".join(result.jurors))
    for sentence in result.cannot_be_seated:
        console.print(sentence)
    if url is None:
        console.print(
            f"seat holders: {seats_checked} seats hold the account behind their pseudonym"
            if seats_checked is not None
            else "seat holders: not checked, the jury is closed and its pseudonym key erased"
        )
