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
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, select

from isegoria.algorithms import sortition
from isegoria.domain.case_events import JurorReplied, JurorsReplaced, JuryDrawn
from isegoria.domain.constitution import Constitution
from isegoria.domain.identity import Role
from isegoria.errors import Conflict, Forbidden, NotFound
from isegoria.log import read as log_read
from isegoria.log import timer as log_timer
from isegoria.notifications import hooks as notification_hooks
from isegoria.services import jobs
from isegoria.services.cases_common import (
    APPEAL,
    FIRST,
    RETRIAL,
    case_constitution,
    get_case,
    get_jury,
    juror_pseudonym,
    juror_pseudonyms,
)
from isegoria.services.jurisdictions import descendants
from isegoria.services.jury_verify import pool_from_record
from isegoria.store.models import Account, LogCheckpoint, Residence
from isegoria.store.models_cases import Case, Juror, Jury, PlatformIdentity, Report
from isegoria.store.uow import UnitOfWork

JOB_REPLY_DEADLINE = "cases.reply_deadline"
JOB_REPLACE = "cases.replace_jurors"
JOB_BALLOT_DEADLINE = "cases.ballot_deadline"
MAX_REPLACEMENT_ROUNDS = 3
UNDECLARED = "undeclared"
T = TypeVar("T")  # a seat, as each caller loads it
# Constitution strata names -> account columns.
STRATUM_COLUMNS = {"region": "region", "age_band": "age_band", "political_leaning": "leaning"}


class JurorStatus:
    """A juror's seat, from summons to ballot."""

    SUMMONED = "summoned"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NO_SHOW = "no_show"
    VOTED = "voted"


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


def _seed_checkpoint(uow: UnitOfWork, after_index: int) -> LogCheckpoint:
    checkpoint = uow.session.scalars(
        select(LogCheckpoint)
        .where(LogCheckpoint.size > after_index)
        .order_by(LogCheckpoint.size)
        .limit(1)
    ).first()
    if checkpoint is None and uow.signer is not None:
        # Under checkpoint coalescing (docs/log.md) the timer may not have signed yet: sign
        # the head now, so the seed is still the first checkpoint covering the entry.
        checkpoint = log_timer.sign_head(uow.session, uow.clock, uow.signer)
        checkpoint = (
            checkpoint if checkpoint is not None and checkpoint.size > after_index else None
        )
    if checkpoint is None:
        raise RuntimeError(f"no checkpoint covers log entry {after_index} yet")
    return checkpoint


# Portfolios depend only on the pool's strata profiles and their sizes, the quotas and the
# jury size, which stay the same from one case to the next in a jurisdiction until someone
# opts in or out; preparing one is the slow step (an LP per pricing round), so the last few
# are kept. Each process keeps its own; a miss only costs time.
_PORTFOLIOS: OrderedDict[tuple[Any, ...], sortition.Portfolio] = OrderedDict()
PORTFOLIO_CACHE_SIZE = 32


def prepare_cached(
    pool: sortition.JuryPool, size: int, quotas: Mapping[str, Mapping[str, sortition.SeatRange]]
) -> sortition.Portfolio:
    """The lottery for this pool shape, prepared once per jurisdiction and pool shape."""
    key = (
        pool.strata,
        pool.profiles,
        pool.sizes,
        size,
        tuple(sorted((s, tuple(sorted(q.items()))) for s, q in quotas.items())),
    )
    cached = _PORTFOLIOS.get(key)
    if cached is not None:
        _PORTFOLIOS.move_to_end(key)
        return cached
    portfolio = sortition.prepare_portfolio(pool, size, quotas)
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
            portfolio = prepare_cached(smaller, size, full)
            drawn = sortition.draw_jury(portfolio, smaller, seed)
            return _Lottery(smaller, [], portfolio, quota_record, drawn, used)
        except (sortition.InfeasibleQuotasError, sortition.StalePortfolioError):
            if not used:
                raise
            used.pop()


def draw_jury(uow: UnitOfWork, case_id: int, stage: str, after_index: int) -> Jury | None:
    """Draw the jury of a case's stage (idempotent); None when too few citizens can serve."""
    existing = get_jury(uow, case_id, stage)
    if existing is not None:
        return existing
    case = get_case(uow, case_id, lock=True)
    constitution = case_constitution(uow, case)
    size = constitution.effective_appeal_jury_size if stage == APPEAL else constitution.jury_size
    now = uow.now()
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
    unavailable = _over_load(uow, constitution, now)
    conflicted = _conflicted_accounts(uow, case_id)
    volunteers = [(c[0], p) for c, p in zip(citizens, profiles, strict=True) if c[4]]
    names = juror_pseudonyms(uow.secret, case_id, stage, (a for a, _ in volunteers))
    members: dict[tuple[str, ...], list[str]] = defaultdict(list)
    account_of: dict[str, int] = {}
    excluded: list[str] = []
    for (account, profile), name in zip(volunteers, names, strict=True):
        members[profile].append(name)
        account_of[name] = account
        if account in conflicted or account in unavailable:
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
        from isegoria.services.cases_verdict import lapse_without_jury

        lapse_without_jury(uow, case, stage, reason="too few eligible volunteers")
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
        from isegoria.services.cases_retrial import maybe_draw_retrial  # it calls draw_jury

        share = constitution.consistency_retrial_share
        maybe_draw_retrial(uow, case_id, seed, share, after_index)
    return jury


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
    raise NotFound(f"you have no seat on the jury of case {case_id}", field="case_id")


def reply(uow: UnitOfWork, *, account_id: int, case_id: int, accept: bool) -> Juror:
    """Accept or decline a summons, before the reply deadline."""
    jury, juror = my_seat(uow, account_id, case_id)
    if juror.status != JurorStatus.SUMMONED:
        raise Conflict(f"you already answered this summons ({juror.status})")
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
    names = (juror_pseudonym(uow.secret, jury.case_id, jury.stage, a) for a in accounts)
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
    return {
        juror_pseudonym(uow.secret, case.id, jury.stage, c.id): c.id
        for c in _citizens(uow, case.jurisdiction)
    }


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
