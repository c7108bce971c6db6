"""The rulebook: versions, effective intervals, jurisdictions and citing the law."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.domain.rulebook import (
    INTERNATIONAL,
    NaiveDatetimeError,
    Rulebook,
    RulebookError,
    RuleConflictError,
    RuleNotApplicableError,
    RuleNotInForceError,
    RuleVersion,
    UnknownJurisdictionError,
    UnknownRuleError,
)
from isegoria.domain.sanctions import GroundKind, HarmCategory, Sanction, SanctionStep

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
PARENTS = {"EU": INTERNATIONAL, "FR": "EU", "DE": "EU", "MX": INTERNATIONAL}


def rv(
    rule_id: str,
    version: int,
    start: datetime,
    until: datetime | None = None,
    *,
    jurisdiction: str | None = None,
    cap: SanctionStep = SanctionStep.REMOVE,
    days: int = 0,
    text: str = "Do not threaten people.",
) -> RuleVersion:
    """A rule version with sensible defaults; the jurisdiction is the id's prefix."""
    return RuleVersion(
        jurisdiction=jurisdiction or rule_id.split("-")[0],
        rule_id=rule_id,
        version=version,
        title=f"Rule {rule_id}",
        text=text,
        harm_category=HarmCategory.VIOLENCE,
        ground=GroundKind.COMMUNITY_STANDARD,
        sanction_cap=cap,
        max_suspension_days=days,
        effective_from=start,
        effective_until=until,
    )


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


@pytest.fixture
def book() -> Rulebook:
    """MX-3 enacted on day 10, amended on day 100, repealed on day 200; plus others."""
    return Rulebook(
        [
            rv("MX-3", 1, day(10), day(100)),
            rv("MX-3", 2, day(100), day(200), cap=SanctionStep.SUSPEND, days=7),
            rv("MX-10", 1, day(0)),
            rv("intl-1", 1, day(0)),
            rv("EU-1", 1, day(0)),
            rv("FR-1", 1, day(50)),
            rv("DE-1", 1, day(0)),
        ],
        PARENTS,
    )


def ids(versions: list[RuleVersion]) -> list[str]:
    return [v.label for v in versions]


# -- in force ------------------------------------------------------------------------------
def test_in_force_includes_parents_own_rules_first(book: Rulebook) -> None:
    assert ids(book.in_force("FR", day(60))) == ["FR-1 v1", "EU-1 v1", "intl-1 v1"]
    assert ids(book.in_force("DE", day(60))) == ["DE-1 v1", "EU-1 v1", "intl-1 v1"]
    assert ids(book.in_force("MX", day(60))) == ["MX-3 v1", "MX-10 v1", "intl-1 v1"]
    assert ids(book.in_force(INTERNATIONAL, day(60))) == ["intl-1 v1"]
    assert ids(book.in_force("EU", day(60))) == ["EU-1 v1", "intl-1 v1"]


def test_half_open_intervals_at_the_boundaries(book: Rulebook) -> None:
    assert book.version_in_force("MX-3", day(10) - SECOND) is None
    assert book.get("MX-3", 1) == book.version_in_force("MX-3", day(10))
    assert book.version_in_force("MX-3", day(100) - timedelta(microseconds=1)) == book.get(
        "MX-3", 1
    )
    assert book.version_in_force("MX-3", day(100)) == book.get("MX-3", 2)
    assert book.version_in_force("MX-3", day(200) - SECOND) == book.get("MX-3", 2)
    assert book.version_in_force("MX-3", day(200)) is None


def test_the_same_instant_in_another_timezone_gives_the_same_answer(book: Rulebook) -> None:
    mexico = timezone(timedelta(hours=-6))
    local = day(100).astimezone(mexico)
    assert local.hour == 18  # the evening before, in Mexico City
    assert book.version_in_force("MX-3", local) == book.get("MX-3", 2)
    assert book.version_in_force("MX-3", local - SECOND) == book.get("MX-3", 1)


