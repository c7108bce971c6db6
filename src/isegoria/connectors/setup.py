"""Connectors: a platform's Matrix homeserver or Mastodon server, wired to the adapters.

An operator connects an existing platform to its server once (``isegoria platforms
connect-matrix`` / ``connect-mastodon``). The admin token (and Mastodon's webhook secret)
is sealed with the instance key, like a platform's webhook secret: isegoria needs it in clear
to act on the server, and a copy of the database alone does not give it away.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select

from isegoria.domain.connector_events import ConnectorAdded
from isegoria.errors import Conflict, InvalidInput, NotFound
from isegoria.integrations.egress import literal_host_reason
from isegoria.integrations.mastodon import MastodonConfig
from isegoria.integrations.matrix_mapping import PSEUDONYM_KEY_BYTES, Pseudonyms, RuleMapping
from isegoria.integrations.matrix_snapshot import MatrixConfig, MatrixCursor
from isegoria.ops.staff_trail import Actor, record_staff_action
from isegoria.people.jurisdictions import get_jurisdiction
from isegoria.people.platforms import check_webhook_url, find_platform
from isegoria.security import SecretBox
from isegoria.store.models_connectors import PlatformConnector
from isegoria.unit_of_work import UnitOfWork

MATRIX, MASTODON = "matrix", "mastodon"
KINDS = (MATRIX, MASTODON)
#: Longest admin token or webhook secret accepted (Synapse and Mastodon tokens are < 100).
MAX_SECRET_LENGTH = 4096
#: BCP 47 tags are at most 35 characters in practice (RFC 5646 §4.4.1 recommends that bound).
MAX_LANGUAGE_LENGTH = 35
MAX_JURISDICTIONS = 20
#: Options each kind accepts besides the rule mapping, with their allowed values.
MATRIX_OPTIONS: Mapping[str, tuple[Any, ...]] = {
    "reduce_reach": ("shadow_ban", "none"),
    "ban": ("deactivate", "lock"),
    "notify": ("server_notice", "none"),
    "user_reports": (True, False),
}
MASTODON_OPTIONS: Mapping[str, tuple[Any, ...]] = {
    "ban": ("suspend", "disable"),
    "send_email": (True, False),
}


@dataclass(frozen=True)
class ConnectorRequest:
    """What an operator gives to connect a platform to its server."""

    platform: str  # id or name
    kind: Literal["matrix", "mastodon"]
    base_url: str
    admin_token: str
    rules: Mapping[str, Any]
    jurisdictions: Sequence[str]
    language: str = "und"
    options: Mapping[str, Any] | None = None
    webhook_secret: str | None = None  # Mastodon only: the secret its admin UI shows


def _check_secret(value: str | None, field: str, what: str) -> str:
    if value is None or not value.strip():
        raise InvalidInput("give the %(what)s", field=field, what=what)
    value = value.strip()
    if len(value) > MAX_SECRET_LENGTH or any(c.isspace() for c in value):
        raise InvalidInput(
            "the %(what)s is one word of at most %(max)s characters",
            field=field,
            what=what,
            max=MAX_SECRET_LENGTH,
        )
    return value


def _check_options(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    allowed = MATRIX_OPTIONS if kind == MATRIX else MASTODON_OPTIONS
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InvalidInput(
            "unknown %(kind)s options %(unknown)s; known: %(value)s",
            field="options",
            kind=kind,
            unknown=unknown,
            value=sorted(allowed),
        )
    for key, value in options.items():
        if value not in allowed[key] or type(value) is not type(allowed[key][0]):
            raise InvalidInput(
                "option %(key)s must be one of %(value)s, got %(value2)s",
                field="options",
                key=key,
                value=list(allowed[key]),
                value2=repr(value),
            )
    return dict(options)


def connect(
    uow: UnitOfWork,
    box: SecretBox,
    request: ConnectorRequest,
    *,
    allow_private: bool = False,
    actor: Actor | None = None,
) -> PlatformConnector:
    """Connect a platform to its server; every field is checked before anything is stored."""
    if request.kind not in KINDS:
        raise InvalidInput("a connector is one of %(value)s", field="kind", value=list(KINDS))
    platform = find_platform(uow, request.platform)
    taken = uow.session.scalar(
        select(PlatformConnector.id).where(PlatformConnector.platform_id == platform.id)
    )
    if taken is not None:
        raise Conflict(
            "platform %(name)s is already connected (connector %(taken)s)",
            field="platform",
            name=repr(platform.name),
            taken=taken,
        )
    try:
        base_url = check_webhook_url(request.base_url.rstrip("/"))
    except InvalidInput:
        raise InvalidInput(
            "the server URL is an absolute http:// or https:// URL, got %(base_url)s",
            field="base_url",
            base_url=repr(request.base_url),
        ) from None
    # The same guard as a webhook's at registration: an address written in the URL is judged
    # now; a host name is judged by what it resolves to at every request (egress).
    reason = None if allow_private else literal_host_reason(base_url)
    if reason is not None:
        raise InvalidInput(
            "the server URL may not point at %(reason)s; connected servers "
            "must have public addresses (an operator can allow private ones "
            "with ISEGORIA_WEBHOOK_ALLOW_PRIVATE=true)",
            field="base_url",
            reason=reason,
        )
    token = _check_secret(request.admin_token, "admin_token", "server's admin access token")
    secret = None
    if request.kind == MASTODON:
        secret = _check_secret(
            request.webhook_secret, "webhook_secret", "secret of the Mastodon webhook"
        )
    elif request.webhook_secret is not None:
        raise InvalidInput("a Matrix connector has no webhook secret", field="webhook_secret")
    try:
        RuleMapping.from_json(request.rules)
    except (ValueError, AttributeError, TypeError) as error:
        raise InvalidInput(
            "the rule mapping is not valid: %(error)s", field="rules", error=error
        ) from None
    codes = [code.strip() for code in request.jurisdictions if code.strip()]
    if not 0 < len(codes) <= MAX_JURISDICTIONS:
        raise InvalidInput(
            "name 1 to %(max)s jurisdictions whose law applies to the server",
            field="jurisdictions",
            max=MAX_JURISDICTIONS,
        )
    for code in codes:
        get_jurisdiction(uow, code)  # NotFound names the unknown code
    language = request.language.strip()
    if not 0 < len(language) <= MAX_LANGUAGE_LENGTH:
        raise InvalidInput("the language is a BCP 47 tag such as es or pt-BR", field="language")
    options = _check_options(request.kind, request.options or {})
    connector = PlatformConnector(
        platform_id=platform.id,
        kind=request.kind,
        base_url=base_url,
        admin_token=box.seal(token),
        webhook_secret=box.seal(secret) if secret is not None else None,
        config=json.dumps({"rules": dict(request.rules), **options}, sort_keys=True),
        jurisdictions=",".join(dict.fromkeys(codes)),
        language=language,
        cursor=MatrixCursor().to_json(),
        created_at=uow.now(),
    )
    uow.session.add(connector)
    uow.session.flush()
    uow.log.append(
        ConnectorAdded(
            platform_id=platform.id,
            connector_id=connector.id,
            connector_kind=connector.kind,
            jurisdictions=connector.jurisdictions.split(","),
        )
    )
    # ConnectorAdded above is the public entry; the trail adds who did it.
    detail = {"platform_id": platform.id, "kind": connector.kind, "base_url": base_url}
    record_staff_action(uow, actor, "connector.added", f"connector:{connector.id}", detail=detail)
    return connector


def get_connector(uow: UnitOfWork, connector_id: int, *, lock: bool = False) -> PlatformConnector:
    """The connector with this id."""
    connector = uow.session.get(PlatformConnector, connector_id, with_for_update=lock)
    if connector is None:
        raise NotFound(
            "no connector %(connector_id)s", field="connector_id", connector_id=connector_id
        )
    return connector


def list_connectors(uow: UnitOfWork, kind: str | None = None) -> list[PlatformConnector]:
    """Every connector (of ``kind``), oldest first."""
    query = select(PlatformConnector).order_by(PlatformConnector.id)
    if kind is not None:
        query = query.where(PlatformConnector.kind == kind)
    return list(uow.session.scalars(query))


def connector_for_platform(uow: UnitOfWork, platform_id: int) -> PlatformConnector | None:
    """The platform's connector, if it has one."""
    return uow.session.scalar(
        select(PlatformConnector).where(PlatformConnector.platform_id == platform_id)
    )


