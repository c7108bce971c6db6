"""Keeping a jury's seats filled: decliners and no-shows replaced from the same lottery."""

from __future__ import annotations

import json

from sqlalchemy import select

from isegoria.algorithms import sortition
from isegoria.cases.common import (
    case_constitution,
    get_case,
    juror_pseudonym,
    jury_pseudonym_key,
)
from isegoria.cases.jury import JOB_REPLY_DEADLINE, MAX_REPLACEMENT_ROUNDS
from isegoria.cases.jury_verify import pool_from_record
from isegoria.cases.lottery import _citizens, _seed_checkpoint
from isegoria.domain.case_events import JurorsReplaced
from isegoria.domain.states import JurorStatus
from isegoria.jobs import queue as jobs
from isegoria.log import read as log_read
from isegoria.notifications import hooks as notification_hooks
from isegoria.store.models_cases import Juror, Jury
from isegoria.unit_of_work import UnitOfWork


def replace_jurors(uow: UnitOfWork, jury_id: int) -> list[Juror]:
    """Replace decliners and no-shows from the same lottery, with a fresh public seed."""
    jury = uow.session.get(Jury, jury_id)
    if jury is None or jury.closed or jury.rounds >= MAX_REPLACEMENT_ROUNDS:
        return []
    jurors = list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury_id)))
    replaced_ids = {j.replaces for j in jurors if j.replaces is not None}
    gone = [
        j
        for j in jurors
        if j.status in (JurorStatus.DECLINED, JurorStatus.NO_SHOW) and j.id not in replaced_ids
    ]
    if not gone:
        return []
    size = log_read.tree_size(uow.session)
    checkpoint = _seed_checkpoint(uow, size - 1) if size else None
    if checkpoint is None:
        return []
    jury.rounds += 1
    seed = sortition.derive_seed(
        checkpoint.root_hash, f"case:{jury.case_id}", jury.stage, f"round:{jury.rounds}"
    )
    record = json.loads(jury.pool)
    pool = pool_from_record(record)
    # The case's other juries (a consistency retrial's) must stay disjoint from this one, and
    # whoever the draw excluded (conflicted, over their load) stays excluded.
    others = sorted({*_on_other_juries(uow, jury, pool), *record.get("excluded", [])})
    try:
        pairs = sortition.draw_replacements(
            pool,
            seed,
            jury=[j.pseudonym for j in jurors],
            declined=[j.pseudonym for j in gone],
            exclude=others,
        )
    except sortition.PoolTooSmallError:
        pairs = _nearest_replacements(
            pool, seed, [j.pseudonym for j in jurors] + others, [j.pseudonym for j in gone]
        )
    except sortition.SortitionError:
        return []
    by_name = {j.pseudonym: j for j in jurors}
    now = uow.now()
    reply_by = min(
        now + case_constitution(uow, get_case(uow, jury.case_id)).juror_reply_deadline,
        jury.ballot_deadline,
    )
    account_of = _accounts_by_pseudonym(uow, jury)
    added = []
    for old, new in pairs:
        juror = Juror(
            jury_id=jury.id,
            account_id=account_of[new],
            pseudonym=new,
            status=JurorStatus.SUMMONED,
            summoned_at=now,
            replaces=by_name[old].id,
        )
        uow.session.add(juror)
        added.append(juror)
    uow.session.flush()
    uow.log.append(
        JurorsReplaced(
            case_id=jury.case_id,
            stage=jury.stage,
            round=jury.rounds,
            seed_checkpoint_size=checkpoint.size,
            seed_root=checkpoint.root_hash.hex(),
            seed=seed.hex(),
            replaced=[old for old, _ in pairs],
            replacements=[new for _, new in pairs],
            excluded=others,
        )
    )
    jobs.schedule(uow, JOB_REPLY_DEADLINE, reply_by, {"jury_id": jury.id, "round": jury.rounds})
    notification_hooks.jury_summoned(uow, jury, reply_by)
    return added


def _on_other_juries(uow: UnitOfWork, jury: Jury, pool: sortition.JuryPool) -> list[str]:
    """Pool members (by this jury's pseudonyms) who sit on another jury of the same case."""
    accounts = uow.session.scalars(
        select(Juror.account_id)
        .join(Jury, Jury.id == Juror.jury_id)
        .where(Jury.case_id == jury.case_id, Jury.id != jury.id)
    )
    key = jury_pseudonym_key(uow, jury)
    names = (juror_pseudonym(key, jury.case_id, jury.stage, a) for a in accounts)
    return sorted(n for n in names if pool.locate(n) is not None)


def _nearest_replacements(
    pool: sortition.JuryPool, seed: bytes, jury: list[str], gone: list[str]
) -> tuple[tuple[str, str], ...]:
    """When a decliner's profile has nobody left, take someone who shares the most strata.

    Candidates are the pool members not on the jury; among those sharing the most strata
    values with the decliner, one is chosen uniformly from the same public seed, so the
    choice stays reproducible (quotas may then be off by one seat; the log shows who).
    """
    taken = set(jury)
    stream = sortition.RandomStream(seed, "nearest-replacement")
    pairs: list[tuple[str, str]] = []
    for old in gone:
        mine = pool.profile_of(old)
        best: list[str] = []
        best_score = -1
        for profile, members in zip(pool.profiles, pool.members, strict=True):
            score = sum(a == b for a, b in zip(profile, mine, strict=True))
            free = [m for m in members if m not in taken]
            if free and score > best_score:
                best, best_score = free, score
            elif free and score == best_score:
                best = best + free
        if not best:
            break
        chosen = best[stream.randbelow(len(best))]
        taken.add(chosen)
        pairs.append((old, chosen))
    return tuple(pairs)


def _accounts_by_pseudonym(uow: UnitOfWork, jury: Jury) -> dict[str, int]:
    """Recompute who is behind each pool pseudonym (only the instance can)."""
    case = get_case(uow, jury.case_id)
    key = jury_pseudonym_key(uow, jury)
    return {
        juror_pseudonym(key, case.id, jury.stage, c.id): c.id
        for c in _citizens(uow, case.jurisdiction)
    }
