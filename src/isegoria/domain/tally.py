"""Counting the votes on a proposal: quorum, thresholds and the result, in exact arithmetic.

What a citizen should know
--------------------------
Each citizen of a jurisdiction may vote **yes**, **no** or **abstain** on a proposal.

1. *Quorum.* A vote counts only if enough citizens took part. Turnout is everyone who
   voted (yes, no *and* abstain) divided by the number of citizens entitled to vote. The
   quorum is met when turnout is **at least** the quorum share: with 1,000 citizens and a
   quorum of 1/10, 100 votes are enough, 99 are not.
2. *Threshold.* Abstentions help reach the quorum but do not count for or against: the
   share that decides is ``yes / (yes + no)``. There are two kinds of threshold, and the
   difference matters exactly at the boundary:

   * a **simple majority** needs *strictly more than* half: 51 yes to 49 no passes,
     50 to 50 fails;
   * a **supermajority** such as two thirds needs *at least* that share: 20 yes to 10 no
     (exactly 2/3) passes, 19 to 10 fails.

   A tie therefore always fails, whatever the threshold (a threshold of "at least one half"
   is refused for this reason), and a vote in which nobody said yes or no fails too.
3. A proposal is *adopted* when the quorum is met and the threshold is reached.

All shares are exact fractions, never floating-point numbers, so that a count sitting
exactly on a boundary is judged the same way on every machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from numbers import Rational
from typing import Any

from isegoria.errors import Explained

__all__ = [
    "CONSTITUTIONAL_MAJORITY",
    "SIMPLE_MAJORITY",
    "TWO_THIRDS",
    "TallyError",
    "TallyResult",
    "Threshold",
    "Vote",
    "exact_share",
    "tally",
    "tally_counts",
]


class TallyError(Explained, ValueError):
    """The inputs of a count are inconsistent (for example more ballots than citizens)."""


class Vote(Enum):
    """A citizen's vote on a proposal."""

    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


def exact_share(value: Fraction | int | Decimal | str, what: str) -> Fraction:
    """Turn ``value`` into an exact fraction in [0, 1]; floats are refused (not exact)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TallyError(
            "%(what)s must be exact: write Fraction(2, 3) or the string "
            "'2/3', not the floating-point number %(value)s",
            what=what,
            value=repr(value),
        )
    if isinstance(value, Rational | Decimal | str):
        try:
            share = Fraction(value)
        except (ValueError, ZeroDivisionError) as exc:
            raise TallyError(
                "%(what)s %(value)s is not a fraction such as '2/3'", what=what, value=repr(value)
            ) from exc
    else:
        raise TallyError(
            "%(what)s must be a fraction such as '2/3', got %(value)s", what=what, value=repr(value)
        )
    if not 0 <= share <= 1:
        raise TallyError("%(what)s must be between 0 and 1, got %(share)s", what=what, share=share)
    return share


@dataclass(frozen=True, slots=True)
class Threshold:
    """The share of yes among yes+no needed to win: strictly more than, or at least, ``share``.

    ``Threshold(Fraction(1, 2), inclusive=False)`` is a simple majority (more than half);
    ``Threshold(Fraction(2, 3), inclusive=True)`` is a two-thirds supermajority (at least 2/3).
    """

    share: Fraction
    inclusive: bool

    def __post_init__(self) -> None:
        share = exact_share(self.share, "a threshold")
        object.__setattr__(self, "share", share)
        # A tie must always fail (doubt favours the status quo and speech): an inclusive
        # threshold at or below one half would let 50-50 pass, so it is refused.
        if self.inclusive and share <= Fraction(1, 2):
            raise TallyError(
                "an 'at least' threshold must be above one half so that a tie "
                "fails, got %(share)s; use Threshold(Fraction(1, 2), "
                "inclusive=False) for a simple majority",
                share=share,
            )
        if not self.inclusive and share < Fraction(1, 2):
            raise TallyError(
                "a 'more than' threshold must be at least one half, got %(share)s", share=share
            )
        if not self.inclusive and share == 1:
            raise TallyError("'more than all' can never be reached; use inclusive=True")

    def is_met(self, yes: int, no: int) -> bool:
        """True when ``yes / (yes + no)`` reaches the threshold; False when nobody decided."""
        decided = yes + no
        if decided == 0:
            return False
        # Cross-multiplied integer comparison: exact, and no Fraction built per call.
        lhs = yes * self.share.denominator
        rhs = decided * self.share.numerator
        return lhs >= rhs if self.inclusive else lhs > rhs

    def describe(self) -> str:
        """Words for a statement of reasons: ``"at least 2/3 of yes and no votes"``."""
        word = "at least" if self.inclusive else "more than"
        return f"{word} {self.share} of yes and no votes"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (``{"share": "2/3", "inclusive": true}``)."""
        return {"share": str(self.share), "inclusive": self.inclusive}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Threshold:
        """Inverse of :meth:`to_dict`."""
        return cls(exact_share(data["share"], "a threshold"), bool(data["inclusive"]))


