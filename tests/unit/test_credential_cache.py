"""The in-process cache of authenticated credentials: bounds, generations, refusals."""

from __future__ import annotations

from isegoria.domain.identity import Scope
from isegoria.http.credential_cache import CredentialCache
from isegoria.people.platforms import PlatformPrincipal

PRINCIPAL = PlatformPrincipal(7, "forum", 3, frozenset({Scope.REPORTS_WRITE}))


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.seconds = 100.0

    def __call__(self) -> float:
        return self.seconds


def test_a_remembered_key_expires_ttl_seconds_after_its_read_started() -> None:
    clock = Ticker()
    cache = CredentialCache[PlatformPrincipal](5.0, now=clock)
    ticket = cache.ticket()  # the database read starts at 100.0
    clock.seconds = 101.0  # ... and takes a second
    cache.put("digest", PRINCIPAL, ticket)
    clock.seconds = 104.999
    assert cache.get("digest") == PRINCIPAL
    clock.seconds = 105.0  # 5 s after the read started, not after it ended
    assert cache.get("digest") is None
    assert len(cache) == 0


def test_an_answer_read_before_a_clear_is_not_stored_after_it() -> None:
    cache = CredentialCache[PlatformPrincipal](5.0, now=Ticker())
    ticket = cache.ticket()
    cache.clear()  # a rotation committed while the read was in flight
    cache.put("digest", PRINCIPAL, ticket)
    assert cache.get("digest") is None
    cache.put("digest", PRINCIPAL, cache.ticket())
    assert cache.get("digest") == PRINCIPAL


def test_clear_forgets_every_key() -> None:
    cache = CredentialCache[PlatformPrincipal](5.0, now=Ticker())
    cache.put("a", PRINCIPAL, cache.ticket())
    cache.put("b", PRINCIPAL, cache.ticket())
    cache.clear()
    assert cache.get("a") is None and cache.get("b") is None


def test_zero_seconds_turns_the_cache_off() -> None:
    cache = CredentialCache[PlatformPrincipal](0.0, now=Ticker())
    assert not cache.enabled
    cache.put("digest", PRINCIPAL, cache.ticket())
    assert cache.get("digest") is None
    assert len(cache) == 0


def test_memory_is_bounded_and_the_oldest_key_goes_first() -> None:
    cache = CredentialCache[PlatformPrincipal](5.0, max_entries=2, now=Ticker())
    for digest in ("a", "b", "c"):
        cache.put(digest, PRINCIPAL, cache.ticket())
    assert len(cache) == 2
    assert cache.get("a") is None
    assert cache.get("b") == PRINCIPAL and cache.get("c") == PRINCIPAL
