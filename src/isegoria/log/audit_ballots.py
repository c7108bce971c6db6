"""The state audit's view of jury ballots: stored rows against a verdict's published ballots.

A ``VerdictReached`` entry names each ballot by its receipt. Entries written before ballots
had receipts named the juror's pseudonym instead, which the rows no longer hold (migration
0009 unlinked them), so those ballots are compared as a multiset of votes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from isegoria.store.models_cases import CaseBallot

# What a published ballot says, besides the receipt that names it.
VOTE_FIELDS = ("violation", "sanction", "suspension_days", "reason")


@dataclass(frozen=True)
class BallotDifference:
    """One ballot only in the rows or only logged (``field`` None), or one differing field."""

    ballot: str  # the receipt's first characters, or the legacy entry's juror
    field: str | None = None
    logged: Any = None
    stored: Any = None
    unlogged: bool = False  # a stored ballot no entry lists


def published_ballot(ballot: CaseBallot) -> dict[str, Any]:
    """A stored ballot as a verdict entry publishes it."""
    return {
        "receipt": ballot.receipt,
        "violation": ballot.violation,
        "sanction": ballot.sanction,
        "suspension_days": ballot.suspension_days,
        "reason": ballot.reason,
    }


def _vote_key(ballot: dict[str, Any]) -> str:
    return json.dumps([ballot.get(k) for k in VOTE_FIELDS], ensure_ascii=False)


def ballot_differences(logged: Any, stored: list[dict[str, Any]]) -> list[BallotDifference]:
    """Every difference between a verdict's published ballots and the stored rows."""
    published = [b for b in logged if isinstance(b, dict)] if isinstance(logged, list) else []
    by_receipt = all("receipt" in b for b in published)
    pending: dict[str, list[dict[str, Any]]] = {}
    for b in published:
        key = str(b.get("receipt")) if by_receipt else _vote_key(b)
        pending.setdefault(key, []).append(b)
    found: list[BallotDifference] = []
    fields = ("receipt", *VOTE_FIELDS) if by_receipt else VOTE_FIELDS
    for ballot in stored:
        name = ballot["receipt"][:12]
        matches = pending.get(ballot["receipt"] if by_receipt else _vote_key(ballot))
        if not matches:
            found.append(BallotDifference(name, unlogged=True))
            continue
        recorded = matches.pop()
        found += [
            BallotDifference(name, k, recorded.get(k), ballot[k])
            for k in fields
            if recorded.get(k) != ballot[k]
        ]
    for key, missing in sorted(pending.items()):
        for recorded in missing:
            name = key[:12] if by_receipt else f"of juror {recorded.get('juror')}"
            found.append(BallotDifference(name))
    return found
