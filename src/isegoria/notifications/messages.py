"""What each notification says, in the reader's language, with Babel-formatted dates.

Messages are marked with ``_`` (a no-op here) so the catalogue test finds them, and are
translated at render time with the reader's catalogue: a notification is stored as its kind
and public facts, and reads in whatever language the citizen chooses when it is shown or sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from babel.dates import format_datetime

from isegoria import i18n


def _(message: str) -> str:
    """Mark ``message`` for translation; it is translated when rendered."""
    return message


class Kind(StrEnum):
    """The events a citizen hears about."""

    JURY_SUMMONS = "jury_summons"
    BALLOT_REMINDER = "ballot_reminder"
    DECISION_ON_MY_POST = "decision_on_my_post"
    INTERIM_ON_MY_POST = "interim_on_my_post"
    APPEAL_OUTCOME = "appeal_outcome"
    VOTE_OPENED = "vote_opened"
    VOTE_CLOSED = "vote_closed"
    PROPOSAL_ADOPTED = "proposal_adopted"
    PROPOSAL_REJECTED = "proposal_rejected"


# (subject, body) per kind; placeholders are filled from the notification's public facts.
TEXTS: dict[Kind, tuple[str, str]] = {
    Kind.JURY_SUMMONS: (
        _("You are summoned to a citizen jury (case %(case)s)"),
        _(
            "You were drawn by lot to sit on the jury of case %(case)s. "
            "Accept or decline the summons before %(deadline)s."
        ),
    ),
    Kind.BALLOT_REMINDER: (
        _("Your ballot on case %(case)s is due soon"),
        _("You sit on the jury of case %(case)s. Cast your ballot before %(deadline)s."),
    ),
    Kind.DECISION_ON_MY_POST: (
        _("A jury decided about your post (case %(case)s)"),
        _(
            "The jury decided case %(case)s about your post. The statement of reasons "
            "explains the decision. You may appeal until %(deadline)s."
        ),
    ),
    Kind.INTERIM_ON_MY_POST: (
        _("An interim measure restricts your post (case %(case)s)"),
        _(
            "Your post is restricted while a jury decides case %(case)s. The measure ends "
            "at the latest on %(deadline)s. You may answer the report on the case page."
        ),
    ),
    Kind.APPEAL_OUTCOME: (
        _("The appeal in case %(case)s is decided"),
        _("The appeal jury decided case %(case)s. Its statement of reasons is final."),
    ),
    Kind.VOTE_OPENED: (
        _("Voting is open on proposal %(proposal)s"),
        _(
            "Voting on proposal %(proposal)s in %(jurisdiction)s is open until "
            "%(deadline)s. Your ballot is secret."
        ),
    ),
    Kind.VOTE_CLOSED: (
        _("Voting has closed on proposal %(proposal)s"),
        _("The votes on proposal %(proposal)s in %(jurisdiction)s are counted."),
    ),
    Kind.PROPOSAL_ADOPTED: (
        _("Your proposal %(proposal)s was adopted"),
        _("The citizens of %(jurisdiction)s adopted your proposal %(proposal)s."),
    ),
    Kind.PROPOSAL_REJECTED: (
        _("Your proposal %(proposal)s was rejected"),
        _("The citizens of %(jurisdiction)s rejected your proposal %(proposal)s."),
    ),
}
FOOTER = _("Open: %(link)s")
UNSUBSCRIBE = _("Stop these messages on this channel: %(link)s")


@dataclass(frozen=True)
class Rendered:
    """A notification's words in one language."""

    subject: str
    body: str


def format_when(value: str | datetime, language: str) -> str:
    """A date and time for people, in ``language`` (Babel's long form, in UTC)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment, "long", tzinfo=UTC, locale=language)


def translate(message: str, language: str) -> str:
    """``message`` in ``language`` (English is the source text)."""
    return i18n.translations(language).gettext(message)


def render(kind: str, params: dict[str, Any], language: str) -> Rendered:
    """The subject and body of a notification of ``kind`` for a reader of ``language``."""
    language = language if language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    subject, body = TEXTS[Kind(kind)]
    values = dict(params)
    if "deadline" in values:
        values["deadline"] = format_when(values["deadline"], language)
    return Rendered(translate(subject, language) % values, translate(body, language) % values)
