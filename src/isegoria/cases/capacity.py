"""The jury pool of each jurisdiction against what its cases need: the capacity model, observed.

``isegoria simulate`` runs the capacity model (``algorithms.capacity``) on a platform's
assumed size. Here the same model runs on what the instance saw over the last
``WINDOW_DAYS``: reports and cases per day, the share appealed, how many summoned citizens
accepted and how many then failed to vote, and each jurisdiction's constitution (jury
sizes, deadlines, the cap on service). The model says how many jurors a day that takes and
how large a pool keeps the draw equal; the jurisdiction's volunteers say what it has. A
pool past ``WARN_SHARE`` of its need is flagged before it runs dry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import func, select

from isegoria.algorithms.capacity import (
    DAYS_PER_YEAR,
    MIN_ACCEPTANCE_RATE,
    CapacityEstimate,
    CapacityInputs,
    appeal_jury_size_for,
    estimate,
)
from isegoria.domain.constitution import Constitution
from isegoria.domain.identity import Role
from isegoria.domain.states import JurorStatus
from isegoria.law.read import latest_constitution
from isegoria.people.jurisdictions import descendants, list_jurisdictions
from isegoria.store.models import Account, Residence
from isegoria.store.models_cases import Case, Juror, Jury, Report
from isegoria.unit_of_work import UnitOfWork

WINDOW_DAYS: Final = 30
#: The pool is flagged once the model needs this share of it: a warning before it runs dry.
WARN_SHARE: Final = 0.8
#: Until juries have answered, the rates of docs/capacity.md's worked example stand in.
DEFAULT_ACCEPTANCE: Final = 0.5
DEFAULT_NO_SHOW: Final = 0.1
MAX_NO_SHOW: Final = 0.99  # the model needs some juror to vote eventually


class PoolState(StrEnum):
    """How a jurisdiction's pool of volunteers compares with what its cases need."""

    IDLE = "idle"  # no case in the window: nothing is needed
    AMPLE = "ample"
    LOW = "low"  # past WARN_SHARE of the need: recruit before it runs dry
    DRY = "dry"  # fewer volunteers than the model needs: the cap binds, draws stop being equal
    EMPTY = "empty"  # cases but not one volunteer


@dataclass(frozen=True)
class PoolCapacity:
    """One jurisdiction's need and pool, per day over the window."""

    code: str
    name: str
    citizens: int
    volunteers: int
    reports_per_day: float
    cases_per_day: float
    appeals_per_day: float
    acceptance_rate: float
    no_show_rate: float
    observed_replies: int  # summons answered in the window (0: the default rates were used)
    jurors_per_day: float  # accepted summons needed a day, no-shows counted
    summons_per_day: float
    available_per_day: float  # what the pool can serve a day at the yearly cap
    volunteers_needed: float
    max_services_per_year: int
    state: PoolState

    @property
    def used_share(self) -> float | None:
        """The share of the pool the need takes (None without volunteers)."""
        return self.volunteers_needed / self.volunteers if self.volunteers else None


def _yearly_cap(constitution: Constitution) -> int:
    """The constitution's cap (so many cases per window) as services per year."""
    days = constitution.juror_load_window / timedelta(days=1)
    return max(1, math.floor(constitution.juror_max_cases * DAYS_PER_YEAR / days))


def _volunteers(uow: UnitOfWork, codes: list[str]) -> int:
    resident = select(Residence.account_id).where(Residence.jurisdiction_code.in_(codes))
    query = select(func.count()).where(
        Account.id.in_(resident),
        Account.role == Role.CITIZEN.value,
        Account.disabled.is_(False),
        Account.jury_opt_in.is_(True),
    )
    return int(uow.session.scalar(query) or 0)


def _replies(uow: UnitOfWork, code: str, since: datetime) -> tuple[int, int, int]:
    """(accepted, declined, no-shows) of the summons of this jurisdiction's juries lately."""
    rows = uow.session.execute(
        select(Juror.status, func.count())
        .join(Jury, Jury.id == Juror.jury_id)
        .join(Case, Case.id == Jury.case_id)
        .where(Case.jurisdiction == code, Juror.summoned_at >= since)
        .group_by(Juror.status)
    ).tuples()
    counts: dict[str, int] = dict(rows.all())
    accepted = counts.get(JurorStatus.ACCEPTED, 0) + counts.get(JurorStatus.VOTED, 0)
    no_show = counts.get(JurorStatus.NO_SHOW, 0)
    return accepted + no_show, counts.get(JurorStatus.DECLINED, 0), no_show


