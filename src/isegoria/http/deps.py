"""Injectables declared once: the services container, the unit of work, the caller.

The dependencies are ``async def`` where they do no blocking work: FastAPI runs a plain
``def`` dependency in the thread pool, and that hop (a queue, a condition variable, two
switches of the GIL) cost more CPU than the dependency itself on every request. Only the
database look-up of a caller's credentials still runs in the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from isegoria.clock import Clock
from isegoria.config import Settings
from isegoria.domain.identity import Role, Scope
from isegoria.http.cookies import session_cookie
from isegoria.http.credential_cache import CredentialCache
from isegoria.http.read_cache import LoopVersion, ReadCache
from isegoria.log.coalesce import LogMemory
from isegoria.log.signing import LogSigner
from isegoria.ops.staff_trail import Actor
from isegoria.people import platforms, sessions
from isegoria.security import SecretBox, token_digest
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork

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
    # Credentials that authenticated lately (http/credential_cache.py); sized by the factory.
    key_cache: CredentialCache[platforms.PlatformPrincipal] = field(default_factory=CredentialCache)
    session_cache: CredentialCache[sessions.SessionCaller] = field(default_factory=CredentialCache)
    # Public answers of the log and the cases, keyed by the log's version (http/read_cache.py).
    read_cache: ReadCache = field(default_factory=ReadCache)
    loop_version: LoopVersion = field(init=False)

    def __post_init__(self) -> None:
        self.loop_version = LoopVersion(self.database)

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


async def services_dependency(request: Request) -> Services:
    """The app's services container, as a dependency solved on the event loop."""
    return get_services(request)


async def get_uow(services: Annotated[Services, Depends(services_dependency)]) -> UnitOfWork:
    """A unit of work for this request (no transaction is open yet)."""
    return services.uow()


ServicesDep = Annotated[Services, Depends(services_dependency)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_uow)]


@dataclass(frozen=True)
class PublicAnswer:
    """A public read served through the read cache: ``answer(key, build, shape)``."""

    request: Request
    services: Services

    async def __call__(
        self, key: Hashable, build: Callable[[UnitOfWork], Any], shape: Any
    ) -> Response:
        """The answer named ``key``; ``build(uow)`` makes it when the log has moved.

        A hit is answered on the event loop when the version can be read there (SQLite,
        http/read_cache.py, ``LoopVersion``); anything else runs in the thread pool.
        """
        cache = self.services.read_cache
        version = self.services.loop_version.read()
        if version is not None:
            stored = cache.lookup(key, version)
            if stored is not None:
                return cache.respond(self.request, stored, "hit")
        return await run_in_threadpool(
            cache.answer, self.request, self.services.uow(), key, build, shape
        )


async def public_answer(request: Request, services: ServicesDep) -> PublicAnswer:
    """The read cache bound to this request."""
    return PublicAnswer(request, services)


PublicAnswerDep = Annotated[PublicAnswer, Depends(public_answer)]


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


def staff_actor(principal: Principal, via: str) -> Actor:
    """The staff trail's name for a signed-in person acting through the API or the console."""
    role = principal.role.value if principal.role is not None else "unknown"
    return Actor(login=principal.login or "", via=via, account_id=principal.account_id, role=role)


def credentials(request: Request, settings: Settings) -> tuple[str | None, str | None]:
    """The bearer key and the session cookie token the request carries (a key wins).

    Only the cookie under this instance's name counts (http/cookies.py, ASVS 3.4.4).
    """
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer" and credential:
        return credential.strip(), None
    return None, request.cookies.get(session_cookie(settings)) or None


def resolve_principal(request: Request, services: Services) -> Principal:
    """Identify the caller from a bearer API key or a session cookie (cached per request)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = ANONYMOUS
    key, token = credentials(request, services.settings)
    if key is not None:
        found = authenticate_key(services, key)
        if found is not None:
            principal = platform_principal(found)
        else:
            principal = Principal(PrincipalKind.ANONYMOUS, key_rejected=True)
    elif token is not None:
        caller = authenticate_session(services, token)
        if caller is not None:
            principal = person_principal(caller)
    request.state.principal = principal
    return principal


def authenticate_key(services: Services, key: str) -> platforms.PlatformPrincipal | None:
    """The platform of a live API key: from the credential cache, else from the database."""
    cache = services.key_cache
    digest = token_digest(key)
    remembered = cache.get(digest)
    if remembered is not None:
        return remembered
    ticket = cache.ticket()  # before the read: a revocation during it voids the answer
    uow = services.uow()
    with uow.begin(readonly=True):
        found = platforms.authenticate_key(uow, key)
        stale = found is not None and platforms.use_is_stale(found.last_used_at, uow.now())
    if found is not None and stale:
        # Only on a cache miss, and at most every few minutes: "last use" for the console.
        with uow.begin():
            platforms.note_key_use(uow, found.key_id)
    if found is not None:
        cache.put(digest, found, ticket)
    return found


def authenticate_session(services: Services, token: str) -> sessions.SessionCaller | None:
    """The account of a live session cookie: from the credential cache, else the database."""
    cache = services.session_cache
    digest = token_digest(token)
    remembered = cache.get(digest)
    if remembered is not None:
        return remembered if remembered.expires_at > services.clock.now() else None
    ticket = cache.ticket()
    uow = services.uow()
    idle = timedelta(minutes=services.settings.staff_idle_minutes)
    with uow.begin(readonly=True):
        caller = sessions.resolve_session(uow, token, staff_idle=idle)
    if caller is not None and caller.touch:
        # A staff session's idle clock: one short write a minute at most (TOUCH_EVERY).
        with uow.begin():
            sessions.touch_session(uow, token)
    if caller is not None:
        cache.put(digest, caller, ticket)
    return caller


def platform_principal(found: platforms.PlatformPrincipal) -> Principal:
    """The caller a live platform key stands for."""
    return Principal(PrincipalKind.PLATFORM, platform=found, scopes=found.scopes)


def person_principal(caller: sessions.SessionCaller) -> Principal:
    """The caller a live session cookie stands for."""
    return Principal(
        PrincipalKind.PERSON,
        account_id=caller.account_id,
        login=caller.login,
        display_name=caller.display_name,
        role=Role(caller.role),
        csrf_token=caller.csrf_token,
    )


def _remembered(services: Services, key: str | None, token: str | None) -> Principal | None:
    """The caller, if it can be told without the database (no credential, or a cache hit)."""
    if key is not None:
        found = services.key_cache.get(token_digest(key))
        return platform_principal(found) if found is not None else None
    if token is None:
        return ANONYMOUS
    caller = services.session_cache.get(token_digest(token))
    if caller is None or caller.expires_at <= services.clock.now():
        return None  # unknown here, or expired: the database decides (and refuses)
    return person_principal(caller)


async def get_principal(request: Request, services: ServicesDep) -> Principal:
    """The caller of this request; the database is asked in the thread pool, if at all."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    key, token = credentials(request, services.settings)
    principal = _remembered(services, key, token)
    if principal is None:
        return await run_in_threadpool(resolve_principal, request, services)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
