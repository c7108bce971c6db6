"""The jury lottery's inputs: the volunteer register by strata profile, who may not sit, the
seed checkpoint, and the prepared lottery kept per pool shape (a process-wide cache)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select

from isegoria.algorithms import sortition
from isegoria.cases.common import (
    get_case,
)
from isegoria.domain.constitution import Constitution
from isegoria.domain.identity import Role
from isegoria.domain.states import JurorStatus
from isegoria.jobs import queue as jobs
from isegoria.people.jurisdictions import descendants
from isegoria.store.models import Account, LogCheckpoint, Residence
from isegoria.store.models_cases import Case, Juror, Jury, PlatformIdentity, Report
from isegoria.unit_of_work import UnitOfWork

UNDECLARED = "undeclared"


# Constitution strata names -> account columns.
STRATUM_COLUMNS = {"region": "region", "age_band": "age_band", "political_leaning": "leaning"}


def _strata(constitution: Constitution) -> list[str]:
    return [s for s in constitution.jury_strata if s in STRATUM_COLUMNS]


# Positions in the rows of ``_citizens``.
_CITIZEN_COLUMN = {"region": 1, "age_band": 2, "leaning": 3}


def _profiles(rows: list[Any], columns: list[int]) -> list[tuple[str, ...]]:
    """Each row's strata values at ``columns``, an undeclared value named as such."""
    if not columns:
        return [() for _ in rows]
    pick = itemgetter(*columns)
    picked = [pick(r) for r in rows] if len(columns) > 1 else [(pick(r),) for r in rows]
    return [
        p if None not in p and "" not in p else tuple(v or UNDECLARED for v in p) for p in picked
    ]


def _citizens(uow: UnitOfWork, jurisdiction: str) -> list[Any]:
    codes = descendants(uow, jurisdiction)
    resident = select(Residence.account_id).where(Residence.jurisdiction_code.in_(codes))
    query = (
        select(Account.id, Account.region, Account.age_band, Account.leaning, Account.jury_opt_in)
        .where(
            Account.id.in_(resident),
            Account.role == Role.CITIZEN.value,
            Account.disabled.is_(False),
        )
        .order_by(Account.id)
    )
    # Core rows on the transaction's connection: a draw reads every citizen of the
    # jurisdiction, and the ORM's result machinery cost a third more per row. Core does not
    # autoflush: citizens added earlier in this transaction are flushed first.
    uow.session.flush()
    return list(uow.session.connection().execute(query).all())


def _over_load(uow: UnitOfWork, constitution: Constitution, now: datetime) -> set[int]:
    """Citizens who already serve or served on the constitution's maximum of juries lately."""
    since = now - constitution.juror_load_window
    rows = uow.session.execute(
        select(Juror.account_id, func.count())
        .where(
            Juror.summoned_at >= since,
            Juror.status.in_([JurorStatus.ACCEPTED, JurorStatus.VOTED, JurorStatus.SUMMONED]),
        )
        .group_by(Juror.account_id)
        .having(func.count() >= constitution.juror_max_cases)
    )
    return {account for account, _count in rows}


def _conflicted_accounts(uow: UnitOfWork, case_id: int) -> set[int]:
    """The author, the reporters, accounts named as conflicted, and earlier jurors."""
    case = get_case(uow, case_id)
    pseudonyms = {case.author}
    accounts: set[int] = set()
    for report in uow.session.scalars(select(Report).where(Report.case_id == case_id)):
        if report.reporter:
            pseudonyms.add(report.reporter)
        if report.reporter_account_id is not None:
            accounts.add(report.reporter_account_id)
        pseudonyms.update(json.loads(report.excluded_accounts))
    linked = uow.session.scalars(
        select(PlatformIdentity.account_id).where(
            PlatformIdentity.platform_id == case.platform_id,
            PlatformIdentity.pseudonym.in_(pseudonyms),
        )
    )
    accounts.update(linked)
    earlier = uow.session.scalars(
        select(Juror.account_id).join(Jury, Jury.id == Juror.jury_id).where(Jury.case_id == case_id)
    )
    accounts.update(earlier)
    return accounts


@dataclass(frozen=True)
class VolunteerRegister:
    """A draw's inputs from the database: volunteers by strata profile, and who is barred."""

    strata: list[str]
    shares: dict[str, dict[str, float]]
    volunteers: list[tuple[int, tuple[str, ...]]]  # (account, profile), by account
    barred: set[int]  # conflicted with the case, or at their service load


def volunteer_register(
    uow: UnitOfWork, case: Case, constitution: Constitution
) -> VolunteerRegister:
    """Read the volunteers of the case's jurisdiction, the strata shares and the barred."""
    strata = _strata(constitution)
    citizens = _citizens(uow, case.jurisdiction)
    # Plain tuples and one keyed HMAC: a draw touches every citizen of the jurisdiction, so
    # per-row attribute lookups and per-name HMAC keying are most of its cost.
    columns = [_CITIZEN_COLUMN[STRATUM_COLUMNS[s]] for s in strata]
    profiles = _profiles(citizens, columns)
    shares: dict[str, dict[str, float]] = {}
    for index, stratum in enumerate(strata):
        counts = Counter(p[index] for p in profiles)
        shares[stratum] = {v: n / len(citizens) for v, n in sorted(counts.items())}
    barred = _over_load(uow, constitution, uow.now()) | _conflicted_accounts(uow, case.id)
    volunteers = [(c[0], p) for c, p in zip(citizens, profiles, strict=True) if c[4]]
    return VolunteerRegister(strata, shares, volunteers, barred)


