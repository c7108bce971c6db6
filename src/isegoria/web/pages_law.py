"""Pages of the law: rulebooks, rules and their history, proposals, votes, receipts.

No page creates, changes or deletes a rule: the forms here propose, comment, revise and vote;
only the tally of a vote makes law.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from isegoria import i18n
from isegoria.cases import secrecy as cases_secrecy
from isegoria.domain.constitution import ProposalKind
from isegoria.domain.identity import Role
from isegoria.errors import InvalidInput, NotFound
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.law import proposals as law_proposals
from isegoria.law import read as law_read
from isegoria.law import views as law_views
from isegoria.law import votes as law_votes
from isegoria.law.read import DiffLine
from isegoria.log import audit
from isegoria.people import jurisdictions
from isegoria.web import forms, law_words, proposal_form
from isegoria.web.pages import (
    CsrfField,
    citizen_form,
    citizen_id,
    render,
    see_other,
    templates,
)

router = APIRouter(include_in_schema=False)

#: CommonMark with raw HTML disabled: rule texts are shown as written, never as markup.
_markdown = MarkdownIt("commonmark", {"html": False})
MAX_FIELD = 20_000
ONE_YEAR_DAYS = 366


def markdown(text: str) -> Markup:
    """Render a rule text safely (raw HTML is escaped; unsafe link schemes are dropped)."""
    return Markup(_markdown.render(text))  # noqa: S704 - markdown-it escapes raw HTML here


def countdown(until: datetime, now: datetime) -> str:
    """How long until ``until``, in days, hours and minutes, in the current language."""
    left = until - now
    if left <= timedelta(0):
        return i18n.gettext("closed")
    days, rest = divmod(int(left.total_seconds()), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return i18n.gettext("%(d)d d %(h)d h %(m)d min") % {"d": days, "h": hours, "m": minutes}


templates.env.filters["markdown"] = markdown
templates.env.filters.update(ceiling=law_words.ceiling, threshold=law_words.threshold)


def _forbidden() -> str:
    return i18n.gettext("Only citizens propose, comment and vote.")


def _citizen(principal: Any) -> int:
    return citizen_id(principal, _forbidden())


def _parse_day(at: str | None, now: datetime) -> datetime:
    """A date (the end of that day, UTC) or now; the law "as it stood" that day."""
    if not at:
        return now
    try:
        day = date.fromisoformat(at[:10])
    except ValueError:
        raise InvalidInput(i18n.gettext("Give the date as YYYY-MM-DD."), field="at") from None
    return datetime.combine(day, time.max, tzinfo=UTC)


@router.get("/language/{code}")
def switch_language(code: str, next: str = "/") -> Response:  # noqa: A002
    """Remember the chosen interface language in a cookie and go back."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = see_other(target)
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, code, max_age=365 * 86_400, samesite="lax", httponly=True
        )
    return response


@router.get("/law", response_class=HTMLResponse)
def law_index(request: Request, uow: UnitOfWorkDep) -> HTMLResponse:
    """Every jurisdiction's rulebook."""
    with uow.begin(readonly=True):
        rows = jurisdictions.tree_order(uow)
    return render(request, "law/index.html", {"jurisdictions": rows})


@router.get("/law/rules/{rule_id}", response_class=HTMLResponse)
def rule_page(request: Request, uow: UnitOfWorkDep, rule_id: str) -> HTMLResponse:
    """One rule: every version with its text, interval and the diff from the one before."""
    with uow.begin(readonly=True):
        history = law_read.rule_history(uow, rule_id[:64])
        now = uow.now()
        mismatches = audit.rule_mismatches(uow.session, rule_id[:64])
    versions = []
    previous = None
    for v in history:
        diff: list[DiffLine] = law_words.rule_diff(previous, v) if previous else []
        versions.append({"v": v, "diff": diff, "in_force": v.in_force_at(now)})
        previous = v
    return render(
        request,
        "law/rule.html",
        {"rule_id": rule_id, "versions": list(reversed(versions)), "mismatches": mismatches},
    )


