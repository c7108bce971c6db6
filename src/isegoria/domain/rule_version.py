"""One rule version and the errors a rulebook raises: what a rule says, where and since when."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from isegoria.domain.sanctions import (
    MAX_SUSPENSION_DAYS,
    GroundKind,
    HarmCategory,
    Sanction,
    SanctionStep,
)
from isegoria.errors import Explained

#: The root jurisdiction: its rules apply to everyone.
INTERNATIONAL = "intl"


#: Codes of rules and jurisdictions: letters, digits and ``_.:-``, as in URLs and log entries.
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


class RulebookError(Explained, ValueError):
    """Base class of rulebook errors; every message says what to do about it."""


class NaiveDatetimeError(RulebookError):
    """A date-time without a timezone was given where a precise moment is needed."""


class RuleConflictError(RulebookError):
    """Versions of a rule overlap, go back in time, or a history operation is impossible."""


class UnknownRuleError(RulebookError):
    """No such rule or rule version."""


class UnknownJurisdictionError(RulebookError):
    """The jurisdiction is not part of this rulebook."""


class RuleNotApplicableError(RulebookError):
    """The rule belongs to a jurisdiction whose law does not reach the content."""


class RuleNotInForceError(RulebookError):
    """The cited rule version was not in force when the content was posted."""


def require_aware(moment: datetime, what: str) -> datetime:
    """Return ``moment`` if it carries a timezone, else raise :class:`NaiveDatetimeError`."""
    if not isinstance(moment, datetime):
        raise NaiveDatetimeError(
            "%(what)s must be a date-time, got %(moment)s", what=what, moment=repr(moment)
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(
            "%(what)s %(isoformat)s has no timezone; give an aware date-time "
            "such as %(isoformat2)s",
            what=what,
            isoformat=moment.isoformat(),
            isoformat2=moment.replace(tzinfo=UTC).isoformat(),
        )
    return moment


def _when(moment: datetime) -> str:
    """A moment for people: the UTC date when it is midnight UTC, else the full UTC time."""
    utc = moment.astimezone(UTC)
    if utc.time() == datetime.min.time():
        return utc.date().isoformat()
    return utc.isoformat(timespec="seconds")


def _natural(code: str) -> list[tuple[int, int | str]]:
    """Sort key that puts MX-2 before MX-10."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", code)]


@dataclass(frozen=True, slots=True)
class RuleVersion:
    """One immutable text of a rule, with its effective interval ``[from, until)`` and cap."""

    jurisdiction: str
    rule_id: str
    version: int
    title: str
    text: str
    harm_category: HarmCategory
    ground: GroundKind
    sanction_cap: SanctionStep
    #: Longest suspension in days; 0 unless the cap is ``suspend`` or ``ban``.
    max_suspension_days: int
    effective_from: datetime
    effective_until: datetime | None = None
    covered_examples: tuple[str, ...] = ()
    not_covered_examples: tuple[str, ...] = ()
    #: The proposal that enacted this version.
    enacted_by: str | None = None

    def __post_init__(self) -> None:
        for what, code in (("jurisdiction", self.jurisdiction), ("rule id", self.rule_id)):
            if not isinstance(code, str) or not _CODE.fullmatch(code):
                raise RulebookError(
                    "%(what)s %(code)s is not a valid code; use letters, digits and '-', e.g. MX-3",
                    what=what,
                    code=repr(code),
                )
        label = f"{self.rule_id} version {self.version}"
        if self.version < 1:
            raise RulebookError("%(label)s: version numbers start at 1", label=label)
        if not self.title.strip() or not self.text.strip():
            raise RulebookError("%(label)s: a rule needs a title and a text", label=label)
        require_aware(self.effective_from, f"{label}: effective_from")
        if self.effective_until is not None:
            require_aware(self.effective_until, f"{label}: effective_until")
            if self.effective_until <= self.effective_from:
                raise RuleConflictError(
                    "%(label)s ends (%(value)s) at or before it starts (%(value2)s)",
                    label=label,
                    value=_when(self.effective_until),
                    value2=_when(self.effective_from),
                )
        suspends = self.sanction_cap >= SanctionStep.SUSPEND
        days = self.max_suspension_days
        if suspends and not 1 <= days <= MAX_SUSPENSION_DAYS:
            raise RulebookError(
                "%(label)s allows suspensions, so its longest suspension must be "
                "between 1 and %(max)s days, got %(days)s",
                label=label,
                max=MAX_SUSPENSION_DAYS,
                days=days,
            )
        if not suspends and days != 0:
            raise RulebookError(
                "%(label)s caps sanctions at %(value)s, which allows no "
                "suspension; set max_suspension_days to 0, got %(days)s",
                label=label,
                value=repr(self.sanction_cap.value),
                days=days,
            )
        object.__setattr__(self, "covered_examples", tuple(self.covered_examples))
        object.__setattr__(self, "not_covered_examples", tuple(self.not_covered_examples))

    @property
    def label(self) -> str:
        """``"MX-3 v2"``, for messages and statements of reasons."""
        return f"{self.rule_id} v{self.version}"

    @property
    def ceiling(self) -> Sanction:
        """The harshest sanction this version allows."""
        if self.sanction_cap is SanctionStep.SUSPEND:
            return Sanction.suspend(self.max_suspension_days)
        return Sanction.of(self.sanction_cap)

    def allows(self, sanction: Sanction) -> bool:
        """True when ``sanction`` is within the cap and the longest suspension."""
        return self.clamp(sanction) == sanction

    def clamp(self, sanction: Sanction) -> Sanction:
        """The sanction brought down to the cap (and the longest suspension) if above it."""
        if sanction.step > self.sanction_cap:
            return self.ceiling
        days = sanction.suspension_days
        if days is not None and days > self.max_suspension_days:
            return Sanction.suspend(self.max_suspension_days)
        return sanction

    def in_force_at(self, at: datetime) -> bool:
        """True when ``effective_from <= at < effective_until`` (half-open interval)."""
        require_aware(at, "the moment")
        return self.effective_from <= at and (
            self.effective_until is None or at < self.effective_until
        )

    def closed_at(self, until: datetime) -> RuleVersion:
        """This version with its interval ended at ``until`` (for amendments and repeals)."""
        return dataclasses.replace(self, effective_until=until)

    def describe_interval(self) -> str:
        """``"from 2025-01-01 to 2025-06-10"`` or ``"from 2025-01-01"``."""
        start = f"from {_when(self.effective_from)}"
        return (
            start if self.effective_until is None else f"{start} to {_when(self.effective_until)}"
        )
