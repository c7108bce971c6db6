"""Drawing juries by lot, verifiably, and keeping their seats filled.

The pool is every citizen of the rule's jurisdiction (sub-jurisdictions included) who
opted in to jury service and is under their service load; quotas come from the strata
shares of the whole citizenry. The seed is the root of the first signed checkpoint that
contains the case-opening (or appeal) entry, so the operator cannot know it before the case
is public. The pool (per-case pseudonyms, grouped by strata profile, in a published order),
the quotas, the portfolio and the seed are stored with the jury and published, so anyone
can re-run the draw (``isegoria jury verify``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from fractions import Fraction
from typing import TypeVar

from sqlalchemy import bindparam, select

from isegoria.algorithms import sortition
from isegoria.cases.common import (
    APPEAL,
    FIRST,
    RETRIAL,
    case_constitution,
    get_case,
    get_jury,
    juror_pseudonyms,
    new_pseudonym_key,
)
from isegoria.cases.lottery import (
    _draw_with_fallback,
    _seed_checkpoint,
    volunteer_register,
)
from isegoria.cases.retrial import selected_for_retrial
from isegoria.cases.verdict import TOO_FEW_VOLUNTEERS, lapse_without_jury
from isegoria.domain.case_events import JurorReplied, JuryDrawn
from isegoria.domain.states import JurorStatus
from isegoria.errors import Conflict, Forbidden, NotFound
from isegoria.jobs import queue as jobs
from isegoria.notifications import hooks as notification_hooks
from isegoria.store.models_cases import Case, Juror, Jury
from isegoria.unit_of_work import UnitOfWork

JOB_REPLY_DEADLINE = "cases.reply_deadline"
JOB_REPLACE = "cases.replace_jurors"
JOB_BALLOT_DEADLINE = "cases.ballot_deadline"
MAX_REPLACEMENT_ROUNDS = 3
T = TypeVar("T")  # a seat, as each caller loads it
# A preparation draws once to learn which lotteries the draw needs; its jury is thrown away.
_NO_SEED = sortition.derive_seed("preparation")


def draw_jury(uow: UnitOfWork, case_id: int, stage: str, after_index: int) -> Jury | None:
    """Draw the jury of a case's stage (idempotent); None when too few citizens can serve."""
    existing = get_jury(uow, case_id, stage)
    if existing is not None:
        return existing
    case = get_case(uow, case_id, lock=True)
    constitution = case_constitution(uow, case)
    size = constitution.effective_appeal_jury_size if stage == APPEAL else constitution.jury_size
    now = uow.now()
    register = volunteer_register(uow, case, constitution)
    strata, shares = register.strata, register.shares
    pseudonym_key = new_pseudonym_key(uow)  # erased when the jury closes (cases/secrecy.py)
    names = juror_pseudonyms(
        bytes.fromhex(pseudonym_key), case_id, stage, (a for a, _ in register.volunteers)
    )
    members: dict[tuple[str, ...], list[str]] = defaultdict(list)
    account_of: dict[str, int] = {}
    excluded: list[str] = []
    for (account, profile), name in zip(register.volunteers, names, strict=True):
        members[profile].append(name)
        account_of[name] = account
        if account in register.barred:
            excluded.append(name)  # in the pool, so the lottery stays the cached one
    excluded.sort()
    checkpoint = _seed_checkpoint(uow, after_index)
    seed = sortition.derive_seed(checkpoint.root_hash, f"case:{case_id}", stage, "round:0")
    try:
        if len(account_of) - len(excluded) < size:
            raise sortition.PoolTooSmallError(
                f"{len(account_of) - len(excluded)} eligible volunteers for a jury of {size}"
            )
        lottery = _draw_with_fallback(
            sortition.JuryPool(strata, members), excluded, strata, shares, size, seed
        )
    except sortition.SortitionError:
        if stage == RETRIAL:
            return None  # no second jury to be had: the case is simply tried once
        lapse_without_jury(uow, case, stage, reason=TOO_FEW_VOLUNTEERS)
        return None
    pool, portfolio, drawn = lottery.pool, lottery.portfolio, lottery.drawn
    quotas, used = lottery.quotas, lottery.strata_used
    report = sortition.selection_report(portfolio, pool)
    pool_record = {
        "strata": list(pool.strata),
        "profiles": [
            {"profile": list(p), "members": list(m)}
            for p, m in zip(pool.profiles, pool.members, strict=True)
        ],
        "excluded": lottery.excluded,
    }
    jury = Jury(
        case_id=case_id,
        stage=stage,
        size=size,
        drawn_at=now,
        reply_deadline=now + constitution.juror_reply_deadline,
        ballot_deadline=now + constitution.juror_reply_deadline + constitution.ballot_deadline,
        seed_checkpoint_size=checkpoint.size,
        seed=seed.hex(),
        quotas=json.dumps({"strata_used": used, "quotas": quotas}, sort_keys=True),
        portfolio=json.dumps(portfolio.to_json_dict(), sort_keys=True),
        pool=json.dumps(pool_record, sort_keys=True, ensure_ascii=False),
        pseudonym_key=pseudonym_key,
    )
    uow.session.add(jury)
    uow.session.flush()
    for name in drawn.members:
        uow.session.add(
            Juror(
                jury_id=jury.id,
                account_id=account_of[name],
                pseudonym=name,
                status=JurorStatus.SUMMONED,
                summoned_at=now,
            )
        )
    uow.log.append(
        JuryDrawn(
            case_id=case_id,
            stage=stage,
            size=size,
            seed_checkpoint_size=checkpoint.size,
            seed_root=checkpoint.root_hash.hex(),
            seed=seed.hex(),
            quotas={"strata_used": used, "quotas": quotas},
            portfolio_digest=portfolio.digest.hex()
            if isinstance(portfolio.digest, bytes)
            else str(portfolio.digest),
            pool_digest=pool.digest().hex(),
            pool_size=sum(pool.sizes),
            excluded=len(excluded),
            jurors=sorted(drawn.members),
            min_selection_probability=str(report.min_probability),
            max_selection_probability=str(report.max_probability),
            exclusions_digest=sortition.list_digest(lottery.excluded).hex(),
        )
    )
    jobs.schedule(uow, JOB_REPLY_DEADLINE, jury.reply_deadline, {"jury_id": jury.id, "round": 0})
    jobs.schedule(uow, JOB_BALLOT_DEADLINE, jury.ballot_deadline, {"jury_id": jury.id})
    notification_hooks.jury_summoned(uow, jury, jury.reply_deadline)
    if stage == FIRST:
        share = constitution.consistency_retrial_share
        maybe_draw_retrial(uow, case_id, seed, share, after_index)
    return jury


