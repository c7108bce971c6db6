"""Webhook signing, inbound verification, one delivery attempt, and the backoff schedule."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.integrations.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    MAX_RETRY_AFTER_SECONDS,
    SIGNATURE_HEADER,
    DeliveryOutcome,
    WebhookVerificationError,
    decision_body,
    deliver,
    next_attempt_delay,
    sign,
    signed_headers,
    verify_inbound,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec_test_secret"


def make_decision(decision_id: int = 41, sequence: int = 1) -> Decision:
    return Decision(
        id=decision_id,
        kind=DecisionKind.SANCTION_IMPOSED,
        platform_id=3,
        case_id=7,
        content_id="post-1",
        content_url="https://forum.example/p/1",
        author="user-a",
        sanction=SanctionStep.REMOVE,
        suspension_days=None,
        issued_at=NOW,
        sequence=sequence,
        statement_url="https://isegoria.example/s/7",
    )


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body, 1_700_000_000) == f"t=1700000000,v1={expected}"


def test_headers_carry_delivery_id_and_event() -> None:
    decision = make_decision()
    headers = signed_headers(SECRET, decision, decision_body(decision), NOW)
    assert headers[DELIVERY_HEADER] == "41"
    assert headers[EVENT_HEADER] == "decision.sanction_imposed"
    assert headers[SIGNATURE_HEADER].startswith(f"t={int(NOW.timestamp())},v1=")


def test_inbound_accepts_a_fresh_signed_request_once() -> None:
    decision = make_decision()
    body = decision_body(decision)
    headers = signed_headers(SECRET, decision, body, NOW)
    seen: dict[str, int] = {}
    assert verify_inbound(headers, body, SECRET, NOW + timedelta(seconds=30), seen) == "41"
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify_inbound(headers, body, SECRET, NOW + timedelta(seconds=31), seen)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h, b: (h, b + b" "), "does not match"),
        (lambda h, b: ({**h, SIGNATURE_HEADER: h[SIGNATURE_HEADER][:-2] + "00"}, b), "match"),
        (lambda h, b: ({k: v for k, v in h.items() if k != SIGNATURE_HEADER}, b), "missing"),
        (lambda h, b: ({k: v for k, v in h.items() if k != DELIVERY_HEADER}, b), "missing"),
        (lambda h, b: ({**h, SIGNATURE_HEADER: "v1=abc"}, b), "no t="),
        (lambda h, b: ({**h, SIGNATURE_HEADER: "t=12x,v1=abc"}, b), "not a number"),
    ],
)
def test_inbound_refuses_forgeries(mutate: object, message: str) -> None:
    decision = make_decision()
    body = decision_body(decision)
    headers, body = mutate(signed_headers(SECRET, decision, body, NOW), body)  # type: ignore[operator]
    seen: dict[str, int] = {}
    with pytest.raises(WebhookVerificationError, match=message):
        verify_inbound(headers, body, SECRET, NOW, seen)
    assert seen == {}


def test_inbound_refuses_wrong_secret_and_stale_or_future_timestamps() -> None:
    decision = make_decision()
    body = decision_body(decision)
    headers = signed_headers(SECRET, decision, body, NOW)
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_inbound(headers, body, "another secret", NOW, {})
    with pytest.raises(WebhookVerificationError, match="301 s old"):
        verify_inbound(headers, body, SECRET, NOW + timedelta(seconds=301), {})
    with pytest.raises(WebhookVerificationError, match="in the future"):
        verify_inbound(headers, body, SECRET, NOW - timedelta(seconds=301), {})
    # Within the window both ways is fine.
    assert verify_inbound(headers, body, SECRET, NOW + timedelta(seconds=299), {}) == "41"


@settings(max_examples=200, deadline=None)
@given(header=st.text(max_size=80), body=st.binary(max_size=64))
def test_garbage_signature_headers_only_raise_the_typed_error(header: str, body: bytes) -> None:
    headers = {SIGNATURE_HEADER: header, DELIVERY_HEADER: "1"}
    with pytest.raises(WebhookVerificationError):
        verify_inbound(headers, body, SECRET, NOW, {})


def _client(handler: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(transport=handler)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, DeliveryOutcome.DELIVERED),
        (204, DeliveryOutcome.DELIVERED),
        (500, DeliveryOutcome.RETRY),
        (503, DeliveryOutcome.RETRY),
        (429, DeliveryOutcome.RETRY),
        (400, DeliveryOutcome.PERMANENT),
        (404, DeliveryOutcome.PERMANENT),
        (410, DeliveryOutcome.PERMANENT),
    ],
)
def test_deliver_classifies_status_codes(status: int, outcome: DeliveryOutcome) -> None:
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(status, text="nope" if status >= 400 else "")

    with _client(httpx.MockTransport(handler)) as client:
        result = deliver("https://p.example/hook", SECRET, make_decision(), client=client, now=NOW)
    assert result.outcome is outcome
    assert result.status_code == status
    # The receiver got a request it can verify.
    request = received[0]
    assert verify_inbound(dict(request.headers), request.content, SECRET, NOW, {}) == "41"


def test_deliver_honours_retry_after_seconds_and_dates() -> None:
    def seconds(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "120"})

    def date(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "Sun, 01 Mar 2026 12:05:00 GMT"})

    def absurd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "99999999"})

    expected = [(seconds, 120.0), (date, 300.0), (absurd, MAX_RETRY_AFTER_SECONDS)]
    for handler, wait in expected:
        with _client(httpx.MockTransport(handler)) as client:
            result = deliver("https://p.example/h", SECRET, make_decision(), client=client, now=NOW)
        assert result.outcome is DeliveryOutcome.RETRY
        assert result.retry_after == wait
        assert next_attempt_delay(1, jitter_rng=random.Random(1), retry_after=wait) >= wait


def test_deliver_retries_timeouts_and_connection_errors() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler, words in ((timeout, "timed out"), (refused, "connection failed")):
        with _client(httpx.MockTransport(handler)) as client:
            result = deliver("https://p.example/h", SECRET, make_decision(), client=client, now=NOW)
        assert result.outcome is DeliveryOutcome.RETRY
        assert result.status_code is None
        assert words in result.error


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(min_value=1, max_value=200), seed=st.integers(0, 2**32))
def test_backoff_stays_within_full_jitter_bounds(attempt: int, seed: int) -> None:
    delay = next_attempt_delay(attempt, base=2.0, cap=600.0, jitter_rng=random.Random(seed))
    assert 0.0 <= delay <= min(600.0, 2.0 * 2 ** (attempt - 1))


def test_backoff_grows_exponentially_on_average() -> None:
    rng = random.Random(7)
    means = [
        sum(next_attempt_delay(a, base=1.0, cap=1e9, jitter_rng=rng) for _ in range(2000)) / 2000
        for a in (1, 4, 8)
    ]
    # Full jitter: the mean is half the ceiling (0.5, 4, 64).
    assert means[0] == pytest.approx(0.5, rel=0.1)
    assert means[1] == pytest.approx(4.0, rel=0.1)
    assert means[2] == pytest.approx(64.0, rel=0.1)
    with pytest.raises(ValueError, match="start at 1"):
        next_attempt_delay(0, jitter_rng=rng)
