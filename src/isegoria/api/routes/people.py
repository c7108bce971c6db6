"""The logged-in person, and aggregate figures about citizens."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from isegoria.api.schemas import CitizenStatsOut, MeOut, ProfileIn, StrataOut
from isegoria.domain.identity import Role
from isegoria.http.access import access, people
from isegoria.http.deps import PrincipalDep, ServicesDep, UnitOfWorkDep
from isegoria.people import accounts as people_service
from isegoria.store.models import Account, Residence

router = APIRouter(tags=["people"])

ANY_PERSON = people(Role.CITIZEN, Role.OPERATOR, Role.AUDITOR)


def _me(account: Account, csrf_token: str) -> MeOut:
    is_citizen = account.role == Role.CITIZEN.value
    return MeOut(
        login=account.login,
        display_name=account.display_name,
        role=Role(account.role),
        residences=sorted(r.jurisdiction_code for r in account.residences),
        strata=StrataOut(region=account.region, age_band=account.age_band, leaning=account.leaning)
        if is_citizen
        else None,
        jury_opt_in=account.jury_opt_in if is_citizen else None,
        csrf_token=csrf_token,
    )


@router.get("/me", response_model=MeOut, **access(ANY_PERSON))
def me(principal: PrincipalDep, uow: UnitOfWorkDep) -> MeOut:
    """Who I am logged in as."""
    assert principal.account_id is not None and principal.csrf_token is not None  # noqa: S101
    with uow.begin(readonly=True):
        return _me(people_service.get_account(uow, principal.account_id), principal.csrf_token)


@router.patch("/me/profile", response_model=MeOut, **access(people(Role.CITIZEN)))
def update_profile(
    body: ProfileIn, principal: PrincipalDep, uow: UnitOfWorkDep, services: ServicesDep
) -> MeOut:
    """Change my display name, strata or jury opt-in."""
    assert principal.account_id is not None and principal.csrf_token is not None  # noqa: S101
    with uow.begin():
        account = people_service.get_account(uow, principal.account_id)
        fields = body.model_fields_set
        strata = None
        if fields & {"region", "age_band", "leaning"}:
            strata = people_service.Strata(
                region=body.region if "region" in fields else account.region,
                age_band=body.age_band if "age_band" in fields else account.age_band,
                leaning=body.leaning if "leaning" in fields else account.leaning,
            )
        people_service.update_citizen_profile(
            uow,
            account,
            display_name=body.display_name,
            strata=strata,
            jury_opt_in=body.jury_opt_in,
        )
        updated = _me(account, principal.csrf_token)
    # The display name of the remembered sessions (http/credential_cache.py) is stale now.
    services.session_cache.clear()
    return updated


@router.get(
    "/citizens/stats",
    response_model=CitizenStatsOut,
    **access(people(Role.OPERATOR, Role.AUDITOR)),
)
def citizen_stats(uow: UnitOfWorkDep) -> CitizenStatsOut:
    """Citizens per jurisdiction and jury volunteers: counts only."""
    with uow.begin(readonly=True):
        session = uow.session
        rows = session.execute(
            select(Residence.jurisdiction_code, func.count()).group_by(Residence.jurisdiction_code)
        ).all()
        volunteers = session.scalar(
            select(func.count())
            .select_from(Account)
            .where(Account.role == Role.CITIZEN.value, Account.jury_opt_in.is_(True))
        )
        return CitizenStatsOut(
            total=people_service.count_citizens(uow),
            by_jurisdiction={code: int(n) for code, n in rows},
            jury_volunteers=int(volunteers or 0),
        )