def prepare_draw(uow: UnitOfWork, case_id: int, stage: str) -> None:
    """Prepare the lotteries a draw of the stage will use, in a read-only transaction.

    The job runner calls this before the draw's write transaction: the LP runs without the
    write lock, and the draw then finds its lottery in the cache under the digest of the
    inputs it re-reads (or, if the pool changed meanwhile, asks for another preparation).
    Member names do not matter to a preparation, so account ids stand in for pseudonyms.
    """
    if get_jury(uow, case_id, stage) is not None:
        return
    case = get_case(uow, case_id)
    constitution = case_constitution(uow, case)
    size = constitution.effective_appeal_jury_size if stage == APPEAL else constitution.jury_size
    register = volunteer_register(uow, case, constitution)
    members: dict[tuple[str, ...], list[str]] = defaultdict(list)
    excluded: list[str] = []
    for account, profile in register.volunteers:
        members[profile].append(str(account))
        if account in register.barred:
            excluded.append(str(account))
    if len(register.volunteers) - len(excluded) < size:
        return
    strata, shares = register.strata, register.shares
    try:
        _draw_with_fallback(
            sortition.JuryPool(strata, members), excluded, strata, shares, size, _NO_SEED
        )
    except sortition.SortitionError:
        return  # the draw itself lapses the case or gives up the retrial


# The caller's seats on a case's juries of the given stages: one statement, built once.
SEATS = (
    select(Jury, Juror)
    .join(Juror, Juror.jury_id == Jury.id)
    .where(
        Jury.case_id == bindparam("case_id"),
        Jury.stage.in_(bindparam("stages", expanding=True)),
        Juror.account_id == bindparam("account_id"),
    )
)


