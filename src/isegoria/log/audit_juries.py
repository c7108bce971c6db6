"""State audit of juries: the draw's public inputs, who sits in each seat, ballots, verdicts.

Each jury row must hold the inputs its ``JuryDrawn`` entry committed to (seed, size, quotas,
and the portfolio, pool and exclusions by their digests). Its seats must be exactly the
jurors the entries name: those ``JuryDrawn`` drew and those each ``JurorsReplaced`` brought
in for the seat it names; a seat's status must follow its ``JurorReplied`` and
``BallotCast`` entries. While a jury is open, the account in each seat must be the one
behind the seat's pseudonym under the jury's own key (``SeatHolder``): an account swapped
into a seat keeps the seat's public name, so only the keyed check can see it. Closing the
jury erases that key (ballot secrecy), so a closed jury's seat holders cannot be checked by
anyone, the instance included; their pseudonyms and replacements still are.

Ballots are sealed until the jury closes and name no juror: until then the jury's ballot
rows must be as many as its ``BallotCast`` entries, and afterwards each ballot, found by its
receipt, must match the entry that published it (``log.audit_ballots``; entries written
before receipts are compared as a multiset of votes).
That entry is ``VerdictReached`` for the stage, except in a consistency retrial, where each
jury's ballots are those ``ConsistencyRetrialSettled`` lists for its side (the verdict that
stands lists the standing jury's ballots under the stage "first", whichever jury that was).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from isegoria.algorithms import sortition
from isegoria.log.audit_ballots import ballot_differences, published_ballot
from isegoria.log.audit_base import (
    MISSING,
    UNLOGGED,
    Entries,
    Key,
    Mismatch,
    compare,
    loads,
    show,
)
from isegoria.store.models_cases import Case, CaseBallot, Juror, Jury

STAGES = ("first", "appeal")  # the stages a case's own verdict columns hold
FIRST, RETRIAL = "first", "retrial"
# (jury, account id) -> the pseudonym that account holds on that jury, or None when it can no
# longer be recomputed: closing a jury erases its pseudonym key (ballot secrecy).
SeatHolder = Callable[[Jury, int], "str | None"]
_STATUS_BY_REPLY = {True: "accepted", False: "declined"}


def _seat_row(key: Key, juror: str) -> str:
    return f"{key[0]} ({key[1]}) juror {juror}"


# -- the draw ---------------------------------------------------------------------------------


def _digests(jury: Jury) -> tuple[str, str, str]:
    """The portfolio, pool and exclusions digests of the stored draw ("unreadable" if not)."""
    try:
        portfolio = sortition.Portfolio.from_json_dict(json.loads(jury.portfolio))
        digest = portfolio.digest
        portfolio_digest = digest.hex() if isinstance(digest, bytes) else str(digest)
    except (sortition.SortitionError, KeyError, TypeError, ValueError):
        portfolio_digest = "unreadable"
    record = loads(jury.pool)
    try:
        pool = sortition.JuryPool(
            record["strata"], {tuple(p["profile"]): p["members"] for p in record["profiles"]}
        )
        pool_digest = pool.digest().hex()
        excluded = sortition.list_digest(list(record.get("excluded", []))).hex()
    except (sortition.SortitionError, KeyError, TypeError, ValueError):
        pool_digest = excluded = "unreadable"
    return portfolio_digest, pool_digest, excluded


def _jury(out: list[Mismatch], entries: Entries, key: Key, jury: Jury, covered: bool) -> None:
    row = f"{key[0]} ({key[1]})"
    drawn = entries.drawn.get(key)
    if drawn is None:
        out.append(Mismatch(None, "juries", row, "*", UNLOGGED, "a jury"))
        return
    facts = drawn.facts
    portfolio, pool, excluded = _digests(jury)
    logged_excluded = facts.get("exclusions_digest") or sortition.list_digest([]).hex()
    compare(
        out,
        drawn.idx,
        "juries",
        row,
        {
            "size": (facts.get("size"), jury.size),
            "seed_checkpoint_size": (facts.get("seed_checkpoint_size"), jury.seed_checkpoint_size),
            "seed": (facts.get("seed"), jury.seed),
            "quotas": (facts.get("quotas"), loads(jury.quotas)),
            "portfolio (digest)": (facts.get("portfolio_digest"), portfolio),
            "pool (digest)": (facts.get("pool_digest"), pool),
            "pool excluded (digest)": (logged_excluded, excluded),
        },
    )
    rounds = entries.replaced.get(key, [])
    last = rounds[-1].idx if rounds else drawn.idx
    compare(out, last, "juries", row, {"rounds": (len(rounds), jury.rounds)})
    if covered and not jury.closed:
        out.append(Mismatch(_cover(entries, key)[0], "juries", row, "closed", "true", "false"))


# -- the seats --------------------------------------------------------------------------------


def _logged_seats(entries: Entries, key: Key) -> dict[str, tuple[str | None, int]]:
    """Each logged juror's pseudonym -> (whom they replaced, the entry naming them)."""
    drawn = entries.drawn.get(key)
    seats: dict[str, tuple[str | None, int]] = {}
    if drawn is not None:
        seats.update((str(j), (None, drawn.idx)) for j in drawn.facts.get("jurors") or [])
    for logged in entries.replaced.get(key, []):
        old = logged.facts.get("replaced") or []
        new = logged.facts.get("replacements") or []
        seats.update((str(n), (str(o), logged.idx)) for o, n in zip(old, new, strict=False))
    return seats