def _seed_checkpoint(uow: UnitOfWork, after_index: int) -> LogCheckpoint:
    checkpoint = uow.session.scalars(
        select(LogCheckpoint)
        .where(LogCheckpoint.size > after_index)
        .order_by(LogCheckpoint.size)
        .limit(1)
    ).first()
    if checkpoint is None and uow.signer is not None:
        # Under batched integration (docs/log.md) the timer may not have integrated it yet:
        # integrate and sign now, so the seed is still the first checkpoint covering it.
        done = uow.log.integrate()
        checkpoint = done.checkpoint if done is not None else None
        checkpoint = (
            checkpoint if checkpoint is not None and checkpoint.size > after_index else None
        )
    if checkpoint is None:
        raise RuntimeError(f"no checkpoint covers log entry {after_index} yet")
    return checkpoint


# Portfolios depend only on the pool's strata profiles and their sizes, the quotas and the
# jury size, which stay the same from one case to the next in a jurisdiction until someone
# opts in or out; preparing one is the slow step (an LP per pricing round), so the last few
# are kept. Each process keeps its own; a miss only costs time. The key is a digest of those
# exact inputs, so a changed pool can never find a stale lottery: nothing is invalidated.
_PORTFOLIOS: OrderedDict[bytes, sortition.Portfolio] = OrderedDict()


PORTFOLIO_CACHE_SIZE = 32


def preparation_key(
    pool: sortition.JuryPool,
    size: int,
    quotas: Mapping[str, Mapping[str, sortition.SeatRange]],
    start: bytes | None = None,
) -> bytes:
    """SHA-256 of everything a prepared lottery depends on: strata, profiles, sizes, quotas.

    ``start`` is the key of the portfolio its column generation started from, if any.
    """
    inputs = {
        "strata": list(pool.strata),
        "profiles": [list(p) for p in pool.profiles],
        "sizes": list(pool.sizes),
        "size": size,
        "quotas": {
            s: {v: [r.min_seats, r.max_seats] for v, r in sorted(q.items())}
            for s, q in sorted(quotas.items())
        },
    }
    if start is not None:
        inputs["start"] = start.hex()
    canonical = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).digest()


def prepare_cached(
    pool: sortition.JuryPool,
    size: int,
    quotas: Mapping[str, Mapping[str, sortition.SeatRange]],
    *,
    start_from: sortition.JuryPool | None = None,
) -> sortition.Portfolio:
    """The lottery for this pool shape, prepared once per pool shape.

    ``start_from`` is the pool before the case's exclusions: column generation starts from
    its lottery, which makes the preparation several times faster. Its key is part of this
    one's, so what a draw gets depends on its inputs alone, never on what this process
    happened to prepare before.

    Inside a job whose preparation runs before its write transaction (``jobs.queue``), a miss
    raises ``PrepareAgain`` instead of holding the write lock through the LP.
    """
    start_key = None if start_from is None else preparation_key(start_from, size, quotas)
    key = preparation_key(pool, size, quotas, start_key)
    cached = _PORTFOLIOS.get(key)
    if cached is not None:
        _PORTFOLIOS.move_to_end(key)
        return cached
    if not jobs.slow_work_allowed():
        raise jobs.PrepareAgain("the jury pool changed since its lottery was prepared")
    start = None if start_from is None else prepare_cached(start_from, size, quotas)
    portfolio = sortition.prepare_portfolio(pool, size, quotas, start=start)
    _PORTFOLIOS[key] = portfolio
    while len(_PORTFOLIOS) > PORTFOLIO_CACHE_SIZE:
        _PORTFOLIOS.popitem(last=False)
    return portfolio


@dataclass(frozen=True)
class _Lottery:
    """What a draw used: the pool it published, its exclusions, quotas and outcome."""

    pool: sortition.JuryPool
    excluded: list[str]
    portfolio: sortition.Portfolio
    quotas: dict[str, Any]
    drawn: sortition.DrawnJury
    strata_used: list[str]


def _draw_with_fallback(
    pool: sortition.JuryPool,
    excluded: list[str],
    strata: list[str],
    shares: dict[str, dict[str, float]],
    size: int,
    seed: bytes,
) -> _Lottery:
    """Draw with every stratum; if the volunteers cannot meet the quotas, drop the last one.

    The lottery is prepared for every volunteer of the jurisdiction, and the people who may
    not sit on this case are excluded inside their profiles (``sortition_draw``): the
    prepared lottery is then the same from one case to the next and comes from the cache.
    Only when the exclusions leave a profile too small for some jury of the lottery is a
    lottery prepared for the pool without them (and that smaller pool is published).
    """
    used = list(strata)
    while True:
        quotas = sortition.quotas_from_shares({s: shares[s] for s in used}, size)
        full: dict[str, Mapping[str, sortition.SeatRange]] = {
            s: {v: sortition.SeatRange(0, size) for v in shares[s]} for s in strata
        }
        full.update(quotas)
        quota_record = {
            s: {v: [r.min_seats, r.max_seats] for v, r in q.items()} for s, q in full.items()
        }
        try:
            try:
                portfolio = prepare_cached(pool, size, full)
                drawn = sortition.draw_jury(portfolio, pool, seed, exclude=excluded)
                return _Lottery(pool, excluded, portfolio, quota_record, drawn, used)
            except sortition.StalePortfolioError:
                if not excluded:
                    raise
            smaller = pool.without(excluded)
            # The smaller pool's lottery starts from the whole pool's (a few rounds, not dozens).
            portfolio = prepare_cached(smaller, size, full, start_from=pool)
            drawn = sortition.draw_jury(portfolio, smaller, seed)
            return _Lottery(smaller, [], portfolio, quota_record, drawn, used)
        except (sortition.InfeasibleQuotasError, sortition.StalePortfolioError):
            if not used:
                raise
            used.pop()