def my_seat(uow: UnitOfWork, account_id: int, case_id: int) -> tuple[Jury, Juror]:
    """The caller's seat on the case's current jury (NotFound for anyone else)."""
    stages = seat_stages(get_case(uow, case_id))
    seats = {
        jury.stage: (jury, juror)
        for jury, juror in uow.session.execute(
            SEATS, {"case_id": case_id, "stages": stages, "account_id": account_id}
        ).tuples()
    }
    return current_seat(seats, stages, case_id)


def seat_stages(case: Case) -> list[str]:
    """The stages whose jury may hold a caller's current seat, the preferred first."""
    # A first-instance juror may sit on the case's consistency-retrial jury without knowing it.
    return [case.stage, RETRIAL] if case.stage == FIRST else [case.stage]


def current_seat(seats: Mapping[str, T], stages: list[str], case_id: int) -> T:
    """The seat (by stage) of the first of ``stages`` the caller sits on, else NotFound."""
    for stage in stages:
        if stage in seats:
            return seats[stage]
    raise NotFound(
        "you have no seat on the jury of case %(case_id)s", field="case_id", case_id=case_id
    )


def reply(uow: UnitOfWork, *, account_id: int, case_id: int, accept: bool) -> Juror:
    """Accept or decline a summons, before the reply deadline."""
    jury, juror = my_seat(uow, account_id, case_id)
    if juror.status != JurorStatus.SUMMONED:
        raise _answered(juror.status)
    window = case_constitution(uow, get_case(uow, case_id)).juror_reply_deadline
    if jury.closed or uow.now() >= min(juror.summoned_at + window, jury.ballot_deadline):
        raise Conflict("the time to answer this summons has passed")
    juror.status = JurorStatus.ACCEPTED if accept else JurorStatus.DECLINED
    juror.replied_at = uow.now()
    uow.log.append(
        JurorReplied(case_id=case_id, stage=jury.stage, juror=juror.pseudonym, accepted=accept)
    )
    if not accept:
        jobs.schedule(uow, JOB_REPLACE, uow.now(), {"jury_id": jury.id})
    return juror


def expire_replies(uow: UnitOfWork, jury_id: int) -> int:
    """Mark summoned jurors who did not answer in time as no-shows; replace them."""
    jury = uow.session.get(Jury, jury_id)
    if jury is None or jury.closed:
        return 0
    now = uow.now()
    window = case_constitution(uow, get_case(uow, jury.case_id)).juror_reply_deadline
    late = [
        j
        for j in uow.session.scalars(
            select(Juror).where(Juror.jury_id == jury_id, Juror.status == JurorStatus.SUMMONED)
        )
        if j.summoned_at + window <= now or now >= jury.ballot_deadline
    ]
    count = 0
    for juror in late:
        juror.status = JurorStatus.NO_SHOW
        count += 1
    if count:
        jobs.schedule(uow, JOB_REPLACE, now, {"jury_id": jury_id})
    return count


def check_can_see(uow: UnitOfWork, account_id: int, case_id: int) -> None:
    """Raise unless the caller sits on the case's current jury and accepted."""
    _jury, juror = my_seat(uow, account_id, case_id)
    if juror.status not in (JurorStatus.ACCEPTED, JurorStatus.VOTED):
        raise Forbidden("accept the summons first to see the case file and vote")


def maybe_draw_retrial(
    uow: UnitOfWork, case_id: int, first_seed: bytes, share: Fraction, after_index: int
) -> Jury | None:
    """Draw the second jury if the lottery picked the case (None otherwise, or if too few)."""
    if share <= 0 or not selected_for_retrial(first_seed, share):
        return None
    return draw_jury(uow, case_id, RETRIAL, after_index)


def _answered(status: str) -> Conflict:
    """The refusal of a second answer, saying in words what became of the seat."""
    if status == JurorStatus.DECLINED:
        return Conflict("you already declined this summons")
    if status == JurorStatus.NO_SHOW:
        return Conflict("you already answered this summons, and the time to vote has passed")
    if status == JurorStatus.VOTED:
        return Conflict("you already answered this summons and voted")
    return Conflict("you already accepted this summons")
