"""Platforms: operators register them and rotate keys; a platform sees and configures itself."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from isegoria.api.schemas import (
    IssuedKeyOut,
    PlatformCreatedOut,
    PlatformIn,
    PlatformOut,
    PlatformSelfOut,
    RotateKeyIn,
    WebhookIn,
)
from isegoria.decisions import outbox
from isegoria.domain.identity import Role, Scope
from isegoria.http import reauth
from isegoria.http.access import access, people, platform_key
from isegoria.http.deps import PrincipalDep, ServicesDep, UnitOfWorkDep, staff_actor
from isegoria.ops import staff_trail
from isegoria.people import platforms
from isegoria.store.models import Platform
from isegoria.store.models_cases import DecisionRow

router = APIRouter(tags=["platforms"])

PlatformIdPath = Path(ge=1, le=2**31 - 1, description="Platform id")


def _out(p: Platform) -> PlatformOut:
    live = sum(1 for k in p.api_keys if k.revoked_at is None)
    return PlatformOut(
        id=p.id, name=p.name, webhook_url=p.webhook_url, created_at=p.created_at, live_keys=live
    )


def _key_out(issued: platforms.IssuedKey) -> IssuedKeyOut:
    return IssuedKeyOut(
        platform_id=issued.platform_id,
        key_id=issued.key_id,
        key=issued.key,
        scopes=list(issued.scopes),
    )


@router.get(
    "/platforms", response_model=list[PlatformOut], **access(people(Role.OPERATOR, Role.AUDITOR))
)
def list_platforms(uow: UnitOfWorkDep) -> list[PlatformOut]:
    """Every registered platform."""
    with uow.begin(readonly=True):
        return [_out(p) for p in platforms.list_platforms(uow)]


@router.post(
    "/platforms",
    response_model=PlatformCreatedOut,
    status_code=201,
    **access(people(Role.OPERATOR)),
)
def add_platform(
    body: PlatformIn, uow: UnitOfWorkDep, services: ServicesDep, principal: PrincipalDep
) -> PlatformCreatedOut:
    """Register a platform; its API key and webhook secret are shown only in this answer."""
    with uow.begin():
        platform, issued = platforms.add_platform(
            uow,
            services.box,
            name=body.name,
            scopes=body.scopes,
            actor=staff_actor(principal, staff_trail.API),
        )
        return PlatformCreatedOut(
            platform=_out(platform),
            api_key=_key_out(issued),
            webhook_secret=platforms.webhook_secret(services.box, platform),
        )


@router.post(
    "/platforms/{platform_id}/keys/rotate",
    response_model=IssuedKeyOut,
    **access(people(Role.OPERATOR)),
)
def rotate_key(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    body: RotateKeyIn | None = None,
    platform_id: int = PlatformIdPath,
) -> IssuedKeyOut:
    """Issue a new key and revoke the platform's other keys; confirm with your password."""
    password = body.current_password if body is not None else None
    reauth.confirm_password(request, services, principal, password)
    with uow.begin():
        platform = platforms.get_platform(uow, platform_id)
        scopes = body.scopes if body is not None else None
        actor = staff_actor(principal, staff_trail.API)
        issued = _key_out(platforms.rotate_key(uow, platform, scopes=scopes, actor=actor))
    # After the commit: from now on this process asks the database for every key again,
    # so the revoked keys are refused here at once (http/credential_cache.py).
    services.key_cache.clear()
    return issued


@router.get("/platform", response_model=PlatformSelfOut, **access(platform_key()))
def platform_self(principal: PrincipalDep, uow: UnitOfWorkDep) -> PlatformSelfOut:
    """The calling platform's own registration."""
    assert principal.platform is not None  # noqa: S101 - guaranteed by the policy
    with uow.begin(readonly=True):
        platform = platforms.get_platform(uow, principal.platform.platform_id)
        return PlatformSelfOut(
            id=platform.id,
            name=platform.name,
            webhook_url=platform.webhook_url,
            scopes=sorted(principal.scopes),
        )


@router.put(
    "/platform/webhook",
    response_model=PlatformSelfOut,
    **access(platform_key(Scope.PLATFORM_CONFIGURE)),
)
def set_webhook(
    body: WebhookIn, principal: PrincipalDep, uow: UnitOfWorkDep, services: ServicesDep
) -> PlatformSelfOut:
    """Set where decisions about the platform's content are delivered."""
    assert principal.platform is not None  # noqa: S101 - guaranteed by the policy
    with uow.begin():
        platform = platforms.get_platform(uow, principal.platform.platform_id)
        platforms.set_webhook(
            uow, platform, body.url, allow_private=services.settings.webhook_allow_private
        )
        return PlatformSelfOut(
            id=platform.id,
            name=platform.name,
            webhook_url=platform.webhook_url,
            scopes=sorted(principal.scopes),
        )


class DeadLetterOut(BaseModel):
    """A decision the outbox gave up delivering."""

    id: int
    platform_id: int
    kind: str
    content_id: str
    attempts: int
    error: str | None
    issued_at: datetime


def _dead_out(row: DecisionRow) -> DeadLetterOut:
    return DeadLetterOut(
        id=row.id,
        platform_id=row.platform_id,
        kind=row.kind,
        content_id=row.platform_content_id,
        attempts=row.delivery_attempts,
        error=row.delivery_error,
        issued_at=row.issued_at,
    )


@router.get(
    "/deliveries/dead",
    response_model=list[DeadLetterOut],
    **access(people(Role.OPERATOR, Role.AUDITOR)),
)
def dead_letters(uow: UnitOfWorkDep) -> list[DeadLetterOut]:
    """Decisions whose webhook delivery failed for good (they block later ones on the post)."""
    with uow.begin(readonly=True):
        return [_dead_out(r) for r in outbox.dead_letters(uow)]


@router.post(
    "/deliveries/{decision_id}/requeue",
    response_model=DeadLetterOut,
    **access(people(Role.OPERATOR)),
)
def requeue(
    uow: UnitOfWorkDep, principal: PrincipalDep, decision_id: int = Path(ge=1, le=2**31 - 1)
) -> DeadLetterOut:
    """Try a dead letter again (after the platform fixed its receiver)."""
    with uow.begin():
        actor = staff_actor(principal, staff_trail.API)
        return _dead_out(outbox.requeue(uow, decision_id, actor=actor))
