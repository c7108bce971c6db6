"""Forms that forgive: what is wrong with a citizen's form, field by field, in their language.

A page checks what it can before calling the service, so the common mistakes are told beside
their field in the reader's language; a refusal the service finds is shown the same way. The
form is then rendered again with what the person typed, and nothing has changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from isegoria import i18n
from isegoria.domain.constitution import ProposalKind
from isegoria.domain.sanctions import GroundKind, HarmCategory, SanctionStep
from isegoria.domain.verdict import MAX_REASON_LENGTH
from isegoria.errors import IsegoriaError

#: Field name -> the message shown beside it.
Errors = dict[str, str]

BALLOT_FIELDS = ("violation", "sanction", "suspension_days", "reason", "note_text")
VOTE_CHOICES = ("yes", "no", "abstain")


def field_error(error: IsegoriaError, fields: Iterable[str], fallback: str) -> Errors:
    """A service's refusal, beside the field it names (else beside ``fallback``)."""
    field = error.field if error.field in tuple(fields) else fallback
    return {field: i18n.error_text(error)}


def ballot_errors(typed: Mapping[str, str], ladder: list[SanctionStep], max_days: int) -> Errors:
    """What is wrong with a juror's ballot form, before it reaches the service."""
    errors: Errors = {}
    violation, sanction = typed["violation"], typed["sanction"]
    if violation not in ("yes", "no"):
        errors["violation"] = i18n.gettext("Say whether the post breaks the rule.")
    elif violation == "yes" and not sanction:
        errors["sanction"] = i18n.gettext("Choose the sanction you propose.")
    elif violation == "yes" and sanction not in {s.value for s in ladder}:
        errors["sanction"] = i18n.gettext("Choose a sanction from the list.")
    elif violation == "no" and sanction:
        errors["sanction"] = i18n.gettext(
            "A ballot that finds no violation proposes no sanction: choose the empty line."
        )
    if violation == "yes" and sanction == SanctionStep.SUSPEND.value:
        days = typed["suspension_days"].strip()
        if not (days.isascii() and days.isdigit() and 1 <= int(days) <= max_days):
            errors["suspension_days"] = i18n.gettext(
                "Give the length of the suspension in days, a whole number from 1 to %(max)d."
            ) % {"max": max_days}
    if violation == "yes" and sanction == SanctionStep.NOTE.value and not typed["note_text"]:
        errors["note_text"] = i18n.gettext("Write the note to show with the post.")
    reason = typed["reason"]
    if not reason.strip():
        errors["reason"] = i18n.gettext("Give your reason, even a short one.")
    elif len(reason) > MAX_REASON_LENGTH:
        errors["reason"] = i18n.gettext(
            "Your reason is %(n)d characters long; shorten it to %(max)d."
        ) % {"n": len(reason), "max": MAX_REASON_LENGTH}
    return errors


def vote_errors(choice: str) -> Errors:
    """What is wrong with a law vote's form."""
    if choice not in VOTE_CHOICES:
        return {"choice": i18n.gettext("Choose yes, no or abstain.")}
    return {}


def text_errors(text: str, longest: int) -> Errors:
    """What is wrong with a written text: an answer to a report, the reasons of an appeal."""
    if not text.strip():
        return {"text": i18n.gettext("Write what you have to say; the field is empty.")}
    if len(text) > longest:
        return {
            "text": i18n.gettext("The text is %(n)d characters long; shorten it to %(max)d.")
            % {"n": len(text), "max": longest}
        }
    return {}


def unknown_jurisdiction(code: str) -> str:
    """What a list says when asked for a jurisdiction that does not exist."""
    return i18n.gettext("There is no jurisdiction “%(code)s”: the list below shows none.") % {
        "code": code
    }


def proposal_vocabulary() -> dict[str, Any]:
    """The choices the proposal form offers."""
    return {
        "kinds": [k.value for k in ProposalKind],
        "categories": [c.value for c in HarmCategory],
        "grounds": [g.value for g in GroundKind],
        "caps": [s.value for s in SanctionStep],
    }


def lines(text: str) -> list[str]:
    """The non-empty lines of a text area, trimmed (examples, one per line)."""
    return [line.strip() for line in text.splitlines() if line.strip()]
