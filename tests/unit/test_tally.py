"""Counting votes exactly (quorum, thresholds) and the constitution that sets them."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from isegoria.domain.constitution import (
    Constitution,
    ConstitutionError,
    MajorityKind,
    ProposalKind,
    required_threshold,
)
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import GroundKind, HarmCategory, SanctionStep
from isegoria.domain.tally import (
    CONSTITUTIONAL_MAJORITY,
    SIMPLE_MAJORITY,
    TWO_THIRDS,
    TallyError,
    Threshold,
    Vote,
    tally,
    tally_counts,
)

TENTH = Fraction(1, 10)


def votes(yes: int, no: int, abstain: int = 0) -> list[Vote]:
    return [Vote.YES] * yes + [Vote.NO] * no + [Vote.ABSTAIN] * abstain


# -- quorum --------------------------------------------------------------------------------
@pytest.mark.parametrize(("cast", "met"), [(99, False), (100, True), (101, True)])
def test_quorum_exactly_at_just_below_and_just_above(cast: int, met: bool) -> None:
    result = tally(votes(cast, 0), 1000, TENTH, SIMPLE_MAJORITY)
    assert result.quorum_met is met
    assert result.adopted is met
    assert result.turnout == Fraction(cast, 1000)


@pytest.mark.parametrize(("cast", "met"), [(2, False), (3, True)])
def test_quorum_that_falls_between_two_whole_numbers(cast: int, met: bool) -> None:
    # 7 citizens, quorum 1/3: 7/3 = 2.33..., so 3 votes are needed.
    assert tally_counts(cast, 0, 0, 7, "1/3", SIMPLE_MAJORITY).quorum_met is met


def test_abstentions_count_for_quorum_but_not_for_the_majority() -> None:
    result = tally(votes(1, 0, 99), 1000, TENTH, SIMPLE_MAJORITY)
    assert result.quorum_met and result.yes_share == 1 and result.adopted
    without = tally(votes(1, 0, 98), 1000, TENTH, SIMPLE_MAJORITY)
    assert not without.quorum_met and not without.adopted
    assert tally(votes(0, 0, 500), 1000, TENTH, SIMPLE_MAJORITY).yes_share is None
    assert not tally(votes(0, 0, 500), 1000, TENTH, SIMPLE_MAJORITY).adopted


# -- thresholds ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("threshold", "yes", "no", "adopted"),
    [
        # simple majority: strictly more than half of yes+no; a tie fails
        (SIMPLE_MAJORITY, 50, 50, False),
        (SIMPLE_MAJORITY, 51, 50, True),
        (SIMPLE_MAJORITY, 49, 50, False),
        (SIMPLE_MAJORITY, 1, 0, True),
        # two thirds: at least 2/3 of yes+no
        (TWO_THIRDS, 20, 10, True),
        (TWO_THIRDS, 19, 10, False),
        (TWO_THIRDS, 21, 10, True),
        (TWO_THIRDS, 200, 101, False),
        # three quarters: at least 3/4
        (CONSTITUTIONAL_MAJORITY, 30, 10, True),
        (CONSTITUTIONAL_MAJORITY, 29, 10, False),
        (CONSTITUTIONAL_MAJORITY, 31, 10, True),
    ],
)
def test_thresholds_exactly_at_just_below_and_just_above(
    threshold: Threshold, yes: int, no: int, adopted: bool
) -> None:
    result = tally(votes(yes, no), 10_000, Fraction(0), threshold)
    assert result.threshold_met is adopted
    assert result.adopted is adopted
    assert result.yes_share == Fraction(yes, yes + no)


def test_float_shares_are_refused_with_advice() -> None:
    with pytest.raises(TallyError, match=r"must be exact: write Fraction\(2, 3\)"):
        tally([], 10, 0.1, SIMPLE_MAJORITY)  # type: ignore[arg-type]
    with pytest.raises(TallyError, match="must be exact"):
        Threshold(0.75, inclusive=True)  # type: ignore[arg-type]
    assert tally([], 10, Decimal("0.1"), SIMPLE_MAJORITY).quorum == TENTH
    assert tally([], 10, "1/10", SIMPLE_MAJORITY).quorum == TENTH


@pytest.mark.parametrize(
    ("share", "inclusive", "message"),
    [
        (Fraction(1, 2), True, "so that a tie fails"),
        (Fraction(2, 5), True, "so that a tie fails"),
        (Fraction(1, 3), False, "at least one half"),
        (Fraction(1), False, "can never be reached"),
        (Fraction(3, 2), True, "between 0 and 1"),
    ],
)
def test_impossible_or_tie_passing_thresholds_are_refused(
    share: Fraction, inclusive: bool, message: str
) -> None:
    with pytest.raises(TallyError, match=message):
        Threshold(share, inclusive)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((11, 0, 0, 10), "11 votes were cast but only 10 citizens"),
        ((0, 0, 0, 0), "at least one citizen"),
        ((-1, 0, 0, 10), "cannot be negative"),
    ],
)
def test_impossible_counts_are_refused(args: tuple[int, int, int, int], message: str) -> None:
    with pytest.raises(TallyError, match=message):
        tally_counts(*args, TENTH, SIMPLE_MAJORITY)


def test_a_ballot_must_be_a_vote() -> None:
    with pytest.raises(TallyError, match="yes, no or abstain"):
        tally(["yes"], 10, TENTH, SIMPLE_MAJORITY)  # type: ignore[list-item]


def test_result_is_published_with_exact_fractions() -> None:
    data = json.loads(json.dumps(tally(votes(20, 10, 5), 100, TENTH, TWO_THIRDS).to_dict()))
    assert data["turnout"] == "7/20" and data["yes_share"] == "2/3"
    assert data["adopted"] is True and data["threshold"] == {"share": "2/3", "inclusive": True}
    assert Threshold.from_dict(data["threshold"]) == TWO_THIRDS


# -- properties ----------------------------------------------------------------------------
thresholds = st.one_of(
    st.fractions(Fraction(1, 2), Fraction(99, 100)).map(lambda f: Threshold(f, inclusive=False)),
    st.fractions(Fraction(51, 100), Fraction(1)).map(lambda f: Threshold(f, inclusive=True)),
)
counts = st.integers(0, 400)


@settings(max_examples=300, deadline=None)
@given(thresholds, counts, counts)
def test_threshold_matches_the_exact_comparison(threshold: Threshold, yes: int, no: int) -> None:
    met = threshold.is_met(yes, no)
    if yes + no == 0:
        assert not met
    elif threshold.inclusive:
        assert met == (Fraction(yes, yes + no) >= threshold.share)
    else:
        assert met == (Fraction(yes, yes + no) > threshold.share)


@settings(max_examples=200, deadline=None)
@given(thresholds, st.integers(0, 500))
def test_a_tie_always_fails(threshold: Threshold, n: int) -> None:
    assert not threshold.is_met(n, n)


@settings(max_examples=200, deadline=None)
@given(
    thresholds, st.fractions(0, 1), counts, counts, counts, st.integers(1, 50), st.integers(0, 2)
)
def test_more_support_never_hurts(
    threshold: Threshold, quorum: Fraction, yes: int, no: int, abstain: int, extra: int, which: int
) -> None:
    electorate = yes + no + abstain + extra
    before = tally_counts(yes, no, abstain, electorate, quorum, threshold)
    if which == 0:  # an extra yes
        after = tally_counts(yes + 1, no, abstain, electorate, quorum, threshold)
        assert after.adopted >= before.adopted
    elif which == 1:  # an abstainer who had stayed home
        after = tally_counts(yes, no, abstain + 1, electorate, quorum, threshold)
        assert after.quorum_met >= before.quorum_met
        assert after.threshold_met == before.threshold_met
    else:  # a no instead of a yes
        assume(yes > 0)
        after = tally_counts(yes - 1, no + 1, abstain, electorate, quorum, threshold)
        assert after.adopted <= before.adopted


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(Vote), max_size=200), st.integers(0, 50))
def test_counts_match_the_ballots(ballots: list[Vote], spare: int) -> None:
    result = tally(ballots, len(ballots) + spare or 1, TENTH, SIMPLE_MAJORITY)
    counted = Counter(ballots)
    assert (result.yes, result.no, result.abstain) == (
        counted[Vote.YES],
        counted[Vote.NO],
        counted[Vote.ABSTAIN],
    )


# -- the constitution ----------------------------------------------------------------------
def rule(version: int = 1, **changes: object) -> RuleVersion:
    base = RuleVersion(
        jurisdiction="MX",
        rule_id="MX-3",
        version=version,
        title="Threats",
        text="Do not threaten people.",
        harm_category=HarmCategory.VIOLENCE,
        ground=GroundKind.LEGAL,
        sanction_cap=SanctionStep.SUSPEND,
        max_suspension_days=7,
        effective_from=datetime(2025, 1, 1, tzinfo=UTC),
        covered_examples=("I will hurt you",),
        not_covered_examples=("I will beat you at chess",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_default_constitution_is_valid_and_documented_values_hold() -> None:
    c = Constitution("MX")
    assert (c.jury_size, c.jury_quorum, c.effective_appeal_jury_size) == (12, 9, 25)
    assert c.appeal_jury_quorum == 19  # ceil(9/12 * 25) = ceil(18.75)
    assert c.verdict_threshold == TWO_THIRDS and c.voting_quorum == TENTH
    assert c.appeal_window >= timedelta(days=184)  # DSA Art. 20(1): at least six months
    assert c.threshold(MajorityKind.SIMPLE) == SIMPLE_MAJORITY
    assert c.threshold(MajorityKind.SUPER) == TWO_THIRDS
    assert c.threshold(MajorityKind.CONSTITUTIONAL) == CONSTITUTIONAL_MAJORITY


def test_constitution_survives_json_and_refuses_unknown_fields() -> None:
    c = Constitution("FR", jury_size=9, jury_quorum=7, voting_quorum=Fraction(1, 5))
    data = json.loads(json.dumps(c.to_dict()))
    assert data["voting_quorum"] == "1/5" and data["appeal_window_seconds"] == 184 * 86400
    assert Constitution.from_dict(data) == c
    with pytest.raises(ConstitutionError, match="unknown constitution field 'jury'"):
        Constitution.from_dict({**data, "jury": 3})
    with pytest.raises(ConstitutionError, match="unknown constitution field 'appeal_window'"):
        Constitution.from_dict({**data, "appeal_window": 3})
    with pytest.raises(ConstitutionError, match="must name its jurisdiction"):
        Constitution.from_dict({})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"jury_quorum": 6}, r"more than half the jury .*7\.\.12"),
        ({"jury_quorum": 13}, "more than half the jury"),
        ({"jury_size": 2, "jury_quorum": 2}, "between 3 and 101"),
        ({"appeal_jury_size": 12}, "larger than the first jury"),
        (
            {"supermajority": Threshold(Fraction(1, 2), False), "simple_majority": TWO_THIRDS},
            "at least as demanding",
        ),
        ({"constitutional_majority": Threshold(Fraction(3, 5), True)}, "at least as demanding"),
        ({"voting_quorum": 0.1}, "must be exact"),
        ({"voting_period": timedelta(0)}, "positive duration"),
        ({"ban_min_prior_violations": -1}, "cannot be negative"),
        ({"jury_strata": ("region", "region")}, "distinct"),
        ({"jurisdiction": ""}, "non-empty code"),
    ],
)
def test_constitution_refuses_bad_parameters(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConstitutionError, match=message):
        Constitution("MX").amended(**changes)


@pytest.mark.parametrize(
    ("kind", "old", "new", "majority"),
    [
        (ProposalKind.ENACT, None, rule(), MajorityKind.SUPER),
        (
            ProposalKind.ENACT,
            None,
            rule(sanction_cap=SanctionStep.NOTE, max_suspension_days=0),
            MajorityKind.SUPER,
        ),
        (ProposalKind.REPEAL, rule(), None, MajorityKind.SIMPLE),
        (ProposalKind.CONSTITUTION, None, None, MajorityKind.CONSTITUTIONAL),
        # amendments: raising the ceiling restricts speech more
        (ProposalKind.AMEND, rule(), rule(2, sanction_cap=SanctionStep.BAN), MajorityKind.SUPER),
        (ProposalKind.AMEND, rule(), rule(2, max_suspension_days=8), MajorityKind.SUPER),
        # lowering it, or changing nothing that widens the rule, does not
        (ProposalKind.AMEND, rule(), rule(2, max_suspension_days=6), MajorityKind.SIMPLE),
        (
            ProposalKind.AMEND,
            rule(),
            rule(2, sanction_cap=SanctionStep.REMOVE, max_suspension_days=0),
            MajorityKind.SIMPLE,
        ),
        (ProposalKind.AMEND, rule(), rule(2, title="Threats of harm"), MajorityKind.SIMPLE),
        (
            ProposalKind.AMEND,
            rule(),
            rule(2, not_covered_examples=("a", "I will beat you at chess")),
            MajorityKind.SIMPLE,
        ),
        (ProposalKind.AMEND, rule(), rule(2, covered_examples=()), MajorityKind.SIMPLE),
        # wording changes may widen the rule: doubt favours speech
        (
            ProposalKind.AMEND,
            rule(),
            rule(2, text="Do not threaten or insult people."),
            MajorityKind.SUPER,
        ),
        (
            ProposalKind.AMEND,
            rule(),
            rule(2, covered_examples=("I will hurt you", "idiot")),
            MajorityKind.SUPER,
        ),
        (ProposalKind.AMEND, rule(), rule(2, not_covered_examples=()), MajorityKind.SUPER),
        (
            ProposalKind.AMEND,
            rule(),
            rule(2, harm_category=HarmCategory.CYBER_VIOLENCE),
            MajorityKind.SUPER,
        ),
        (
            ProposalKind.AMEND,
            rule(),
            rule(2, sanction_cap=SanctionStep.NOTE, max_suspension_days=0, text="x"),
            MajorityKind.SUPER,
        ),
    ],
)
def test_required_threshold(
    kind: ProposalKind, old: RuleVersion | None, new: RuleVersion | None, majority: MajorityKind
) -> None:
    assert required_threshold(kind, old, new) is majority
    assert Constitution("MX").threshold_for(kind, old, new) == Constitution("MX").threshold(
        majority
    )


@pytest.mark.parametrize(
    ("kind", "old", "new", "message"),
    [
        (ProposalKind.ENACT, rule(), rule(2), "propose an amendment"),
        (ProposalKind.AMEND, None, rule(), "needs both"),
        (ProposalKind.REPEAL, None, None, "needs the version in force"),
        (ProposalKind.CONSTITUTION, rule(), None, "does not carry rule versions"),
        (ProposalKind.AMEND, rule(), rule(2, rule_id="MX-4"), "changes one rule"),
    ],
)
def test_required_threshold_refuses_malformed_questions(
    kind: ProposalKind, old: RuleVersion | None, new: RuleVersion | None, message: str
) -> None:
    with pytest.raises(ConstitutionError, match=message):
        required_threshold(kind, old, new)