def test_naive_datetimes_are_refused(book: Rulebook) -> None:
    naive = datetime(2025, 3, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(NaiveDatetimeError, match="has no timezone; give an aware date-time"):
        book.in_force("MX", naive)
    with pytest.raises(NaiveDatetimeError):
        book.version_in_force("MX-3", naive)
    with pytest.raises(NaiveDatetimeError):
        book.check_citable("MX-3", 1, ["MX"], naive)
    with pytest.raises(NaiveDatetimeError):
        rv("MX-4", 1, naive)


def test_unknown_jurisdiction_is_named(book: Rulebook) -> None:
    with pytest.raises(UnknownJurisdictionError, match="unknown jurisdiction 'BR'.*MX"):
        book.in_force("BR", day(1))


# -- citing a rule -------------------------------------------------------------------------
def test_cite_the_version_in_force(book: Rulebook) -> None:
    assert book.check_citable("MX-3", 1, ["MX"], day(50)) == book.get("MX-3", 1)
    assert book.check_citable("MX-3", 2, ["MX"], day(100)) == book.get("MX-3", 2)
    assert book.check_citable("EU-1", 1, ["FR"], day(1)).jurisdiction == "EU"
    assert book.check_citable("intl-1", 1, ["MX"], day(1)).jurisdiction == INTERNATIONAL


def test_cite_before_enactment_says_when_it_was_enacted(book: Rulebook) -> None:
    with pytest.raises(RuleNotInForceError) as info:
        book.check_citable("MX-3", 1, ["MX"], day(10) - SECOND)
    assert str(info.value) == (
        "rule MX-3 was not in force on 2025-01-10T23:59:59+00:00 (enacted 2025-01-11); "
        "cite the rule version in force when the post was made"
    )


def test_cite_the_wrong_version_names_the_right_one(book: Rulebook) -> None:
    with pytest.raises(RuleNotInForceError, match="cite MX-3 version 1$") as info:
        book.check_citable("MX-3", 2, ["MX"], day(99))
    assert "version 2 was not in force on 2025-04-10" in str(info.value)
    with pytest.raises(RuleNotInForceError, match="cite MX-3 version 2$"):
        book.check_citable("MX-3", 1, ["MX"], day(100))


def test_cite_after_repeal_says_when_it_was_repealed(book: Rulebook) -> None:
    with pytest.raises(RuleNotInForceError, match=r"\(repealed 2025-07-20\)"):
        book.check_citable("MX-3", 2, ["MX"], day(200))


def test_cite_a_rule_of_a_jurisdiction_that_does_not_reach_the_content(book: Rulebook) -> None:
    with pytest.raises(RuleNotApplicableError, match="rule FR-1 is law of FR.*posted in DE"):
        book.check_citable("FR-1", 1, ["DE"], day(60))
    with pytest.raises(RuleNotApplicableError, match="law there is that of MX, intl"):
        book.check_citable("EU-1", 1, ["MX"], day(60))
    # Content in several jurisdictions is reached by the law of each of them.
    assert book.check_citable("FR-1", 1, ["DE", "FR"], day(60)).rule_id == "FR-1"


def test_cite_unknown_rule_or_version(book: Rulebook) -> None:
    with pytest.raises(UnknownRuleError, match="there is no rule MX-99"):
        book.check_citable("MX-99", 1, ["MX"], day(60))
    with pytest.raises(UnknownRuleError, match="rule MX-3 has no version 7; its versions are 1, 2"):
        book.check_citable("MX-3", 7, ["MX"], day(60))
    with pytest.raises(RulebookError, match="no jurisdiction"):
        book.check_citable("MX-3", 1, [], day(60))


# -- invariants ----------------------------------------------------------------------------
def test_overlapping_versions_are_refused() -> None:
    with pytest.raises(RuleConflictError, match="version 1 .* overlaps version 2"):
        Rulebook([rv("MX-3", 1, day(0)), rv("MX-3", 2, day(10))])
    with pytest.raises(RuleConflictError, match="overlaps"):
        Rulebook([rv("MX-3", 1, day(0), day(11)), rv("MX-3", 2, day(10))])
    # Touching intervals are fine: until is excluded.
    assert len(Rulebook([rv("MX-3", 1, day(0), day(10)), rv("MX-3", 2, day(10))]).versions()) == 2


def test_version_numbers_must_increase_with_time() -> None:
    with pytest.raises(RuleConflictError, match="version numbers must increase with time"):
        Rulebook([rv("MX-3", 1, day(10)), rv("MX-3", 2, day(0), day(5))])
    with pytest.raises(RuleConflictError, match="two versions numbered 1"):
        Rulebook([rv("MX-3", 1, day(0), day(5)), rv("MX-3", 1, day(6))])
    with pytest.raises(RuleConflictError, match="a rule belongs to one jurisdiction"):
        Rulebook([rv("X-3", 1, day(0), day(5), jurisdiction="MX"), rv("X-3", 2, day(6))])


def test_jurisdiction_tree_is_checked() -> None:
    with pytest.raises(RulebookError, match="cycle"):
        Rulebook([], {"A": "B", "B": "A"})
    with pytest.raises(RulebookError, match="root jurisdiction"):
        Rulebook([], {INTERNATIONAL: "EU"})
    assert Rulebook([rv("XX-1", 1, day(0))]).lineage("XX") == ("XX", INTERNATIONAL)


def test_rule_version_checks_its_own_fields() -> None:
    with pytest.raises(RuleConflictError, match="ends .* at or before it starts"):
        rv("MX-3", 1, day(5), day(5))
    with pytest.raises(RulebookError, match="longest suspension must be between 1 and 365"):
        rv("MX-3", 1, day(0), cap=SanctionStep.BAN, days=0)
    with pytest.raises(RulebookError, match="set max_suspension_days to 0"):
        rv("MX-3", 1, day(0), cap=SanctionStep.REMOVE, days=3)
    with pytest.raises(RulebookError, match="not a valid code"):
        rv("MX 3", 1, day(0), jurisdiction="MX")
    with pytest.raises(RulebookError, match="version numbers start at 1"):
        rv("MX-3", 0, day(0))
    with pytest.raises(RulebookError, match="needs a title and a text"):
        rv("MX-3", 1, day(0), text="  ")


def test_clamp_and_allows_respect_cap_and_longest_suspension() -> None:
    capped = rv("MX-3", 1, day(0), cap=SanctionStep.SUSPEND, days=7)
    assert capped.ceiling == Sanction.suspend(7)
    assert capped.clamp(Sanction.of(SanctionStep.BAN)) == Sanction.suspend(7)
    assert capped.clamp(Sanction.suspend(30)) == Sanction.suspend(7)
    assert capped.clamp(Sanction.suspend(3)) == Sanction.suspend(3)
    assert capped.allows(Sanction.suspend(7)) and not capped.allows(Sanction.suspend(8))
    remove = rv("MX-4", 1, day(0))
    assert remove.clamp(Sanction.suspend(3)) == Sanction.of(SanctionStep.REMOVE)
    assert remove.allows(Sanction.of(SanctionStep.NOTE))
    ban = rv("MX-5", 1, day(0), cap=SanctionStep.BAN, days=30)
    assert ban.clamp(Sanction.suspend(60)) == Sanction.suspend(30)
    assert ban.allows(Sanction.of(SanctionStep.BAN))


# -- making law ----------------------------------------------------------------------------
def test_enact_amend_repeal_build_the_same_history_as_direct_construction(book: Rulebook) -> None:
    made = (
        Rulebook([], PARENTS)
        .enact(rv("MX-3", 1, day(10)))
        .amend(rv("MX-3", 2, day(100), cap=SanctionStep.SUSPEND, days=7))
        .repeal("MX-3", day(200))
    )
    assert made.history("MX-3") == book.history("MX-3")


def test_history_operations_refuse_the_impossible(book: Rulebook) -> None:
    with pytest.raises(RuleConflictError, match="already in force .* propose an amendment"):
        book.enact(rv("MX-10", 2, day(5)))
    with pytest.raises(RuleConflictError, match="repealed 2025-07-20; enact it again"):
        book.amend(rv("MX-3", 3, day(300)))
    with pytest.raises(RuleConflictError, match="only takes effect"):
        book.repeal("FR-1", day(50))
    with pytest.raises(RuleConflictError, match="up to 2; number the re-enacted version 3"):
        book.enact(rv("MX-3", 1, day(300)))
    with pytest.raises(RuleConflictError, match="overlaps"):
        book.enact(rv("MX-3", 3, day(150)))
    assert book.enact(rv("MX-3", 3, day(300))).version_in_force("MX-3", day(300)) is not None


# -- property: random histories of enact, amend and repeal ---------------------------------
RULES = ["MX-1", "MX-2", "FR-1", "EU-1", "intl-1"]
ops = st.lists(
    st.tuples(st.sampled_from(RULES), st.integers(2, 10**7), st.booleans()),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(ops, st.randoms(use_true_random=False))
def test_random_histories_answer_by_the_version_in_force(
    operations: list[tuple[str, int, bool]], rng: random.Random
) -> None:
    book = Rulebook([], PARENTS)
    # The oracle: for each rule, the ordered list of (moment, version number or None).
    changes: dict[str, list[tuple[datetime, int | None]]] = {r: [] for r in RULES}
    state: dict[str, int | None] = dict.fromkeys(RULES)
    number = dict.fromkeys(RULES, 0)
    now = T0
    for rule_id, gap, repeal in operations:
        now += timedelta(seconds=gap)  # gaps of at least 2 s keep every ±1 s probe unambiguous
        if state[rule_id] is None:
            number[rule_id] += 1
            book = book.enact(rv(rule_id, number[rule_id], now))
            state[rule_id] = number[rule_id]
        elif repeal:
            book = book.repeal(rule_id, now)
            state[rule_id] = None
        else:
            number[rule_id] += 1
            book = book.amend(rv(rule_id, number[rule_id], now, cap=SanctionStep.NOTE))
            state[rule_id] = number[rule_id]
        changes[rule_id].append((now, state[rule_id]))

    # Construction order does not matter.
    shuffled = list(book.versions())
    rng.shuffle(shuffled)
    assert Rulebook(shuffled, PARENTS).versions() == book.versions()

    for rule_id, history in changes.items():
        before: int | None = None
        for moment, after in history:
            for probe, expected in (
                (moment - SECOND, before),
                (moment, after),
                (moment + SECOND, after),
            ):
                found = book.version_in_force(rule_id, probe)
                assert (found.version if found else None) == expected, (rule_id, probe)
                jurisdiction = rule_id.split("-")[0]
                in_force = [
                    v.version for v in book.in_force(jurisdiction, probe) if v.rule_id == rule_id
                ]
                assert in_force == ([] if expected is None else [expected])
                if expected is not None:
                    assert (
                        book.check_citable(rule_id, expected, [jurisdiction], probe).version
                        == expected
                    )
            if before is not None:
                # At the moment of the change the old version can no longer be cited.
                with pytest.raises(RuleNotInForceError):
                    book.check_citable(rule_id, before, [rule_id.split("-")[0]], moment)
            before = after

    def oracle(rule_id: str, at: datetime) -> int | None:
        past = [number for moment, number in changes[rule_id] if moment <= at]
        return past[-1] if past else None

    # Parents: a French post sees exactly the rules in force in FR, EU and intl.
    for moment in {m for h in changes.values() for m, _ in h}:
        fr = {v.rule_id for v in book.in_force("FR", moment)}
        assert fr == {r for r in ("FR-1", "EU-1", "intl-1") if oracle(r, moment) is not None}
        mx = {v.rule_id for v in book.in_force("MX", moment)}
        assert mx == {r for r in ("MX-1", "MX-2", "intl-1") if oracle(r, moment) is not None}