@router.get("/law/{code}", response_class=HTMLResponse)
def rulebook_page(
    request: Request, uow: UnitOfWorkDep, code: str, at: str | None = None
) -> HTMLResponse:
    """The law of a jurisdiction as it stands now, or as it stood on a date."""
    with uow.begin(readonly=True):
        jurisdiction = jurisdictions.get_jurisdiction(uow, code[:32])
        now = uow.now()
        moment = _parse_day(at, now)
        versions = law_read.in_force(uow, jurisdiction.code, moment)
        lineage = jurisdictions.ancestry(uow, jurisdiction.code)
        open_count = len(
            law_views.list_proposals(uow, jurisdiction=jurisdiction.code, status="voting")
        )
    groups = [(j, [v for v in versions if v.jurisdiction == j]) for j in lineage]
    return render(
        request,
        "law/rulebook.html",
        {
            "j": jurisdiction,
            "groups": groups,
            "at": at or "",
            "moment": moment,
            "open_count": open_count,
        },
    )


@router.get("/law/{code}/constitution", response_class=HTMLResponse)
def constitution_page(request: Request, uow: UnitOfWorkDep, code: str) -> HTMLResponse:
    """A jurisdiction's constitution in force."""
    with uow.begin(readonly=True):
        jurisdiction = jurisdictions.get_jurisdiction(uow, code[:32])
        found = law_read.constitution_at(uow, jurisdiction.code, uow.now())
    return render(
        request,
        "law/constitution.html",
        {
            "j": jurisdiction,
            "found": found,
            "fields": law_words.constitution_fields(found.constitution),
        },
    )


@router.get("/proposals", response_class=HTMLResponse)
def proposals_page(
    request: Request, uow: UnitOfWorkDep, jurisdiction: str | None = None
) -> HTMLResponse:
    """Proposals, newest first."""
    code = (jurisdiction or "")[:32] or None
    with uow.begin(readonly=True):
        known = code is None or code in {j.code for j in jurisdictions.list_jurisdictions(uow)}
        rows = law_views.list_proposals(uow, jurisdiction=code) if known else []
        now = uow.now()
    unknown = None if known else forms.unknown_jurisdiction(code or "")
    context = {"rows": rows, "jurisdiction": code or "", "now": now, "unknown": unknown}
    return render(request, "law/proposals.html", context, status=200 if known else 422)


@router.get("/proposals/new", response_class=HTMLResponse)
def new_proposal_form(
    request: Request,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    jurisdiction: str = "",
    rule_id: str = "",
) -> HTMLResponse:
    """The form to propose a change to the law."""
    _citizen(principal)
    form = {"jurisdiction": jurisdiction[:32], "rule_id": rule_id[:64], "kind": "enact"}
    with uow.begin(readonly=True):
        offered = proposal_form.choices(uow)
    return render(request, "law/new_proposal.html", {"form": form, "errors": {}} | offered)


@router.post("/proposals/new", response_model=None)
def create_proposal(
    request: Request,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    typed: Annotated[dict[str, str], Depends(proposal_form.typed_fields)],
    csrf_token: CsrfField = "",
) -> Response:
    """Make the proposal and show it; a mistake shows the form again with what was typed."""
    account_id = citizen_form(request, csrf_token, principal, _forbidden())
    typed = {k: v[:MAX_FIELD] for k, v in typed.items() if k != "csrf_token"}
    draft, errors = proposal_form.rule_draft(typed)
    changes, wrong = proposal_form.constitution_changes(typed)
    errors |= wrong
    try:
        kind = ProposalKind(typed.get("kind", ""))
    except ValueError:
        errors["kind"] = i18n.gettext("Choose what the proposal does.")
    if not errors:
        try:
            with uow.begin():
                proposal = law_proposals.propose(
                    uow,
                    account_id=account_id,
                    jurisdiction=typed.get("jurisdiction", ""),
                    kind=kind,
                    title=typed.get("title", ""),
                    rationale=typed.get("rationale", ""),
                    rule_id=typed.get("rule_id") or None,
                    draft=draft,
                    changes=changes if kind is ProposalKind.CONSTITUTION else None,
                )
            return see_other(f"/proposals/{proposal.id}")
        except (InvalidInput, NotFound) as error:
            errors = {"form": i18n.error_text(error)} | (
                {error.field: i18n.error_text(error)} if error.field else {}
            )
    with uow.begin(readonly=True):
        offered = proposal_form.choices(uow)
    context = {"form": typed, "errors": errors} | offered
    return render(request, "law/new_proposal.html", context, status=422)


