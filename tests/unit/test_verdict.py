"""From sealed ballots to a verdict: quorum, supermajority, median, cap and ban policy."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.domain.constitution import Constitution
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import GroundKind, HarmCategory, Sanction, SanctionStep
from isegoria.domain.tally import SIMPLE_MAJORITY, Threshold
from isegoria.domain.verdict import (
    MAX_REASON_LENGTH,
    Ballot,
    Outcome,
    Verdict,
    VerdictError,
    VerdictRule,
    check_ballot,
    decide,
    lower_median,
)

MX = Constitution("MX")  # jury 12, quorum 9, two thirds, ban after 2 upheld violations
NONE = Sanction.of(SanctionStep.NONE)
NOTE = Sanction.of(SanctionStep.NOTE)
REDUCE = Sanction.of(SanctionStep.REDUCE_REACH)
REMOVE = Sanction.of(SanctionStep.REMOVE)
BAN = Sanction.of(SanctionStep.BAN)


def make_rule(cap: SanctionStep = SanctionStep.BAN, days: int = 30) -> RuleVersion:
    return RuleVersion(
        jurisdiction="MX",
        rule_id="MX-3",
        version=2,
        title="Threats",
        text="Do not threaten people.",
        harm_category=HarmCategory.VIOLENCE,
        ground=GroundKind.LEGAL,
        sanction_cap=cap,
        max_suspension_days=days if cap >= SanctionStep.SUSPEND else 0,
        effective_from=datetime(2025, 1, 1, tzinfo=UTC),
    )


RULE = make_rule()


def yes(sanction: Sanction) -> Ballot:
    return Ballot(True, sanction, "it is a threat")


def no() -> Ballot:
    return Ballot(False, None, "it is a joke between friends")


def applied(verdict: Verdict) -> list[VerdictRule]:
    return [a.rule for a in verdict.applied]


# -- quorum and supermajority --------------------------------------------------------------
@pytest.mark.parametrize(("cast", "outcome"), [(8, Outcome.LAPSED), (9, Outcome.VIOLATION)])
def test_jury_quorum_boundary(cast: int, outcome: Outcome) -> None:
    verdict = decide([yes(REMOVE)] * cast, MX, RULE, 0)
    assert verdict.outcome is outcome
    assert verdict.takes_action is (outcome is Outcome.VIOLATION)
    if outcome is Outcome.LAPSED:
        assert verdict.sanction == NONE and applied(verdict) == [VerdictRule.QUORUM_NOT_MET]
        assert "8 of 12 jurors cast a ballot; at least 9" in verdict.applied[0].detail


@pytest.mark.parametrize(
    ("violations", "cast", "outcome"),
    [
        (8, 12, Outcome.VIOLATION),  # exactly 2/3
        (7, 12, Outcome.NO_VIOLATION),  # just below
        (9, 12, Outcome.VIOLATION),  # just above
        (6, 9, Outcome.VIOLATION),
        (5, 9, Outcome.NO_VIOLATION),
        (7, 10, Outcome.VIOLATION),  # 0.7 >= 2/3
        (6, 10, Outcome.NO_VIOLATION),  # 0.6 < 2/3
    ],
)
def test_supermajority_boundary(violations: int, cast: int, outcome: Outcome) -> None:
    ballots = [yes(REMOVE)] * violations + [no()] * (cast - violations)
    verdict = decide(ballots, MX, RULE, 0)
    assert verdict.outcome is outcome
    assert verdict.violation_share == Fraction(violations, cast)
    assert verdict.no_violation_votes == cast - violations
    if outcome is Outcome.NO_VIOLATION:
        assert verdict.sanction == NONE and verdict.median_sanction is None
        assert VerdictRule.SUPERMAJORITY_NOT_REACHED in applied(verdict)
        assert "doubt favours speech" in verdict.applied[-1].detail


def test_a_stricter_constitution_moves_the_boundary() -> None:
    strict = MX.amended(verdict_threshold=Threshold(Fraction(3, 4), inclusive=True))
    assert decide([yes(REMOVE)] * 9 + [no()] * 3, strict, RULE, 0).outcome is Outcome.VIOLATION
    assert decide([yes(REMOVE)] * 8 + [no()] * 4, strict, RULE, 0).outcome is Outcome.NO_VIOLATION


def test_a_simple_majority_jury_still_lets_a_tie_favour_speech() -> None:
    simple = MX.amended(verdict_threshold=SIMPLE_MAJORITY)
    assert decide([yes(REMOVE)] * 6 + [no()] * 6, simple, RULE, 0).outcome is Outcome.NO_VIOLATION
    assert decide([yes(REMOVE)] * 7 + [no()] * 5, simple, RULE, 0).outcome is Outcome.VIOLATION


def test_appeal_uses_the_larger_jury_and_its_quorum() -> None:
    assert MX.effective_appeal_jury_size == 25 and MX.appeal_jury_quorum == 19
    assert decide([yes(REMOVE)] * 18, MX, RULE, 0, appeal=True).outcome is Outcome.LAPSED
    assert decide([yes(REMOVE)] * 19, MX, RULE, 0, appeal=True).outcome is Outcome.VIOLATION
    with pytest.raises(VerdictError, match="13 ballots for a jury of 12"):
        decide([yes(REMOVE)] * 13, MX, RULE, 0)
    assert decide([yes(REMOVE)] * 25, MX, RULE, 0, appeal=True).jury_quorum == 19


# -- the sanction --------------------------------------------------------------------------
def test_median_of_an_odd_number_of_sanctions() -> None:
    ballots = [yes(NOTE)] * 4 + [yes(REMOVE)] + [yes(BAN)] * 4
    verdict = decide(ballots, MX, RULE, 5)
    assert verdict.sanction == REMOVE
    assert VerdictRule.MEDIAN_SANCTION in applied(verdict)


def test_even_number_of_sanctions_takes_the_lower_median() -> None:
    verdict = decide([yes(NOTE)] * 5 + [yes(REMOVE)] * 5, MX, RULE, 0)
    assert verdict.sanction == NOTE
    assert VerdictRule.LOWER_MEDIAN_SANCTION in applied(verdict)
    one_more = decide([yes(NOTE)] * 5 + [yes(REMOVE)] * 6, MX, RULE, 0)
    assert one_more.sanction == REMOVE


def test_suspension_length_is_the_lower_median_of_the_suspension_ballots() -> None:
    days = [3, 7, 7, 14, 30, 30]
    verdict = decide([yes(Sanction.suspend(d)) for d in days] + [yes(BAN)] * 3, MX, RULE, 0)
    # 9 sanctions: the 5th is a suspension; the 6 suspension lengths give 7 and 14: take 7.
    assert verdict.sanction == Sanction.suspend(7)
    assert VerdictRule.LOWER_MEDIAN_SUSPENSION in applied(verdict)
    odd = decide([yes(Sanction.suspend(d)) for d in (3, 7, 30)] * 3, MX, RULE, 0)
    assert odd.sanction == Sanction.suspend(7)
    assert VerdictRule.MEDIAN_SUSPENSION in applied(odd)


def test_sanctions_never_exceed_the_cap() -> None:
    remove_only = make_rule(SanctionStep.REMOVE)
    verdict = decide([yes(BAN)] * 9, MX, remove_only, 10)
    assert verdict.sanction == REMOVE
    assert VerdictRule.BALLOTS_CAPPED in applied(verdict)
    assert "9 ballots proposed more than rule MX-3 v2 allows and were" in verdict.applied[2].detail
    short = make_rule(SanctionStep.SUSPEND, days=7)
    assert decide([yes(Sanction.suspend(60))] * 9, MX, short, 0).sanction == Sanction.suspend(7)
    # A ballot asking for more than the cap counts as asking for the most the rule allows.
    mixed = [yes(Sanction.suspend(2))] * 4 + [yes(BAN)] * 5
    assert decide(mixed, MX, short, 0).sanction == Sanction.suspend(7)


def test_check_ballot_refuses_a_sanction_above_the_cap() -> None:
    check_ballot(yes(REMOVE), make_rule(SanctionStep.REMOVE))
    check_ballot(no(), make_rule(SanctionStep.NOTE))
    with pytest.raises(VerdictError, match="proposes 'ban' but rule MX-3 v2 allows at most"):
        check_ballot(yes(BAN), make_rule(SanctionStep.REMOVE))
    with pytest.raises(VerdictError, match="at most 'suspend for 7 days'"):
        check_ballot(yes(Sanction.suspend(8)), make_rule(SanctionStep.SUSPEND, 7))


@pytest.mark.parametrize(
    ("prior", "expected"), [(0, Sanction.suspend(30)), (1, Sanction.suspend(30)), (2, BAN)]
)
def test_ban_policy_boundary(prior: int, expected: Sanction) -> None:
    verdict = decide([yes(BAN)] * 12, MX, RULE, prior)
    assert verdict.sanction == expected
    assert verdict.median_sanction == BAN
    allowed = VerdictRule.BAN_ALLOWED if expected == BAN else VerdictRule.BAN_NOT_ALLOWED
    assert applied(verdict)[-1] is allowed


def test_ban_policy_follows_the_constitution() -> None:
    lenient = MX.amended(ban_min_prior_violations=0)
    assert decide([yes(BAN)] * 12, lenient, RULE, 0).sanction == BAN
    strict = MX.amended(ban_min_prior_violations=5)
    assert decide([yes(BAN)] * 12, strict, RULE, 4).sanction == Sanction.suspend(30)


def test_a_violation_with_no_sanction_takes_no_action() -> None:
    verdict = decide([yes(NONE)] * 9, MX, RULE, 0)
    assert verdict.outcome is Outcome.VIOLATION and not verdict.takes_action


# -- inputs --------------------------------------------------------------------------------
def test_ballots_are_checked() -> None:
    with pytest.raises(VerdictError, match="must propose a sanction"):
        Ballot(True, None, "x")
    with pytest.raises(VerdictError, match="cannot propose a sanction"):
        Ballot(False, NOTE, "x")
    with pytest.raises(VerdictError, match="must give a reason"):
        Ballot(False, None, "   ")
    with pytest.raises(VerdictError, match=f"at most {MAX_REASON_LENGTH} characters"):
        Ballot(False, None, "x" * (MAX_REASON_LENGTH + 1))
    with pytest.raises(VerdictError, match="cannot be negative"):
        decide([], MX, RULE, -1)
    with pytest.raises(VerdictError, match="median of nothing"):
        lower_median([])


def test_verdict_is_published_as_plain_json() -> None:
    verdict = decide([yes(Sanction.suspend(7))] * 8 + [no()] * 4, MX, RULE, 0)
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["outcome"] == "violation" and data["violation_share"] == "2/3"
    assert data["sanction"] == {"step": "suspend", "suspension_days": 7}
    assert data["rule"] == "MX-3 v2" and data["threshold"] == {"share": "2/3", "inclusive": True}
    assert [a["rule"] for a in data["applied"]] == [
        "quorum_met",
        "supermajority_reached",
        "lower_median_sanction",
        "lower_median_suspension",
    ]
    assert (
        "the 4th and 5th are in the middle; the milder, 'suspend', is taken"
        in (data["applied"][2]["detail"])
    )


# -- properties ----------------------------------------------------------------------------
sanctions = st.one_of(
    st.sampled_from([s for s in SanctionStep if s is not SanctionStep.SUSPEND]).map(Sanction.of),
    st.integers(1, 90).map(Sanction.suspend),
)
ballots = st.lists(st.one_of(sanctions.map(yes), st.just(no())), min_size=0, max_size=MX.jury_size)
rules = st.builds(make_rule, st.sampled_from(list(SanctionStep)), st.integers(1, 60))


@settings(max_examples=400, deadline=None)
@given(ballots, rules, st.integers(0, 4), st.randoms(use_true_random=False))
def test_verdict_properties(
    cast: list[Ballot], rule: RuleVersion, prior: int, rng: random.Random
) -> None:
    verdict = decide(cast, MX, rule, prior)
    n, k = len(cast), sum(b.violation for b in cast)
    assert (verdict.ballots_cast, verdict.violation_votes) == (n, k)

    # quorum, then supermajority of the cast ballots (3k >= 2n is "at least 2/3")
    if n < MX.jury_quorum:
        assert verdict.outcome is Outcome.LAPSED
    elif 3 * k >= 2 * n:
        assert verdict.outcome is Outcome.VIOLATION
    else:
        assert verdict.outcome is Outcome.NO_VIOLATION
    if verdict.outcome is not Outcome.VIOLATION:
        assert verdict.sanction == NONE
        return

    # never above the cap; a ban only under the ban policy
    assert rule.allows(verdict.sanction)
    if verdict.sanction.step is SanctionStep.BAN:
        assert prior >= MX.ban_min_prior_violations

    # the median step is the lower median of the capped proposals: at least half of them
    # are no harsher, and more than half are no milder.
    capped = [rule.clamp(b.sanction) for b in cast if b.sanction is not None]
    median = verdict.median_sanction
    assert median is not None
    no_harsher = sum(s.step <= median.step for s in capped)
    no_milder = sum(s.step >= median.step for s in capped)
    assert no_harsher >= (k + 1) // 2 and no_milder >= k // 2 + 1
    if median.step is SanctionStep.SUSPEND:
        days = [s.suspension_days for s in capped if s.suspension_days is not None]
        assert median.suspension_days in days
        assert sum(d <= median.suspension_days for d in days) >= (len(days) + 1) // 2
        assert sum(d >= median.suspension_days for d in days) >= len(days) // 2 + 1
    if median.step is SanctionStep.BAN and prior < MX.ban_min_prior_violations:
        assert verdict.sanction == Sanction.suspend(rule.max_suspension_days)
    else:
        assert verdict.sanction == median

    # the order in which ballots are opened does not matter
    shuffled = list(cast)
    rng.shuffle(shuffled)
    assert decide(shuffled, MX, rule, prior) == verdict


@settings(max_examples=200, deadline=None)
@given(ballots, rules, st.integers(0, 4), st.data())
def test_more_violation_votes_never_clear_the_author(
    cast: list[Ballot], rule: RuleVersion, prior: int, data: st.DataObject
) -> None:
    nos = [i for i, b in enumerate(cast) if not b.violation]
    before = decide(cast, MX, rule, prior)
    if not nos:
        return
    i = data.draw(st.sampled_from(nos))
    changed = list(cast)
    changed[i] = yes(data.draw(sanctions))
    after = decide(changed, MX, rule, prior)
    if before.outcome is Outcome.VIOLATION:
        assert after.outcome is Outcome.VIOLATION