def pseudonyms(secret: bytes, connector: PlatformConnector) -> Pseudonyms:
    """The reversible pseudonyms of a platform's accounts, keyed by the instance secret."""
    # A key of its own per platform (HKDF, RFC 5869, with the platform in ``info``): a
    # pseudonym from one platform cannot be turned into an account of another.
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=PSEUDONYM_KEY_BYTES,
        salt=None,
        info=f"isegoria platform pseudonyms v1:{connector.platform_id}".encode(),
    ).derive(secret)
    return Pseudonyms(key, platform=connector.kind)


def _settings(connector: PlatformConnector) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(connector.config)
    data["jurisdictions"] = connector.jurisdictions.split(",")
    data["language"] = connector.language
    return data


def matrix_config(connector: PlatformConnector) -> MatrixConfig:
    """The Matrix adapter's configuration of a connector."""
    return MatrixConfig.from_json(_settings(connector))


def mastodon_config(connector: PlatformConnector, box: SecretBox) -> MastodonConfig:
    """The Mastodon adapter's configuration of a connector, its webhook secret in clear."""
    data = _settings(connector)
    assert connector.webhook_secret is not None  # noqa: S101 - required for Mastodon
    return MastodonConfig(
        rules=RuleMapping.from_json(data.get("rules", {})),
        jurisdictions=tuple(data["jurisdictions"]),
        webhook_secret=box.open(connector.webhook_secret),
        language=connector.language,
        ban=data.get("ban", "suspend"),
        send_email=bool(data.get("send_email", True)),
    )


def admin_token(box: SecretBox, connector: PlatformConnector) -> str:
    """The connector's admin token in clear (only to call its server)."""
    return box.open(connector.admin_token)


__all__ = [
    "KINDS",
    "MASTODON",
    "MATRIX",
    "ConnectorRequest",
    "admin_token",
    "connect",
    "connector_for_platform",
    "get_connector",
    "list_connectors",
    "mastodon_config",
    "matrix_config",
    "pseudonyms",
]
