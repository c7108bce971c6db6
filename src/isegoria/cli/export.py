"""`isegoria export dsa`: statements of reasons for the EU DSA Transparency Database."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.integrations import dsa
from isegoria.integrations.dsa_schema import validate_record
from isegoria.store.models_cases import DecisionRow

export_app = typer.Typer(help="Exports for regulators.", no_args_is_help=True)


def _day(text: str, what: str) -> datetime:
    try:
        return datetime.combine(datetime.fromisoformat(text).date(), time(), tzinfo=UTC)
    except ValueError:
        raise boot.fail(
            f"--{what} must be a date like 2026-01-31, not {text!r}", boot.ExitCode.USAGE
        ) from None


def _check_out(out: Path) -> None:
    """Refuse an --out that is a file, or a place this user cannot write, before any work."""
    if out.exists() and not out.is_dir():
        raise boot.fail(
            f"--out {out} is a file; give a directory (it is created if missing)",
            boot.ExitCode.FILE,
        )
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise boot.fail(f"--out {out}: {existing} is not writable", boot.ExitCode.FILE)


@export_app.command("dsa")
def export_dsa(
    from_: Annotated[str, typer.Option("--from", help="First day (UTC), e.g. 2026-01-01")],
    to: Annotated[str, typer.Option("--to", help="Day after the last one (UTC)")],
    out: Annotated[Path, typer.Option(help="Directory for the JSON batches and the CSV")],
    puid_prefix: Annotated[str, typer.Option(help="Makes PUIDs unique to this instance")] = "",
) -> None:
    """Every restricting decision of the period as DSA Transparency Database records."""
    start, end = _day(from_, "from"), _day(to, "to")
    if end <= start:
        raise boot.fail("--to must come after --from", boot.ExitCode.USAGE)
    _check_out(out)
    settings = boot.settings()
    uow = boot.ready_uow(settings, signed=False)
    prefix = puid_prefix or settings.origin.split("/")[0]
    records, skipped = [], []
    with uow.begin(readonly=True):
        rows = uow.session.scalars(
            select(DecisionRow)
            .where(
                DecisionRow.issued_at >= start,
                DecisionRow.issued_at < end,
                DecisionRow.kind == DecisionKind.SANCTION_IMPOSED.value,
            )
            .order_by(DecisionRow.id)
        )
        for row in rows:
            decision = Decision.from_dict(json.loads(row.body))
            if decision.statement is None:
                skipped.append(f"decision {row.id}: no statement of reasons")
                continue
            try:
                record = dsa.statement_record(
                    decision.statement,
                    decision,
                    puid_prefix=prefix,
                    statement_url=settings.effective_public_url + decision.statement_url,
                )
            except dsa.DsaExportError as error:  # e.g. no EEA country in scope: not for the DSA
                skipped.append(str(error))
                continue
            problems = validate_record(record)
            if problems:
                skipped.append(f"decision {row.id}: {'; '.join(problems)}")
                continue
            records.append(record)
    out.mkdir(parents=True, exist_ok=True)
    for number, batch in enumerate(dsa.export_json_batches(records), start=1):
        (out / f"statements-{number:04d}.json").write_text(batch)
    (out / "statements.csv").write_text(dsa.export_csv(records))
    console.print(f"{len(records)} statements exported to {out}; {len(skipped)} skipped")
    for reason in skipped:
        console.print(f"  skipped: {reason}", markup=False)
