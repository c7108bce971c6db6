"""Transparency reports, public: every figure for a period and a jurisdiction, JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from isegoria.http.access import PUBLIC, access
from isegoria.http.deps import UnitOfWorkDep
from isegoria.reports import instance as reports
from isegoria.reports.report import report_csv

router = APIRouter(prefix="/reports", tags=["reports"])

From = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="Start of the period (inclusive): a date or an RFC 3339 instant, UTC",
    ),
]
To = Annotated[
    str | None,
    Query(alias="to", max_length=40, description="End of the period (exclusive), as `from`"),
]
Code = Annotated[
    str | None,
    Query(max_length=64, description="A jurisdiction code; the report covers it and those below"),
]


def _report(uow: UnitOfWorkDep, start: str | None, end: str | None, code: str | None) -> Any:
    with uow.begin(readonly=True):
        scope = reports.make_scope(uow, start, end, code)
        return reports.transparency_report(uow, scope)


@router.get(
    "/transparency",
    responses={200: {"content": {"application/json": {}}}},
    **access(PUBLIC),
)
def transparency_json(
    uow: UnitOfWorkDep, start: From = None, end: To = None, jurisdiction: Code = None
) -> JSONResponse:
    """The transparency report: every figure defined in docs/reports.md, as JSON."""
    return JSONResponse(_report(uow, start, end, jurisdiction))


@router.get(
    "/transparency.csv",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {}}}},
    **access(PUBLIC),
)
def transparency_csv(
    uow: UnitOfWorkDep, start: From = None, end: To = None, jurisdiction: Code = None
) -> PlainTextResponse:
    """The same report as CSV rows `section,figure,value`."""
    body = report_csv(_report(uow, start, end, jurisdiction))
    return PlainTextResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="transparency-report.csv"'},
    )
