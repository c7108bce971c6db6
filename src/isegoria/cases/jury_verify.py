"""Re-run a jury draw from public data alone and check it gives the published jury.

The evidence is public: the draw record (pool of per-case pseudonyms by strata profile, in
its published order; quotas; portfolio; seed), the ``JuryDrawn`` log entry, and the signed
checkpoint whose root seeded the lottery. A verifier checks the checkpoint's signature, that
the seed is derived from its root and the case, that the portfolio meets the quotas (parsing
re-checks every composition), that the volunteers it lists as unseatable truly cannot be
seated under the quotas and that nobody else is left without a chance, that the pool, its
exclusions (people who may not sit on this case, left in the pool so the lottery is the
jurisdiction's) and the portfolio match the digests in the log entry, and that the draw run
again yields exactly the jurors the log names. The published seats must be those jurors,
and the replacements those the ``JurorsReplaced`` entries name. On the instance, while the
jury is open, each seat's account must be the one behind its pseudonym under the jury's own
key (``check_seat_holders``); once it closed the key is erased (ballot secrecy) and nobody
can make that check any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from isegoria.algorithms import checkpoint, sortition
from isegoria.cases.common import seat_pseudonym
from isegoria.store.models_cases import Juror, Jury
from isegoria.unit_of_work import UnitOfWork


class JuryVerificationError(Exception):
    """The published jury does not follow from the published inputs."""


@dataclass(frozen=True)
class DrawEvidence:
    """Everything public about one draw."""

    case_id: int
    stage: str
    record: dict[str, Any]  # GET /api/v1/cases/{id}/juries/{stage}
    drawn: dict[str, Any]  # the facts of the JuryDrawn log entry
    checkpoint_note: str  # the signed checkpoint at the seed size
    replaced: tuple[dict[str, Any], ...] = ()  # the facts of its JurorsReplaced entries


@dataclass(frozen=True)
class VerifiedDraw:
    """A draw that checks out."""

    jurors: tuple[str, ...]
    pool_size: int
    seed: str
    min_probability: str
    # Issue 16: one sentence per strata profile no quota-satisfying jury can seat.
    cannot_be_seated: tuple[str, ...] = ()


def pool_from_record(record: dict[str, Any]) -> sortition.JuryPool:
    """Rebuild the published pool of a draw."""
    return sortition.JuryPool(
        record["strata"], {tuple(p["profile"]): p["members"] for p in record["profiles"]}
    )


def verify_draw(evidence: DrawEvidence, verifier_key: str) -> VerifiedDraw:
    """Re-run the draw; raise JuryVerificationError naming the first thing that differs."""
    record, drawn = evidence.record, evidence.drawn
    try:
        head = checkpoint.open_signed_note(evidence.checkpoint_note, [verifier_key])
    except checkpoint.NoteError as error:
        raise JuryVerificationError(f"the seed checkpoint does not verify: {error}") from None
    if head.size != record["seed_checkpoint_size"]:
        raise JuryVerificationError(
            f"the checkpoint is for size {head.size}, "
            f"the draw names {record['seed_checkpoint_size']}"
        )
    seed = sortition.derive_seed(
        head.root_hash, f"case:{evidence.case_id}", evidence.stage, "round:0"
    )
    if seed.hex() != record["seed"] or seed.hex() != drawn["seed"]:
        raise JuryVerificationError(
            "the seed is not the one derived from the checkpoint root and the case"
        )
    try:
        portfolio = sortition.Portfolio.from_json_dict(record["portfolio"])
        pool = pool_from_record(record["pool"])
    except (sortition.SortitionError, KeyError, TypeError, ValueError) as error:
        raise JuryVerificationError(
            f"the published portfolio or pool is invalid: {error}"
        ) from None
    if portfolio.digest.hex() != drawn["portfolio_digest"]:
        raise JuryVerificationError("the portfolio differs from the one the log committed to")
    try:
        sortition.audit_unseatable(portfolio)
    except sortition.SortitionError as error:
        raise JuryVerificationError(f"the lottery's seatability claim is wrong: {error}") from None
    if pool.digest().hex() != drawn["pool_digest"]:
        raise JuryVerificationError("the pool differs from the one the log committed to")
    excluded = _exclusions(record["pool"], drawn)
    try:
        result = sortition.draw_jury(portfolio, pool, seed, exclude=excluded)
    except sortition.SortitionError as error:
        raise JuryVerificationError(f"the published draw cannot be re-run: {error}") from None
    jurors = tuple(sorted(result.members))
    if list(jurors) != sorted(drawn["jurors"]):
        raise JuryVerificationError(
            f"re-running the draw gives {list(jurors)}, the log names {sorted(drawn['jurors'])}"
        )
    _check_seats(record, drawn, evidence.replaced)
    report = sortition.selection_report(portfolio, pool)
    return VerifiedDraw(
        jurors,
        sum(pool.sizes),
        seed.hex(),
        str(report.min_probability),
        tuple(u.describe() for u in portfolio.unseatable),
    )


def _check_seats(
    record: dict[str, Any], drawn: dict[str, Any], replaced: tuple[dict[str, Any], ...]
) -> None:
    """The published seats must be the jurors the log drew, and the replacements it names."""
    seated, logged = sorted(record.get("jurors", [])), sorted(drawn["jurors"])
    if seated != logged:
        raise JuryVerificationError(
            f"the jury's seats name {seated}, but the log drew {logged}: a seat was changed"
        )
    if "replacements" not in record:
        return  # an instance that does not publish its replacements yet
    stored = sorted((str(r.get("replaces")), str(r.get("juror"))) for r in record["replacements"])
    named = sorted(
        (str(old), str(new))
        for facts in replaced
        for old, new in zip(facts.get("replaced", []), facts.get("replacements", []), strict=False)
    )
    if stored != named:
        raise JuryVerificationError(
            f"the jury's replacement seats (replaced, replacement) are {stored}, but the log "
            f"names {named}: a seat was changed"
        )


def check_seat_holders(uow: UnitOfWork, case_id: int, stage: str) -> int | None:
    """On the instance: each seated account must be the one behind its seat's pseudonym.

    An account swapped into a seat keeps the seat's public pseudonym, so only the jury's
    pseudonym key can see it. That key is erased when the jury closes (ballot secrecy): a
    closed jury cannot be checked and gives None. Otherwise, the number of seats checked.
    """
    jury = uow.session.scalars(
        select(Jury).where(Jury.case_id == case_id, Jury.stage == stage)
    ).first()
    if jury is None or jury.closed:
        return None
    seats = uow.session.execute(
        select(Juror.pseudonym, Juror.account_id).where(Juror.jury_id == jury.id).order_by(Juror.id)
    ).tuples()
    checked = 0
    for pseudonym, account in seats:
        if account is None:
            continue
        if seat_pseudonym(uow.secret, jury, account) != pseudonym:
            raise JuryVerificationError(
                f"seat {pseudonym} is held by account {account}, which is not the account "
                "behind that pseudonym: an account was swapped into the seat"
            )
        checked += 1
    return checked


def _exclusions(pool_record: dict[str, Any], drawn: dict[str, Any]) -> list[str]:
    """The pool members the draw excluded, checked against the digest the log committed to."""
    excluded = pool_record.get("excluded", [])
    if not isinstance(excluded, list) or not all(isinstance(e, str) for e in excluded):
        raise JuryVerificationError("the published exclusions are not a list of pseudonyms")
    committed = drawn.get("exclusions_digest", "")
    if not committed:  # drawn before exclusions were published: nobody was excluded inside
        if excluded:
            raise JuryVerificationError("the log committed to no exclusions, the record has some")
        return []
    if sortition.list_digest(excluded).hex() != committed:
        raise JuryVerificationError("the exclusions differ from the ones the log committed to")
    return excluded


def fetch_evidence(url: str, case_id: int, stage: str, client: httpx.Client) -> DrawEvidence:
    """Gather the evidence of a draw from an instance's public API."""
    base = url.rstrip("/") + "/api/v1"

    def get(path: str, missing: str | None = None, **params: Any) -> Any:
        response = client.get(base + path, params=params or None)
        if response.status_code == 404 and missing is not None:
            raise JuryVerificationError(missing)
        if response.status_code != 200:
            raise JuryVerificationError(f"{base}{path} answered HTTP {response.status_code}")
        return response.json()

    case = get(f"/cases/{case_id}", missing=f"{url} has no case {case_id}")
    record = get(f"/cases/{case_id}/juries/{stage}", missing=f"case {case_id} has no {stage} jury")
    drawn = next(
        (
            item["facts"]
            for item in case["timeline"]
            if item["kind"] == "JuryDrawn" and item["facts"].get("stage") == stage
        ),
        None,
    )
    replaced = tuple(
        item["facts"]
        for item in case["timeline"]
        if item["kind"] == "JurorsReplaced" and item["facts"].get("stage") == stage
    )
    if drawn is None:
        raise JuryVerificationError(f"case {case_id} has no JuryDrawn entry for {stage}")
    page = get("/log/checkpoints", start_size=record["seed_checkpoint_size"], limit=1)
    rows = page["checkpoints"]
    if not rows or rows[0]["size"] != record["seed_checkpoint_size"]:
        raise JuryVerificationError("the seed checkpoint is not published")
    return DrawEvidence(case_id, stage, record, drawn, rows[0]["note"], replaced)
