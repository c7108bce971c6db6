"""Values as people read them: dates, numbers, durations and the names of states, translated.

Every page formats through these Jinja filters, in the language of the request (CLDR data
through Babel), so no page shows a stored value as the code spells it (``reduce_reach``,
``2026-12-01T12:00:00+00:00``, ``None``). Times are written in UTC, and say so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, format_timedelta
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment
from markdown_it import MarkdownIt
from markupsafe import Markup

from isegoria import i18n

NOTHING = "—"


def _(message: str) -> str:
    """Mark ``message`` for the catalogs; it is translated when a page shows it."""
    return message


#: The words for the values the code stores: states, outcomes, sanctions, grounds, roles.
LABELS: dict[str, str] = {
    # case, stage, juror and interim states
    "open": _("open"),
    "decided": _("decided"),
    "appealed": _("appealed"),
    "final": _("final"),
    "first": _("first instance"),
    "appeal": _("appeal"),
    "summoned": _("summoned"),
    "accepted": _("accepted"),
    "declined": _("declined"),
    "no_show": _("did not answer"),
    "voted": _("voted"),
    "replaced": _("replaced"),
    "active": _("in force"),
    "upheld": _("upheld"),
    "pending": _("pending"),
    "applied": _("applied"),
    "failed": _("failed"),
    # outcomes
    "violation": _("violation"),
    "no_violation": _("no violation"),
    "lapsed": _("lapsed"),
    # the sanction ladder
    "none": _("no action"),
    "note": _("context note"),
    "reduce_reach": _("reduced reach"),
    "remove": _("removal"),
    "suspend": _("suspension"),
    "ban": _("account closed"),
    # grounds and harms (the DSA Transparency Database's categories)
    "legal": _("illegal content"),
    "community_standard": _("community standard"),
    "animal_welfare": _("animal welfare"),
    "consumer_information": _("consumer information"),
    "cyber_violence": _("cyber violence"),
    "cyber_violence_against_women": _("cyber violence against women"),
    "data_protection_and_privacy": _("data protection and privacy"),
    "illegal_or_harmful_speech": _("illegal or harmful speech"),
    "intellectual_property": _("intellectual property"),
    "civic_discourse_or_elections": _("civic discourse or elections"),
    "other_terms_violation": _("other violation of the terms"),
    "protection_of_minors": _("protection of minors"),
    "public_security": _("public security"),
    "scams_and_fraud": _("scams and fraud"),
    "self_harm": _("self-harm"),
    "unsafe_and_prohibited_products": _("unsafe and prohibited products"),
    "violence": _("violence"),
    # who reported
    "user": _("a user of the platform"),
    "trusted_flagger": _("a trusted flagger"),
    "platform": _("the platform's staff"),
    "automated": _("automated detection"),
    # notes: statuses, classifications, what a platform is told
    "helpful": _("helpful"),
    "not_helpful": _("not helpful"),
    "needs_more_ratings": _("needs more ratings"),
    "misinformed_or_potentially_misleading": _("misinformed or potentially misleading"),
    "not_misleading": _("not misleading"),
    "sanction_imposed": _("sanction imposed"),
    "no_action": _("no action"),
    "interim_imposed": _("interim measure imposed"),
    "interim_lapsed": _("interim measure lapsed"),
    "sanction_lifted": _("sanction lifted"),
    "note_shown": _("note shown"),
    "note_hidden": _("note hidden"),
    # the groups a jury is balanced over
    "region": _("region"),
    "age_band": _("age"),
    "political_leaning": _("political leaning"),
    # roles
    "citizen": _("citizen"),
    "operator": _("operator"),
    "auditor": _("auditor"),
    # proposals
    "deliberation": _("deliberation"),
    "voting": _("voting"),
    "adopted": _("adopted"),
    "rejected": _("rejected"),
    "enact": _("enact"),
    "amend": _("amend"),
    "repeal": _("repeal"),
    "constitution": _("constitution"),
    "yes": _("Yes"),
    "no": _("No"),
    "abstain": _("Abstain"),
}

#: What each kind of log entry records, in words.
EVENTS: dict[str, str] = {
    "AppealFiled": _("Appeal filed"),
    "BallotCast": _("Ballot cast"),
    "CaseClosed": _("Case closed"),
    "CaseOpened": _("Case opened"),
    "ConnectorAdded": _("Connector added"),
    "ConsistencyRetrialSettled": _("Consistency retrial settled"),
    "ConstitutionChanged": _("Constitution changed"),
    "DecisionConfirmed": _("Decision confirmed by the platform"),
    "DecisionIssued": _("Decision sent to the platform"),
    "IndexVoided": _("Log index left unused (its write was undone)"),
    "InterimMeasureImposed": _("Interim measure imposed"),
    "InterimMeasureLapsed": _("Interim measure lapsed"),
    "JurisdictionCreated": _("Jurisdiction created"),
    "JurorReplied": _("Juror answered the summons"),
    "JurorsReplaced": _("Jurors replaced"),
    "JuryDrawn": _("Jury drawn"),
    "LogKeyRotated": _("Log key rotated"),
    "MeasureExpired": _("Measure expired"),
    "NoteDecisionIssued": _("Note decision sent to the platform"),
    "NoteStatusChanged": _("Note status changed"),
    "NoteWritten": _("Note written"),
    "NotesScored": _("Notes scored"),
    "PlatformRegistered": _("Platform registered"),
    "ProposalOpened": _("Proposal opened"),
    "ProposalRevised": _("Proposal revised"),
    "ProposalTallied": _("Votes counted"),
    "ReportFiled": _("Report filed"),
    "RuleRepealed": _("Rule repealed"),
    "RuleVersionEnacted": _("Rule version enacted"),
    "SanctionImposed": _("Sanction imposed"),
    "SanctionLifted": _("Sanction lifted"),
    "VerdictReached": _("Verdict reached"),
    "VotingOpened": _("Voting opened"),
}


def label(value: Any) -> str:
    """The words for a stored value (``reduce_reach`` -> ``reduced reach``); ``—`` for none."""
    if value is None or value == "":
        return NOTHING
    key = str(getattr(value, "value", value))
    if key in EVENTS:
        return i18n.gettext(EVENTS[key])
    if key in LABELS:
        return i18n.gettext(LABELS[key])
    return key


def when(instant: datetime | str | None) -> str:
    """A moment in the reader's language, in UTC: ``1 dic 2026, 12:00 UTC``."""
    if instant is None or instant == "":
        return NOTHING
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    locale = Locale.parse(i18n.current_language())
    instant = instant.astimezone(UTC)
    # The language's own way of joining a date and a time ("{1}, {0}", "{1} à {0}"...).
    joined = str(locale.datetime_formats["medium"]).format(
        format_time(instant, format="short", tzinfo=UTC, locale=locale),
        format_date(instant.date(), format="medium", locale=locale),
    )
    return f"{joined} UTC"


