"""From the jurors' sealed ballots to a verdict: the arithmetic of a jury decision.

What a citizen should know
--------------------------
Each juror casts a sealed ballot: *did this post break the cited rule?* and, if yes, *which
sanction?* (no harsher than the rule allows), with a reason. When the ballots are opened:

1. **Quorum.** If fewer ballots came back than the constitution's jury quorum (9 of 12 by
   default; on appeal the same proportion of the larger jury, rounded up), the case
   *lapses*: nothing happens to the post.
2. **Supermajority.** A violation is found only if at least two thirds (by default) of the
   ballots cast say so. With 12 ballots, 8 are enough and 7 are not. Otherwise there is no
   action: when the jury is divided, doubt favours speech.
3. **The sanction is the median.** The sanctions proposed by the jurors who found a
   violation are put in order from mildest to harshest and the one in the middle is taken,
   so that neither the harshest nor the mildest juror decides alone. When there is an even
   number of them, there are two middle ones and the *milder* is taken (doubt favours
   speech). A ballot that asks for more than the rule allows counts as asking for the most
   the rule allows.
4. **Suspension length.** If the sanction is a suspension, its length is the median
   (again the shorter of two middle ones) of the lengths proposed by the jurors who voted
   for a suspension, never more than the rule's longest suspension.
5. **Bans are a last resort.** A ban is possible only if juries have already upheld at
   least K violations by the same author (K = 2 by default). Otherwise the sanction becomes
   the step below: a suspension for the longest time the rule allows.

The verdict records every one of these steps in words, for the statement of reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from typing import Any, TypeVar

from isegoria.domain.constitution import Constitution
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import Sanction, SanctionStep
from isegoria.domain.tally import Threshold
from isegoria.errors import Explained

__all__ = [
    "MAX_REASON_LENGTH",
    "AppliedRule",
    "Ballot",
    "Outcome",
    "Verdict",
    "VerdictError",
    "VerdictRule",
    "check_ballot",
    "decide",
    "lower_median",
    "votes_needed",
]

T = TypeVar("T")

#: Longest reason a juror may write; long enough for a paragraph, short enough to publish.
MAX_REASON_LENGTH = 2000


class VerdictError(Explained, ValueError):
    """Ballots or inputs that cannot make a verdict; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Ballot:
    """One juror's sealed answer: violation or not, the proposed sanction, and why."""

    violation: bool
    sanction: Sanction | None
    reason: str

    def __post_init__(self) -> None:
        if self.violation and self.sanction is None:
            raise VerdictError("a ballot finding a violation must propose a sanction")
        if not self.violation and self.sanction is not None:
            raise VerdictError("a ballot finding no violation cannot propose a sanction")
        if not self.reason.strip():
            raise VerdictError("a ballot must give a reason, even a short one")
        if len(self.reason) > MAX_REASON_LENGTH:
            raise VerdictError(
                "a reason may have at most %(max)s characters, this one has %(count)s",
                max=MAX_REASON_LENGTH,
                count=len(self.reason),
            )


class Outcome(Enum):
    """What the jury decided."""

    LAPSED = "lapsed"
    NO_VIOLATION = "no_violation"
    VIOLATION = "violation"


class VerdictRule(Enum):
    """A rule of arithmetic that was applied, named for the statement of reasons."""

    QUORUM_NOT_MET = "quorum_not_met"
    QUORUM_MET = "quorum_met"
    SUPERMAJORITY_NOT_REACHED = "supermajority_not_reached"
    SUPERMAJORITY_REACHED = "supermajority_reached"
    BALLOTS_CAPPED = "ballots_capped"
    MEDIAN_SANCTION = "median_sanction"
    LOWER_MEDIAN_SANCTION = "lower_median_sanction"
    MEDIAN_SUSPENSION = "median_suspension"
    LOWER_MEDIAN_SUSPENSION = "lower_median_suspension"
    BAN_NOT_ALLOWED = "ban_not_allowed"
    BAN_ALLOWED = "ban_allowed"
    # On appeal, which limit applied (see domain.appeals).
    APPEAL_NO_HARSHER = "appeal_no_harsher"
    APPEAL_CAPPED = "appeal_capped"
    APPEAL_OPEN_REPORTER = "appeal_open_reporter"
    APPEAL_LIMIT_OFF = "appeal_limit_off"


