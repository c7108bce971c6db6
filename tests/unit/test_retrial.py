"""Consistency retrials: the milder verdict stands when two juries disagree; the pick is public."""

from __future__ import annotations

from fractions import Fraction

import pytest

from isegoria.algorithms.sortition import derive_seed
from isegoria.cases.retrial import retrial_draw_value, selected_for_retrial
from isegoria.domain.constitution import Constitution
from isegoria.domain.retrial import milder
from isegoria.domain.sanctions import Sanction, SanctionStep
from isegoria.domain.verdict import Ballot, Outcome, Verdict, decide
from tests.unit.test_verdict import RULE

JURY = Constitution("MX").amended(jury_size=5, jury_quorum=3)


def verdict(violations: int, sanction: Sanction | None = None, cast: int = 5) -> Verdict:
    """A five-juror verdict: ``violations`` ballots find one (proposing ``sanction``)."""
    ballots = [
        Ballot(True, sanction or Sanction.of(SanctionStep.REMOVE), "a threat")
        if n < violations
        else Ballot(False, None, "a joke")
        for n in range(cast)
    ]
    return decide(ballots, JURY, RULE, 0)


REMOVE = verdict(5)
NOTE = verdict(5, Sanction.of(SanctionStep.NOTE))
SUSPEND_3 = verdict(5, Sanction.suspend(3))
SUSPEND_9 = verdict(5, Sanction.suspend(9))
CLEARED = verdict(0)
LAPSED = verdict(5, cast=2)


def test_the_fixtures_are_what_their_names_say() -> None:
    assert (REMOVE.outcome, REMOVE.sanction.step) == (Outcome.VIOLATION, SanctionStep.REMOVE)
    assert CLEARED.outcome is Outcome.NO_VIOLATION and not CLEARED.takes_action
    assert LAPSED.outcome is Outcome.LAPSED and not LAPSED.takes_action
    assert SUSPEND_3.sanction.suspension_days == 3


@pytest.mark.parametrize(
    ("first", "second", "stands"),
    [
        (REMOVE, REMOVE, REMOVE),  # agreement: the common verdict
        (REMOVE, CLEARED, CLEARED),  # violation against none: no action
        (CLEARED, REMOVE, CLEARED),
        (REMOVE, NOTE, NOTE),  # both violations: the lower rung
        (NOTE, REMOVE, NOTE),
        (SUSPEND_9, SUSPEND_3, SUSPEND_3),  # both suspensions: the shorter
        (REMOVE, LAPSED, LAPSED),  # one jury without a majority: doubt, so no action
        (LAPSED, CLEARED, CLEARED),  # both no action: a finding beats a lapse
        (CLEARED, LAPSED, CLEARED),
    ],
)
def test_the_milder_verdict_stands(first: Verdict, second: Verdict, stands: Verdict) -> None:
    assert milder(first, second) is stands


def test_a_tie_keeps_the_first_jurys_verdict() -> None:
    other = verdict(4)  # a different tally, the same outcome and sanction as REMOVE
    assert milder(REMOVE, other) is REMOVE and milder(other, REMOVE) is other


def test_selection_is_a_public_function_of_the_first_jurys_seed() -> None:
    seed = derive_seed(b"\x01" * 32, "case:7", "first", "round:0")
    value = retrial_draw_value(seed)
    assert 0 <= value < 1
    assert value == retrial_draw_value(seed)
    assert selected_for_retrial(seed, Fraction(1)) is True
    assert selected_for_retrial(seed, Fraction(0)) is False
    assert selected_for_retrial(seed, Fraction(value) + Fraction(1, 10**9)) is True
    assert selected_for_retrial(seed, Fraction(value)) is False


def test_about_the_share_of_cases_is_picked() -> None:
    seeds = [derive_seed(b"\x02" * 32, f"case:{n}", "first", "round:0") for n in range(4000)]
    picked = sum(selected_for_retrial(s, Fraction(1, 10)) for s in seeds)
    # Binomial(4000, 0.1): mean 400, standard deviation 19; five deviations either side.
    assert 305 < picked < 495
