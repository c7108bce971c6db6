"""Signed webhooks: the decisions a platform receives, and the checks a receiver makes.

Every decision is POSTed to the platform's webhook URL as JSON with three headers:

* ``X-Isegoria-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
  the timestamp is inside the MAC so a captured request cannot be replayed later with a
  fresh timestamp (the scheme Stripe documents for its webhooks);
* ``X-Isegoria-Delivery``: the decision id, the idempotency key. Retries of one decision
  carry the same id; a receiver that has applied it answers 2xx and does nothing more;
* ``X-Isegoria-Event``: ``decision.<kind>`` (``decision.sanction_imposed``, ...).

Delivery is at least once. The outbox worker (not this module) keeps order per subject: it
does not send decision ``n + 1`` about a content before decision ``n`` is delivered or
dead-lettered. This module supplies the pieces it calls: :func:`deliver` makes one attempt
and classifies the outcome, :func:`next_attempt_delay` spaces the retries, and
:data:`MAX_ATTEMPTS` says when to give up. :func:`verify_inbound` is the receiving side,
used for webhooks platforms send to isegoria (and mirrored in the docs for platforms).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Final

import httpx

from isegoria.domain.decisions import Decision
from isegoria.integrations.egress import EgressRefused

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_CAP_SECONDS",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER_SECONDS",
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE_SECONDS",
    "DeliveryOutcome",
    "DeliveryResult",
    "WebhookVerificationError",
    "decision_body",
    "deliver",
    "deliver_body",
    "event_name",
    "next_attempt_delay",
    "sign",
    "signed_headers",
    "verify_inbound",
    "verify_signature",
]

SIGNATURE_HEADER: Final = "X-Isegoria-Signature"
DELIVERY_HEADER: Final = "X-Isegoria-Delivery"
EVENT_HEADER: Final = "X-Isegoria-Event"

#: A signed request older (or newer) than this is refused: five minutes, the window Stripe
#: and GitHub recommend, wide enough for clock skew and slow proxies.
SIGNATURE_TOLERANCE_SECONDS: Final = 300
#: Attempts before a delivery is dead-lettered. With the backoff below the last attempt is
#: made about a day after the first (sum of 2**k minutes capped at 6 h), enough to ride out a
#: receiver's planned maintenance.
MAX_ATTEMPTS: Final = 12
#: First retry delay (seconds) and the ceiling of the exponential backoff.
BACKOFF_BASE_SECONDS: Final = 30.0
BACKOFF_CAP_SECONDS: Final = 6 * 3600.0
#: A receiver's Retry-After is honoured up to this many seconds (longer is clipped: a
#: misconfigured receiver must not park a decision for weeks).
MAX_RETRY_AFTER_SECONDS: Final = 24 * 3600.0
#: Seconds to wait for a receiver by default (connect and read).
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
#: Characters of a failed response body kept for the operator's dead-letter view.
MAX_ERROR_EXCERPT: Final = 300


class WebhookVerificationError(ValueError):
    """An inbound webhook is refused: bad or missing signature, stale, or a replay."""


class DeliveryOutcome(Enum):
    """What one delivery attempt means for the outbox."""

    DELIVERED = "delivered"  # 2xx: done
    RETRY = "retry"  # timeout, connection error, 5xx, 429: try again later
    PERMANENT = "permanent"  # any other 4xx: the receiver will not accept it; dead-letter


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one attempt, with what the operator needs to see."""

    outcome: DeliveryOutcome
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None  # seconds, when the receiver asked for a delay

    @property
    def delivered(self) -> bool:
        """Whether the receiver accepted it."""
        return self.outcome is DeliveryOutcome.DELIVERED


def event_name(decision: Decision) -> str:
    """The ``X-Isegoria-Event`` value: ``decision.<kind>``."""
    return f"decision.{decision.kind.value}"


def decision_body(decision: Decision) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, keys sorted, UTF-8."""
    text = json.dumps(decision.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def sign(secret: str, body: bytes, timestamp: int, *, also: Sequence[str] = ()) -> str:
    """The ``X-Isegoria-Signature`` value for ``body`` sent at ``timestamp``.

    ``also`` adds one ``v1=`` per further secret (the previous one during a rotation's
    grace); a receiver accepts the request if any of them verifies with its secret.
    """
    macs = [
        hmac.new(key.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        for key in (secret, *also)
    ]
    return f"t={timestamp}," + ",".join(f"v1={mac}" for mac in macs)


def signed_headers(secret: str, decision: Decision, body: bytes, now: datetime) -> dict[str, str]:
    """All headers of one delivery of ``decision`` (signature, delivery id, event, type)."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body, int(now.timestamp())),
        DELIVERY_HEADER: str(decision.id),
        EVENT_HEADER: event_name(decision),
    }


#: Unix seconds fit in 12 digits until the year 33658; longer cannot be a real time, and an
#: unbounded number would overflow the float arithmetic of the age check (found by fuzzing).
MAX_TIMESTAMP_DIGITS = 12


