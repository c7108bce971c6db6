"""The law's values in words: sanction ceilings, majorities and a constitution's fields."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

from isegoria import i18n
from isegoria.domain.constitution import Constitution
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import Sanction, SanctionStep
from isegoria.domain.tally import Threshold
from isegoria.law.read import DiffLine, diff_lines
from isegoria.law.views import ProposalView
from isegoria.web.formatting import NOTHING, duration, label, number


def _(message: str) -> str:
    """Mark ``message`` for the catalogs; it is translated when a page shows it."""
    return message


#: A constitution's fields, in the order a person reads them.
CONSTITUTION_FIELDS: dict[str, str] = {
    "voting_quorum": _("Share of citizens who must vote for a vote to count"),
    "simple_majority": _("Majority to enact, amend or repeal a rule"),
    "supermajority": _("Supermajority"),
    "constitutional_majority": _("Majority to change the constitution"),
    "deliberation_period": _("Deliberation before a vote"),
    "voting_period": _("Voting period"),
    "jury_size": _("Jurors on a jury"),
    "jury_quorum": _("Ballots a verdict needs"),
    "verdict_threshold": _("Majority of a jury to find a violation"),
    "juror_reply_deadline": _("Time to answer a summons"),
    "ballot_deadline": _("Time to cast a ballot"),
    "interim_measure_deadline": _("Longest interim measure"),
    "appeal_window": _("Time to appeal"),
    "appeal_jury_size": _("Jurors on an appeal jury"),
    "ban_min_prior_violations": _("Earlier violations before an account may be closed"),
    "no_harsher_on_own_appeal": _("No harsher outcome on one's own appeal"),
    "jury_strata": _("A jury mirrors the population by"),
    "consistency_retrial_share": _("Share of cases tried twice to measure consistency"),
    "juror_max_cases": _("Most cases a juror sits on in a window"),
    "juror_load_window": _("That window"),
}


def ceiling(sanction: Sanction) -> str:
    """The highest sanction a rule allows: ``suspension for 7 days``, ``removal``."""
    if sanction.step is SanctionStep.SUSPEND and sanction.suspension_days:
        return i18n.ngettext(
            "suspension for %(num)d day", "suspension for %(num)d days", sanction.suspension_days
        ) % {"num": sanction.suspension_days}
    return label(sanction.step.value)


def share(value: Fraction) -> str:
    """A share as people write it: ``1/10``."""
    return f"{value.numerator}/{value.denominator}"


def threshold(rule: Threshold) -> str:
    """``at least 2/3 of yes and no votes`` in the reader's language."""
    if rule.inclusive:
        return i18n.gettext("at least %(share)s of yes and no votes") % {"share": share(rule.share)}
    return i18n.gettext("more than %(share)s of yes and no votes") % {"share": share(rule.share)}


def _value(name: str, value: Any, constitution: Constitution) -> str:
    if isinstance(value, Threshold):
        return threshold(value)
    if isinstance(value, timedelta):
        return duration(value)
    if isinstance(value, Fraction):
        return share(value)
    if isinstance(value, bool):
        return i18n.gettext("Yes") if value else i18n.gettext("No")
    if name == "appeal_jury_size":
        return number(value or constitution.effective_appeal_jury_size)
    if isinstance(value, tuple | list):
        return ", ".join(label(s) for s in value) or NOTHING
    return number(value) if isinstance(value, int) else str(value)


def constitution_fields(constitution: Constitution) -> list[tuple[str, str]]:
    """A constitution as labelled fields: (what it sets, its value in words)."""
    return [
        (i18n.gettext(text), _value(name, getattr(constitution, name), constitution))
        for name, text in CONSTITUTION_FIELDS.items()
    ]


def rule_text(v: RuleVersion | None) -> str:
    """Everything a citizen votes on in a rule, as lines to compare, in the reader's words."""
    if v is None:
        return ""
    lines = [
        f"# {v.title}",
        "",
        v.text.strip(),
        "",
        f"{i18n.gettext('Harm category')}: {label(v.harm_category.value)}",
        f"{i18n.gettext('Ground')}: {label(v.ground.value)}",
        f"{i18n.gettext('Highest sanction')}: {ceiling(v.ceiling)}",
    ]
    lines += [f"{i18n.gettext('Covers, for example')}: {e}" for e in v.covered_examples]
    lines += [f"{i18n.gettext('Does not cover, for example')}: {e}" for e in v.not_covered_examples]
    return "\n".join(lines)


def rule_diff(old: RuleVersion | None, new: RuleVersion | None) -> list[DiffLine]:
    """What a version or a draft changes in a rule, line by line."""
    return diff_lines(rule_text(old), rule_text(new))


def proposal_diff(view: ProposalView, current: Constitution) -> list[DiffLine]:
    """What a proposal changes: in its rule, or in the constitution in force."""
    if "changes" not in view.content:
        return rule_diff(view.base, view.draft)
    proposed = Constitution.from_dict({**current.to_dict(), **view.content["changes"]})
    before = "\n".join(f"{name}: {value}" for name, value in constitution_fields(current))
    after = "\n".join(f"{name}: {value}" for name, value in constitution_fields(proposed))
    return diff_lines(before, after)
