"""The state audit's ballot comparison: by receipt, and by vote for entries older than receipts."""

from __future__ import annotations

from typing import Any

from isegoria.log.audit_ballots import ballot_differences


def _ballot(receipt: str, violation: bool, reason: str) -> dict[str, Any]:
    return {
        "receipt": receipt,
        "violation": violation,
        "sanction": "remove" if violation else None,
        "suspension_days": None,
        "reason": reason,
    }


STORED = [_ballot("a" * 64, True, "threat"), _ballot("b" * 64, False, "hyperbole")]


def test_ballots_match_by_receipt_and_a_changed_field_is_named() -> None:
    assert ballot_differences(STORED, STORED) == []
    forged = [STORED[0], {**STORED[1], "reason": "forged"}]
    (difference,) = ballot_differences(STORED, forged)
    assert (difference.ballot, difference.field) == ("b" * 12, "reason")
    assert (difference.logged, difference.stored) == ("hyperbole", "forged")


def test_an_added_or_removed_ballot_is_found() -> None:
    extra = [*STORED, _ballot("c" * 64, True, "more")]
    assert [(d.ballot, d.unlogged) for d in ballot_differences(STORED, extra)] == [("c" * 12, True)]
    assert [(d.ballot, d.unlogged) for d in ballot_differences(STORED, STORED[:1])] == [
        ("b" * 12, False)
    ]


def test_an_entry_from_before_receipts_is_compared_as_a_multiset_of_votes() -> None:
    legacy = [
        {"juror": "J-1", **{k: v for k, v in STORED[1].items() if k != "receipt"}},
        {"juror": "J-2", **{k: v for k, v in STORED[0].items() if k != "receipt"}},
    ]
    assert ballot_differences(legacy, STORED) == []  # migrated rows carry new receipts
    changed = [STORED[0], {**STORED[1], "violation": True}]
    found = ballot_differences(legacy, changed)
    assert sorted(d.unlogged for d in found) == [False, True]  # one unlogged, one missing
    assert any(d.ballot == "of juror J-1" for d in found)
