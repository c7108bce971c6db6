"""Writing and rating context notes (the only code that writes notes and ratings)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select

from isegoria.domain.identity import Role
from isegoria.domain.note_events import NoteWritten
from isegoria.domain.notes import (
    Classification,
    ContextNoteError,
    Helpfulness,
    NoteReason,
    NoteStatus,
    check_note_text,
    check_tags,
)
from isegoria.errors import Conflict, Forbidden, InvalidInput, NotFound
from isegoria.store.models import Account
from isegoria.store.models_cases import Content
from isegoria.store.models_notes import NoteRatingRow, NoteRow
from isegoria.unit_of_work import UnitOfWork

#: Language tags are BCP 47; 35 characters is the longest the registry allows in practice.
MAX_LANGUAGE_LENGTH = 35
MAX_REASONS = len(NoteReason)


def get_note(uow: UnitOfWork, note_id: int) -> NoteRow:
    """The note with this id, or NotFound."""
    note = uow.session.get(NoteRow, note_id)
    if note is None:
        raise NotFound("no note %(note_id)s", field="note_id", note_id=note_id)
    return note


def get_content(uow: UnitOfWork, content_id: int) -> Content:
    """The content with this id, or NotFound."""
    content = uow.session.get(Content, content_id)
    if content is None:
        raise NotFound("no content %(content_id)s", field="content_id", content_id=content_id)
    return content


def content_jurisdiction(content: Content) -> str:
    """The jurisdiction a note on ``content`` belongs to (the first one of the post)."""
    return content.jurisdictions.split(",")[0].strip()


def _citizen(uow: UnitOfWork, account_id: int) -> Account:
    account = uow.session.get(Account, account_id)
    if account is None or account.disabled or account.role != Role.CITIZEN.value:
        raise Forbidden("only citizens write and rate notes")
    return account


def _parse_note(
    classification: str, reasons: Sequence[str], text: str, language: str
) -> tuple[Classification, list[NoteReason], str]:
    try:
        parsed = Classification(classification)
    except ValueError:
        allowed = ", ".join(c.value for c in Classification)
        raise InvalidInput(
            "unknown classification %(classification)s; use one of %(allowed)s",
            field="classification",
            classification=repr(classification),
            allowed=allowed,
        ) from None
    parsed_reasons: list[NoteReason] = []
    for reason in reasons:
        try:
            value = NoteReason(reason)
        except ValueError:
            allowed = ", ".join(r.value for r in NoteReason)
            raise InvalidInput(
                "unknown reason %(reason)s; use one of %(allowed)s",
                field="reasons",
                reason=repr(reason),
                allowed=allowed,
            ) from None
        if value not in parsed_reasons:
            parsed_reasons.append(value)
    if parsed is Classification.MISLEADING and not parsed_reasons:
        raise InvalidInput("say why the post is misleading (one reason at least)", field="reasons")
    try:
        check_note_text(text)
    except ContextNoteError as error:
        raise InvalidInput.because(error, field=error.field) from None
    tag = language.strip()
    if not tag or len(tag) > MAX_LANGUAGE_LENGTH or not tag.replace("-", "").isalnum():
        raise InvalidInput(
            "give the note's language as a BCP 47 tag such as es or en-GB", field="language"
        )
    return parsed, parsed_reasons, tag


def write_note(
    uow: UnitOfWork,
    *,
    account_id: int,
    content_id: int,
    classification: str,
    reasons: Sequence[str],
    text: str,
    language: str,
) -> NoteRow:
    """A citizen attaches a note to content; it needs ratings before it can be shown."""
    _citizen(uow, account_id)
    content = get_content(uow, content_id)
    parsed, parsed_reasons, tag = _parse_note(classification, reasons, text, language)
    note = NoteRow(
        content_id=content.id,
        author_account_id=account_id,
        jurisdiction=content_jurisdiction(content),
        classification=parsed.value,
        reasons=json.dumps([r.value for r in parsed_reasons]),
        text=text.strip(),
        language=tag,
        created_at=uow.now(),
        status=NoteStatus.NEEDS_MORE_RATINGS.value,
        scored_ratings=0,
    )
    uow.session.add(note)
    uow.session.flush()
    uow.log.append(
        NoteWritten(
            note_id=note.id,
            content_id=content.id,
            jurisdiction=note.jurisdiction,
            classification=note.classification,
            language=note.language,
        )
    )
    return note


def rate_note(
    uow: UnitOfWork,
    *,
    account_id: int,
    note_id: int,
    helpfulness: str,
    tags: Sequence[str] = (),
) -> NoteRatingRow:
    """A citizen rates a note (again: the new rating replaces the old); never their own."""
    _citizen(uow, account_id)
    note = get_note(uow, note_id)
    if note.author_account_id == account_id:
        raise Forbidden("you cannot rate your own note")
    if note.by_jury:
        raise Conflict("a jury's note is shown by its verdict; it is not rated")
    try:
        value = Helpfulness(helpfulness)
        parsed_tags = check_tags(list(tags))
    except ContextNoteError as error:
        raise InvalidInput.because(error, field=error.field) from None
    except ValueError:
        allowed = ", ".join(h.value for h in Helpfulness)
        raise InvalidInput(
            "unknown answer %(helpfulness)s; use one of %(allowed)s",
            field="helpfulness",
            helpfulness=repr(helpfulness),
            allowed=allowed,
        ) from None
    now = uow.now()
    row = uow.session.get(NoteRatingRow, (note_id, account_id))
    if row is None:
        row = NoteRatingRow(note_id=note_id, rater_account_id=account_id, created_at=now)
        uow.session.add(row)
    row.helpfulness = value.value
    row.tags = json.dumps([t.value for t in parsed_tags])
    row.updated_at = now
    uow.session.flush()
    return row


def my_rating(uow: UnitOfWork, account_id: int, note_id: int) -> NoteRatingRow | None:
    """The caller's own rating of a note, if any (shown only to them)."""
    return uow.session.get(NoteRatingRow, (note_id, account_id))


def notes_on_content(uow: UnitOfWork, content_id: int) -> list[NoteRow]:
    """Every note on a content, shown ones first, then the newest."""
    notes = list(
        uow.session.scalars(
            select(NoteRow).where(NoteRow.content_id == content_id).order_by(NoteRow.id.desc())
        )
    )
    return sorted(notes, key=lambda n: n.status != NoteStatus.HELPFUL.value)
