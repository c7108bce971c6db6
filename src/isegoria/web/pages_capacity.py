"""Capacity (``/staff/capacity``): jurors each jurisdiction needs a day against its volunteers.

The numbers come from ``cases.capacity``, which runs the capacity model of ``isegoria
simulate`` on what the instance saw lately. Operators and auditors only: the page counts
volunteers per jurisdiction, which says something about small communities.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from isegoria.cases import capacity
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.web.pages import render
from isegoria.web.pages_audit import require_staff

router = APIRouter(include_in_schema=False)


@router.get("/staff/capacity", response_class=HTMLResponse)
def capacity_page(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """Each jurisdiction's need and pool, the ones about to run dry first."""
    require_staff(principal)
    with uow.begin(readonly=True):
        pools = capacity.instance_capacity(uow)
    order = {
        capacity.PoolState.EMPTY: 0,
        capacity.PoolState.DRY: 1,
        capacity.PoolState.LOW: 2,
        capacity.PoolState.AMPLE: 3,
        capacity.PoolState.IDLE: 4,
    }
    pools.sort(key=lambda p: (order[p.state], p.code))
    alarming = (capacity.PoolState.EMPTY, capacity.PoolState.DRY, capacity.PoolState.LOW)
    warnings = [p for p in pools if p.state in alarming]
    context = {
        "pools": pools,
        "warnings": warnings,
        "window_days": capacity.WINDOW_DAYS,
        "warn_share": capacity.WARN_SHARE,
        "states": capacity.PoolState,
    }
    return render(request, "audit/capacity.html", context)
