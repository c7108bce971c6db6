"""`isegoria report`: the transparency report, of this instance or recomputed from a remote log.

With ``--from-log URL`` nothing local is read: the remote instance's public log is fetched
through its API, verified entry by entry against its signed checkpoints (log.verify), and
every figure is recomputed from the verified entries. The result is what the instance
itself serves at /api/v1/reports/transparency, minus the two sections that need personal
data (juror strata, linked authors' leaning).
"""

from __future__ import annotations

import contextvars
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from isegoria import i18n
from isegoria.cli import boot
from isegoria.cli.boot import err
from isegoria.errors import IsegoriaError
from isegoria.log.entries import DecodedEntry, decode_entry
from isegoria.log.remote import RemoteLog, RemoteLogError
from isegoria.log.verify import LogVerificationError, RemoteSource, SourcedEntry, verify_log
from isegoria.reports import instance as reports
from isegoria.reports.figures import Scope
from isegoria.reports.report import build_report, report_csv
from isegoria.web.pages_reports import render_standalone

STATIC = Path(__file__).parent.parent / "web" / "static"
report_app = typer.Typer()


class Format(StrEnum):
    """Output formats of ``isegoria report``."""

    JSON = "json"
    CSV = "csv"
    HTML = "html"


class _KeepingSource(RemoteSource):
    """A remote log source that keeps each entry's bytes as the verifier reads them."""

    def __init__(self, remote: RemoteLog) -> None:
        super().__init__(remote)
        self.payloads: list[bytes] = []

    def entries(self, stop: int) -> Iterator[SourcedEntry]:
        """Entries below ``stop``, remembered on the way through."""
        for entry in super().entries(stop):
            self.payloads.append(entry.payload)
            yield entry


def verified_remote_entries(url: str, key: str | None, warn: Any = err.print) -> list[DecodedEntry]:
    """Fetch and verify a remote log; its entries only once every check has passed."""
    remote = RemoteLog(url)
    try:
        if key is None:
            _origin, key = remote.key()
            warn(
                f"trusting the key {key} that {remote.url} serves (trust on first use); "
                "compare it with one published elsewhere, or pass --key"
            )
        source = _KeepingSource(remote)
        verify_log(source, key)
        return [decode_entry(p) for p in source.payloads]
    finally:
        remote.close()


def _scope(start: str | None, end: str | None, code: str | None) -> Scope:
    scope = Scope(reports.parse_bound(start, "from"), reports.parse_bound(end, "to"), code or None)
    if scope.start is not None and scope.end is not None and scope.start >= scope.end:
        raise IsegoriaError("the period must end (--to) after it starts (--from)")
    return scope


def _local_report(scope: Scope) -> dict[str, Any]:
    uow = boot.ready_uow(boot.settings(), signed=False)
    with uow.begin(readonly=True):
        if scope.jurisdiction is not None:
            reports.make_scope(uow, None, None, scope.jurisdiction)  # names an unknown code
        return reports.transparency_report(uow, scope)


def _render(report: dict[str, Any], output_format: Format, language: str) -> str:
    if output_format is Format.JSON:
        return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output_format is Format.CSV:
        return report_csv(report)
    css = "\n".join((STATIC / name).read_text("utf-8") for name in ("site.css", "reports.css"))
    # In a copy of the context, so the language chosen here ends with the rendering.
    return contextvars.copy_context().run(_html, report, css, language)


def _html(report: dict[str, Any], css: str, language: str) -> str:
    i18n.set_language(language)
    return render_standalone(report, css)


@report_app.command("report")
def report(
    from_log: Annotated[
        str | None,
        typer.Option("--from-log", help="Recompute from this instance's public log (base URL)."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(help="The remote log's verifier key (default: trust on first use)."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Start of the period: a date or instant, UTC.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End of the period (excluded), as --from.")
    ] = None,
    jurisdiction: Annotated[
        str | None, typer.Option(help="A jurisdiction code; those below it are included.")
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", help="json, csv or html.")] = (
        Format.JSON
    ),
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
    language: Annotated[
        str,
        typer.Option(
            help=f"Language of the html report and its charts: {', '.join(i18n.LANGUAGES)}."
        ),
    ] = i18n.DEFAULT_LANGUAGE,
) -> None:
    """The transparency report (docs/reports.md), of this instance or of a remote log."""
    if language not in i18n.LANGUAGES:
        raise boot.fail(
            f"--language {language!r} is not one of {', '.join(i18n.LANGUAGES)}",
            boot.ExitCode.USAGE,
        )
    try:
        scope = _scope(start, end, jurisdiction)
        if from_log is None:
            result = _local_report(scope)
        else:
            entries = verified_remote_entries(from_log, key)
            codes = {e.facts.get("code") for e in entries if e.kind == "JurisdictionCreated"}
            if scope.jurisdiction is not None and scope.jurisdiction not in codes:
                raise IsegoriaError(
                    "the log knows no jurisdiction %(jurisdiction)s",
                    jurisdiction=repr(scope.jurisdiction),
                )
            result = build_report(entries, scope)
    except IsegoriaError as error:
        raise boot.fail(error.detail, boot.ExitCode.USAGE) from None
    except (LogVerificationError, RemoteLogError) as error:
        raise boot.fail(f"the remote log did not verify: {error}") from None
    text = _render(result, output_format, language)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
