"""People: citizens, operators and auditors; their profiles and their logins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from isegoria.domain.identity import (
    MAX_DISPLAY_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_REGION_LENGTH,
    MIN_PASSWORD_LENGTH,
    STRATA,
    InvalidLogin,
    Role,
    check_login,
)
from isegoria.errors import Conflict, InvalidInput, NotFound
from isegoria.password_policy import is_common
from isegoria.people.jurisdictions import descendants
from isegoria.security import hash_password, verify_password
from isegoria.store.models import Account, Jurisdiction, Residence
from isegoria.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Strata:
    """A citizen's self-declared strata; every field is optional."""

    region: str | None = None
    age_band: str | None = None
    leaning: str | None = None


def check_password(password: str) -> str:
    """Return ``password`` if its length is acceptable and it is not a common one."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            "a password is %(min_password_length)s to %(max)s characters",
            field="password",
            min_password_length=MIN_PASSWORD_LENGTH,
            max=MAX_PASSWORD_LENGTH,
        )
    if is_common(password):
        raise InvalidInput(
            "this password is on the list of commonly used and breached passwords; "
            "choose another (a few unrelated words make a good one)",
            field="password",
        )
    return password


def _check_strata(strata: Strata) -> None:
    if strata.region is not None and not 0 < len(strata.region) <= MAX_REGION_LENGTH:
        raise InvalidInput(
            "a region is 1 to %(max)s characters", field="region", max=MAX_REGION_LENGTH
        )
    for name in ("age_band", "leaning"):
        value = getattr(strata, name)
        if value is not None and value not in STRATA[name]:
            allowed = ", ".join(STRATA[name])
            raise InvalidInput(
                "%(name)s must be one of: %(allowed)s", field=name, name=name, allowed=allowed
            )


def _check_display_name(display_name: str) -> str:
    name = display_name.strip()
    if not 0 < len(name) <= MAX_DISPLAY_NAME_LENGTH:
        raise InvalidInput(
            "a display name is 1 to %(max)s characters",
            field="display_name",
            max=MAX_DISPLAY_NAME_LENGTH,
        )
    return name


def add_account(
    uow: UnitOfWork,
    *,
    login: str,
    display_name: str,
    role: Role,
    password: str | None,
    residences: Sequence[str] = (),
    strata: Strata | None = None,
    jury_opt_in: bool = False,
) -> Account:
    """Create a person's account; citizens need at least one residence."""
    try:
        check_login(login)
    except InvalidLogin as error:
        raise InvalidInput.because(error, field="login") from None
    name = _check_display_name(display_name)
    if password is not None:
        check_password(password)
    strata = strata or Strata()
    session = uow.session
    if role is Role.CITIZEN:
        if not residences:
            raise InvalidInput("a citizen resides in at least one jurisdiction", field="residences")
        _check_strata(strata)
        for code in residences:
            if session.get(Jurisdiction, code) is None:
                raise NotFound(
                    "no jurisdiction with code %(code)s", field="residences", code=repr(code)
                )
    elif residences or strata != Strata() or jury_opt_in:
        raise InvalidInput(
            "an %(value)s has no residence, strata or jury service", value=role.value
        )
    if session.scalar(select(Account.id).where(Account.login == login)) is not None:
        raise Conflict("the login %(login)s is taken", field="login", login=repr(login))
    account = Account(
        login=login,
        display_name=name,
        role=role.value,
        password_hash=hash_password(password) if password is not None else None,
        created_at=uow.now(),
        region=strata.region,
        age_band=strata.age_band,
        leaning=strata.leaning,
        jury_opt_in=jury_opt_in,
        residences=[Residence(jurisdiction_code=code) for code in dict.fromkeys(residences)],
    )
    session.add(account)
    session.flush()
    return account


def get_account(uow: UnitOfWork, account_id: int) -> Account:
    """The account with this id."""
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound("no account %(account_id)s", account_id=account_id)
    return account


def get_account_by_login(uow: UnitOfWork, login: str) -> Account:
    """The account with this login."""
    account = uow.session.scalar(select(Account).where(Account.login == login))
    if account is None:
        raise NotFound("no account with login %(login)s", field="login", login=repr(login))
    return account


def authenticate(uow: UnitOfWork, login: str, password: str) -> Account | None:
    """The enabled account whose login and password match, else None (same time either way)."""
    account = None
    if len(login) <= 64 and len(password) <= MAX_PASSWORD_LENGTH:
        account = uow.session.scalar(select(Account).where(Account.login == login))
    ok = verify_password(account.password_hash if account else None, password[:MAX_PASSWORD_LENGTH])
    if account is None or not ok or account.disabled:
        return None
    return account


def update_citizen_profile(
    uow: UnitOfWork,
    account: Account,
    *,
    display_name: str | None = None,
    strata: Strata | None = None,
    jury_opt_in: bool | None = None,
) -> Account:
    """Change a citizen's own display name, strata or jury opt-in."""
    if account.role != Role.CITIZEN.value:
        raise InvalidInput("only citizens have a citizen profile")
    if display_name is not None:
        account.display_name = _check_display_name(display_name)
    if strata is not None:
        _check_strata(strata)
        account.region, account.age_band, account.leaning = (
            strata.region,
            strata.age_band,
            strata.leaning,
        )
    if jury_opt_in is not None:
        account.jury_opt_in = jury_opt_in
    uow.session.flush()
    return account


def list_accounts(uow: UnitOfWork, *, role: Role | None = None, limit: int = 100) -> list[Account]:
    """Accounts by login, optionally of one role."""
    query = select(Account).order_by(Account.login).limit(limit)
    if role is not None:
        query = query.where(Account.role == role.value)
    return list(uow.session.scalars(query))


def count_citizens(uow: UnitOfWork, jurisdiction: str | None = None) -> int:
    """How many citizens there are, in all or in a jurisdiction (its sub-jurisdictions too)."""
    if jurisdiction is None:
        query = select(func.count()).select_from(Account).where(Account.role == Role.CITIZEN.value)
    else:
        codes = descendants(uow, jurisdiction)
        query = select(func.count(func.distinct(Residence.account_id))).where(
            Residence.jurisdiction_code.in_(codes)
        )
    return int(uow.session.scalar(query) or 0)
