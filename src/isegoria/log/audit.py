"""State audit: do the domain tables still say what the log recorded?

The log proves its own history (``log.verify``), but verdicts, tallies, rule texts, jury
seats and the decisions platforms apply are also kept in ordinary tables that the pages
and the API read. An operator with database access could edit those rows and leave the log
alone. This module recomputes, from the rows, the facts each log entry recorded when the
row was written and compares them field by field:

* a rule version (``rule_versions``) with its ``RuleVersionEnacted`` entry, and its end
  (``effective_until``) with the ``RuleRepealed`` entry or the next version's start;
* a counted proposal (``proposals`` and ``ballots``) with its ``ProposalTallied`` entry;
* a constitution version (``constitution_versions``) with its ``ConstitutionChanged`` entry;
* juries, their seats, ballots and the verdict columns of ``cases`` (``log.audit_juries``);
* the decisions platforms apply (``log.audit_decisions``).

A row that an entry describes but that is gone, and a row that no entry describes, are
mismatches too. The audit trusts the entries, so run it after ``verify`` has checked them
(``log.verify.verify_instance`` does both). docs/security.md tabulates every table's cover.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from isegoria.log.audit_base import (
    MISSING,
    UNLOGGED,
    Entries,
    Mismatch,
    compare,
    load_entries,
    loads,
    show,
)
from isegoria.log.audit_decisions import decision_mismatches
from isegoria.log.audit_juries import SeatHolder, jury_mismatches
from isegoria.log.entries import format_instant
from isegoria.store.models import (
    Ballot,
    ConstitutionVersion,
    LogEntry,
    Proposal,
    Rule,
    RuleVersionRow,
)
from isegoria.store.models_cases import Case, DecisionRow

__all__ = [
    "Mismatch",
    "SeatHolder",
    "audit_state",
    "case_mismatches",
    "rule_mismatches",
]


# -- rule versions ---------------------------------------------------------------------------


def _rule_version(
    out: list[Mismatch], entries: Entries, row: RuleVersionRow, jurisdiction: str | None
) -> None:
    key = f"{row.rule_id} v{row.version}"
    found = entries.enacted.get((row.rule_id, row.version))
    if found is None:
        out.append(Mismatch(None, "rule_versions", key, "*", UNLOGGED, "a rule version"))
        return
    idx, facts = found.idx, found.facts
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
    compare(out, idx, "rule_versions", key, {k: (facts.get(k), v) for k, v in stored.items()})
    # The end of a version is written later, by a repeal or by the next version's enactment.
    ended_by = entries.repealed.get((row.rule_id, row.version))
    after = entries.enacted.get((row.rule_id, row.version + 1))
    stored_until = None if row.effective_until is None else format_instant(row.effective_until)
    if ended_by is not None:
        logged_until, until_idx = ended_by.facts.get("effective_until"), ended_by.idx
    elif after is not None:
        logged_until, until_idx = after.facts.get("effective_from"), after.idx
    else:
        logged_until, until_idx = None, idx
    compare(out, until_idx, "rule_versions", key, {"effective_until": (logged_until, stored_until)})


def _rule_rows(session: Session, *conditions: Any) -> list[tuple[RuleVersionRow, str]]:
    query = select(RuleVersionRow, Rule.jurisdiction_code).join(
        Rule, Rule.rule_id == RuleVersionRow.rule_id, isouter=True
    )
    return list(session.execute(query.where(*conditions)).tuples())


def _rules(entries: Entries, rows: list[tuple[RuleVersionRow, str]]) -> list[Mismatch]:
    out: list[Mismatch] = []
    seen = set()
    for row, jurisdiction in rows:
        seen.add((row.rule_id, row.version))
        _rule_version(out, entries, row, jurisdiction)
    for (rule_id, version), logged in sorted(entries.enacted.items()):
        if (rule_id, version) not in seen:
            key = f"{rule_id} v{version}"
            out.append(Mismatch(logged.idx, "rule_versions", key, "*", "a rule version", MISSING))
    return out


def rule_mismatches(session: Session, rule_id: str) -> list[Mismatch]:
    """Every difference between one rule's versions and the log (the rule page's warning)."""
    entries = load_entries(session, LogEntry.subject_type == "rule", LogEntry.subject_id == rule_id)
    return _rules(entries, _rule_rows(session, RuleVersionRow.rule_id == rule_id))


# -- proposal tallies ------------------------------------------------------------------------


def _tally(out: list[Mismatch], entries: Entries, session: Session, proposal: Proposal) -> None:
    key = str(proposal.id)
    found = entries.tallied.get(proposal.id)
    if found is None:
        out.append(Mismatch(None, "proposals", key, "tally", UNLOGGED, "a counted vote"))
        return
    idx, facts = found.idx, found.facts
    result = facts.get("result") or {}
    adopted = result.get("adopted")
    compare(
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
        got = by_receipt.pop(receipt, MISSING)
        if got != choice:
            out.append(
                Mismatch(
                    idx,
                    "ballots",
                    f"{proposal.id}/{receipt[:12]}",
                    "choice",
                    show(choice),
                    show(got),
                )
            )
    for receipt, choice in by_receipt.items():
        out.append(
            Mismatch(
                idx, "ballots", f"{proposal.id}/{receipt[:12]}", "choice", UNLOGGED, show(choice)
            )
        )


def _tallies(session: Session, entries: Entries, proposals: list[Proposal]) -> list[Mismatch]:
    out: list[Mismatch] = []
    for proposal in proposals:
        _tally(out, entries, session, proposal)
    counted = {p.id for p in proposals}
    for pid, logged in sorted(entries.tallied.items()):
        if pid not in counted:
            out.append(
                Mismatch(logged.idx, "proposals", str(pid), "tally", "a counted vote", MISSING)
            )
    return out


# -- constitutions ---------------------------------------------------------------------------


def _constitutions(session: Session, entries: Entries) -> list[Mismatch]:
    """Each constitution version against the ``ConstitutionChanged`` entry that adopted it."""
    out: list[Mismatch] = []
    seen = set()
    for row in session.scalars(select(ConstitutionVersion)):
        key = (row.jurisdiction_code, row.version)
        seen.add(key)
        name = f"{row.jurisdiction_code} v{row.version}"
        found = entries.constitutions.get(key)
        if found is None:
            out.append(Mismatch(None, "constitution_versions", name, "*", UNLOGGED, "a version"))
            continue
        facts = found.facts
        stored: dict[str, tuple[Any, Any]] = {
            "params": (facts.get("constitution"), loads(row.params)),
            "effective_from": (facts.get("effective_from"), format_instant(row.effective_from)),
            "proposal_id": (facts.get("proposal_id"), row.proposal_id),
        }
        compare(out, found.idx, "constitution_versions", name, stored)
    for (code, version), logged in sorted(entries.constitutions.items()):
        if (code, version) not in seen:
            name = f"{code} v{version}"
            out.append(
                Mismatch(logged.idx, "constitution_versions", name, "*", "a version", MISSING)
            )
    return out


# -- cases ----------------------------------------------------------------------------------


def case_mismatches(session: Session, case_id: int) -> list[Mismatch]:
    """Every difference between one case's juries, verdicts, decisions and the log (its page)."""
    decisions = [
        str(d)
        for d in session.scalars(select(DecisionRow.id).where(DecisionRow.case_id == case_id))
    ]
    case_entries = load_entries(
        session, LogEntry.subject_type == "case", LogEntry.subject_id == str(case_id)
    )
    decision_entries = load_entries(
        session, LogEntry.subject_type == "decision", LogEntry.subject_id.in_(decisions)
    )
    entries = _merged(case_entries, decision_entries)
    cases = list(session.scalars(select(Case).where(Case.id == case_id)))
    return jury_mismatches(session, entries, cases, case_id=case_id) + decision_mismatches(
        session, entries, case_id=case_id
    )


def _merged(first: Entries, second: Entries) -> Entries:
    """The case's own entries with those about its decisions (confirmations, notes' issues)."""
    first.issued.update(second.issued)
    first.confirmed.update(second.confirmed)
    return first


# -- everything ------------------------------------------------------------------------------


def audit_state(session: Session, *, holder: SeatHolder | None = None) -> Iterator[Mismatch]:
    """Every difference between the audited tables and the log.

    ``holder``: with the instance secret, who may sit in a seat (see ``log.audit_juries``).
    """
    entries = load_entries(session)
    yield from _rules(entries, _rule_rows(session))
    tallied = select(Proposal).where(Proposal.tallied_at.is_not(None)).order_by(Proposal.id)
    yield from _tallies(session, entries, list(session.scalars(tallied)))
    yield from _constitutions(session, entries)
    cases = list(session.scalars(select(Case).order_by(Case.id)))
    yield from jury_mismatches(session, entries, cases, holder=holder)
    yield from decision_mismatches(session, entries)