#: More than half of yes+no: ordinary rules, repeals and lowering a sanction cap.
SIMPLE_MAJORITY = Threshold(Fraction(1, 2), inclusive=False)
#: At least two thirds of yes+no: rules that restrict speech more (new rule, higher cap).
TWO_THIRDS = Threshold(Fraction(2, 3), inclusive=True)
#: At least three quarters of yes+no: changes to the constitution itself.
CONSTITUTIONAL_MAJORITY = Threshold(Fraction(3, 4), inclusive=True)


@dataclass(frozen=True, slots=True)
class TallyResult:
    """The counted result of one vote, with every figure needed to publish and check it."""

    yes: int
    no: int
    abstain: int
    electorate_size: int
    quorum: Fraction
    threshold: Threshold

    @property
    def cast(self) -> int:
        """Everyone who took part, abstentions included."""
        return self.yes + self.no + self.abstain

    @property
    def turnout(self) -> Fraction:
        """Share of the electorate that took part."""
        return Fraction(self.cast, self.electorate_size)

    @property
    def quorum_met(self) -> bool:
        """Turnout is at least the quorum share."""
        return self.cast * self.quorum.denominator >= self.electorate_size * self.quorum.numerator

    @property
    def yes_share(self) -> Fraction | None:
        """``yes / (yes + no)``, or None when nobody voted yes or no."""
        decided = self.yes + self.no
        return Fraction(self.yes, decided) if decided else None

    @property
    def threshold_met(self) -> bool:
        """The yes share reaches the threshold."""
        return self.threshold.is_met(self.yes, self.no)

    @property
    def adopted(self) -> bool:
        """Quorum met and threshold reached."""
        return self.quorum_met and self.threshold_met

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for the transparency log (fractions as ``"n/d"`` strings)."""
        yes_share = self.yes_share
        return {
            "yes": self.yes,
            "no": self.no,
            "abstain": self.abstain,
            "electorate_size": self.electorate_size,
            "turnout": str(self.turnout),
            "quorum": str(self.quorum),
            "quorum_met": self.quorum_met,
            "yes_share": None if yes_share is None else str(yes_share),
            "threshold": self.threshold.to_dict(),
            "threshold_met": self.threshold_met,
            "adopted": self.adopted,
        }


def tally_counts(
    yes: int,
    no: int,
    abstain: int,
    electorate_size: int,
    quorum: Fraction | int | Decimal | str,
    threshold: Threshold,
) -> TallyResult:
    """Count a vote from its totals (as stored), checking that the totals are possible."""
    for name, count in (("yes", yes), ("no", no), ("abstain", abstain)):
        if count < 0:
            raise TallyError(
                "the number of %(name)s votes cannot be negative, got %(count)s",
                name=name,
                count=count,
            )
    if electorate_size <= 0:
        raise TallyError(
            "the electorate must have at least one citizen, got "
            "%(electorate_size)s; a jurisdiction without citizens cannot vote",
            electorate_size=electorate_size,
        )
    cast = yes + no + abstain
    if cast > electorate_size:
        raise TallyError(
            "%(cast)s votes were cast but only %(electorate_size)s citizens "
            "may vote; check that the electorate was counted when the vote "
            "opened",
            cast=cast,
            electorate_size=electorate_size,
        )
    return TallyResult(
        yes=yes,
        no=no,
        abstain=abstain,
        electorate_size=electorate_size,
        quorum=exact_share(quorum, "the quorum"),
        threshold=threshold,
    )


def tally(
    ballots: Iterable[Vote],
    electorate_size: int,
    quorum: Fraction | int | Decimal | str,
    threshold: Threshold,
) -> TallyResult:
    """Count the ballots of one vote and say whether the proposal is adopted."""
    counts = dict.fromkeys(Vote, 0)
    for ballot in ballots:
        if not isinstance(ballot, Vote):
            raise TallyError(
                "a ballot must be yes, no or abstain, got %(ballot)s", ballot=repr(ballot)
            )
        counts[ballot] += 1
    return tally_counts(
        counts[Vote.YES], counts[Vote.NO], counts[Vote.ABSTAIN], electorate_size, quorum, threshold
    )
