"""The auditors' console, its juries part: any case's draw re-run from its public inputs.

What ``isegoria jury verify CASE`` does, in the browser: the seed checkpoint's signature,
the seed, the quotas and the portfolio, the volunteers no quota-satisfying jury can seat,
the pool and exclusions against the log's digests, and the lottery run again. Public, as
every input is.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from isegoria import i18n
from isegoria.algorithms import sortition
from isegoria.cases import draw_audit
from isegoria.errors import NotFound
from isegoria.http.deps import ServicesDep, UnitOfWorkDep
from isegoria.web.pages import render

router = APIRouter(include_in_schema=False)

MAX_CASE_ID = 2**31 - 1  # cases.id is a 32-bit INTEGER on PostgreSQL
STAGES = ("first", "appeal", "retrial")


def stage_name(stage: str) -> str:
    """A jury's stage in the reader's words."""
    names = {
        "first": i18n.gettext("first instance"),
        "appeal": i18n.gettext("appeal"),
        "retrial": i18n.gettext("consistency retrial"),
    }
    return names.get(stage, stage)


def stratum_name(stratum: str) -> str:
    """A stratum of the jury draw in the reader's words."""
    names = {
        "region": i18n.gettext("region"),
        "age_band": i18n.gettext("age band"),
        "leaning": i18n.gettext("leaning"),
        "political_leaning": i18n.gettext("leaning"),  # the constitution's name of the stratum
    }
    return names.get(stratum, stratum.replace("_", " "))


def _case_number(text: str | None) -> int | None:
    value = (text or "").strip().lstrip("#")
    if not value:
        return None
    if not re.fullmatch(r"[0-9]{1,10}", value) or not 1 <= int(value) <= MAX_CASE_ID:
        raise NotFound(
            "“%(value)s” is not a case number: type a whole number such as 12.",
            field="case",
            value=value[:40],
        )
    return int(value)


def _miss(miss: sortition.QuotaMiss) -> str:
    names = {"stratum": stratum_name(miss.stratum), "value": miss.value}
    numbers = {"limit": miss.limit, "by": miss.by}
    if miss.bound == "minimum":  # sortition_model.MINIMUM, as the published record spells it
        text = i18n.gettext("%(stratum)s “%(value)s”: at least %(limit)s seats, missed by %(by)s")
    else:
        text = i18n.gettext("%(stratum)s “%(value)s”: at most %(limit)s seats, missed by %(by)s")
    return text % {**names, **numbers}


def unseatable_lines(record: dict[str, Any]) -> list[str]:
    """Each profile no quota-satisfying jury could seat, and the quotas that block it."""
    try:
        unseatable = sortition.unseatable_in_record(record.get("portfolio") or {})
    except sortition.SortitionError:
        return []  # a malformed record: the verification says so
    return [
        i18n.gettext("%(profile)s: the closest jury that seats one of them misses %(misses)s.")
        % {"profile": " / ".join(u.profile), "misses": "; ".join(_miss(m) for m in u.blocked_by)}
        for u in unseatable
    ]


def _pool_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The pool by strata profile: how many volunteers of each profile were in the draw."""
    pool = record.get("pool") or {}
    return [
        {
            "profile": " / ".join(map(str, p.get("profile", []))),
            "members": len(p.get("members", [])),
        }
        for p in pool.get("profiles", [])
    ]


def _quota_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The quotas as rows: stratum, value, fewest and most seats."""
    rows = []
    quotas = (record.get("quotas") or {}).get("quotas") or {}
    for stratum, values in sorted(quotas.items()):
        if not isinstance(values, dict):
            continue
        for value, bounds in sorted(values.items()):
            low, high = (bounds + [None, None])[:2] if isinstance(bounds, list) else (bounds, None)
            rows.append({"stratum": stratum, "value": value, "low": low, "high": high})
    return rows


@router.get("/audit/juries", response_class=HTMLResponse)
def audit_juries(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    case: Annotated[str | None, Query(max_length=20)] = None,
    stage: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    """Re-run a case's jury draw and show whether it gives the published jury."""
    context: dict[str, Any] = {
        "case": case or "",
        "stage": stage or "",
        "stage_name": stage_name,
        "stratum_name": stratum_name,
    }
    try:
        case_id = _case_number(case)
        if case_id is not None:
            with uow.begin(readonly=True):
                stages = draw_audit.jury_stages(uow, case_id)
                chosen = stage if stage in stages else (stages[0] if stages else "first")
                audit = draw_audit.audit_draw(uow, case_id, chosen, services.signer.verifier_key)
            context.update(
                audit=audit,
                stages=stages,
                quotas=_quota_rows(audit.record),
                pool=_pool_rows(audit.record),
                unseatable=unseatable_lines(audit.record),
                strata=[
                    stratum_name(s) for s in (audit.record.get("pool") or {}).get("strata", [])
                ],
                stage=chosen,
            )
    except NotFound as error:
        context["error"] = i18n.error_text(error)
        return render(request, "audit/juries.html", context, status=404)
    return render(request, "audit/juries.html", context)
