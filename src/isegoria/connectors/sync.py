"""Reports in from connected servers: the Matrix poll job and the Mastodon webhook.

Both talk to the platform's server outside any database transaction (a slow server must
not hold the write lock), then record what they read in one transaction: the cases, the
triage rows and, for Matrix, the cursor past the reports handled.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from mastodon import Mastodon, MastodonError

from isegoria.clock import Clock
from isegoria.connectors import setup as connectors
from isegoria.connectors.intake import IntakeTally, record_items
from isegoria.errors import IsegoriaError, NotFound, Unauthenticated
from isegoria.integrations.mastodon import (
    SIGNATURE_HEADER,
    MastodonAdapter,
    WebhookError,
    mastodon_client,
)
from isegoria.integrations.matrix import MatrixAdapter, MatrixCursor
from isegoria.integrations.matrix_client import SynapseAdmin, SynapseAdminClient
from isegoria.log.signing import LogSigner
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork

logger = logging.getLogger("isegoria.connectors")

#: How often ``serve`` and ``worker`` poll each Matrix homeserver for new reports.
POLL_INTERVAL_SECONDS = 30.0
MAX_ERROR = 2000

SynapseFactory = Callable[[str, str], SynapseAdmin]
MastodonFactory = Callable[[str, str], Mastodon]


class WebhookRefused(IsegoriaError):
    """A signed webhook that is stale, replayed or malformed (400: do not send it again)."""

    status = 400
    title = "Webhook refused"


class ServerUnavailable(IsegoriaError):
    """The platform's own server did not answer; the sender should retry later."""

    status = 503
    title = "Platform server unavailable"


@dataclass(frozen=True)
class _Snapshot:
    """What a poll needs of a connector, read in a short transaction."""

    id: int
    base_url: str
    token: str
    cursor: str


def poll_matrix(
    database: Database,
    clock: Clock,
    signer: LogSigner | None,
    secret: bytes,
    *,
    synapse: SynapseFactory | None = None,
    allow_private: bool = False,
) -> dict[int, IntakeTally]:
    """Poll every Matrix connector once; file new reports and advance each cursor.

    ``allow_private``: as ISEGORIA_WEBHOOK_ALLOW_PRIVATE; otherwise every request to a
    homeserver passes the outbound guard."""
    box = SecretBox(secret)
    uow = UnitOfWork(database, clock, signer, secret)
    with uow.begin(readonly=True):
        polls = [
            _Snapshot(c.id, c.base_url, connectors.admin_token(box, c), c.cursor)
            for c in connectors.list_connectors(uow, connectors.MATRIX)
        ]
    tallies: dict[int, IntakeTally] = {}
    for poll in polls:
        try:
            tallies[poll.id] = _poll_one(uow, poll, synapse, allow_private)
        except Exception as error:  # noqa: BLE001 - one bad server must not stop the others
            logger.warning("polling Matrix connector %s failed: %s", poll.id, error)
            with uow.begin():
                connector = connectors.get_connector(uow, poll.id, lock=True)
                connector.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR]
    return tallies


def _poll_one(
    uow: UnitOfWork, poll: _Snapshot, synapse: SynapseFactory | None, allow_private: bool
) -> IntakeTally:
    with uow.begin(readonly=True):
        connector = connectors.get_connector(uow, poll.id)
        config = connectors.matrix_config(connector)
        names = connectors.pseudonyms(uow.secret, connector)
    if synapse is None:
        with SynapseAdminClient(poll.base_url, poll.token, allow_private=allow_private) as client:
            polled = MatrixAdapter(client, config, names).poll_reports(
                MatrixCursor.from_json(poll.cursor)
            )
    else:
        adapter = MatrixAdapter(synapse(poll.base_url, poll.token), config, names)
        polled = adapter.poll_reports(MatrixCursor.from_json(poll.cursor))
    with uow.begin():
        connector = connectors.get_connector(uow, poll.id, lock=True)
        if connector.cursor != poll.cursor:
            return IntakeTally()  # another worker handled these reports meanwhile
        tally = record_items(uow, connector, polled.items)
        connector.cursor = polled.cursor.to_json()
        connector.last_polled_at, connector.last_error = uow.now(), None
    return tally


def _check_signature(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get(SIGNATURE_HEADER, "")
    if not given.startswith("sha256="):
        raise Unauthenticated("sign the webhook: X-Hub-Signature: sha256=<hex HMAC-SHA256>")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given[len("sha256=") :], expected):
        raise Unauthenticated("the webhook signature does not match this connector's secret")


def receive_mastodon_webhook(
    uow: UnitOfWork,
    box: SecretBox,
    *,
    connector_id: int,
    body: bytes,
    headers: Mapping[str, str],
    mastodon: MastodonFactory | None = None,
    allow_private: bool = False,
) -> IntakeTally:
    """Verify a Mastodon webhook, read the report it announces, and file it (once)."""
    with uow.begin(readonly=True):
        connector = connectors.get_connector(uow, connector_id)
        if connector.kind != connectors.MASTODON:
            raise NotFound(
                "connector %(connector_id)s is not a Mastodon connector", connector_id=connector_id
            )
        config = connectors.mastodon_config(connector, box)
        names = connectors.pseudonyms(uow.secret, connector)
        base_url, token = connector.base_url, connectors.admin_token(box, connector)
    # Made after the transaction: the outbound guard resolves the server's name (DNS).
    factory = mastodon or partial(mastodon_client, allow_private=allow_private)
    api = factory(base_url, token)
    # Authenticity first (401), then freshness and form (400): Mastodon.py's adapter checks
    # the signature too, but a forged delivery deserves a different answer than a late one.
    _check_signature(config.webhook_secret, body, headers)
    adapter = MastodonAdapter(api, config, names, clock=uow.now)
    try:
        payload = adapter.verify_webhook(body, headers)
    except WebhookError as error:
        raise WebhookRefused.because(error, field="body") from None
    if payload["event"] != "report.created":
        return IntakeTally()  # other events are not ours to act on
    try:
        items = adapter.reports_for(str(payload["object"]["id"]))
    except (MastodonError, KeyError, TypeError) as error:
        raise ServerUnavailable(
            "could not read the report from the server: %(error)s", error=error
        ) from None
    with uow.begin():
        connector = connectors.get_connector(uow, connector_id)
        return record_items(uow, connector, items)


__all__ = [
    "POLL_INTERVAL_SECONDS",
    "ServerUnavailable",
    "WebhookRefused",
    "poll_matrix",
    "receive_mastodon_webhook",
]
