"""State audit: do the domain tables still say what the log recorded?

The log proves its own history (``log.verify``), but verdicts, tallies and rule texts are
also kept in ordinary tables that the pages and the API read. An operator with database
access could edit those rows and leave the log alone. This module recomputes, from the
rows, the facts each log entry recorded when the row was written and compares them field
by field:

* a rule version (``rule_versions``) with its ``RuleVersionEnacted`` entry, and its end
  (``effective_until``) with the ``RuleRepealed`` entry or the next version's start;
* a counted proposal (``proposals`` and ``ballots``) with its ``ProposalTallied`` entry;
* a verdict (``cases``, ``case_ballots``) with its ``VerdictReached`` entry, the statement
  of reasons by the SHA-256 the entry carries.

A row that an entry describes but that is gone, and a row that no entry describes, are
mismatches too. The audit trusts the entries, so run it after ``verify`` has checked them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from isegoria.log.audit_ballots import ballot_differences, stored_ballots
from isegoria.log.entries import DecodedEntry, MalformedEntry, decode_entry, format_instant
from isegoria.store.models import Ballot, LogEntry, Proposal, Rule, RuleVersionRow
from isegoria.store.models_cases import Case

RULE_ENACTED, RULE_REPEALED = "RuleVersionEnacted", "RuleRepealed"
TALLIED, VERDICT = "ProposalTallied", "VerdictReached"
AUDITED_KINDS = (RULE_ENACTED, RULE_REPEALED, TALLIED, VERDICT)
STAGES = ("first", "appeal")
_MISSING = "(no row)"
_UNLOGGED = "(no entry)"


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


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else f"{text[:77]}..."  # 80: one readable line


class _Entries:
    """The audited entries, keyed by what they describe."""

    def __init__(self, rows: Iterable[tuple[int, bytes]]) -> None:
        self.enacted: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}
        self.repealed: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}
        self.tallied: dict[int, tuple[int, dict[str, Any]]] = {}
        self.verdicts: dict[tuple[int, str], tuple[int, dict[str, Any]]] = {}
        for idx, payload in rows:
            try:
                entry = decode_entry(payload)
            except MalformedEntry:
                continue  # ``verify`` reports it; there is nothing to compare with
            self._add(idx, entry)

    def _add(self, idx: int, entry: DecodedEntry) -> None:
        facts = entry.facts
        try:
            if entry.kind == RULE_ENACTED:
                self.enacted[(str(facts["rule_id"]), int(facts["version"]))] = (idx, facts)
            elif entry.kind == RULE_REPEALED:
                self.repealed[(str(facts["rule_id"]), int(facts["version"]))] = (idx, facts)
            elif entry.kind == TALLIED:
                self.tallied[int(facts["proposal_id"])] = (idx, facts)
            elif entry.kind == VERDICT:
                self.verdicts[(int(facts["case_id"]), str(facts["stage"]))] = (idx, facts)
        except (KeyError, TypeError, ValueError):
            return  # an entry of an unexpected shape describes no row we can compare


def _entries(session: Session, *conditions: Any) -> _Entries:
    query = select(LogEntry.idx, LogEntry.payload).where(LogEntry.kind.in_(AUDITED_KINDS))
    return _Entries(session.execute(query.where(*conditions)).tuples())


def _compare(
    out: list[Mismatch], idx: int | None, table: str, row: str, pairs: dict[str, tuple[Any, Any]]
) -> None:
    for field, (logged, stored) in pairs.items():
        if logged != stored:
            out.append(Mismatch(idx, table, row, field, _show(logged), _show(stored)))


# -- rule versions ---------------------------------------------------------------------------


def _rule_version(
    out: list[Mismatch], entries: _Entries, row: RuleVersionRow, jurisdiction: str | None
) -> None:
    key = f"{row.rule_id} v{row.version}"
    found = entries.enacted.get((row.rule_id, row.version))
    if found is None:
        out.append(Mismatch(None, "rule_versions", key, "*", _UNLOGGED, "a rule version"))
        return
    idx, facts = found
    stored = {
        "title": row.title,
        "text": row.text,
        "harm_category": row.harm_category,
        "ground": row.ground,
        "sanction_cap": row.sanction_cap,
        "max_suspension_days": row.max_suspension_days,
        "covered_examples": json.loads(row.covered_examples),
        "not_covered_examples": json.loads(row.not_covered_examples),
        "effective_from": format_instant(row.effective_from),
        "proposal_id": row.proposal_id,
        "jurisdiction": jurisdiction,
    }
    _compare(out, idx, "rule_versions", key, {k: (facts.get(k), v) for k, v in stored.items()})
    # The end of a version is written later, by a repeal or by the next version's enactment.
    ended_by = entries.repealed.get((row.rule_id, row.version))
    after = entries.enacted.get((row.rule_id, row.version + 1))
    stored_until = None if row.effective_until is None else format_instant(row.effective_until)
    if ended_by is not None:
        logged_until, until_idx = ended_by[1].get("effective_until"), ended_by[0]
    elif after is not None:
        logged_until, until_idx = after[1].get("effective_from"), after[0]
    else:
        logged_until, until_idx = None, idx
    _compare(
        out, until_idx, "rule_versions", key, {"effective_until": (logged_until, stored_until)}
    )


def _rule_rows(session: Session, *conditions: Any) -> list[tuple[RuleVersionRow, str]]:
    query = select(RuleVersionRow, Rule.jurisdiction_code).join(
        Rule, Rule.rule_id == RuleVersionRow.rule_id, isouter=True
    )
    return list(session.execute(query.where(*conditions)).tuples())


def _rules(entries: _Entries, rows: list[tuple[RuleVersionRow, str]]) -> list[Mismatch]:
    out: list[Mismatch] = []
    seen = set()
    for row, jurisdiction in rows:
        seen.add((row.rule_id, row.version))
        _rule_version(out, entries, row, jurisdiction)
    for (rule_id, version), (idx, _facts) in sorted(entries.enacted.items()):
        if (rule_id, version) not in seen:
            key = f"{rule_id} v{version}"
            out.append(Mismatch(idx, "rule_versions", key, "*", "a rule version", _MISSING))
    return out


def rule_mismatches(session: Session, rule_id: str) -> list[Mismatch]:
    """Every difference between one rule's versions and the log (the rule page's warning)."""
    entries = _entries(session, LogEntry.subject_type == "rule", LogEntry.subject_id == rule_id)
    return _rules(entries, _rule_rows(session, RuleVersionRow.rule_id == rule_id))


# -- proposal tallies ------------------------------------------------------------------------


def _tally(out: list[Mismatch], entries: _Entries, session: Session, proposal: Proposal) -> None:
    key = str(proposal.id)
    found = entries.tallied.get(proposal.id)
    if found is None:
        out.append(Mismatch(None, "proposals", key, "tally", _UNLOGGED, "a counted vote"))
        return
    idx, facts = found
    result = facts.get("result") or {}
    adopted = result.get("adopted")
    _compare(
        out,
        idx,
        "proposals",
        key,
        {
            "yes": (result.get("yes"), proposal.yes),
            "no": (result.get("no"), proposal.no),
            "abstain": (result.get("abstain"), proposal.abstain),
            "electorate_size": (result.get("electorate_size"), proposal.electorate_size),
            "status": (
                None if adopted is None else "adopted" if adopted else "rejected",
                proposal.status,
            ),
            "tally_log_index": (idx, proposal.tally_log_index),
        },
    )
    stored = session.execute(
        select(Ballot.receipt, Ballot.choice)
        .where(Ballot.proposal_id == proposal.id)
        .order_by(Ballot.receipt)
    ).all()
    logged = [list(pair) for pair in facts.get("ballots") or []]
    by_receipt = {r: c for r, c in stored}
    for receipt, choice in logged:
        got = by_receipt.pop(receipt, _MISSING)
        if got != choice:
            out.append(
                Mismatch(
                    idx,
                    "ballots",
                    f"{proposal.id}/{receipt[:12]}",
                    "choice",
                    _show(choice),
                    _show(got),
                )
            )
    for receipt, choice in by_receipt.items():
        out.append(
            Mismatch(
                idx, "ballots", f"{proposal.id}/{receipt[:12]}", "choice", _UNLOGGED, _show(choice)
            )
        )


def _tallies(session: Session, entries: _Entries, proposals: list[Proposal]) -> list[Mismatch]:
    out: list[Mismatch] = []
    for proposal in proposals:
        _tally(out, entries, session, proposal)
    counted = {p.id for p in proposals}
    for pid, (idx, _facts) in sorted(entries.tallied.items()):
        if pid not in counted:
            out.append(Mismatch(idx, "proposals", str(pid), "tally", "a counted vote", _MISSING))
    return out


# -- verdicts --------------------------------------------------------------------------------


def _loads(text: str | None) -> dict[str, Any]:
    """A stored JSON object, or {} when it is missing or no longer JSON (itself a mismatch)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _stage_columns(case: Case, stage: str) -> tuple[Any, Any, Any, str | None, str | None]:
    if stage == "appeal":
        return (
            case.appeal_outcome,
            case.appeal_sanction,
            case.appeal_suspension_days,
            case.appeal_verdict,
            case.appeal_statement,
        )
    return case.outcome, case.sanction, case.suspension_days, case.verdict, case.statement


