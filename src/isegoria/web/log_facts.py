"""A log entry's facts for people: their names translated, their values formatted.

The facts are the record as signed; a page shows each under a name in the reader's language
and each value as people read it (a date, yes or no, a state's name), and what has no name
for people (a scoring parameter, a digest) as code.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from isegoria import i18n
from isegoria.web.formatting import EVENTS, LABELS, NOTHING, label, number, when


def _(message: str) -> str:
    """Mark ``message`` for the catalogs; it is translated when a page shows it."""
    return message


#: What a log entry is about.
SUBJECTS: dict[str, str] = {
    "case": _("case"),
    "decision": _("decision"),
    "jurisdiction": _("jurisdiction"),
    "note": _("note"),
    "notes_run": _("scoring run"),
    "platform": _("platform"),
    "proposal": _("proposal"),
    "rule": _("rule"),
}

#: The names of the facts a log entry records (what is not here is shown as code).
FACT_NAMES: dict[str, str] = {
    "accepted": _("accepted"),
    "appellant": _("appellant"),
    "apply_by": _("to apply by"),
    "author": _("author"),
    "ballots": _("ballots"),
    "by_jury": _("by a jury"),
    "case_id": _("case"),
    "cast": _("ballots cast"),
    "changed": _("changed"),
    "classification": _("classification"),
    "code": _("code"),
    "constitution": _("new constitution"),
    "content_id": _("post"),
    "counts": _("counts"),
    "covered_examples": _("examples it covers"),
    "decision_id": _("decision"),
    "decision_kind": _("kind of decision"),
    "effective_at": _("in force from"),
    "effective_from": _("in force from"),
    "electorate_size": _("electorate"),
    "excluded": _("excluded"),
    "final": _("final"),
    "first": _("first"),
    "ground": _("ground"),
    "harm_category": _("harm category"),
    "jurisdiction": _("jurisdiction"),
    "juror": _("juror"),
    "jurors": _("jurors"),
    "jury": _("jury size"),
    "language": _("language"),
    "languages": _("languages"),
    "lapses_at": _("lapses on"),
    "max_selection_probability": _("highest chance of being drawn"),
    "max_suspension_days": _("longest suspension (days)"),
    "min_selection_probability": _("lowest chance of being drawn"),
    "name": _("name"),
    "no_violation": _("no violation"),
    "not_covered_examples": _("examples it does not cover"),
    "note_id": _("note"),
    "outcome": _("outcome"),
    "parameters": _("parameters"),
    "parent": _("within"),
    "platform_id": _("platform"),
    "pool_size": _("volunteers in the pool"),
    "posted_at": _("posted"),
    "previous": _("previous"),
    "proposal_id": _("proposal"),
    "proposal_kind": _("kind of proposal"),
    "quorum": _("quorum"),
    "quotas": _("quotas"),
    "reason": _("reason"),
    "receipt": _("receipt"),
    "replaced": _("replaced"),
    "replacements": _("replacements"),
    "restores": _("restores"),
    "result": _("result"),
    "retrial": _("retrial"),
    "revision": _("revision"),
    "round": _("round"),
    "rule": _("rule"),
    "rule_id": _("rule"),
    "run": _("scoring run"),
    "sanction": _("sanction"),
    "sanction_cap": _("highest sanction"),
    "seed": _("seed"),
    "seed_checkpoint_size": _("seed from the checkpoint of"),
    "size": _("size"),
    "source": _("source"),
    "stage": _("stage"),
    "stands": _("stands"),
    "status": _("status"),
    "suspension_days": _("suspension (days)"),
    "tally": _("tally"),
    "text": _("text"),
    "threshold": _("threshold"),
    "title": _("title"),
    "version": _("version"),
    "violation": _("violation"),
    "voting_closes_at": _("voting closes"),
    "voting_opens_at": _("voting opens"),
    "helpful": _("helpful"),
    "not_helpful": _("not helpful"),
    "needs_more_ratings": _("needs more ratings"),
    "notes": _("notes"),
    "ratings": _("ratings"),
    "raters_scored": _("raters scored"),
    "ratings_scored": _("ratings scored"),
}
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
#: Digests, receipts and pseudonyms: shown as code, the way people compare them.
IDENTIFIER = re.compile(r"[0-9a-f]{16,}|J-[0-9a-f]+|[A-Za-z0-9+/=_-]{40,}|[a-z]+(_[a-z]+)+")


def subject(kind: str) -> str:
    """What a log entry is about, in words (``case``, ``proposal``)."""
    return i18n.gettext(SUBJECTS[kind]) if kind in SUBJECTS else kind


def fact_name(key: str) -> Markup:
    """The name of a recorded fact; an unnamed one (a scoring parameter) is shown as code."""
    if key in FACT_NAMES:
        return Markup.escape(i18n.gettext(FACT_NAMES[key]))
    return Markup("<code>%s</code>") % key


def fact(value: Any) -> Markup:
    """One recorded value for people: yes or no, a date, a number, a state's name, or code."""
    if value is None:
        return Markup.escape(NOTHING)
    if isinstance(value, bool):
        return Markup.escape(i18n.gettext("Yes") if value else i18n.gettext("No"))
    if isinstance(value, int | float):
        return Markup.escape(number(value))
    text = str(value)
    if ISO_MOMENT.match(text):
        return Markup.escape(when(text.replace("Z", "+00:00")))
    if text in LABELS or text in EVENTS:
        return Markup.escape(label(text))
    if IDENTIFIER.fullmatch(text):
        return Markup("<code>%s</code>") % text
    return Markup.escape(text)


def install(env: Environment) -> None:
    """Make the filters available to every template."""
    env.filters.update(subject=subject, fact_name=fact_name, fact=fact)