def day(value: date | datetime | str | None) -> str:
    """A calendar day in the reader's language: ``1 dic 2026``."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return format_date(value, format="medium", locale=i18n.current_language())


def short_day(value: date) -> str:
    """A day without its year, as a chart's axis shows it: ``1 dic``, ``Dec 1``."""
    return format_skeleton("MMMd", value, locale=i18n.current_language())


def number(value: float | int | None) -> str:
    """A number with the reader's digit grouping and decimal sign."""
    if value is None:
        return NOTHING
    return format_decimal(value, locale=i18n.current_language())


def pattern_number(value: float, pattern: str) -> str:
    """A number after a CLDR pattern (``#,##0.0``) with the reader's separators."""
    return format_decimal(value, format=pattern, locale=i18n.current_language())


def percent(value: float | None) -> str:
    """A share (0.25) as the reader writes a percentage (``25 %``)."""
    if value is None:
        return NOTHING
    return format_percent(value, locale=i18n.current_language())


def duration(value: timedelta | float | int | None) -> str:
    """A length of time in words (``7 days``), from a timedelta or a number of seconds."""
    if value is None:
        return NOTHING
    span = value if isinstance(value, timedelta) else timedelta(seconds=float(value))
    return format_timedelta(span, threshold=1, locale=i18n.current_language())


def language_name(code: str | None) -> str:
    """The name of a language in the reader's language (``en`` -> ``inglés``)."""
    if not code:
        return NOTHING
    name = Locale.parse(i18n.current_language()).languages.get(code)
    return str(name) if name else code


_commonmark = MarkdownIt("commonmark", {"html": False})


def inline_markdown(text: str) -> Markup:
    """A line of CommonMark (the OpenAPI descriptions' format) as HTML: ``code`` spans..."""
    return Markup(_commonmark.renderInline(text))  # noqa: S704 - raw HTML is escaped


def codes(values: list[Any]) -> Markup:
    """Identifiers, each as code, separated by commas: ``a``, ``b``."""
    return Markup(", ").join(Markup("<code>%s</code>") % v for v in values)


def language_names(codes: str | list[str]) -> str:
    """Languages by name, in the reader's language: ``inglés, francés``."""
    return ", ".join(language_name(c) for c in ([codes] if isinstance(codes, str) else codes))


def install(env: Environment) -> None:
    """Make the filters available to every template."""
    env.filters.update(
        label=label,
        codes=codes,
        inline_markdown=inline_markdown,
        language_name=language_name,
        language_names=language_names,
        when=when,
        day=day,
        number=number,
        percent=percent,
        duration=duration,
    )
