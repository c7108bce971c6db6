"""No harsher outcome on one's own appeal: the limit, who lifts it, and what the verdict says."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isegoria.domain.appeals import AppealLimit, Appellant, appeal_limit_of, limit_appeal
from isegoria.domain.constitution import Constitution, ConstitutionError
from isegoria.domain.sanctions import Sanction, SanctionStep
from isegoria.domain.verdict import Ballot, Outcome, VerdictError, VerdictRule, decide
from tests.unit.test_verdict import RULE, make_rule

MX = Constitution("MX")
REMOVE = Sanction.of(SanctionStep.REMOVE)
NOTE = Sanction.of(SanctionStep.NOTE)
NONE = Sanction.of(SanctionStep.NONE)
AUTHOR = {Appellant.AUTHOR}
REPORTER = {Appellant.REPORTER}


def appeal_jury(sanction: Sanction | None, yes: int = 25) -> list[Ballot]:
    """A full appeal jury (25 for a first jury of 12): ``yes`` violation ballots."""
    ballots = [Ballot(True, sanction, "a threat") for _ in range(yes)] if sanction else []
    return ballots + [Ballot(False, None, "not a threat") for _ in range(25 - len(ballots))]


def test_the_limit_is_on_by_default_and_old_constitutions_load_with_it() -> None:
    assert MX.no_harsher_on_own_appeal is True
    old = {k: v for k, v in MX.to_dict().items() if k != "no_harsher_on_own_appeal"}
    assert Constitution.from_dict(old).no_harsher_on_own_appeal is True
    off = Constitution.from_dict({**MX.to_dict(), "no_harsher_on_own_appeal": False})
    assert off.no_harsher_on_own_appeal is False
    assert Constitution.from_dict(off.to_dict()) == off


@pytest.mark.parametrize("value", ["no", 0, 1, None, "false"])
def test_the_limit_is_true_or_false_and_nothing_else(value: object) -> None:
    with pytest.raises(ConstitutionError, match="no_harsher_on_own_appeal must be true or false"):
        Constitution.from_dict({**MX.to_dict(), "no_harsher_on_own_appeal": value})


def test_author_appeals_a_removal_and_the_jury_votes_a_suspension_removal_stands() -> None:
    jury = decide(appeal_jury(Sanction.suspend(7)), MX, RULE, 0, appeal=True)
    assert jury.sanction == Sanction.suspend(7)
    limited = limit_appeal(
        jury,
        first_outcome=Outcome.VIOLATION,
        first_sanction=REMOVE,
        appellants=AUTHOR,
        constitution=MX,
    )
    assert (limited.outcome, limited.sanction) == (Outcome.VIOLATION, REMOVE)
    assert limited.median_sanction == Sanction.suspend(7)  # what the jury said stays on record
    assert appeal_limit_of(limited) is AppealLimit.CAPPED
    last = limited.applied[-1]
    assert last.rule is VerdictRule.APPEAL_CAPPED
    assert "'remove'" in last.detail and "'suspend for 7 days'" in last.detail
    assert "no harsher outcome on one's own appeal" in last.detail
    assert limited.to_dict()["applied"][-1]["rule"] == "appeal_capped"


@pytest.mark.parametrize(
    ("jury_sanction", "expected"),
    [(REMOVE, REMOVE), (NOTE, NOTE), (None, NONE)],
    ids=["upheld", "lightened", "overturned"],
)
def test_author_appeal_may_uphold_lighten_or_overturn(
    jury_sanction: Sanction | None, expected: Sanction
) -> None:
    jury = decide(appeal_jury(jury_sanction), MX, RULE, 0, appeal=True)
    limited = limit_appeal(
        jury,
        first_outcome=Outcome.VIOLATION,
        first_sanction=REMOVE,
        appellants=AUTHOR,
        constitution=MX,
    )
    assert limited.sanction == expected
    assert limited.outcome == jury.outcome
    assert appeal_limit_of(limited) is AppealLimit.NO_HARSHER
    assert "within that limit" in limited.applied[-1].detail


def test_a_longer_suspension_is_harsher_and_is_brought_back() -> None:
    jury = decide(appeal_jury(Sanction.suspend(30)), MX, make_rule(days=30), 0, appeal=True)
    limited = limit_appeal(
        jury,
        first_outcome=Outcome.VIOLATION,
        first_sanction=Sanction.suspend(7),
        appellants=AUTHOR,
        constitution=MX,
    )
    assert limited.sanction == Sanction.suspend(7)


def test_a_reporters_appeal_can_harden() -> None:
    jury = decide(appeal_jury(Sanction.suspend(7)), MX, RULE, 0, appeal=True)
    for first_outcome, first in ((Outcome.NO_VIOLATION, NONE), (Outcome.VIOLATION, REMOVE)):
        limited = limit_appeal(
            jury,
            first_outcome=first_outcome,
            first_sanction=first,
            appellants=REPORTER,
            constitution=MX,
        )
        assert (limited.outcome, limited.sanction) == (Outcome.VIOLATION, Sanction.suspend(7))
        assert appeal_limit_of(limited) is AppealLimit.REPORTER_APPEALED


def test_when_both_appeal_the_reporters_appeal_lifts_the_limit() -> None:
    jury = decide(appeal_jury(Sanction.suspend(7)), MX, RULE, 0, appeal=True)
    limited = limit_appeal(
        jury,
        first_outcome=Outcome.VIOLATION,
        first_sanction=REMOVE,
        appellants={Appellant.AUTHOR, Appellant.REPORTER},
        constitution=MX,
    )
    assert limited.sanction == Sanction.suspend(7)
    assert appeal_limit_of(limited) is AppealLimit.REPORTER_APPEALED


def test_a_constitution_without_the_limit_lets_the_authors_appeal_harden() -> None:
    off = MX.amended(no_harsher_on_own_appeal=False)
    jury = decide(appeal_jury(Sanction.suspend(7)), off, RULE, 0, appeal=True)
    limited = limit_appeal(
        jury,
        first_outcome=Outcome.VIOLATION,
        first_sanction=REMOVE,
        appellants=AUTHOR,
        constitution=off,
    )
    assert limited.sanction == Sanction.suspend(7)
    assert appeal_limit_of(limited) is AppealLimit.LIMIT_OFF
    assert "no_harsher_on_own_appeal is off" in limited.applied[-1].detail


def test_an_appeal_has_an_appellant_and_first_instance_names_no_limit() -> None:
    jury = decide(appeal_jury(REMOVE), MX, RULE, 0, appeal=True)
    assert appeal_limit_of(jury) is None
    with pytest.raises(VerdictError, match="at least one appellant"):
        limit_appeal(
            jury,
            first_outcome=Outcome.VIOLATION,
            first_sanction=REMOVE,
            appellants=set(),
            constitution=MX,
        )


SANCTIONS = st.one_of(
    st.sampled_from([s for s in SanctionStep if s is not SanctionStep.SUSPEND]).map(Sanction.of),
    st.integers(1, 30).map(Sanction.suspend),
)


@given(first=SANCTIONS, proposed=st.lists(SANCTIONS, min_size=0, max_size=25))
def test_an_authors_own_appeal_is_never_harsher(first: Sanction, proposed: list[Sanction]) -> None:
    ballots = [
        Ballot(True, s, "why") if s.step is not SanctionStep.NONE else Ballot(False, None, "why")
        for s in proposed
    ]
    jury = decide(ballots, MX, RULE, 5, appeal=True)
    outcome = Outcome.NO_VIOLATION if first.step is SanctionStep.NONE else Outcome.VIOLATION
    limited = limit_appeal(
        jury, first_outcome=outcome, first_sanction=first, appellants=AUTHOR, constitution=MX
    )
    assert limited.sanction <= first
    assert limited.sanction == min(jury.sanction, first, key=lambda s: s.severity)