def _counts(uow: UnitOfWork, code: str, since: datetime) -> tuple[int, int, int]:
    """(reports, cases, appeal juries) of this jurisdiction in the window."""
    session = uow.session
    reports = session.scalar(
        select(func.count())
        .select_from(Report)
        .join(Case, Case.id == Report.case_id)
        .where(Case.jurisdiction == code, Report.created_at >= since)
    )
    cases = session.scalar(
        select(func.count()).where(Case.jurisdiction == code, Case.opened_at >= since)
    )
    appeals = session.scalar(
        select(func.count())
        .select_from(Jury)
        .join(Case, Case.id == Jury.case_id)
        .where(Case.jurisdiction == code, Jury.stage == "appeal", Jury.drawn_at >= since)
    )
    return int(reports or 0), int(cases or 0), int(appeals or 0)


def pool_state(cases: int, volunteers: int, needed: float) -> PoolState:
    """The state of a pool of ``volunteers`` when the model needs ``needed`` of them."""
    if cases == 0:
        return PoolState.IDLE
    if volunteers == 0:
        return PoolState.EMPTY
    if needed > volunteers:
        return PoolState.DRY
    return PoolState.LOW if needed >= WARN_SHARE * volunteers else PoolState.AMPLE


def _model(
    constitution: Constitution,
    citizens: int,
    volunteers: int,
    rates: tuple[float, float, float, float, float],
) -> CapacityEstimate:
    """The capacity model on observed rates: every citizen a 'user' posting once a day."""
    reports, cases, appeals, acceptance, no_show = rates
    users = max(citizens, volunteers, 1)
    size = constitution.jury_size
    appeal_size = constitution.effective_appeal_jury_size
    if appeal_size % 2 == 0:  # the model wants an odd appeal jury; the nearest above it
        appeal_size = max(appeal_size + 1, appeal_jury_size_for(size))
    inputs = CapacityInputs(
        users=users,
        posts_per_user_per_day=1.0,
        reports_per_post=reports / users,
        jury_share=min(1.0, cases / reports) if reports else 0.0,
        jury_size=size,
        appeal_rate=min(1.0, appeals / cases) if cases else 0.0,
        appeal_jury_size=appeal_size,
        acceptance_rate=acceptance,
        no_show_rate=no_show,
        citizen_share=1.0,
        volunteer_share=min(1.0, max(volunteers, 1) / users),
        max_services_per_year=_yearly_cap(constitution),
        reply_deadline_hours=constitution.juror_reply_deadline / timedelta(hours=1),
        ballot_deadline_hours=constitution.ballot_deadline / timedelta(hours=1),
    )
    return estimate(inputs)


def pool_capacity(uow: UnitOfWork, code: str, name: str) -> PoolCapacity:
    """One jurisdiction's need (from the model on its last WINDOW_DAYS) against its pool."""
    since = uow.now() - timedelta(days=WINDOW_DAYS)
    codes = descendants(uow, code)
    citizens = int(
        uow.session.scalar(
            select(func.count(func.distinct(Residence.account_id))).where(
                Residence.jurisdiction_code.in_(codes)
            )
        )
        or 0
    )
    volunteers = _volunteers(uow, codes)
    reports, cases, appeals = _counts(uow, code, since)
    answered, declined, no_shows = _replies(uow, code, since)
    replies = answered + declined
    acceptance = max(MIN_ACCEPTANCE_RATE, answered / replies) if replies else DEFAULT_ACCEPTANCE
    no_show = min(MAX_NO_SHOW, no_shows / answered) if answered else DEFAULT_NO_SHOW
    constitution = latest_constitution(uow, code).constitution
    rates = (reports / WINDOW_DAYS, cases / WINDOW_DAYS, appeals / WINDOW_DAYS)
    result = _model(constitution, citizens, volunteers, (*rates, acceptance, no_show))
    cap = _yearly_cap(constitution)
    return PoolCapacity(
        code=code,
        name=name,
        citizens=citizens,
        volunteers=volunteers,
        reports_per_day=rates[0],
        cases_per_day=rates[1],
        appeals_per_day=rates[2],
        acceptance_rate=acceptance,
        no_show_rate=no_show,
        observed_replies=replies,
        jurors_per_day=result.services_per_day,
        summons_per_day=result.summons_per_day,
        available_per_day=volunteers * cap / DAYS_PER_YEAR,
        volunteers_needed=result.volunteers_needed,
        max_services_per_year=cap,
        state=pool_state(cases, volunteers, result.volunteers_needed),
    )


def instance_capacity(uow: UnitOfWork) -> list[PoolCapacity]:
    """Every jurisdiction's need against its pool, by code."""
    return [pool_capacity(uow, j.code, j.name) for j in list_jurisdictions(uow)]