def _expected_status(entries: Entries, key: Key, juror: str) -> tuple[set[str], int | None]:
    cast = entries.cast.get((*key, juror))
    if cast is not None:
        return {"voted"}, cast.idx
    replied = entries.replied.get((*key, juror))
    if replied is not None:
        return {_STATUS_BY_REPLY[bool(replied.facts.get("accepted"))]}, replied.idx
    return {"summoned", "no_show"}, None  # a missed reply deadline is not logged on its own


def _seats(
    out: list[Mismatch],
    entries: Entries,
    key: Key,
    jurors: list[Juror],
    holder: Callable[[int], str | None] | None,
) -> None:
    logged = _logged_seats(entries, key)
    name_of = {j.id: j.pseudonym for j in jurors}
    seen: set[str] = set()
    for juror in jurors:
        row = _seat_row(key, juror.pseudonym)
        found = logged.get(juror.pseudonym)
        if found is None or juror.pseudonym in seen:
            out.append(Mismatch(None, "jurors", row, "*", UNLOGGED, "a seat"))
            continue
        seen.add(juror.pseudonym)
        replaced, idx = found
        stored_replaces = None if juror.replaces is None else name_of.get(juror.replaces, MISSING)
        compare(out, idx, "jurors", row, {"replaces": (replaced, stored_replaces)})
        allowed, status_idx = _expected_status(entries, key, juror.pseudonym)
        if juror.status not in allowed:
            logged_status = " or ".join(sorted(allowed))
            out.append(
                Mismatch(
                    status_idx or idx, "jurors", row, "status", logged_status, show(juror.status)
                )
            )
        # Once the jury closed its key is erased: the holder gives None and nothing is checked.
        account = juror.account_id
        expected = holder(account) if holder is not None and account is not None else None
        if expected is not None:
            if expected != juror.pseudonym:
                out.append(
                    Mismatch(
                        idx,
                        "jurors",
                        row,
                        "account_id",
                        f"the account behind {juror.pseudonym}",
                        f"account {account}, which is not",
                    )
                )
    for juror_name in sorted(set(logged) - seen):
        row = _seat_row(key, juror_name)
        out.append(Mismatch(logged[juror_name][1], "jurors", row, "*", "a seat", MISSING))


# -- the ballots ------------------------------------------------------------------------------


def _cover(entries: Entries, key: Key) -> tuple[int | None, list[Any] | None]:
    """The entry that published this jury's ballots, and the ballots it lists (None: sealed)."""
    case_id, stage = key
    settled = entries.settled.get(case_id)
    if settled is not None and stage in (FIRST, RETRIAL):
        side = settled.facts.get(stage)
        ballots = side.get("ballots") if isinstance(side, dict) else None
        return settled.idx, list(ballots or [])
    if stage == RETRIAL:
        return None, None
    verdict = entries.verdicts.get(key)
    if verdict is None:
        return None, None
    return verdict.idx, list(verdict.facts.get("ballots") or [])


