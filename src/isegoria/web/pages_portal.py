""" "My isegoria": the citizen's dashboard, where a citizen lands after logging in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from isegoria import i18n
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.web.my_isegoria import my_isegoria
from isegoria.web.pages import citizen_id, render

router = APIRouter(include_in_schema=False)


@router.get("/me", response_class=HTMLResponse)
def my_isegoria_page(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """Summons, juries, reports, decisions about my posts, votes, proposals, notifications."""
    account = citizen_id(principal, i18n.gettext("Only citizens have a dashboard."))
    with uow.begin(readonly=True):
        found = my_isegoria(uow, account, i18n.current_language())
    return render(request, "me.html", {"me": found})
