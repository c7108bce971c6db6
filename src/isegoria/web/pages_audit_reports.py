"""The auditors' console, its audits: consistency, disparity and the whole report, with files.

Each audit is a part of the transparency report (``reports.instance``), drawn with the
report's own charts (``web.report_charts``) and offered as CSV and JSON for anyone who
wants to redo the arithmetic. Public, like the report.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from isegoria.http.deps import UnitOfWorkDep
from isegoria.people import jurisdictions
from isegoria.reports import instance as reports
from isegoria.reports.report import report_csv
from isegoria.web.pages import render
from isegoria.web.report_charts import report_charts

router = APIRouter(include_in_schema=False)

Audit = Literal["consistency", "disparity", "report"]
Bound = Annotated[str | None, Query(alias="from", max_length=40)]
End = Annotated[str | None, Query(alias="to", max_length=40)]
Code = Annotated[str | None, Query(max_length=64)]


def _report(
    uow: UnitOfWorkDep, start: str | None, end: str | None, code: str | None
) -> tuple[dict[str, Any], list[str]]:
    with uow.begin(readonly=True):
        scope = reports.make_scope(uow, start or None, end or None, code or None)
        report = reports.transparency_report(uow, scope)
        codes = [j.code for j in jurisdictions.list_jurisdictions(uow)]
    return report, codes


def section(report: dict[str, Any], audit: Audit) -> dict[str, Any]:
    """The part of the report one audit is about (the whole report for ``report``)."""
    if audit == "consistency":
        return {"scope": report["scope"], "consistency": report["consistency"]}
    if audit == "disparity":
        tables = [*report["disparity"], *report.get("juror_strata", [])]
        return {"scope": report["scope"], "disparity": [*tables, *report.get("author_leaning", [])]}
    return report


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "" if value is None else str(value)


CONSISTENCY_COLUMNS = ("aspect", "rule", "level", "cases", "pairs", "alpha", "ci_low", "ci_high")
DISPARITY_COLUMNS = ("dimension", "outcome", "group")


def rows_csv(rows: list[dict[str, Any]], first: tuple[str, ...] = ()) -> str:
    """Rows of dictionaries as CSV: the ``first`` columns, then every other key as first seen."""
    columns: list[str] = list(first)
    for row in rows:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)
    return buffer.getvalue()


def audit_csv(data: dict[str, Any], audit: Audit) -> str:
    """One audit as CSV: a row per rule and aspect, per group, or per figure of the report."""
    if audit == "consistency":
        part = data["consistency"]
        rows = [
            {"aspect": aspect, **r} for aspect in ("violation", "sanction") for r in part[aspect]
        ]
        return rows_csv(rows, CONSISTENCY_COLUMNS)
    if audit == "disparity":
        rows = [
            {"dimension": t["dimension"], "outcome": t["outcome"], **group}
            for t in data["disparity"]
            for group in t["groups"]
        ]
        return rows_csv(rows, DISPARITY_COLUMNS)
    return report_csv(data)


def _blocks(report: dict[str, Any], audit: Audit) -> list[dict[str, Any]]:
    wanted = {"consistency": ("agreement",), "disparity": ("disparity-",), "report": ("",)}
    # The charts escape every text they draw (web/charts.py), so their SVG is safe markup.
    return [
        {"key": b.key, "title": b.title, "svg": Markup(b.svg), "table": Markup(b.table)}  # noqa: S704
        for b in report_charts(report)
        if b.key.startswith(wanted[audit])
    ]


def audit_page(
    request: Request,
    uow: UnitOfWorkDep,
    audit: Audit,
    start: str | None,
    end: str | None,
    jurisdiction: str | None,
) -> HTMLResponse:
    """One audit for a period and a jurisdiction, with its charts and its files."""
    report, codes = _report(uow, start, end, jurisdiction)
    query = {k: v for k, v in (("from", start), ("to", end), ("jurisdiction", jurisdiction)) if v}
    context = {
        "audit": audit,
        "data": section(report, audit),
        "report": report,
        "charts": _blocks(report, audit),
        "form": {"from": start or "", "to": end or "", "jurisdiction": jurisdiction or ""},
        "query": urlencode(query),
        "jurisdiction_codes": codes,
    }
    return render(request, "audit/audit.html", context)


def audit_file(
    uow: UnitOfWorkDep,
    audit: Audit,
    extension: Literal["csv", "json"],
    start: str | None,
    end: str | None,
    jurisdiction: str | None,
) -> Response:
    """One audit as a CSV or JSON file to download."""
    report, _codes = _report(uow, start, end, jurisdiction)
    data = section(report, audit)
    if extension == "json":
        body = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        media = "application/json"
    else:
        body, media = audit_csv(data, audit), "text/csv; charset=utf-8"
    disposition = f'attachment; filename="isegoria-{audit}.{extension}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


def _page_route(audit: Audit) -> None:
    def page(
        request: Request,
        uow: UnitOfWorkDep,
        start: Bound = None,
        end: End = None,
        jurisdiction: Code = None,
    ) -> HTMLResponse:
        return audit_page(request, uow, audit, start, end, jurisdiction)

    router.add_api_route(
        f"/audit/{audit}", page, methods=["GET"], response_class=HTMLResponse, name=f"audit_{audit}"
    )


def _file_route(audit: Audit, extension: Literal["csv", "json"]) -> None:
    def download(
        uow: UnitOfWorkDep, start: Bound = None, end: End = None, jurisdiction: Code = None
    ) -> Response:
        return audit_file(uow, audit, extension, start, end, jurisdiction)

    router.add_api_route(
        f"/audit/{audit}.{extension}",
        download,
        methods=["GET"],
        response_model=None,
        name=f"audit_{audit}_{extension}",
    )


# Fixed paths, no catch-all under /audit: other parts of the console live there too.
AUDITS: tuple[Audit, ...] = ("consistency", "disparity", "report")
for _audit in AUDITS:
    _file_route(_audit, "csv")
    _file_route(_audit, "json")
    _page_route(_audit)
