"""Pages of notes: notes on a post, a note and why it is (not) shown, the rating queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from isegoria import i18n
from isegoria.domain.identity import Role
from isegoria.domain.notes import MAX_NOTE_LENGTH, Classification, NoteReason, RatingTag
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.notes import views as notes_views
from isegoria.notes import writing as notes
from isegoria.notes.views import NoteExplanation
from isegoria.web import chart_tables, charts
from isegoria.web.pages import check_form_csrf, citizen_id, render

router = APIRouter(include_in_schema=False)

NoteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ContentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_FIELD = 8000


def _citizen(principal: Any) -> int:
    return citizen_id(principal, i18n.gettext("Only citizens write and rate notes."))


def _viewer(principal: Any) -> int | None:
    """The viewing citizen's account id, or None for anyone else."""
    if principal is not None and principal.is_person and principal.role is Role.CITIZEN:
        account: int = principal.account_id
        return account
    return None


def raters_chart(why: NoteExplanation) -> charts.BarChart:
    """Raters of a note by viewpoint factor, stacked by their answer."""
    _ = i18n.gettext
    return charts.BarChart(
        title=_("Raters of this note by viewpoint"),
        description=_(
            "Each bar counts the raters whose viewpoint factor falls in a band, from one side "
            "(negative) to the other (positive), split by their answer. A note is shown when "
            "raters on both sides find it helpful."
        ),
        categories=tuple(f"{b.low:+.2f}…{b.high:+.2f}" for b in why.bins),
        series=(
            charts.Series(_("Helpful"), tuple(float(b.helpful) for b in why.bins)),
            charts.Series(_("Somewhat helpful"), tuple(float(b.somewhat) for b in why.bins)),
            charts.Series(_("Not helpful"), tuple(float(b.not_helpful) for b in why.bins)),
        ),
        y_label=_("Raters"),
        x_label=_("Viewpoint factor"),
    )


@router.get("/notes/rate", response_class=HTMLResponse)
def rating_queue(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """Notes for the citizen to rate, those needing their side's view first."""
    account = _citizen(principal)
    with uow.begin(readonly=True):
        queue = [
            (n, notes_views.content_of(uow, n)) for n in notes_views.rating_queue(uow, account)
        ]
    return render(request, "notes/queue.html", {"queue": queue, "tags": list(RatingTag)})


@router.get("/notes/{note_id}", response_class=HTMLResponse)
def note_page(
    request: Request, note_id: NoteId, uow: UnitOfWorkDep, principal: PrincipalDep
) -> HTMLResponse:
    """A note, whether it is shown, and why, in words and in a chart."""
    viewer = _viewer(principal)
    with uow.begin(readonly=True):
        note = notes.get_note(uow, note_id)
        why = notes_views.explain(uow, note)
        content = notes_views.content_of(uow, note)
        mine = notes.my_rating(uow, viewer, note_id) if viewer is not None else None
        can_rate = viewer is not None and not note.by_jury and note.author_account_id != viewer
    chart = raters_chart(why)
    return render(
        request,
        "notes/note.html",
        {
            "note": note,
            "why": why,
            "content": content,
            "reasons": notes_views.note_reasons(note),
            "mine": mine,
            "can_rate": can_rate,
            "tags": list(RatingTag),
            "chart_svg": Markup(charts.bar_chart_svg(chart)),  # noqa: S704 - escaped by charts
            "chart_table": Markup(chart_tables.bar_chart_table(chart)),  # noqa: S704
        },
    )


@router.post("/notes/{note_id}/rating", response_model=None)
def rate(
    request: Request,
    note_id: NoteId,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    helpfulness: Annotated[str, Form(max_length=24)] = "",
    tags: Annotated[list[str] | None, Form(max_length=len(RatingTag))] = None,
    back: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Rate a note (again: the new rating replaces the old one)."""
    check_form_csrf(request, csrf_token)
    account = _citizen(principal)
    with uow.begin():
        notes.rate_note(
            uow, account_id=account, note_id=note_id, helpfulness=helpfulness, tags=tags or []
        )
    return RedirectResponse("/notes/rate" if back == "queue" else f"/notes/{note_id}", 303)


@router.get("/contents/{content_id}", response_class=HTMLResponse)
def content_page(
    request: Request, content_id: ContentId, uow: UnitOfWorkDep, principal: PrincipalDep
) -> HTMLResponse:
    """A post, its notes (shown ones first) and, for citizens, the form to write one."""
    with uow.begin(readonly=True):
        content = notes.get_content(uow, content_id)
        on_it = notes.notes_on_content(uow, content_id)
    return render(
        request,
        "notes/content.html",
        {
            "content": content,
            "notes": on_it,
            "can_write": _viewer(principal) is not None,
            "classifications": list(Classification),
            "reasons": list(NoteReason),
            "max_length": MAX_NOTE_LENGTH,
        },
    )


@router.post("/contents/{content_id}/notes", response_model=None)
def write(
    request: Request,
    content_id: ContentId,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    classification: Annotated[str, Form(max_length=64)] = "",
    reasons: Annotated[list[str] | None, Form(max_length=len(NoteReason))] = None,
    text: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    language: Annotated[str, Form(max_length=35)] = "",
) -> Response:
    """Write a note on a post."""
    check_form_csrf(request, csrf_token)
    account = _citizen(principal)
    with uow.begin():
        note = notes.write_note(
            uow,
            account_id=account,
            content_id=content_id,
            classification=classification,
            reasons=reasons or [],
            text=text,
            language=language,
        )
    return RedirectResponse(f"/notes/{note.id}", status_code=303)