def _ballots(
    out: list[Mismatch], entries: Entries, key: Key, ballots: list[dict[str, Any]]
) -> None:
    idx, published = _cover(entries, key)
    where = f"{key[0]} ({key[1]})"
    if published is None:
        # Sealed: a ballot names no juror, so only how many were cast can be compared (one
        # ``BallotCast`` entry per ballot, naming the seat that voted, never the ballot).
        cast = [e.idx for (c, s, _j), e in entries.cast.items() if (c, s) == key]
        if len(cast) != len(ballots):
            last = max(cast) if cast else None
            out.append(
                Mismatch(
                    last,
                    "case_ballots",
                    f"{where} sealed ballots",
                    "count",
                    show(len(cast)),
                    show(len(ballots)),
                )
            )
        return
    for difference in ballot_differences(published, ballots):
        row = f"{where} ballot {difference.ballot}"
        if difference.field is None:  # a whole ballot: only in the rows, or only logged
            got = (UNLOGGED, "a ballot") if difference.unlogged else ("a ballot", MISSING)
            out.append(Mismatch(idx, "case_ballots", row, "*", *got))
        else:
            pair = (difference.logged, difference.stored)
            compare(out, idx, "case_ballots", row, {difference.field: pair})


# -- the verdict columns of a case ------------------------------------------------------------


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


def _verdict(out: list[Mismatch], entries: Entries, case: Case, stage: str) -> None:
    key = f"{case.id} ({stage})"
    outcome, sanction, days, verdict_json, statement_json = _stage_columns(case, stage)
    found = entries.verdicts.get((case.id, stage))
    if found is None:  # undecided at this stage: nothing may claim otherwise
        columns = {"outcome": outcome, "sanction": sanction, "suspension_days": days}
        columns |= {"verdict": verdict_json, "statement": statement_json}
        for name, value in columns.items():
            if value is not None:
                out.append(Mismatch(None, "cases", key, name, UNLOGGED, show(value)))
        return
    idx, facts = found.idx, found.facts
    if verdict_json is None:
        out.append(Mismatch(idx, "cases", key, "verdict", "a verdict", MISSING))
        return
    statement = loads(statement_json)
    verdict = loads(verdict_json)
    tally = facts.get("tally") or {}
    digest = hashlib.sha256((statement_json or "").encode()).hexdigest()
    compare(
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


# -- everything about juries, for some cases or all -------------------------------------------


def _rows(
    session: Session, case_id: int | None
) -> tuple[dict[Key, Jury], dict[Key, list[Juror]], dict[Key, list[dict[str, Any]]]]:
    """The juries, their seats and their ballots (in receipt order), per (case, stage)."""
    where = () if case_id is None else (Jury.case_id == case_id,)
    juries = {(j.case_id, j.stage): j for j in session.scalars(select(Jury).where(*where))}
    key_of = {j.id: key for key, j in juries.items()}
    seats: dict[Key, list[Juror]] = defaultdict(list)
    jurors = select(Juror).join(Jury, Jury.id == Juror.jury_id).where(*where).order_by(Juror.id)
    for juror in session.scalars(jurors):
        seats[key_of[juror.jury_id]].append(juror)
    ballots: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    # A ballot names no juror (ballot secrecy): it is matched by its receipt.
    query = (
        select(CaseBallot)
        .join(Jury, Jury.id == CaseBallot.jury_id)
        .where(*where)
        .order_by(CaseBallot.receipt)
    )
    for ballot in session.scalars(query):
        ballots[key_of[ballot.jury_id]].append(published_ballot(ballot))
    return juries, seats, ballots


def jury_mismatches(
    session: Session,
    entries: Entries,
    cases: list[Case],
    *,
    case_id: int | None = None,
    holder: SeatHolder | None = None,
) -> list[Mismatch]:
    """Every difference between juries, seats, ballots and verdict columns and the log."""
    out: list[Mismatch] = []
    juries, seats, ballots = _rows(session, case_id)
    keys = set(juries) | set(entries.drawn)
    for key in sorted(keys):
        jury = juries.get(key)
        if jury is None:
            drawn = entries.drawn[key]
            out.append(
                Mismatch(drawn.idx, "juries", f"{key[0]} ({key[1]})", "*", "a jury", MISSING)
            )
        else:
            _jury(out, entries, key, jury, covered=_cover(entries, key)[1] is not None)
        seat_holder = None if jury is None or holder is None else functools.partial(holder, jury)
        _seats(out, entries, key, seats.get(key, []), seat_holder)
        _ballots(out, entries, key, ballots.get(key, []))
    for case in cases:
        for stage in STAGES:
            _verdict(out, entries, case, stage)
    present = {c.id for c in cases}
    for (verdict_case, stage), logged in sorted(entries.verdicts.items()):
        if verdict_case not in present:
            row = f"{verdict_case} ({stage})"
            out.append(Mismatch(logged.idx, "cases", row, "*", "a case", MISSING))
    return out
