"""Command line for context notes: score them now, or score the public Community Notes files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from isegoria.cli import boot
from isegoria.cli.boot import err
from isegoria.cli.boot import out as console
from isegoria.clockfile import clock_from_environment
from isegoria.integrations.community_notes_run import MissingDataFile, score_directory
from isegoria.integrations.community_notes_tsv import CommunityNotesFormatError
from isegoria.notes import scoring as notes_scoring

notes_app = typer.Typer(help="Context notes.", no_args_is_help=True)

# The stages the scorers report, in order: the bar advances one step per stage.
DATABASE_STAGES: Final = ("loading ratings", "fitting the model", "storing statuses", "done")
FILE_STAGES: Final = (
    "reading notes",
    "reading the status history",
    "reading ratings",
    "fitting the model",
    "writing the outputs",
)


@contextmanager
def _stages(stages: tuple[str, ...]) -> Iterator[Callable[[str], None]]:
    bar = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=not err.is_terminal,
    )
    task = bar.add_task("scoring notes", total=len(stages))

    def advance(stage: str) -> None:
        done = stages.index(stage) + 1 if stage in stages else 0
        bar.update(task, description=stage, completed=done)

    with bar:
        yield advance
    bar.update(task, completed=len(stages))


@notes_app.command("score")
def score(
    import_dir: Annotated[
        Path | None,
        typer.Option(
            "--import-dir",
            help="Score the public Community Notes files (notes, ratings, noteStatusHistory,"
            " userEnrollment TSVs) in this directory instead of this instance's notes.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the outputs of --import-dir.", file_okay=False),
    ] = None,
) -> None:
    """Score notes now: this instance's (logged), or a directory of public data files."""
    if import_dir is not None:
        _score_files(import_dir, out)
        return
    if out is not None:
        raise boot.fail("--out goes with --import-dir", boot.ExitCode.USAGE)
    uow = boot.ready_uow(boot.settings(), clock_from_environment())
    with _stages(DATABASE_STAGES) as advance, uow.begin():
        summary = notes_scoring.run_scoring(uow, progress=advance)
    table = Table("run", "ratings", "raters scored", "notes", *summary.counts, "changed")
    table.add_row(
        str(summary.run_id),
        str(summary.ratings),
        str(summary.raters),
        str(summary.notes),
        *(str(v) for v in summary.counts.values()),
        str(summary.changed),
    )
    console.print(table)
    console.print(f"{summary.shown} notes now shown, {summary.hidden} hidden again")
    acted = ", ".join(f"{name} {count}" for name, count in summary.rules.items() if count)
    console.print(f"published rules that acted on notes: {acted or 'none'}")


def _score_files(source: Path, out: Path | None) -> None:
    if out is None:
        raise boot.fail("--import-dir needs --out DIR for the outputs", boot.ExitCode.USAGE)
    now_millis = int(clock_from_environment().now().timestamp() * 1000)
    try:
        with _stages(FILE_STAGES) as advance:
            comparison = score_directory(
                source,
                out,
                now_millis=now_millis,
                progress=advance,
            )
    except (MissingDataFile, CommunityNotesFormatError) as error:
        raise boot.fail(str(error)) from None
    table = Table("published \\ ours", *comparison.matrix, title="statuses compared")
    for published, row in comparison.matrix.items():
        table.add_row(published, *(str(n) for n in row.values()))
    console.print(table)
    console.print(
        f"{comparison.notes} notes, {comparison.ratings} ratings, {comparison.raters} raters; "
        f"agreement with the published statuses: {comparison.agreed}/{comparison.compared}"
        f" ({comparison.agreement:.1%}); outputs in {out}"
    )