def _parse_signature(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if not value.isascii() or not value.isdigit():
                raise WebhookVerificationError(
                    f"signature timestamp {value[:40]!r} is not a number"
                )
            if len(value) > MAX_TIMESTAMP_DIGITS:
                raise WebhookVerificationError(
                    f"signature timestamp has {len(value)} digits; Unix seconds have at most "
                    f"{MAX_TIMESTAMP_DIGITS}"
                )
            timestamp = int(value)
        elif key == "v1":
            macs.append(value)
    if timestamp is None:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} has no t=<unix seconds> part")
    if not macs:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} has no v1=<hex HMAC> part")
    return timestamp, macs


def verify_signature(
    header: str,
    body: bytes,
    secret: str,
    *,
    now: datetime,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> int:
    """Check one signature header against ``body``; return its timestamp or raise."""
    timestamp, macs = _parse_signature(header)
    age = now.timestamp() - timestamp
    if abs(age) > tolerance:
        raise WebhookVerificationError(
            f"signature timestamp is {int(abs(age))} s {'old' if age > 0 else 'in the future'}; "
            f"requests are accepted within {tolerance} s (check the sender's clock)"
        )
    expected = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    # Constant-time comparison: a byte-by-byte early exit would leak the MAC by timing.
    if not any(hmac.compare_digest(expected, mac) for mac in macs):
        raise WebhookVerificationError(
            "signature does not match the body; check the shared secret and that the body "
            "is verified byte for byte as received"
        )
    return timestamp


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def verify_inbound(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    now: datetime,
    seen_ids: MutableMapping[str, int],
    *,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> str:
    """Accept a signed webhook once: return its delivery id, or raise.

    ``seen_ids`` maps delivery ids already accepted to their signature timestamp (a table in
    production). Entries older than ``tolerance`` may be pruned by the caller, since a
    request that old is refused as stale anyway; that bounds the memory replay protection
    needs. A delivery id is recorded only after the signature verified.
    """
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    delivery = _header(headers, DELIVERY_HEADER)
    if not delivery:
        raise WebhookVerificationError(f"missing {DELIVERY_HEADER} header")
    timestamp = verify_signature(signature, body, secret, now=now, tolerance=tolerance)
    if delivery in seen_ids:
        raise WebhookVerificationError(
            f"delivery {delivery!r} was already received; a replay is refused"
        )
    seen_ids[delivery] = timestamp
    return delivery


def _retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """RFC 9110 §10.2.3: ``Retry-After`` is delay-seconds or an HTTP-date."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # RFC 9110 HTTP-dates are GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def deliver(
    url: str,
    secret: str,
    decision: Decision,
    *,
    client: httpx.Client,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    now: datetime | None = None,
) -> DeliveryResult:
    """Make one signed delivery attempt of ``decision`` to ``url`` and classify its outcome."""
    return deliver_body(
        url,
        secret,
        delivery_id=str(decision.id),
        event=event_name(decision),
        body=decision_body(decision),
        client=client,
        timeout=timeout,
        now=now,
    )


def deliver_body(
    url: str,
    secret: str,
    *,
    delivery_id: str,
    event: str,
    body: bytes,
    client: httpx.Client,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    now: datetime | None = None,
    also_signed_with: Sequence[str] = (),
) -> DeliveryResult:
    """One signed attempt with an already serialised body (what the outbox stores)."""
    sent_at = now or datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body, int(sent_at.timestamp()), also=also_signed_with),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
    }
    try:
        response = client.post(url, content=body, headers=headers, timeout=timeout)
    except EgressRefused as exc:
        # The address is forbidden (SSRF guard): it will be just as forbidden next time, so
        # this is a dead letter for the operator, not a retry every few minutes.
        return DeliveryResult(DeliveryOutcome.PERMANENT, error=str(exc))
    except httpx.TimeoutException as exc:
        return DeliveryResult(DeliveryOutcome.RETRY, error=f"timed out after {timeout} s: {exc}")
    except httpx.TransportError as exc:  # connection refused, reset, DNS, TLS ...
        return DeliveryResult(DeliveryOutcome.RETRY, error=f"connection failed: {exc}")
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult(DeliveryOutcome.DELIVERED, status_code=status)
    excerpt = response.text[:MAX_ERROR_EXCERPT]
    if status == 429 or status >= 500:
        retry_after = _retry_after_seconds(response.headers.get("Retry-After"), sent_at)
        return DeliveryResult(
            DeliveryOutcome.RETRY,
            status_code=status,
            error=f"HTTP {status}: {excerpt}",
            retry_after=retry_after,
        )
    # Any other status (4xx, and 1xx/3xx since redirects are not followed for signed POSTs)
    # means the receiver refuses this request as it is: retrying cannot help.
    return DeliveryResult(
        DeliveryOutcome.PERMANENT, status_code=status, error=f"HTTP {status}: {excerpt}"
    )


def next_attempt_delay(
    attempt: int,
    *,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
    jitter_rng: random.Random,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (from 1).

    Exponential backoff with full jitter (Brooker, "Exponential Backoff And Jitter", AWS
    Architecture Blog, 2015): uniform in ``[0, min(cap, base * 2**(attempt-1))]``, which
    spreads the retries of many decisions queued behind one outage. A receiver's
    ``Retry-After`` is a floor: it is honoured even when the jittered delay is shorter.
    """
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 62))
    delay = jitter_rng.uniform(0.0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay
