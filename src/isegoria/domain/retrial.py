"""Consistency retrials: how a case tried by two independent juries is settled.

When the two juries agree, their common verdict stands. When they disagree, the case is in
doubt, and doubt favours speech: the milder verdict stands. Milder means, in order, taking
no action over any action, then the lower rung of the sanction ladder, then the shorter
suspension. Between two verdicts that take no action, a finding of no violation is
preferred to a lapse (it says more). A remaining tie keeps the first jury's verdict.
"""

from __future__ import annotations

from isegoria.domain.verdict import Outcome, Verdict


def severity(verdict: Verdict) -> tuple[int, int, int, int]:
    """A key that orders verdicts from the mildest to the harshest."""
    sanction = verdict.sanction
    return (
        int(verdict.takes_action),
        sanction.step.rank,
        sanction.suspension_days or 0,
        int(verdict.outcome is Outcome.LAPSED),
    )


def milder(first: Verdict, second: Verdict) -> Verdict:
    """The verdict that stands when two independent juries tried the same case."""
    return second if severity(second) < severity(first) else first
