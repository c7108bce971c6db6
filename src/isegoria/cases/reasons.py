"""The statement of reasons: every field of EU DSA Art. 17(3), from a verdict.

It is written in the language of the post (the language its author reads), or in English
when isegoria has no catalog for it, sentence by sentence from the verdict's figures
(``cases_reasons_text.py``): the rule and its version, the facts that meet it, the
arithmetic of the jury's decision, what becomes of an interim measure, and on appeal how
the first decision changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from isegoria.cases.reasons_text import Clerk, sentence_case
from isegoria.domain.appeals import appeal_limit_of
from isegoria.domain.constitution import Constitution
from isegoria.domain.decisions import ReportSource, StatementOfReasons
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import SanctionStep
from isegoria.domain.verdict import Outcome, Verdict
from isegoria.store.models_cases import Case, Content, Report

MAX_REASONS_QUOTED = 5
#: ``build_statement``'s default interim state: the one the case row holds as it is built.
INTERIM_AS_ON_CASE = "as on the case"


def _reported(clerk: Clerk, reports: list[Report]) -> str:
    if not reports:
        return clerk.gettext("No notice was received; the case was opened by the platform.")
    who = {
        ReportSource.USER: clerk.gettext("a user of the platform"),
        ReportSource.TRUSTED_FLAGGER: clerk.gettext("a trusted flagger"),
        ReportSource.PLATFORM: clerk.gettext("the platform's staff"),
        ReportSource.AUTOMATED: clerk.gettext("automated detection"),
    }
    return clerk.ngettext(
        "It was reported once, by %(who)s.",
        "It was reported %(n)d times, first by %(who)s.",
        len(reports),
        who=who[ReportSource(reports[0].source)],
    )


def _facts(
    clerk: Clerk,
    case: Case,
    content: Content,
    rule: RuleVersion,
    verdict: Verdict,
    reports: list[Report],
    jury_size: int,
    appeal: bool,
) -> str:
    where = content.url or content.platform_content_id
    parts = [
        clerk.gettext(
            "On %(posted)s, %(author)s published a post in %(language)s on platform "
            "%(platform)s (%(where)s).",
            posted=clerk.when(content.posted_at),
            author=content.author,
            language=clerk.language_name(content.language),
            platform=case.platform_id,
            where=where,
        ),
        _reported(clerk, reports),
        clerk.gettext(
            "The report cites rule %(rule)s, version %(version)d (“%(title)s”), of "
            "jurisdiction %(jurisdiction)s, in force since %(since)s.",
            rule=rule.rule_id,
            version=rule.version,
            title=rule.title,
            jurisdiction=rule.jurisdiction,
            since=clerk.when(rule.effective_from),
        ),
    ]
    jury = (
        clerk.gettext(
            "On the author's appeal, a new jury of %(jury)d citizens drawn by lot examined it.",
            jury=jury_size,
        )
        if appeal
        else clerk.gettext("A jury of %(jury)d citizens drawn by lot examined it.", jury=jury_size)
    )
    parts.append(jury)
    parts.append(
        clerk.ngettext(
            "%(n)d juror cast a ballot.", "%(n)d jurors cast a ballot.", verdict.ballots_cast
        )
    )
    return " ".join(parts)


def _decision(clerk: Clerk, rule: RuleVersion, verdict: Verdict) -> str:
    step = verdict.sanction.step
    if verdict.outcome is Outcome.LAPSED:
        return clerk.gettext("Decision: the case lapsed; no action is taken.")
    if verdict.outcome is Outcome.NO_VIOLATION:
        return clerk.gettext(
            "Decision: the post does not break rule %(rule)s; it stays as it is.",
            rule=rule.label,
        )
    return clerk.gettext(
        "Decision: the post breaks rule %(rule)s; the measure is %(measure)s.",
        rule=rule.label,
        measure=clerk.sanction(step, verdict.sanction.suspension_days),
    )


def _interim(
    clerk: Clerk, case: Case, constitution: Constitution, verdict: Verdict, state: str | None
) -> str:
    """What becomes of an interim restriction (first instance only), in ``state`` before."""
    if case.interim_until is None or state not in ("active", "lapsed"):
        return ""
    since = clerk.when(case.interim_until - constitution.interim_measure_deadline)
    if state == "lapsed":
        return clerk.gettext(
            "An interim restriction applied on %(since)s lapsed on %(until)s because no "
            "verdict came within the deadline; the platform restored the post.",
            since=since,
            until=clerk.when(case.interim_until),
        )
    if verdict.sanction.step >= SanctionStep.REMOVE:
        return clerk.gettext(
            "The interim restriction applied on %(since)s is upheld: the decision restricts "
            "the post at least as much.",
            since=since,
        )
    return clerk.gettext(
        "The interim restriction applied on %(since)s is lifted: the decision does not "
        "restrict the post as much, so the platform must restore it.",
        since=since,
    )


def _on_appeal(clerk: Clerk, case: Case, verdict: Verdict) -> str:
    """How the appeal changed the first decision."""
    first_step = SanctionStep(case.sanction or SanctionStep.NONE.value)
    first = clerk.sanction(first_step, case.suspension_days)
    step, days = verdict.sanction.step, verdict.sanction.suspension_days
    now = clerk.sanction(step, days)
    if step == first_step and (step is not SanctionStep.SUSPEND or days == case.suspension_days):
        return clerk.gettext("The first decision (%(first)s) is upheld.", first=first)
    if step is SanctionStep.NONE:
        return clerk.gettext("The first decision (%(first)s) is overturned.", first=first)
    milder = step < first_step or (step == first_step and (days or 0) < (case.suspension_days or 0))
    if milder:
        return clerk.gettext(
            "The first decision is lightened from %(first)s to %(now)s.", first=first, now=now
        )
    return clerk.gettext(
        "The first decision is made harsher, from %(first)s to %(now)s.", first=first, now=now
    )


def _explanation(
    clerk: Clerk,
    case: Case,
    rule: RuleVersion,
    constitution: Constitution,
    verdict: Verdict,
    reasons: list[str],
    appeal: bool,
    interim_state: str | None,
) -> str:
    parts = [sentence_case(clerk.applied(a)) for a in verdict.applied]
    parts.append(_decision(clerk, rule, verdict))
    parts.append(_on_appeal(clerk, case, verdict) if appeal else "")
    parts.append("" if appeal else _interim(clerk, case, constitution, verdict, interim_state))
    if reasons:
        quoted = "; ".join(f"“{r.strip()}”" for r in reasons[:MAX_REASONS_QUOTED])
        parts.append(
            clerk.ngettext(
                "The juror's reason: %(quoted)s.",
                "Jurors' reasons: %(quoted)s.",
                len(reasons[:MAX_REASONS_QUOTED]),
                quoted=quoted,
            )
        )
    return " ".join(p for p in parts if p)


def _redress(
    clerk: Clerk,
    verdict: Verdict,
    appeal: bool,
    constitution: Constitution,
    decided_at: datetime,
    case_id: int,
) -> str:
    if appeal:
        return clerk.gettext(
            "This decision on appeal is final within isegoria. You may still go to court or, "
            "in the EU, to a certified out-of-court dispute settlement body (DSA Art. 21)."
        )
    size = constitution.effective_appeal_jury_size
    until = clerk.when(decided_at + constitution.appeal_window)
    if not verdict.takes_action:
        return clerk.gettext(
            "A reporter may appeal to a new, larger jury of %(size)d citizens until %(until)s, "
            "from the page of case %(case)d; the author has nothing to appeal, as no action "
            "was taken. Courts and, in the EU, certified out-of-court dispute settlement "
            "bodies (DSA Art. 21) remain open.",
            size=size,
            until=until,
            case=case_id,
        )
    limit = (
        clerk.gettext(
            "An appeal by the author alone can uphold, lighten or overturn this decision, "
            "never make it harsher."
        )
        if constitution.no_harsher_on_own_appeal
        else clerk.gettext(
            "Under this jurisdiction's constitution, the new jury may also decide a harsher "
            "outcome."
        )
    )
    return " ".join(
        (
            clerk.gettext(
                "The author may appeal to a new, larger jury of %(size)d citizens until "
                "%(until)s, from the page of case %(case)d; a reporter may appeal when no "
                "violation was found.",
                size=size,
                until=until,
                case=case_id,
            ),
            limit,
            clerk.gettext(
                "Courts and, in the EU, certified out-of-court dispute settlement bodies "
                "(DSA Art. 21) remain open."
            ),
        )
    )


def build_statement(
    *,
    case: Case,
    content: Content,
    rule: RuleVersion,
    constitution: Constitution,
    verdict: Verdict,
    reasons: list[str],
    reports: list[Report],
    decision_id: int,
    decided_at: datetime,
    appeal: bool,
    jury_size: int,
    language: str | None = None,
    interim_state: str | None = INTERIM_AS_ON_CASE,
) -> StatementOfReasons:
    """Fill every Art. 17(3) field from the verdict and the case file.

    ``language``: the one to write in, the post's by default; ``interim_state``: the interim
    measure's state just before the verdict, when the case row has moved on since."""
    clerk = Clerk(language or content.language)
    if interim_state == INTERIM_AS_ON_CASE:
        interim_state = case.interim_state
    step = verdict.sanction.step
    days = verdict.sanction.suspension_days if step is SanctionStep.SUSPEND else None
    ends = decided_at + timedelta(days=days) if days else None
    first = reports[0] if reports else None
    source = ReportSource(first.source) if first else None
    jurisdictions = tuple(j for j in content.jurisdictions.split(",") if j)
    limit = appeal_limit_of(verdict)
    return StatementOfReasons(
        case_id=case.id,
        decision_id=decision_id,
        decided_at=decided_at,
        jurisdiction=rule.jurisdiction,
        territorial_scope=jurisdictions,
        rule_id=rule.rule_id,
        rule_version=rule.version,
        rule_title=rule.title,
        rule_text=rule.text,
        ground=rule.ground,
        harm_category=rule.harm_category,
        sanction=step,
        suspension_days=days,
        measure_ends_at=ends,
        facts=_facts(clerk, case, content, rule, verdict, reports, jury_size, appeal),
        notice_received=bool(reports),
        notice_source=source,
        automated_detection=any(r.source == ReportSource.AUTOMATED.value for r in reports),
        automated_decision=False,
        explanation=_explanation(
            clerk, case, rule, constitution, verdict, reasons, appeal, interim_state
        ),
        tally={
            "jury": jury_size,
            "cast": verdict.ballots_cast,
            "violation": verdict.violation_votes,
            "no_violation": verdict.no_violation_votes,
            "quorum": verdict.jury_quorum,
        },
        redress=_redress(clerk, verdict, appeal, constitution, decided_at, case.id),
        appeal=appeal,
        content_id=content.platform_content_id,
        content_url=content.url,
        content_language=content.language,
        content_posted_at=content.posted_at,
        appeal_limit=None if limit is None else limit.value,
        language=clerk.language,
    )