def _ballot_mismatches(
    out: list[Mismatch], idx: int, where: str, logged: Any, stored: list[dict[str, Any]]
) -> None:
    for difference in ballot_differences(logged, stored):
        row = f"{where} ballot {difference.ballot}"
        if difference.field is None:  # a whole ballot: only in the rows, or only logged
            got = (_UNLOGGED, "a ballot") if difference.unlogged else ("a ballot", _MISSING)
            out.append(Mismatch(idx, "case_ballots", row, "*", *got))
        else:
            _compare(
                out,
                idx,
                "case_ballots",
                row,
                {difference.field: (difference.logged, difference.stored)},
            )


def _verdict(
    out: list[Mismatch], entries: _Entries, session: Session, case: Case, stage: str
) -> None:
    key = f"{case.id} ({stage})"
    outcome, sanction, days, verdict_json, statement_json = _stage_columns(case, stage)
    found = entries.verdicts.get((case.id, stage))
    if found is None:
        if verdict_json is not None:
            out.append(Mismatch(None, "cases", key, "verdict", _UNLOGGED, "a verdict"))
        return
    idx, facts = found
    if verdict_json is None:
        out.append(Mismatch(idx, "cases", key, "verdict", "a verdict", _MISSING))
        return
    statement = _loads(statement_json)
    verdict = _loads(verdict_json)
    tally = facts.get("tally") or {}
    digest = hashlib.sha256((statement_json or "").encode()).hexdigest()
    _compare(
        out,
        idx,
        "cases",
        key,
        {
            "outcome": (facts.get("outcome"), outcome),
            "sanction": (facts.get("sanction"), sanction),
            "suspension_days": (facts.get("suspension_days"), days),
            "verdict.outcome": (facts.get("outcome"), verdict.get("outcome")),
            "verdict.ballots_cast": (tally.get("cast"), verdict.get("ballots_cast")),
            "verdict.violation_votes": (tally.get("violation"), verdict.get("violation_votes")),
            "verdict.no_violation_votes": (
                tally.get("no_violation"),
                verdict.get("no_violation_votes"),
            ),
            "statement.tally": (tally, statement.get("tally")),
            "statement (SHA-256)": (facts.get("statement_sha256"), digest),
        },
    )
    stored = stored_ballots(session, case.id, stage)
    _ballot_mismatches(out, idx, f"{case.id} ({stage})", facts.get("ballots") or [], stored)


