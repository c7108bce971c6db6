"""The proposal form: jurisdictions and rules to choose from, a constitution edited through
fields (never raw JSON), and what is wrong with what a citizen typed, field by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any

from fastapi import Request

from isegoria import i18n
from isegoria.domain.constitution import ProposalKind
from isegoria.law import proposals as law_proposals
from isegoria.law import read as law_read
from isegoria.people import jurisdictions
from isegoria.unit_of_work import UnitOfWork
from isegoria.web.forms import Errors, lines, proposal_vocabulary

#: Longest value a constitution field takes (a number of days, a percentage).
MAX_VALUE = 16
FIELD_PREFIX = "c_"


@dataclass(frozen=True)
class ConstitutionField:
    """One parameter the form edits: its name, how it is typed, and its label."""

    name: str
    unit: str  # "days", "count", "percent" or "yes_no"
    label: str


def constitution_fields() -> list[ConstitutionField]:
    """The parameters a citizen may propose to change from the page, in their language."""
    _ = i18n.gettext
    return [
        ConstitutionField("jury_size", "count", _("Jurors on a first jury")),
        ConstitutionField("jury_quorum", "count", _("Ballots a jury needs to decide")),
        ConstitutionField("appeal_jury_size", "count", _("Jurors on an appeal jury")),
        ConstitutionField(
            "juror_max_cases", "count", _("Most juries one citizen sits on in the counting period")
        ),
        ConstitutionField(
            "ban_min_prior_violations", "count", _("Upheld violations before a ban is possible")
        ),
        ConstitutionField("deliberation_period", "days", _("Deliberation before a vote (days)")),
        ConstitutionField("voting_period", "days", _("Length of a vote (days)")),
        ConstitutionField("juror_reply_deadline", "days", _("Time to answer a summons (days)")),
        ConstitutionField("ballot_deadline", "days", _("Time for a jury to vote (days)")),
        ConstitutionField(
            "interim_measure_deadline", "days", _("Longest interim restriction (days)")
        ),
        ConstitutionField("appeal_window", "days", _("Time to appeal a decision (days)")),
        ConstitutionField("juror_load_window", "days", _("Period the jury limit counts (days)")),
        ConstitutionField("voting_quorum", "percent", _("Turnout a vote needs (percent)")),
        ConstitutionField(
            "consistency_retrial_share", "percent", _("Cases tried twice to check (percent)")
        ),
        ConstitutionField(
            "no_harsher_on_own_appeal", "yes_no", _("No harsher outcome on one's own appeal")
        ),
    ]


def choices(uow: UnitOfWork) -> dict[str, Any]:
    """What the form offers to choose from: jurisdictions, rules in force, the vocabularies."""
    now = uow.now()
    places = [(j.code, j.name, depth) for j, depth in jurisdictions.tree_order(uow)]
    rules: list[tuple[str, str, str]] = []
    for code, _name, _depth in places:
        rules.extend((v.rule_id, v.title, code) for v in law_read.in_force(uow, code, now))
    unique = sorted({r[0]: r for r in rules}.values())
    vocabulary = proposal_vocabulary()
    return {"places": places, "rules": unique, "fields": constitution_fields()} | vocabulary


def _value(field: ConstitutionField, raw: str) -> Any:
    """The change one field asks for, in the constitution's own terms; ValueError if unreadable."""
    if field.unit == "yes_no":
        return {"yes": True, "no": False}[raw]
    number = Fraction(raw.replace(",", "."))
    if number <= 0:
        raise ValueError(raw)
    if field.unit == "count":
        if number.denominator != 1:
            raise ValueError(raw)
        return int(number)
    if field.unit == "days":
        seconds = number * int(timedelta(days=1).total_seconds())
        if seconds.denominator != 1:
            raise ValueError(raw)
        return int(seconds)
    if number > 100:
        raise ValueError(raw)
    return str(number / 100)


def constitution_changes(typed: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    """The changes the filled fields ask for (a blank field changes nothing), and mistakes."""
    changes: dict[str, Any] = {}
    errors: Errors = {}
    for field in constitution_fields():
        raw = typed.get(FIELD_PREFIX + field.name, "").strip()
        if not raw:
            continue
        try:
            if len(raw) > MAX_VALUE:
                raise ValueError(raw)
            value = _value(field, raw)
        except (ValueError, KeyError, ZeroDivisionError):
            errors[FIELD_PREFIX + field.name] = _unit_message(field.unit)
            continue
        key = field.name + "_seconds" if field.unit == "days" else field.name
        changes[key] = value
    return changes, errors


def _unit_message(unit: str) -> str:
    if unit == "count":
        return i18n.gettext("Give a whole number above zero, or leave the field empty.")
    if unit == "days":
        return i18n.gettext("Give a number of days above zero, or leave the field empty.")
    if unit == "percent":
        return i18n.gettext("Give a percentage above 0 and up to 100, or leave the field empty.")
    return i18n.gettext("Choose yes, no, or leave it unchanged.")


def rule_draft(typed: Mapping[str, str]) -> tuple[law_proposals.RuleDraft | None, Errors]:
    """The rule a proposal to enact or amend carries, and what is wrong with its fields."""
    if typed.get("kind") not in (ProposalKind.ENACT.value, ProposalKind.AMEND.value):
        return None, {}
    days = typed.get("max_suspension_days", "").strip() or "0"
    if not (days.isascii() and days.isdigit() and int(days) <= 365):
        message = i18n.gettext("Give the longest suspension as a whole number of days, 0 to 365.")
        return None, {"max_suspension_days": message}
    draft = law_proposals.RuleDraft(
        title=typed.get("rule_title", ""),
        text=typed.get("text", ""),
        harm_category=typed.get("harm_category", ""),
        ground=typed.get("ground", ""),
        sanction_cap=typed.get("sanction_cap", ""),
        max_suspension_days=int(days),
        covered_examples=lines(typed.get("covered", "")),
        not_covered_examples=lines(typed.get("not_covered", "")),
    )
    return draft, {}


async def typed_fields(request: Request) -> dict[str, str]:
    """Every text field of the posted form, as typed (files and repeated names aside)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}
