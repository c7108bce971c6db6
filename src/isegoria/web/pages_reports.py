"""The transparency report as pages: a form, the figures, charts with tables, a printable copy."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from isegoria.algorithms.disparity import BASE_RATE_CAVEAT
from isegoria.http.deps import UnitOfWorkDep
from isegoria.people import jurisdictions
from isegoria.reports import instance as reports
from isegoria.web.pages import render, templates
from isegoria.web.report_charts import report_charts

router = APIRouter(include_in_schema=False)

Code = Annotated[str | None, Query(max_length=64)]


def page_context(
    report: dict[str, Any], start: str | None, end: str | None, code: str | None
) -> dict[str, Any]:
    """What the report templates need, from a report's JSON (also used by the CLI)."""
    # The charts escape every text they draw (web/charts.py), so their SVG is safe markup.
    blocks = [
        {"key": b.key, "title": b.title, "svg": Markup(b.svg), "table": Markup(b.table)}  # noqa: S704
        for b in report_charts(report)
    ]
    query = {k: v for k, v in (("from", start), ("to", end), ("jurisdiction", code)) if v}
    return {
        "report": report,
        "charts": {b["key"]: b for b in blocks},
        "chart_list": blocks,
        "form": {"from": start or "", "to": end or "", "jurisdiction": code or ""},
        "query": urlencode(query),
        "caveat": BASE_RATE_CAVEAT,
    }


def render_standalone(report: dict[str, Any], stylesheet: str) -> str:
    """The printable report as one self-contained HTML file (styles inlined), for the CLI."""
    scope = report["scope"]
    context = page_context(report, scope["from"], scope["to"], scope["jurisdiction"])
    template = templates.env.get_template("reports/print.html")
    return template.render({**context, "printable": True, "inline_css": Markup(stylesheet)})  # noqa: S704


def _context(
    uow: UnitOfWorkDep, start: str | None, end: str | None, code: str | None
) -> dict[str, Any]:
    with uow.begin(readonly=True):
        scope = reports.make_scope(uow, start, end, code)
        report = reports.transparency_report(uow, scope)
        codes = [j.code for j in jurisdictions.list_jurisdictions(uow)]
    return {**page_context(report, start, end, code), "jurisdiction_codes": codes}


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    uow: UnitOfWorkDep,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    jurisdiction: Code = None,
) -> HTMLResponse:
    """The transparency report for a period and jurisdiction, with charts."""
    context = _context(uow, start, end, jurisdiction)
    return render(request, "reports/index.html", {**context, "printable": False})


@router.get("/reports/print", response_class=HTMLResponse)
def reports_print(
    request: Request,
    uow: UnitOfWorkDep,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    jurisdiction: Code = None,
) -> HTMLResponse:
    """The same report laid out for paper (or a PDF printed from the browser)."""
    # On paper a closed <details> cannot be opened: every table is printed in full.
    context = _context(uow, start, end, jurisdiction)
    return render(request, "reports/print.html", {**context, "printable": True})