def _proposal_context(uow: UnitOfWorkDep, principal: PrincipalDep, pid: int) -> dict[str, Any]:
    view = law_views.proposal_view(uow, pid)
    current = law_read.latest_constitution(uow, view.proposal.jurisdiction_code)
    now = uow.now()
    mine = None
    if principal.is_person and principal.role is Role.CITIZEN:  # a citizen sees their vote
        assert principal.account_id is not None  # noqa: S101
        mine = {v.proposal.id: v for v in law_views.my_votes(uow, principal.account_id)}.get(pid)
    p = view.proposal
    return {
        "view": view,
        "diff": law_words.proposal_diff(view, current.constitution),
        "p": p,
        "now": now,
        "voting_open": p.status == "voting" and now < p.voting_closes_at,
        "opens_in": countdown(p.voting_opens_at, now),
        "closes_in": countdown(p.voting_closes_at, now),
        "mine": mine,
        "may_vote": mine is not None,
        "is_proposer": principal.is_person and principal.account_id == p.proposer_id,
    }


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def proposal_page(
    request: Request, uow: UnitOfWorkDep, principal: PrincipalDep, proposal_id: int
) -> HTMLResponse:
    """A proposal: text, diff, comments, countdown, vote form and, after the close, result."""
    with uow.begin(readonly=True):
        context = _proposal_context(uow, principal, proposal_id)
    return render(request, "law/proposal.html", context)


@router.post("/proposals/{proposal_id}/vote", response_class=HTMLResponse)
def vote(
    request: Request,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    proposal_id: int,
    csrf_token: CsrfField = "",
    choice: Annotated[str, Form(max_length=8)] = "",
    change: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """Cast or change a vote; the receipt is shown on this page only; a mistake, the form."""
    account_id = citizen_form(request, csrf_token, principal, _forbidden())
    errors = forms.vote_errors(choice)
    if not errors:
        try:
            with uow.begin():
                receipt = law_votes.cast_vote(
                    uow,
                    account_id=account_id,
                    proposal_id=proposal_id,
                    choice=choice,
                    change=change,
                )
            return render(request, "law/receipt.html", {"r": receipt})
        except InvalidInput as error:
            errors = forms.field_error(error, ("choice",), "choice")
    with uow.begin(readonly=True):
        context = _proposal_context(uow, principal, proposal_id) | {"errors": errors}
    return render(request, "law/proposal.html", context, status=422)


@router.post("/proposals/{proposal_id}/comment", response_model=None)
def comment(
    request: Request,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    proposal_id: int,
    csrf_token: CsrfField = "",
    body: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """Add a comment and return to the proposal."""
    account_id = citizen_form(request, csrf_token, principal, _forbidden())
    with uow.begin():
        law_proposals.comment(uow, account_id=account_id, proposal_id=proposal_id, body=body)
    return see_other(f"/proposals/{proposal_id}#comments")


@router.post("/proposals/{proposal_id}/revise", response_model=None)
def revise(
    request: Request,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    proposal_id: int,
    csrf_token: CsrfField = "",
    title: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    rationale: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    text: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """The proposer's new wording (title, rationale, rule text); other fields are kept."""
    account_id = citizen_form(request, csrf_token, principal, _forbidden())
    with uow.begin():
        view = law_views.proposal_view(uow, proposal_id)
        draft = None
        if "rule" in view.content:
            draft = law_proposals.RuleDraft(**{**view.content["rule"], "text": text})
        law_proposals.revise(
            uow,
            account_id=account_id,
            proposal_id=proposal_id,
            title=title,
            rationale=rationale,
            draft=draft,
            changes=view.content.get("changes"),
        )
    return see_other(f"/proposals/{proposal_id}")


@router.get("/me/votes", response_class=HTMLResponse)
def my_votes_page(request: Request, principal: PrincipalDep, uow: UnitOfWorkDep) -> HTMLResponse:
    """My votes (my choice only while voting is open) and a receipt checker."""
    account_id = _citizen(principal)
    with uow.begin(readonly=True):
        votes = law_views.my_votes(uow, account_id)
    return render(request, "law/my_votes.html", {"votes": votes})


@router.get("/receipts", response_class=HTMLResponse)
def receipt_check_page(request: Request, uow: UnitOfWorkDep, receipt: str = "") -> HTMLResponse:
    """Check that a ballot was counted, from its receipt."""
    found = jury = None
    receipt = receipt.strip()[:64]
    if receipt:
        with uow.begin(readonly=True):
            found = law_views.check_receipt(uow, receipt)
            if found is None:  # a juror's receipt: the same page finds both kinds
                jury = cases_secrecy.check_receipt(uow, receipt)
    return render(
        request,
        "law/receipt_check.html",
        {"receipt": receipt, "found": found, "jury": jury, "quoted": quote(receipt)},
    )
