"""Injectables declared once: the services container, the unit of work, the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from isegoria.clock import Clock
from isegoria.config import Settings
from isegoria.domain.identity import Role, Scope
from isegoria.log.coalesce import LogMemory
from isegoria.log.signing import LogSigner
from isegoria.security import SecretBox
from isegoria.services import platforms, sessions
from isegoria.store.db import Database
from isegoria.store.uow import UnitOfWork

SESSION_COOKIE = "isegoria_session"
CSRF_COOKIE = "isegoria_csrf"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Services:
    """What every request handler may need, built once by the app factory."""

    settings: Settings
    database: Database
    clock: Clock
    box: SecretBox
    signer: LogSigner
    # What this process remembers of the log between requests (frontier, last checkpoint).
    log_memory: LogMemory = field(default_factory=LogMemory)

    def uow(self) -> UnitOfWork:
        """A fresh unit of work on this instance's database, clock and log key."""
        return UnitOfWork(
            self.database,
            self.clock,
            self.signer,
            self.settings.secret_key,
            log_memory=self.log_memory,
        )


def get_services(request: Request) -> Services:
    """The app's services container."""
    services: Services = request.app.state.services
    return services


def get_uow(services: Annotated[Services, Depends(get_services)]) -> UnitOfWork:
    """A unit of work for this request."""
    return services.uow()


ServicesDep = Annotated[Services, Depends(get_services)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_uow)]


class PrincipalKind(StrEnum):
    """Who is calling."""

    ANONYMOUS = "anonymous"
    PERSON = "person"
    PLATFORM = "platform"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request (or nobody)."""

    kind: PrincipalKind
    account_id: int | None = None
    login: str | None = None
    display_name: str | None = None
    role: Role | None = None
    csrf_token: str | None = None
    platform: platforms.PlatformPrincipal | None = None
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    key_rejected: bool = False  # a bearer key was sent but is not valid

    @property
    def is_person(self) -> bool:
        """A logged-in person."""
        return self.kind is PrincipalKind.PERSON


ANONYMOUS = Principal(PrincipalKind.ANONYMOUS)


def resolve_principal(request: Request, services: Services) -> Principal:
    """Identify the caller from a bearer API key or a session cookie (cached per request)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = ANONYMOUS
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    uow = services.uow()
    if scheme.lower() == "bearer" and credential:
        with uow.begin(readonly=True):
            found = platforms.authenticate_key(uow, credential.strip())
        if found is not None:
            principal = Principal(PrincipalKind.PLATFORM, platform=found, scopes=found.scopes)
        else:
            principal = Principal(PrincipalKind.ANONYMOUS, key_rejected=True)
    elif token := request.cookies.get(SESSION_COOKIE):
        with uow.begin(readonly=True):
            resolved = sessions.resolve_session(uow, token)
        if resolved is not None:
            row, account = resolved
            principal = Principal(
                PrincipalKind.PERSON,
                account_id=account.id,
                login=account.login,
                display_name=account.display_name,
                role=Role(account.role),
                csrf_token=row.csrf_token,
            )
    request.state.principal = principal
    return principal


def get_principal(request: Request, services: ServicesDep) -> Principal:
    """The caller of this request."""
    return resolve_principal(request, services)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
