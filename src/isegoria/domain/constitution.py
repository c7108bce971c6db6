"""The constitution of a jurisdiction: how its citizens make law and how its juries decide.

What a citizen should know
--------------------------
Each jurisdiction (``intl``, ``EU``, ``MX``, a server) has a constitution: a short list of
numbers that fix the rules of the game. Changing any of them is itself a proposal, and it
needs the highest majority of all (three quarters by default).

Making law
    * *Quorum*: at least a tenth of the citizens must take part in a vote.
    * *Thresholds*: an ordinary decision (repealing a rule, lowering a sanction cap) needs a
      simple majority, more than half of the yes and no votes. A decision that restricts
      speech more (a new rule, a higher cap, a wider wording) needs two thirds. Changing the
      constitution needs three quarters.
    * A proposal is discussed for 14 days, then voted on for 7 days.

Deciding cases
    * A jury of 12 citizens is drawn by lot, mirroring the citizenry on the listed strata
      (region, age band, declared political leaning).
    * Drawn citizens have 48 hours to accept; jurors have 7 days to cast their ballot.
    * At least 9 ballots are needed for a verdict; a violation needs two thirds of them.
    * Urgent interim measures must be decided within 24 hours.
    * The author may appeal for 184 days (six months) to a fresh jury of 2n+1 (25 for a jury of 12).
    * An appeal filed by the sanctioned author alone can uphold, lighten or overturn the
      decision, never make it harsher (no *reformatio in peius*); a reporter's appeal can.
    * A ban needs at least 2 earlier violations by the same author, upheld by juries.
    * 2% of cases are tried twice by independent juries to measure consistency.
    * Nobody serves on more than 3 juries in 90 days.

Every number has a named default below with its reason; the whole constitution is written
to and read from a plain dictionary so that it can be published in the transparency log.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from fractions import Fraction
from typing import Any

from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.tally import (
    CONSTITUTIONAL_MAJORITY,
    SIMPLE_MAJORITY,
    TWO_THIRDS,
    TallyError,
    Threshold,
    exact_share,
)
from isegoria.errors import Explained

__all__ = [
    "Constitution",
    "ConstitutionError",
    "MajorityKind",
    "ProposalKind",
    "required_threshold",
]

# -- documented defaults ---------------------------------------------------------------------
#: A tenth of the citizens must vote. Turnout quorums set high (Italy's abrogative referendum
#: needs 50%) invite boycotts instead of "no" votes; a low quorum only guards against a
#: handful of citizens making law for everyone.
DEFAULT_VOTING_QUORUM = Fraction(1, 10)
DEFAULT_DELIBERATION_PERIOD = timedelta(days=14)
DEFAULT_VOTING_PERIOD = timedelta(days=7)
#: Twelve jurors, as in the common-law criminal jury; the sortition benchmark draws 12.
DEFAULT_JURY_SIZE = 12
#: Three quarters of the jury must return a ballot for the verdict to stand.
DEFAULT_JURY_QUORUM = 9
DEFAULT_VERDICT_SUPERMAJORITY = TWO_THIRDS
DEFAULT_JUROR_REPLY_DEADLINE = timedelta(hours=48)
DEFAULT_BALLOT_DEADLINE = timedelta(days=7)
#: NetzDG §3(2) no. 2 gives 24 hours for manifestly unlawful content; we use the same clock
#: for interim measures (reduce reach while the jury deliberates).
DEFAULT_INTERIM_MEASURE_DEADLINE = timedelta(hours=24)
#: DSA Art. 20(1): complaints must be possible for at least six months after the decision;
#: six calendar months are at most 184 days long, so 184 days always satisfies it.
DEFAULT_APPEAL_WINDOW = timedelta(days=184)
#: A ban needs at least this many earlier violations upheld against the same author.
DEFAULT_BAN_MIN_PRIOR_VIOLATIONS = 2
#: No harsher outcome on one's own appeal (reformatio in peius is forbidden): most legal
#: systems protect an appellant this way, so that nobody has to fear appealing. On unless the
#: citizens vote it off; a reporter's appeal is never limited by it.
DEFAULT_NO_HARSHER_ON_OWN_APPEAL = True
DEFAULT_JURY_STRATA: tuple[str, ...] = ("region", "age_band", "political_leaning")
#: Share of cases judged twice by independent juries to measure consistency. Off unless a
#: jurisdiction adopts it (a retried case needs twice the jurors); 1/50 is a typical choice,
#: which the demo raises so that it shows pairs (services.cases_retrial, docs/reports.md).
DEFAULT_CONSISTENCY_RETRIAL_SHARE = Fraction(0)
DEFAULT_JUROR_MAX_CASES = 3
DEFAULT_JUROR_LOAD_WINDOW = timedelta(days=90)

#: Smallest jury the constitution accepts: below this a single juror weighs too much.
MIN_JURY_SIZE = 3
#: Largest jury: the appeal jury (2n+1) of the largest first jury must stay drawable.
MAX_JURY_SIZE = 101


class ConstitutionError(Explained, ValueError):
    """A constitution or a threshold question is malformed; the message says which field."""


class ProposalKind(Enum):
    """What a proposal does."""

    ENACT = "enact"
    AMEND = "amend"
    REPEAL = "repeal"
    CONSTITUTION = "constitution"


class MajorityKind(Enum):
    """Which of the three thresholds of a constitution a proposal needs."""

    SIMPLE = "simple"
    SUPER = "super"
    CONSTITUTIONAL = "constitutional"


_DURATIONS = (
    "deliberation_period",
    "voting_period",
    "juror_reply_deadline",
    "ballot_deadline",
    "interim_measure_deadline",
    "appeal_window",
    "juror_load_window",
)
_THRESHOLDS = ("simple_majority", "supermajority", "constitutional_majority", "verdict_threshold")
_SHARES = ("voting_quorum", "consistency_retrial_share")


@dataclass(frozen=True, slots=True)
class Constitution:
    """The parameters of one jurisdiction; validated on construction, immutable after."""

    jurisdiction: str
    voting_quorum: Fraction = DEFAULT_VOTING_QUORUM
    simple_majority: Threshold = SIMPLE_MAJORITY
    supermajority: Threshold = TWO_THIRDS
    constitutional_majority: Threshold = CONSTITUTIONAL_MAJORITY
    deliberation_period: timedelta = DEFAULT_DELIBERATION_PERIOD
    voting_period: timedelta = DEFAULT_VOTING_PERIOD
    jury_size: int = DEFAULT_JURY_SIZE
    jury_quorum: int = DEFAULT_JURY_QUORUM
    verdict_threshold: Threshold = DEFAULT_VERDICT_SUPERMAJORITY
    juror_reply_deadline: timedelta = DEFAULT_JUROR_REPLY_DEADLINE
    ballot_deadline: timedelta = DEFAULT_BALLOT_DEADLINE
    interim_measure_deadline: timedelta = DEFAULT_INTERIM_MEASURE_DEADLINE
    appeal_window: timedelta = DEFAULT_APPEAL_WINDOW
    #: None means 2n+1 for a first jury of n.
    appeal_jury_size: int | None = None
    ban_min_prior_violations: int = DEFAULT_BAN_MIN_PRIOR_VIOLATIONS
    no_harsher_on_own_appeal: bool = DEFAULT_NO_HARSHER_ON_OWN_APPEAL
    jury_strata: tuple[str, ...] = field(default=DEFAULT_JURY_STRATA)
    consistency_retrial_share: Fraction = DEFAULT_CONSISTENCY_RETRIAL_SHARE
    juror_max_cases: int = DEFAULT_JUROR_MAX_CASES
    juror_load_window: timedelta = DEFAULT_JUROR_LOAD_WINDOW

    def __post_init__(self) -> None:
        if not self.jurisdiction or self.jurisdiction.strip() != self.jurisdiction:
            raise ConstitutionError(
                "jurisdiction must be a non-empty code such as 'MX', got %(jurisdiction)s",
                jurisdiction=repr(self.jurisdiction),
            )
        for name in _SHARES:
            try:
                object.__setattr__(self, name, exact_share(getattr(self, name), name))
            except TallyError as exc:  # exact_share's refusals: its message, for any reader
                raise ConstitutionError(exc.template, **exc.params) from None
        for name in _THRESHOLDS:
            if not isinstance(getattr(self, name), Threshold):
                raise ConstitutionError(
                    "%(name)s must be a Threshold, got %(value)s",
                    name=name,
                    value=repr(getattr(self, name)),
                )
        for name in _DURATIONS:
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise ConstitutionError(
                    "%(name)s must be a positive duration, got %(value)s",
                    name=name,
                    value=repr(value),
                )
        object.__setattr__(self, "jury_strata", tuple(self.jury_strata))
        if not isinstance(self.no_harsher_on_own_appeal, bool):
            raise ConstitutionError(
                "no_harsher_on_own_appeal must be true or false, got %(no_harsher_on_own_appeal)s",
                no_harsher_on_own_appeal=repr(self.no_harsher_on_own_appeal),
            )
        self._check_order_of_majorities()
        self._check_juries()

    def _check_order_of_majorities(self) -> None:
        ladder = [("simple_majority", self.simple_majority), ("supermajority", self.supermajority)]
        ladder.append(("constitutional_majority", self.constitutional_majority))
        for (low_name, low), (high_name, high) in zip(ladder, ladder[1:], strict=False):
            # A stricter rule must never be easier to pass than a laxer one.
            if (high.share, not high.inclusive) < (low.share, not low.inclusive):
                raise ConstitutionError(
                    "%(high_name)s (%(describe)s) must be at least as demanding as "
                    "%(low_name)s (%(describe2)s)",
                    high_name=high_name,
                    describe=high.describe(),
                    low_name=low_name,
                    describe2=low.describe(),
                )

    def _check_juries(self) -> None:
        n = self.jury_size
        if not MIN_JURY_SIZE <= n <= MAX_JURY_SIZE:
            raise ConstitutionError(
                "jury_size must be between %(min_jury_size)s and %(max)s, got %(n)s",
                min_jury_size=MIN_JURY_SIZE,
                max=MAX_JURY_SIZE,
                n=n,
            )
        if not n // 2 < self.jury_quorum <= n:
            raise ConstitutionError(
                "jury_quorum must be more than half the jury and at most the "
                "jury (%(value)s..%(n)s for a jury of %(n)s), got %(jury_quorum)s",
                value=n // 2 + 1,
                n=n,
                jury_quorum=self.jury_quorum,
            )
        if self.appeal_jury_size is not None and not n < self.appeal_jury_size <= 2 * MAX_JURY_SIZE:
            raise ConstitutionError(
                "appeal_jury_size must be larger than the first jury (%(n)s), "
                "got %(appeal_jury_size)s",
                n=n,
                appeal_jury_size=self.appeal_jury_size,
            )
        if self.ban_min_prior_violations < 0:
            raise ConstitutionError(
                "ban_min_prior_violations cannot be negative, got %(ban_min_prior_violations)s",
                ban_min_prior_violations=self.ban_min_prior_violations,
            )
        if self.juror_max_cases < 1:
            raise ConstitutionError(
                "juror_max_cases must be at least 1, got %(juror_max_cases)s",
                juror_max_cases=self.juror_max_cases,
            )
        if len(set(self.jury_strata)) != len(self.jury_strata) or not all(self.jury_strata):
            raise ConstitutionError(
                "jury_strata must be distinct non-empty names, got %(value)s",
                value=list(self.jury_strata),
            )

    @property
    def effective_appeal_jury_size(self) -> int:
        """The appeal jury: as set, or 2n+1 for a first jury of n."""
        return self.appeal_jury_size or 2 * self.jury_size + 1

    @property
    def appeal_jury_quorum(self) -> int:
        """Ballots needed on appeal: the first jury's quorum ratio, rounded up."""
        return math.ceil(
            Fraction(self.jury_quorum, self.jury_size) * self.effective_appeal_jury_size
        )

    def threshold(self, majority: MajorityKind) -> Threshold:
        """The threshold of this constitution for a kind of majority."""
        if majority is MajorityKind.SIMPLE:
            return self.simple_majority
        if majority is MajorityKind.SUPER:
            return self.supermajority
        return self.constitutional_majority

    def threshold_for(
        self, kind: ProposalKind, old: RuleVersion | None, new: RuleVersion | None
    ) -> Threshold:
        """The threshold a proposal needs under this constitution (see ``required_threshold``)."""
        return self.threshold(required_threshold(kind, old, new))

    def amended(self, **changes: Any) -> Constitution:
        """A copy with some parameters changed, validated like a new constitution."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form: fractions as ``"n/d"``, durations as whole seconds."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _DURATIONS:
                out[f.name + "_seconds"] = int(value.total_seconds())
            elif f.name in _THRESHOLDS:
                out[f.name] = value.to_dict()
            elif f.name in _SHARES:
                out[f.name] = str(value)
            elif f.name == "jury_strata":
                out[f.name] = list(value)
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Constitution:
        """Inverse of :meth:`to_dict`; missing keys take the defaults, unknown keys are refused."""
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            name = key.removesuffix("_seconds") if key.endswith("_seconds") else key
            if name not in known or (name in _DURATIONS) != key.endswith("_seconds"):
                raise ConstitutionError(
                    "unknown constitution field %(key)s; known fields: %(value)s",
                    key=repr(key),
                    value=sorted(known),
                )
            if name in _DURATIONS:
                kwargs[name] = timedelta(seconds=int(value))
            elif name in _THRESHOLDS:
                kwargs[name] = Threshold.from_dict(value)
            elif name in _SHARES:
                kwargs[name] = exact_share(value, name)
            elif name == "jury_strata":
                kwargs[name] = tuple(value)
            else:
                kwargs[name] = value
        if "jurisdiction" not in kwargs:
            raise ConstitutionError("a constitution must name its jurisdiction")
        return cls(**kwargs)


def _scope_not_wider(old: RuleVersion, new: RuleVersion) -> bool:
    """True when ``new`` covers no more speech than ``old``, checked mechanically.

    Wording cannot be compared by a program, so any change to the text, the harm category
    or the ground counts as possibly wider; adding "not covered" examples or dropping
    "covered" ones only narrows.
    """
    return (
        new.text == old.text
        and new.harm_category is old.harm_category
        and new.ground is old.ground
        and set(new.covered_examples) <= set(old.covered_examples)
        and set(new.not_covered_examples) >= set(old.not_covered_examples)
    )


def required_threshold(
    kind: ProposalKind, old_version: RuleVersion | None, new_version: RuleVersion | None
) -> MajorityKind:
    """Which majority a proposal needs.

    * constitution change: the constitutional majority;
    * enacting a rule: the supermajority (a new rule always restricts speech);
    * amending: the supermajority if the new version raises the ceiling (cap or longest
      suspension) or may cover more speech (changed wording); otherwise a simple majority;
    * repealing: a simple majority.

    Doubt favours speech: when a program cannot prove an amendment is not more restrictive,
    it is treated as more restrictive.
    """
    if kind is ProposalKind.CONSTITUTION:
        if old_version is not None or new_version is not None:
            raise ConstitutionError("a constitution change does not carry rule versions")
        return MajorityKind.CONSTITUTIONAL
    if kind is ProposalKind.ENACT:
        if old_version is not None or new_version is None:
            raise ConstitutionError(
                "enacting needs the new rule version and no old one; to change an existing "
                "rule, propose an amendment"
            )
        return MajorityKind.SUPER
    if kind is ProposalKind.REPEAL:
        if old_version is None or new_version is not None:
            raise ConstitutionError("repealing needs the version in force and no new version")
        return MajorityKind.SIMPLE
    if old_version is None or new_version is None:
        raise ConstitutionError("amending needs both the version in force and the new version")
    if old_version.rule_id != new_version.rule_id:
        raise ConstitutionError(
            "an amendment changes one rule: old version is %(rule_id)s, new "
            "version is %(rule_id2)s",
            rule_id=old_version.rule_id,
            rule_id2=new_version.rule_id,
        )
    raises_ceiling = (
        new_version.sanction_cap > old_version.sanction_cap
        or new_version.max_suspension_days > old_version.max_suspension_days
    )
    if raises_ceiling or not _scope_not_wider(old_version, new_version):
        return MajorityKind.SUPER
    return MajorityKind.SIMPLE
