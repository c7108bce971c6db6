"""What the state audit compares rows with: the audited entries, indexed by what they describe.

``log.audit`` (rules, tallies and the whole run), ``log.audit_juries`` (juries, seats,
ballots, verdicts) and ``log.audit_decisions`` (what platforms apply) share these: one pass
over the entries of the audited kinds, and the ``Mismatch`` each reports.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from isegoria.log.entries import DecodedEntry, MalformedEntry, decode_entry
from isegoria.store.models import LogEntry

RULE_ENACTED, RULE_REPEALED = "RuleVersionEnacted", "RuleRepealed"
TALLIED, VERDICT = "ProposalTallied", "VerdictReached"
DRAWN, REPLACED, REPLIED, CAST = "JuryDrawn", "JurorsReplaced", "JurorReplied", "BallotCast"
SETTLED = "ConsistencyRetrialSettled"
ISSUED, NOTE_ISSUED, CONFIRMED = "DecisionIssued", "NoteDecisionIssued", "DecisionConfirmed"
IMPOSED, LIFTED = "SanctionImposed", "SanctionLifted"
CONSTITUTION = "ConstitutionChanged"
AUDITED_KINDS = (
    CONSTITUTION,
    RULE_ENACTED,
    RULE_REPEALED,
    TALLIED,
    VERDICT,
    DRAWN,
    REPLACED,
    REPLIED,
    CAST,
    SETTLED,
    ISSUED,
    NOTE_ISSUED,
    CONFIRMED,
    IMPOSED,
    LIFTED,
)
MISSING = "(no row)"
UNLOGGED = "(no entry)"


@dataclass(frozen=True)
class Mismatch:
    """One field of one row that differs from what a log entry recorded."""

    entry_index: int | None  # None: no entry records this row at all
    table: str
    row: str  # the row's primary key, as people write it
    field: str
    logged: str
    stored: str

    def describe(self) -> str:
        """One line for the operator: which entry, which row, what differs."""
        where = f"log entry #{self.entry_index}" if self.entry_index is not None else "no entry"
        return (
            f"{self.table} row {self.row}, field {self.field}: stored {self.stored}, "
            f"but {where} recorded {self.logged}"
        )


@dataclass(frozen=True)
class Logged:
    """One audited entry: its index, its time and its facts."""

    idx: int
    at: str
    facts: dict[str, Any]


Key = tuple[int, str]  # (case id, jury stage)


@dataclass
class Entries:
    """The audited entries, keyed by what they describe (the later entry wins a key)."""

    enacted: dict[tuple[str, int], Logged] = field(default_factory=dict)
    repealed: dict[tuple[str, int], Logged] = field(default_factory=dict)
    tallied: dict[int, Logged] = field(default_factory=dict)
    constitutions: dict[tuple[str, int], Logged] = field(default_factory=dict)
    verdicts: dict[Key, Logged] = field(default_factory=dict)
    settled: dict[int, Logged] = field(default_factory=dict)
    drawn: dict[Key, Logged] = field(default_factory=dict)
    replaced: dict[Key, list[Logged]] = field(default_factory=lambda: defaultdict(list))
    replied: dict[tuple[int, str, str], Logged] = field(default_factory=dict)
    cast: dict[tuple[int, str, str], Logged] = field(default_factory=dict)
    issued: dict[int, tuple[str, Logged]] = field(default_factory=dict)
    imposed: dict[int, Logged] = field(default_factory=dict)
    lifted: dict[int, Logged] = field(default_factory=dict)
    confirmed: dict[int, Logged] = field(default_factory=dict)

    def add_all(self, rows: Iterable[tuple[int, bytes]]) -> Entries:
        """Index every (index, payload); malformed entries are ``verify``'s to report."""
        for idx, payload in rows:
            try:
                entry = decode_entry(payload)
            except MalformedEntry:
                continue
            try:
                self._add(Logged(idx, entry.at, entry.facts), entry)
            except (KeyError, TypeError, ValueError):
                continue  # an entry of an unexpected shape describes no row we can compare
        return self

    def _add(self, logged: Logged, entry: DecodedEntry) -> None:
        facts, kind = entry.facts, entry.kind
        if kind in (RULE_ENACTED, RULE_REPEALED):
            key = (str(facts["rule_id"]), int(facts["version"]))
            (self.enacted if kind == RULE_ENACTED else self.repealed)[key] = logged
        elif kind == TALLIED:
            self.tallied[int(facts["proposal_id"])] = logged
        elif kind == CONSTITUTION:
            self.constitutions[(str(facts["jurisdiction"]), int(facts["version"]))] = logged
        elif kind in (VERDICT, DRAWN):
            target = self.verdicts if kind == VERDICT else self.drawn
            target[(int(facts["case_id"]), str(facts["stage"]))] = logged
        elif kind == SETTLED:
            self.settled[int(facts["case_id"])] = logged
        elif kind == REPLACED:
            self.replaced[(int(facts["case_id"]), str(facts["stage"]))].append(logged)
        elif kind in (REPLIED, CAST):
            seat = (int(facts["case_id"]), str(facts["stage"]), str(facts["juror"]))
            (self.replied if kind == REPLIED else self.cast)[seat] = logged
        elif kind in (ISSUED, NOTE_ISSUED):
            self.issued[int(facts["decision_id"])] = (kind, logged)
        elif kind in (IMPOSED, LIFTED, CONFIRMED):
            by_kind = {IMPOSED: self.imposed, LIFTED: self.lifted, CONFIRMED: self.confirmed}
            by_kind[kind][int(facts["decision_id"])] = logged


def load_entries(session: Session, *conditions: Any) -> Entries:
    """The audited entries matching ``conditions`` (all of them without any)."""
    query = select(LogEntry.idx, LogEntry.payload).where(LogEntry.kind.in_(AUDITED_KINDS))
    return Entries().add_all(session.execute(query.where(*conditions)).tuples())


def show(value: Any) -> str:
    """A value as one readable line of JSON (long values cut at 80 characters)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 80 else f"{text[:77]}..."


def compare(
    out: list[Mismatch], idx: int | None, table: str, row: str, pairs: dict[str, tuple[Any, Any]]
) -> None:
    """Append a mismatch for every (logged, stored) pair that differs."""
    for name, (logged, stored) in pairs.items():
        if logged != stored:
            out.append(Mismatch(idx, table, row, name, show(logged), show(stored)))


def loads(text: str | None) -> dict[str, Any]:
    """A stored JSON object, or {} when it is missing or no longer JSON (itself a mismatch)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
