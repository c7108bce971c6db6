"""``/audit/staff-trail``: auditors (and operators) read what the staff did; citizens do not."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from isegoria import i18n
from isegoria.domain.identity import Role
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.ops import staff_trail
from isegoria.web.pages import render
from isegoria.web.pages_staff_people import staff_member

router = APIRouter(include_in_schema=False)

PAGE = "/audit/staff-trail"


@router.get(PAGE, response_class=HTMLResponse)
def trail_page(
    request: Request,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """The newest staff actions first, fifty a page, optionally of one kind."""
    staff_member(
        principal,
        frozenset({Role.AUDITOR, Role.OPERATOR}),
        i18n.gettext("Only auditors and operators read the staff audit trail."),
    )
    wanted = action or None
    with uow.begin(readonly=True):
        rows = staff_trail.staff_trail(uow, before=before, action=wanted, limit=50)
    older = rows[-1].id if len(rows) == 50 else None
    context = {"rows": rows, "action": wanted or "", "older": older}
    return render(request, "staff/staff_trail.html", context)
