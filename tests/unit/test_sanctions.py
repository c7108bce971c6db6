"""The sanction ladder, harm categories and their DSA Transparency Database codes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.domain.sanctions import (
    DSA_ACCOUNT_DECISIONS,
    DSA_VISIBILITY_DECISIONS,
    MAX_SUSPENSION_DAYS,
    GroundKind,
    HarmCategory,
    Sanction,
    SanctionError,
    SanctionStep,
)

LADDER_NAMES = ["none", "note", "reduce_reach", "remove", "suspend", "ban"]

# DSA Transparency Database API, ``category`` values of schema v2 (from 1 July 2025).
DSA_V2_CATEGORIES = {
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
}

sanctions = st.one_of(
    st.sampled_from([s for s in SanctionStep if s is not SanctionStep.SUSPEND]).map(Sanction.of),
    st.integers(1, MAX_SUSPENSION_DAYS).map(Sanction.suspend),
)


def test_ladder_is_ordered_from_mildest_to_harshest() -> None:
    steps = [SanctionStep.parse(name) for name in LADDER_NAMES]
    assert [s.rank for s in steps] == list(range(6))
    for lower, higher in zip(steps, steps[1:], strict=False):
        assert lower < higher and higher > lower and lower <= higher and not higher <= lower
    assert sorted(reversed(steps)) == steps
    assert max(steps) is SanctionStep.BAN and min(steps) is SanctionStep.NONE


def test_steps_do_not_compare_with_other_types() -> None:
    with pytest.raises(TypeError):
        _ = SanctionStep.NOTE < 3


def test_unknown_step_lists_valid_names() -> None:
    with pytest.raises(SanctionError, match="unknown sanction step 'shadowban'") as info:
        SanctionStep.parse("shadowban")
    for name in LADDER_NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("days", [None, 0, -1, MAX_SUSPENSION_DAYS + 1])
def test_suspension_needs_a_sensible_number_of_days(days: int | None) -> None:
    with pytest.raises(SanctionError, match="suspension needs a number of days"):
        Sanction(SanctionStep.SUSPEND, days)


def test_only_suspensions_carry_days() -> None:
    with pytest.raises(SanctionError, match="only a suspension has a number of days"):
        Sanction(SanctionStep.REMOVE, 3)
    assert Sanction.suspend(1).suspension_days == 1
    assert Sanction.suspend(MAX_SUSPENSION_DAYS).suspension_days == MAX_SUSPENSION_DAYS


def test_sanctions_order_by_step_then_days() -> None:
    remove, ban = Sanction.of(SanctionStep.REMOVE), Sanction.of(SanctionStep.BAN)
    short, long_ = Sanction.suspend(3), Sanction.suspend(30)
    assert remove < short < long_ < ban
    assert sorted([ban, long_, remove, short]) == [remove, short, long_, ban]
    assert short <= Sanction.suspend(3) and short >= Sanction.suspend(3)


def test_describe_in_words() -> None:
    assert Sanction.of(SanctionStep.REDUCE_REACH).describe() == "reduce reach"
    assert Sanction.suspend(1).describe() == "suspend for 1 day"
    assert Sanction.suspend(7).describe() == "suspend for 7 days"


@settings(max_examples=100, deadline=None)
@given(sanctions)
def test_sanction_survives_json(sanction: Sanction) -> None:
    assert Sanction.from_dict(json.loads(json.dumps(sanction.to_dict()))) == sanction


@settings(max_examples=100, deadline=None)
@given(sanctions, sanctions)
def test_sanction_order_is_total_and_consistent(a: Sanction, b: Sanction) -> None:
    assert (a < b) + (a == b) + (a > b) == 1
    assert (a <= b) == (a < b or a == b)
    if a.step != b.step:
        assert (a < b) == (a.step < b.step)


def test_every_harm_category_has_a_distinct_dsa_v2_category() -> None:
    codes = [c.dsa_category for c in HarmCategory]
    assert len(set(codes)) == len(codes)
    assert set(codes) <= DSA_V2_CATEGORIES
    # Only "type not specified by the notifier" is left out: a report always cites a rule.
    assert DSA_V2_CATEGORIES - set(codes) == {"STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"}
    assert HarmCategory.SCAMS_AND_FRAUD.dsa_category == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert HarmCategory.parse("violence") is HarmCategory.VIOLENCE
    with pytest.raises(SanctionError, match="unknown harm category 'spam'"):
        HarmCategory.parse("spam")


def test_grounds_map_to_dsa_decision_grounds() -> None:
    assert GroundKind.LEGAL.dsa_decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert (
        GroundKind.COMMUNITY_STANDARD.dsa_decision_ground == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    )


def test_every_step_but_none_maps_to_exactly_one_dsa_decision() -> None:
    for step in SanctionStep:
        hits = (step in DSA_VISIBILITY_DECISIONS) + (step in DSA_ACCOUNT_DECISIONS)
        assert hits == (0 if step is SanctionStep.NONE else 1), step
    # Steps acting on the post are all milder than steps acting on the account.
    assert max(DSA_VISIBILITY_DECISIONS) < min(DSA_ACCOUNT_DECISIONS)
