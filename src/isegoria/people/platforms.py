"""Platforms that hand their moderation to this instance, and their API keys."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from isegoria.domain.events import PlatformRegistered
from isegoria.domain.identity import MAX_PLATFORM_NAME_LENGTH, Role, Scope
from isegoria.errors import Conflict, Forbidden, InvalidInput, NotFound
from isegoria.integrations.egress import literal_host_reason
from isegoria.ops.staff_trail import CONSOLE, Actor, account_actor, record_staff_action
from isegoria.security import SecretBox, new_api_key, same_digest, split_api_key, token_digest
from isegoria.store.models import Account, ApiKey, Platform
from isegoria.unit_of_work import UnitOfWork

WEBHOOK_SECRET_BYTES = 32
MAX_WEBHOOK_URL_LENGTH = 2000


@dataclass(frozen=True)
class IssuedKey:
    """A newly issued API key; the full key is shown once and never stored."""

    platform_id: int
    key_id: int
    key: str
    scopes: tuple[Scope, ...]


@dataclass(frozen=True)
class PlatformPrincipal:
    """A platform authenticated by one of its keys."""

    platform_id: int
    platform_name: str
    key_id: int
    scopes: frozenset[Scope]
    last_used_at: datetime | None = None


def check_webhook_url(url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL."""
    if len(url) > MAX_WEBHOOK_URL_LENGTH:
        raise InvalidInput(
            "a webhook URL is at most %(max)s characters", max=MAX_WEBHOOK_URL_LENGTH
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("a webhook URL is an absolute http:// or https:// URL", field="url")
    return url


def _issue(uow: UnitOfWork, platform: Platform, scopes: Sequence[Scope]) -> IssuedKey:
    if not scopes:
        raise InvalidInput("an API key needs at least one scope", field="scopes")
    prefix, key = new_api_key()
    row = ApiKey(
        platform_id=platform.id,
        prefix=prefix,
        key_hash=token_digest(key),
        scopes=",".join(s.value for s in dict.fromkeys(scopes)),
        created_at=uow.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    return IssuedKey(platform.id, row.id, key, tuple(dict.fromkeys(scopes)))


def add_platform(
    uow: UnitOfWork,
    box: SecretBox,
    *,
    name: str,
    scopes: Sequence[Scope],
    actor: Actor | None = None,
) -> tuple[Platform, IssuedKey]:
    """Register a platform and issue its first API key (recorded in the staff trail)."""
    name = name.strip()
    if not 0 < len(name) <= MAX_PLATFORM_NAME_LENGTH:
        raise InvalidInput(
            "a platform name is 1 to %(max)s characters", field="name", max=MAX_PLATFORM_NAME_LENGTH
        )
    if uow.session.scalar(select(Platform.id).where(Platform.name == name)) is not None:
        raise Conflict("a platform named %(name)s exists already", field="name", name=repr(name))
    platform = Platform(
        name=name,
        webhook_secret=box.seal(secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)),
        created_at=uow.now(),
    )
    uow.session.add(platform)
    uow.session.flush()
    uow.log.append(PlatformRegistered(platform_id=platform.id, name=platform.name))
    issued = _issue(uow, platform, scopes)
    # PlatformRegistered above is the public entry; the trail adds who did it.
    detail = {"name": platform.name, "key_id": issued.key_id}
    record_staff_action(uow, actor, "platform.created", f"platform:{platform.id}", detail=detail)
    return platform, issued


MAX_PLATFORM_ID = 2**31 - 1  # platforms.id is a 32-bit INTEGER on PostgreSQL


def get_platform(uow: UnitOfWork, platform_id: int) -> Platform:
    """The platform with this id."""
    platform = uow.session.get(Platform, platform_id)
    if platform is None:
        raise NotFound("no platform %(platform_id)s", field="platform_id", platform_id=platform_id)
    return platform


def find_platform(uow: UnitOfWork, name_or_id: str) -> Platform:
    """A platform by its numeric id or its name."""
    # An id is ASCII digits within the column's range (found by fuzzing the CLI: a number
    # past 2^63 overflowed the database driver); anything else can only be a name.
    if name_or_id.isascii() and name_or_id.isdigit() and int(name_or_id) <= MAX_PLATFORM_ID:
        return get_platform(uow, int(name_or_id))
    platform = uow.session.scalar(select(Platform).where(Platform.name == name_or_id))
    if platform is None:
        raise NotFound(
            "no platform named %(name_or_id)s", field="platform", name_or_id=repr(name_or_id)
        )
    return platform


def list_platforms(uow: UnitOfWork) -> list[Platform]:
    """All platforms by name."""
    return list(uow.session.scalars(select(Platform).order_by(Platform.name)))


def rotate_key(
    uow: UnitOfWork,
    platform: Platform,
    *,
    scopes: Sequence[Scope] | None = None,
    staff: Account | None = None,
    actor: Actor | None = None,
) -> IssuedKey:
    """Issue a new key (same scopes as the newest live key unless given) and revoke the others.

    ``staff`` is the operator acting from the console, checked here; ``actor`` names who acts
    in the staff trail (the API's caller, the command line's user; default: ``staff``).
    """
    actor = _acting(staff, actor)
    now = uow.now()
    live = [k for k in platform.api_keys if k.revoked_at is None]
    if scopes is None:
        newest = max(live, key=lambda k: k.id, default=None)
        scopes = [Scope(s) for s in newest.scopes.split(",")] if newest else [Scope.REPORTS_WRITE]
    issued = _issue(uow, platform, scopes)
    for key in live:
        key.revoked_at = now
    detail = {"key_id": issued.key_id, "revoked": [key.id for key in live]}
    record_staff_action(
        uow, actor, "api_key.rotated", f"platform:{platform.id}", detail=detail, public=True
    )
    return issued


def issue_key(
    uow: UnitOfWork,
    platform: Platform,
    *,
    scopes: Sequence[Scope],
    staff: Account | None = None,
    actor: Actor | None = None,
) -> IssuedKey:
    """Issue one more key beside the live ones (a platform moving keys at its own pace)."""
    actor = _acting(staff, actor)
    issued = _issue(uow, platform, scopes)
    detail = {"key_id": issued.key_id, "scopes": [s.value for s in issued.scopes]}
    record_staff_action(
        uow, actor, "api_key.created", f"platform:{platform.id}", detail=detail, public=True
    )
    return issued


def revoke_key(
    uow: UnitOfWork,
    platform: Platform,
    key_id: int,
    *,
    staff: Account | None = None,
    actor: Actor | None = None,
) -> ApiKey:
    """Revoke one of the platform's keys now; revoking a revoked key changes nothing."""
    actor = _acting(staff, actor)
    key = next((k for k in platform.api_keys if k.id == key_id), None)
    if key is None:
        raise NotFound(
            "platform %(id)s has no API key %(key_id)s",
            field="key_id",
            id=platform.id,
            key_id=key_id,
        )
    if key.revoked_at is None:
        key.revoked_at = uow.now()
        record_staff_action(
            uow,
            actor,
            "api_key.revoked",
            f"platform:{platform.id}",
            detail={"key_id": key.id},
            public=True,
        )
    return key


def authenticate_key(uow: UnitOfWork, key: str) -> PlatformPrincipal | None:
    """The platform and scopes of a live API key, else None."""
    prefix = split_api_key(key)
    if prefix is None:
        return None
    # The platform's name comes in the same query: this runs on every platform request.
    found = uow.session.execute(
        select(ApiKey, Platform.name)
        .join(Platform, Platform.id == ApiKey.platform_id)
        .where(ApiKey.prefix == prefix)
    ).first()
    if found is None:
        return None
    row, platform_name = found
    if row.revoked_at is not None or not same_digest(row.key_hash, token_digest(key)):
        return None
    return PlatformPrincipal(
        platform_id=row.platform_id,
        platform_name=platform_name,
        key_id=row.id,
        scopes=frozenset(Scope(s) for s in row.scopes.split(",")),
        last_used_at=row.last_used_at,
    )


#: A key's last use is written at most this often: a write per request would cost the
#: platform's every call a write transaction, and the console needs minutes, not seconds.
LAST_USE_GRANULARITY = timedelta(minutes=5)


def use_is_stale(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a key's recorded last use is old enough to be written again."""
    return last_used_at is None or now - last_used_at >= LAST_USE_GRANULARITY


def note_key_use(uow: UnitOfWork, key_id: int) -> None:
    """Record that a request authenticated with the key now."""
    row = uow.session.get(ApiKey, key_id)
    if row is not None:
        row.last_used_at = uow.now()


def require_operator(staff: Account) -> None:
    """Refuse a console action (keys, secrets, dead letters) by anyone but an operator."""
    if staff.role != Role.OPERATOR.value or staff.disabled:
        raise Forbidden("only an operator may do this")


def _acting(staff: Account | None, actor: Actor | None) -> Actor | None:
    """Who the trail names: the console's operator (who must be one), else ``actor``."""
    if staff is None:
        return actor
    require_operator(staff)
    return actor or account_actor(staff, CONSOLE)


def set_webhook(
    uow: UnitOfWork,
    platform: Platform,
    url: str | None,
    *,
    allow_private: bool = False,
) -> Platform:
    """Set (or clear) where decisions are delivered to the platform.

    A URL naming a loopback, private, link-local (metadata) ... address literally is refused
    now unless ``allow_private``; a host name is judged by what it resolves to at each
    delivery (:mod:`isegoria.integrations.egress`), since DNS can change after today.
    """

    if url is not None:
        check_webhook_url(url)
        reason = None if allow_private else literal_host_reason(url)
        if reason is not None:
            raise InvalidInput(
                "the webhook URL must reach a public address: %(reason)s",
                field="url",
                reason=reason,
            )
    platform.webhook_url = url
    uow.session.flush()
    return platform


#: After a rotation, deliveries are signed with the new and the previous secret for this long,
#: so a platform can install the new secret at its own pace (a day covers a deployment
#: window in any time zone); then with the new one only.
WEBHOOK_SECRET_GRACE = timedelta(hours=24)


def rotate_webhook_secret(
    uow: UnitOfWork,
    box: SecretBox,
    platform: Platform,
    *,
    staff: Account | None = None,
    actor: Actor | None = None,
) -> str:
    """Replace the platform's webhook signing secret; return the new one (shown once).

    For :data:`WEBHOOK_SECRET_GRACE` after ``now`` every delivery carries a signature with
    the new secret and one with the replaced secret, so the platform verifies with either.
    ``staff`` is the operator acting from the console (None: the command line).
    """
    actor = _acting(staff, actor)
    now = uow.now()
    secret = secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)
    # A second rotation within the grace keeps only the secret just replaced: the older one
    # was announced as superseded a rotation ago.
    platform.previous_webhook_secret = platform.webhook_secret
    platform.webhook_secret_rotated_at = now
    platform.webhook_secret = box.seal(secret)
    record_staff_action(
        uow, actor, "webhook_secret.rotated", f"platform:{platform.id}", public=True
    )
    return secret


def webhook_secret(box: SecretBox, platform: Platform) -> str:
    """The platform's webhook signing secret in clear."""
    return box.open(platform.webhook_secret)


def webhook_signing_secrets(box: SecretBox, platform: Platform, now: datetime) -> list[str]:
    """Secrets that sign a delivery at ``now``: current first, then the previous in grace."""
    current = [webhook_secret(box, platform)]
    previous, rotated_at = platform.previous_webhook_secret, platform.webhook_secret_rotated_at
    if previous is None or rotated_at is None or now >= rotated_at + WEBHOOK_SECRET_GRACE:
        return current
    return [*current, box.open(previous)]
