"""The auditors' console, its log part: the log's state, who checked it last, proofs on demand.

Most of it is public, as the log is: anyone may ask for an inclusion or consistency proof
and see it checked. Running a full verification of the instance (``isegoria log verify``:
every entry, node and checkpoint, then the tables against the entries) costs a scan of the
whole log, so only an auditor or an operator may start one; the run is recorded with who
started it (``log.checks``).
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from isegoria import i18n
from isegoria.cases.common import seat_pseudonym
from isegoria.domain.identity import Role
from isegoria.errors import Forbidden, Unauthenticated
from isegoria.http.deps import Principal, PrincipalDep, Services, ServicesDep, UnitOfWorkDep
from isegoria.log import checks, read
from isegoria.log.entries import format_instant
from isegoria.log.verify import LogVerificationError, verify_instance
from isegoria.web import audit_format
from isegoria.web.audit_proofs import (
    ConsistencyCheck,
    InclusionCheck,
    ProofInput,
    check_consistency,
    check_inclusion,
    parse_count,
    parse_root,
)
from isegoria.web.pages import CsrfField, check_form_csrf, render, see_other, templates

router = APIRouter(include_in_schema=False)
audit_format.install(templates.env)

STAFF = (Role.AUDITOR, Role.OPERATOR)
FormText = Annotated[str | None, Query(max_length=100)]


def is_staff(principal: Principal | None) -> bool:
    """An auditor or an operator is logged in (with their second factor)."""
    return principal is not None and principal.is_person and principal.role in STAFF


def require_staff(principal: Principal | None) -> Principal:
    """The logged-in auditor or operator; 401 for nobody, 403 for anyone else."""
    if principal is None or not principal.is_person:
        raise Unauthenticated(i18n.gettext("Log in as an auditor or an operator to see this."))
    if principal.role not in STAFF:
        raise Forbidden(i18n.gettext("Only auditors and operators may do this."))
    return principal


@router.get("/audit", response_class=HTMLResponse)
def audit_home(
    request: Request, uow: UnitOfWorkDep, services: ServicesDep, principal: PrincipalDep
) -> HTMLResponse:
    """The console's front page: the log's size, latest checkpoint and last checks."""
    with uow.begin(readonly=True):
        size = read.tree_size(uow.session)
        checkpoint = read.latest_checkpoint(uow.session)
    context = {
        "size": size,
        "checkpoint": checkpoint,
        "checks": checks.recent_checks(services.settings.data_dir),
        "verifier_key": services.signer.verifier_key,
        "staff": is_staff(principal),
    }
    return render(request, "audit/index.html", context)


def _inclusion(
    uow: UnitOfWorkDep, key: str, index: str | None, size: str | None, root: str | None
) -> InclusionCheck | None:
    asked = parse_count(index, i18n.gettext("The entry number"))
    if asked is None:
        return None
    tree = parse_count(size, i18n.gettext("The tree size"))
    held = parse_root(root)
    with uow.begin(readonly=True):
        return check_inclusion(uow.session, key, asked, tree, held)


def _consistency(
    uow: UnitOfWorkDep, key: str, first: str | None, second: str | None, root: str | None
) -> ConsistencyCheck | None:
    old = parse_count(first, i18n.gettext("The first size"))
    if old is None:
        return None
    new = parse_count(second, i18n.gettext("The second size"))
    held = parse_root(root)
    with uow.begin(readonly=True):
        return check_consistency(uow.session, key, old, new, held)


@router.get("/audit/log", response_class=HTMLResponse)
def audit_log(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    index: FormText = None,
    size: FormText = None,
    root: FormText = None,
    first: FormText = None,
    second: FormText = None,
    first_root: FormText = None,
) -> HTMLResponse:
    """Check an entry's inclusion proof, or two sizes' consistency proof, and show each step."""
    key = services.signer.verifier_key
    form = {
        "index": index or "",
        "size": size or "",
        "root": root or "",
        "first": first or "",
        "second": second or "",
        "first_root": first_root or "",
    }
    context: dict[str, Any] = {"form": form, "inclusion": None, "consistency": None}
    try:
        context["inclusion"] = _inclusion(uow, key, index, size, root)
    except ProofInput as error:
        context["inclusion_error"] = str(error)
    try:
        context["consistency"] = _consistency(uow, key, first, second, first_root)
    except ProofInput as error:
        context["consistency_error"] = str(error)
    with uow.begin(readonly=True):
        context["log_size"] = read.tree_size(uow.session)
        context["checkpoint"] = read.latest_checkpoint(uow.session)
    failed = "inclusion_error" in context or "consistency_error" in context
    return render(request, "audit/log.html", context, status=400 if failed else 200)


def run_check(services: Services, by: str) -> checks.LogCheck:
    """Verify the whole local log and the tables against it; record and return the run."""
    settings = services.settings
    holder = functools.partial(seat_pseudonym, settings.secret_key)
    at = format_instant(services.clock.now())
    try:
        report = verify_instance(services.database, services.signer.verifier_key, holder=holder)
    except LogVerificationError as error:
        run = checks.LogCheck(at, by, ok=False, size=0, root_hash="", summary=str(error))
    else:
        log = report.log
        run = checks.LogCheck(at, by, report.ok, log.size, log.root_hash.hex(), report.lines()[0])
    checks.record_check(settings.data_dir, run)
    return run


@router.post("/audit/log/check", response_model=None)
def audit_log_check(
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
    csrf_token: CsrfField = "",
) -> RedirectResponse:
    """Run ``isegoria log verify`` on this instance now, as the logged-in auditor."""
    check_form_csrf(request, csrf_token)
    staff = require_staff(principal)
    run_check(services, str(staff.login))
    return see_other("/audit#checks")