@dataclass(frozen=True, slots=True)
class AppliedRule:
    """One applied rule, a sentence explaining it with the case's numbers, and the numbers.

    ``values`` holds the figures the sentence is made of, so that a statement of reasons
    can say the same thing in another language (``cases/reasons_text.py``).
    """

    rule: VerdictRule
    detail: str
    values: Mapping[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision of a jury with the counts and the arithmetic that produced it."""

    outcome: Outcome
    sanction: Sanction
    rule_label: str
    ballots_cast: int
    violation_votes: int
    jury_quorum: int
    threshold: Threshold
    #: The median of the violation ballots, before the ban policy (None without a violation).
    median_sanction: Sanction | None
    prior_upheld_violations: int
    applied: tuple[AppliedRule, ...]

    @property
    def no_violation_votes(self) -> int:
        """Ballots that found no violation."""
        return self.ballots_cast - self.violation_votes

    @property
    def violation_share(self) -> Fraction | None:
        """Share of ballots finding a violation, None when no ballot was cast."""
        return Fraction(self.violation_votes, self.ballots_cast) if self.ballots_cast else None

    @property
    def takes_action(self) -> bool:
        """True when something happens to the post or the author."""
        return self.sanction.step is not SanctionStep.NONE

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for the transparency log."""
        share = self.violation_share
        return {
            "outcome": self.outcome.value,
            "sanction": self.sanction.to_dict(),
            "rule": self.rule_label,
            "ballots_cast": self.ballots_cast,
            "violation_votes": self.violation_votes,
            "no_violation_votes": self.no_violation_votes,
            "violation_share": None if share is None else str(share),
            "jury_quorum": self.jury_quorum,
            "threshold": self.threshold.to_dict(),
            "median_sanction": None
            if self.median_sanction is None
            else self.median_sanction.to_dict(),
            "prior_upheld_violations": self.prior_upheld_violations,
            "applied": [
                {"rule": a.rule.value, "detail": a.detail, "values": dict(a.values)}
                for a in self.applied
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Read back what :meth:`to_dict` wrote (a stored verdict, to say it again)."""
        median = data.get("median_sanction")
        return cls(
            outcome=Outcome(data["outcome"]),
            sanction=Sanction.from_dict(data["sanction"]),
            rule_label=str(data["rule"]),
            ballots_cast=int(data["ballots_cast"]),
            violation_votes=int(data["violation_votes"]),
            jury_quorum=int(data["jury_quorum"]),
            threshold=Threshold.from_dict(data["threshold"]),
            median_sanction=None if median is None else Sanction.from_dict(median),
            prior_upheld_violations=int(data["prior_upheld_violations"]),
            applied=tuple(
                AppliedRule(VerdictRule(a["rule"]), str(a["detail"]), dict(a["values"]))
                for a in data["applied"]
            ),
        )


def lower_median(ordered: Sequence[T]) -> T:
    """The middle item of a sorted, non-empty sequence; the lower middle when its length is even."""
    if not ordered:
        raise VerdictError("the median of nothing is undefined")
    return ordered[(len(ordered) - 1) // 2]


def votes_needed(threshold: Threshold, cast: int) -> int:
    """The fewest violation ballots among ``cast`` that meet ``threshold``."""
    return next((y for y in range(cast + 1) if threshold.is_met(y, cast - y)), cast + 1)


def check_ballot(ballot: Ballot, rule: RuleVersion) -> None:
    """Refuse, at casting time, a ballot proposing more than the rule allows."""
    if ballot.sanction is not None and not rule.allows(ballot.sanction):
        raise VerdictError(
            "the ballot proposes '%(describe)s' but rule %(label)s allows at "
            "most '%(describe2)s'; choose a sanction within the rule's cap",
            describe=ballot.sanction.describe(),
            label=rule.label,
            describe2=rule.ceiling.describe(),
        )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _median_rule(count: int, what: str, value: str) -> tuple[bool, str]:
    """(is_lower_median, sentence) for a median taken over ``count`` items."""
    if count == 1:
        return False, f"the only proposed {what[:-1]} is {value}"
    if count % 2:
        return False, f"the middle of the {count} proposed {what}, mildest first, is {value}"
    k = count // 2
    return True, (
        f"of the {count} proposed {what}, mildest first, the {_ordinal(k)} and "
        f"{_ordinal(k + 1)} are in the middle; the milder, {value}, is taken "
        "(doubt favours speech)"
    )


def decide(
    ballots: Sequence[Ballot],
    constitution: Constitution,
    rule: RuleVersion,
    prior_upheld_violations: int,
    *,
    appeal: bool = False,
) -> Verdict:
    """Open the sealed ballots of a case and reach the verdict (see the module docstring)."""
    jury_size = constitution.effective_appeal_jury_size if appeal else constitution.jury_size
    quorum = constitution.appeal_jury_quorum if appeal else constitution.jury_quorum
    threshold = constitution.verdict_threshold
    cast = len(ballots)
    if cast > jury_size:
        raise VerdictError(
            "%(cast)s ballots for a jury of %(jury_size)s; count each juror once",
            cast=cast,
            jury_size=jury_size,
        )
    if prior_upheld_violations < 0:
        raise VerdictError(
            "prior upheld violations cannot be negative, got %(prior_upheld_violations)s",
            prior_upheld_violations=prior_upheld_violations,
        )
    yes = sum(1 for b in ballots if b.violation)
    applied: list[AppliedRule] = []

    def verdict(outcome: Outcome, sanction: Sanction, median: Sanction | None) -> Verdict:
        return Verdict(
            outcome=outcome,
            sanction=sanction,
            rule_label=rule.label,
            ballots_cast=cast,
            violation_votes=yes,
            jury_quorum=quorum,
            threshold=threshold,
            median_sanction=median,
            prior_upheld_violations=prior_upheld_violations,
            applied=tuple(applied),
        )

    nothing = Sanction.of(SanctionStep.NONE)
    turnout = {"cast": cast, "jury": jury_size, "quorum": quorum}
    if cast < quorum:
        applied.append(
            AppliedRule(
                VerdictRule.QUORUM_NOT_MET,
                f"{cast} of {jury_size} jurors cast a ballot; at least {quorum} were needed, "
                "so the case lapses and no action is taken",
                turnout,
            )
        )
        return verdict(Outcome.LAPSED, nothing, None)
    applied.append(
        AppliedRule(
            VerdictRule.QUORUM_MET,
            f"{cast} of {jury_size} jurors cast a ballot; at least {quorum} were needed",
            turnout,
        )
    )
    needed = votes_needed(threshold, cast)
    counts = {"yes": yes, "cast": cast, "needed": needed}
    found = (
        f"{yes} of the {cast} ballots found a violation; {threshold.describe()} "
        f"({needed} of {cast}) were needed"
    )
    if not threshold.is_met(yes, cast - yes):
        applied.append(
            AppliedRule(
                VerdictRule.SUPERMAJORITY_NOT_REACHED,
                f"{found}, so no action is taken (doubt favours speech)",
                counts,
            )
        )
        return verdict(Outcome.NO_VIOLATION, nothing, None)
    applied.append(AppliedRule(VerdictRule.SUPERMAJORITY_REACHED, found, counts))

    proposed = [b.sanction for b in ballots if b.sanction is not None]
    capped = [rule.clamp(s) for s in proposed]
    over = sum(1 for s, c in zip(proposed, capped, strict=True) if s != c)
    if over:
        noun = "ballot" if over == 1 else "ballots"
        applied.append(
            AppliedRule(
                VerdictRule.BALLOTS_CAPPED,
                f"{over} {noun} proposed more than rule {rule.label} allows and "
                f"{'was' if over == 1 else 'were'} counted as '{rule.ceiling.describe()}'",
                {
                    "over": over,
                    "rule": rule.label,
                    "ceiling": rule.ceiling.step.value,
                    "ceiling_days": rule.ceiling.suspension_days or 0,
                },
            )
        )
    step = lower_median(sorted(s.step for s in capped))
    lower, sentence = _median_rule(len(capped), "sanctions", f"'{step.label}'")
    rule_used = VerdictRule.LOWER_MEDIAN_SANCTION if lower else VerdictRule.MEDIAN_SANCTION
    applied.append(AppliedRule(rule_used, sentence, {"count": len(capped), "step": step.value}))

    if step is SanctionStep.SUSPEND:
        days = sorted(s.suspension_days for s in capped if s.suspension_days is not None)
        median = Sanction.suspend(lower_median(days))
        lower, sentence = _median_rule(len(days), "suspension lengths", median.describe())
        rule_used = VerdictRule.LOWER_MEDIAN_SUSPENSION if lower else VerdictRule.MEDIAN_SUSPENSION
        values = {"count": len(days), "days": median.suspension_days or 0}
        applied.append(AppliedRule(rule_used, sentence, values))
    else:
        median = Sanction.of(step)

    sanction = median
    if step is SanctionStep.BAN:
        needed = constitution.ban_min_prior_violations
        violations = "violation" if needed == 1 else "violations"
        earlier = {"needed": needed, "prior": prior_upheld_violations}
        if prior_upheld_violations >= needed:
            applied.append(
                AppliedRule(
                    VerdictRule.BAN_ALLOWED,
                    f"a ban needs at least {needed} earlier upheld {violations}; the author "
                    f"has {prior_upheld_violations}",
                    earlier,
                )
            )
        else:
            sanction = Sanction.suspend(rule.max_suspension_days)
            applied.append(
                AppliedRule(
                    VerdictRule.BAN_NOT_ALLOWED,
                    f"a ban needs at least {needed} earlier upheld {violations}; the author has "
                    f"{prior_upheld_violations}, so the sanction is the step below: "
                    f"'{sanction.describe()}', the longest suspension rule {rule.label} allows",
                    {**earlier, "days": rule.max_suspension_days},
                )
            )
    return verdict(Outcome.VIOLATION, sanction, median)
