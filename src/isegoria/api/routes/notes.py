"""Context notes: citizens write and rate them; anyone reads them and why they are shown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from isegoria.api.schemas_notes import NoteDetailOut, NoteIn, NoteOut, RatingIn, RatingOut
from isegoria.cases.common import get_case
from isegoria.domain.identity import Role
from isegoria.http.access import PUBLIC, access, people
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.notes import views as notes_views
from isegoria.notes import writing as notes

router = APIRouter(tags=["notes"])

NoteId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Note number")]
ContentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Content number")]
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Case number")]
CITIZEN = people(Role.CITIZEN)


def _person(principal: PrincipalDep) -> int:
    assert principal.account_id is not None  # noqa: S101 - guaranteed by the policy
    return principal.account_id


@router.post(
    "/contents/{content_id}/notes", status_code=201, response_model=NoteOut, **access(CITIZEN)
)
def write_note(
    content_id: ContentId, body: NoteIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> NoteOut:
    """Attach a context note to a content (it is shown once raters who disagree agree)."""
    with uow.begin():
        note = notes.write_note(
            uow,
            account_id=_person(principal),
            content_id=content_id,
            classification=body.classification.value,
            reasons=[r.value for r in body.reasons],
            text=body.text,
            language=body.language,
        )
        return NoteOut.of(note)


@router.get("/contents/{content_id}/notes", response_model=list[NoteOut], **access(PUBLIC))
def content_notes(content_id: ContentId, uow: UnitOfWorkDep) -> list[NoteOut]:
    """Every note on a content, shown ones first."""
    with uow.begin(readonly=True):
        notes.get_content(uow, content_id)
        return [NoteOut.of(n) for n in notes.notes_on_content(uow, content_id)]


@router.get("/cases/{case_id}/notes", response_model=list[NoteOut], **access(PUBLIC))
def case_notes(case_id: CaseId, uow: UnitOfWorkDep) -> list[NoteOut]:
    """Every note on the content of a case (the jury's first)."""
    with uow.begin(readonly=True):
        return [NoteOut.of(n) for n in notes_views.notes_of_case(uow, get_case(uow, case_id))]


@router.get("/notes/{note_id}", response_model=NoteDetailOut, **access(PUBLIC))
def note_detail(note_id: NoteId, uow: UnitOfWorkDep) -> NoteDetailOut:
    """A note, its rating counts, its raters by viewpoint factor and its status history."""
    with uow.begin(readonly=True):
        return NoteDetailOut.explained(notes_views.explain(uow, notes.get_note(uow, note_id)))


@router.put("/notes/{note_id}/rating", response_model=RatingOut, **access(CITIZEN))
def rate_note(
    note_id: NoteId, body: RatingIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> RatingOut:
    """Rate a note (not your own); rating again replaces your earlier rating."""
    with uow.begin():
        row = notes.rate_note(
            uow,
            account_id=_person(principal),
            note_id=note_id,
            helpfulness=body.helpfulness.value,
            tags=[t.value for t in body.tags],
        )
        return RatingOut.of(row)


@router.get("/me/notes/queue", response_model=list[NoteOut], **access(CITIZEN))
def rating_queue(
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    limit: Annotated[int, Query(ge=1, le=100)] = notes_views.QUEUE_LENGTH,
) -> list[NoteOut]:
    """Notes for me to rate: those needing ratings from my side of the spectrum first."""
    with uow.begin(readonly=True):
        return [NoteOut.of(n) for n in notes_views.rating_queue(uow, _person(principal), limit)]