def _verdicts(session: Session, entries: _Entries, cases: list[Case]) -> list[Mismatch]:
    out: list[Mismatch] = []
    for case in cases:
        for stage in STAGES:
            _verdict(out, entries, session, case, stage)
    present = {c.id for c in cases}
    for (case_id, stage), (idx, _facts) in sorted(entries.verdicts.items()):
        if case_id not in present:
            out.append(Mismatch(idx, "cases", f"{case_id} ({stage})", "*", "a case", _MISSING))
    return out


def case_mismatches(session: Session, case_id: int) -> list[Mismatch]:
    """Every difference between one case's verdicts and the log (the case page's warning)."""
    entries = _entries(
        session, LogEntry.subject_type == "case", LogEntry.subject_id == str(case_id)
    )
    return _verdicts(
        session, entries, list(session.scalars(select(Case).where(Case.id == case_id)))
    )


# -- everything ------------------------------------------------------------------------------


def audit_state(session: Session) -> Iterator[Mismatch]:
    """Every difference between the rule, tally and verdict tables and the log."""
    entries = _entries(session)
    yield from _rules(entries, _rule_rows(session))
    tallied = select(Proposal).where(Proposal.tallied_at.is_not(None)).order_by(Proposal.id)
    yield from _tallies(session, entries, list(session.scalars(tallied)))
    yield from _verdicts(session, entries, list(session.scalars(select(Case).order_by(Case.id))))
