"""The token bucket: bursts, refill, Retry-After, peeking, resets, bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.errors import RateLimited
from isegoria.http.ratelimit import RateLimiter
from isegoria.rate_rules import Rule


class FakeTime:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_parse_rules() -> None:
    assert Rule.parse("x", "20/1m") == Rule("x", 20, 60.0)
    assert Rule.parse("x", "5/15m") == Rule("x", 5, 900.0)
    assert Rule.parse("x", "100/s") == Rule("x", 100, 1.0)
    assert Rule.parse("x", " 3 / 2h ") == Rule("x", 3, 7200.0)
    for bad in ("", "20", "20/", "0/1m", "20/0m", "-1/1m", "20/1w", "a/1m"):
        with pytest.raises(ValueError, match="rate limit"):
            Rule.parse("x", bad)


def test_burst_then_refused_with_retry_after_until_refill() -> None:
    now = FakeTime()
    limiter = RateLimiter(now=now)
    rule = Rule("login_failures", 5, 900.0)  # then one every 180 s
    for _ in range(5):
        assert limiter.hit("login:ana", rule).allowed
    refused = limiter.hit("login:ana", rule)
    assert not refused.allowed
    assert refused.retry_after == 180
    now.t += 179
    assert limiter.hit("login:ana", rule).retry_after == 1
    now.t += 1
    assert limiter.hit("login:ana", rule).allowed  # exactly one token came back
    assert not limiter.hit("login:ana", rule).allowed


def test_keys_and_rules_are_independent() -> None:
    limiter = RateLimiter(now=FakeTime())
    a, b = Rule("a", 1, 60.0), Rule("b", 1, 60.0)
    assert limiter.hit("k", a).allowed
    assert not limiter.hit("k", a).allowed
    assert limiter.hit("k", b).allowed
    assert limiter.hit("other", a).allowed


def test_limit_raises_rate_limited_with_retry_after() -> None:
    limiter = RateLimiter(now=FakeTime())
    rule = Rule("votes", 2, 10.0)
    limiter.limit("person:1", rule)
    limiter.limit("person:1", rule)
    with pytest.raises(RateLimited) as caught:
        limiter.limit("person:1", rule)
    assert caught.value.status == 429
    assert caught.value.retry_after == 5
    assert "votes" in caught.value.detail


def test_peek_and_require_spend_nothing_and_reset_refills() -> None:
    limiter = RateLimiter(now=FakeTime())
    rule = Rule("r", 1, 60.0)
    for _ in range(3):
        limiter.require("k", rule)
        assert limiter.peek("k", rule).allowed
    limiter.hit("k", rule)
    with pytest.raises(RateLimited):
        limiter.require("k", rule)
    limiter.reset("k", rule)
    limiter.require("k", rule)


def test_disabled_limiter_allows_everything() -> None:
    limiter = RateLimiter(enabled=False, now=FakeTime())
    rule = Rule("r", 1, 3600.0)
    assert all(limiter.hit("k", rule).allowed for _ in range(100))


def test_memory_is_bounded_by_evicting_the_least_recently_used() -> None:
    limiter = RateLimiter(now=FakeTime(), max_buckets=3)
    rule = Rule("r", 1, 3600.0)
    for key in ("a", "b", "c"):
        limiter.hit(key, rule)
    limiter.hit("a", rule)  # a is now the most recently used
    limiter.hit("d", rule)  # evicts b
    assert not limiter.peek("a", rule).allowed
    assert not limiter.peek("c", rule).allowed
    assert limiter.peek("b", rule).allowed  # forgotten: a fresh bucket


def test_refusals_are_reported_to_the_callback() -> None:
    seen: list[str] = []
    limiter = RateLimiter(now=FakeTime(), on_limited=lambda rule: seen.append(rule.name))
    rule = Rule("api_address", 1, 60.0)
    limiter.hit("k", rule)
    limiter.hit("k", rule)
    assert seen == ["api_address"]


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 50),
    seconds=st.floats(0.5, 3600),
    gaps=st.lists(st.floats(0, 120), min_size=1, max_size=80),
)
def test_never_more_than_burst_plus_refill(count: int, seconds: float, gaps: list[float]) -> None:
    """Over any schedule, allowed hits ≤ count + elapsed × rate (the bucket's guarantee)."""
    now = FakeTime()
    start = now.t
    limiter = RateLimiter(now=now)
    rule = Rule("r", count, seconds)
    allowed = 0
    for gap in gaps:
        now.t += gap
        decision = limiter.hit("k", rule)
        if decision.allowed:
            allowed += 1
        else:
            assert decision.retry_after >= 1
    assert allowed <= count + (now.t - start) * rule.refill_per_second + 1e-9


@settings(max_examples=40, deadline=None)
@given(count=st.integers(1, 20), seconds=st.floats(1, 600))
def test_waiting_retry_after_is_enough(count: int, seconds: float) -> None:
    now = FakeTime()
    limiter = RateLimiter(now=now)
    rule = Rule("r", count, seconds)
    while limiter.hit("k", rule).allowed:
        pass
    decision = limiter.hit("k", rule)
    now.t += decision.retry_after
    assert limiter.hit("k", rule).allowed


def test_a_hit_may_cost_several_tokens_all_or_none() -> None:
    now = FakeTime()
    limiter = RateLimiter(now=now)
    rule = Rule("api_platform", 10, 10.0)  # one token a second
    assert limiter.hit("platform:1", rule, cost=8).remaining == 2
    refused = limiter.hit("platform:1", rule, cost=3)
    assert not refused.allowed and refused.retry_after == 1  # one more token is missing
    assert limiter.hit("platform:1", rule, cost=2).allowed  # the refusal spent nothing
    now.t += 4
    with pytest.raises(RateLimited):
        limiter.limit("platform:1", rule, cost=5)
    limiter.limit("platform:1", rule, cost=4)
