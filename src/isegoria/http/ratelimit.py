"""Rate limits: an in-process token bucket per (rule, key), answered with 429 and Retry-After.

A bucket holds up to ``rule.count`` tokens and refills continuously at ``count / seconds``
tokens per second, so a rule "5/15m" allows a burst of five and then one more every three
minutes: the slow-down after repeated failures is the refill rate itself.

On SQLite (one process) the buckets live in the process and a hit costs microseconds. On
PostgreSQL, where ``isegoria serve --workers N`` or several machines share one database,
buckets kept per process would let an address make N times a rule's count, so the buckets
are rows that every process shares (ratelimit_shared.py): a hit is one round trip, run in
the thread pool when the caller is on the event loop. ``ISEGORIA_RATELIMIT_SHARED`` chooses
explicitly (``false`` for a single PostgreSQL process that wants the microseconds back).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from isegoria.config import Settings
from isegoria.http.overload import EXEMPT_PATHS
from isegoria.http.ratelimit_shared import SharedRateLimiter
from isegoria.rate_rules import Decision, Enforcing, Rule, refused
from isegoria.store.db import Database

# Buckets kept per process; beyond this the least recently used is forgotten (bounded memory
# against an attacker who sprays many keys; forgetting only ever hands out a fresh burst).
MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class Limiter(Protocol):
    """What the routes need of a limiter, in-process or shared."""

    enabled: bool
    #: Whether a call does I/O (then the event loop hands it to the thread pool).
    blocking: bool

    def hit(self, key: str, rule: Rule, cost: int = 1) -> Decision:
        """Spend ``cost`` tokens if the bucket holds that many."""

    def limit(self, key: str, rule: Rule, cost: int = 1) -> None:
        """Spend ``cost`` tokens or raise ``RateLimited``."""

    def require(self, key: str, rule: Rule) -> None:
        """Raise ``RateLimited`` if the bucket is empty, spending nothing."""

    def reset(self, key: str, rule: Rule) -> None:
        """Forget the bucket."""


class RateLimiter(Enforcing):
    """Token buckets per (rule, key), safe to share between the threads of one process."""

    blocking = False

    def __init__(
        self,
        *,
        enabled: bool = True,
        now: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
        on_limited: Callable[[Rule], None] | None = None,
    ) -> None:
        self.enabled = enabled
        self.now = now  # the time source (monotonic seconds); tests may freeze it
        self._max = max_buckets
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self._on_limited = on_limited

    def _bucket(self, rule: Rule, key: str, now: float) -> _Bucket:
        """The refilled bucket for (rule, key); the caller holds the lock."""
        slot = (rule.name, key)
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = _Bucket(float(rule.count), now)
            self._buckets[slot] = bucket
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(rule.count), bucket.tokens + elapsed * rule.refill_per_second)
            bucket.updated = now
            self._buckets.move_to_end(slot)
        return bucket

    def _decide(self, rule: Rule, key: str, *, consume: bool, cost: int = 1) -> Decision:
        if not self.enabled:
            return Decision(True, 0, rule.count)
        with self._lock:
            bucket = self._bucket(rule, key, self.now())
            if bucket.tokens >= cost:
                if consume:
                    bucket.tokens -= cost
                return Decision(True, 0, int(bucket.tokens))
            tokens = bucket.tokens
        if self._on_limited is not None:
            self._on_limited(rule)
        return refused(rule, tokens, cost)

    def hit(self, key: str, rule: Rule, cost: int = 1) -> Decision:
        """Spend ``cost`` tokens (one hit, or a batch of that many) of ``key``'s bucket for
        ``rule`` if it holds that many."""
        return self._decide(rule, key, consume=True, cost=cost)

    def peek(self, key: str, rule: Rule) -> Decision:
        """Whether a hit would be allowed now, spending nothing."""
        return self._decide(rule, key, consume=False)

    def reset(self, key: str, rule: Rule) -> None:
        """Forget ``key``'s bucket for ``rule`` (a full bucket next time)."""
        with self._lock:
            self._buckets.pop((rule.name, key), None)


@dataclass(frozen=True)
class Rules:
    """The instance's rules, parsed once from the settings."""

    login_address: Rule
    login_failures: Rule
    login_address_failures: Rule
    api_address: Rule
    api_person: Rule
    api_platform: Rule
    reports: Rule
    votes: Rule


def rules_from(settings: Settings) -> Rules:
    """Parse the rules the settings name."""
    return Rules(
        login_address=Rule.parse("login_address", settings.ratelimit_login_address),
        login_failures=Rule.parse("login_failures", settings.ratelimit_login_failures),
        login_address_failures=Rule.parse(
            "login_address_failures", settings.ratelimit_login_address_failures
        ),
        api_address=Rule.parse("api_address", settings.ratelimit_api_address),
        api_person=Rule.parse("api_person", settings.ratelimit_api_person),
        api_platform=Rule.parse("api_platform", settings.ratelimit_api_platform),
        reports=Rule.parse("reports", settings.ratelimit_reports),
        votes=Rule.parse("votes", settings.ratelimit_votes),
    )


def install(app: FastAPI, settings: Settings, database: Database) -> Limiter:
    """Give ``app`` a limiter and the rules from ``settings``; refusals are counted as metrics.

    The buckets are shared in the database on PostgreSQL (many processes may serve one
    instance), kept in the process on SQLite; ``ISEGORIA_RATELIMIT_SHARED`` overrides.
    """
    metrics = getattr(app.state, "metrics", None)

    def counted(rule: Rule) -> None:
        if metrics is not None:
            metrics.limited.labels(rule.name).inc()

    shared = settings.ratelimit_shared
    if shared is None:
        shared = not database.is_sqlite
    elif shared and database.is_sqlite:
        raise ValueError(
            "ISEGORIA_RATELIMIT_SHARED=true needs PostgreSQL: on SQLite one process serves "
            "the instance and keeps the buckets itself"
        )
    limiter: Limiter
    if shared:
        limiter = SharedRateLimiter(
            database, enabled=settings.ratelimit_enabled, on_limited=counted
        )
    else:
        limiter = RateLimiter(enabled=settings.ratelimit_enabled, on_limited=counted)
    app.state.ratelimiter = limiter
    app.state.ratelimit_rules = rules_from(settings)
    return limiter


def client_address(request: Request) -> str:
    """The caller's address (uvicorn's proxy-headers support fills it in behind a proxy)."""
    return request.client.host if request.client is not None else "unknown"


def get_limiter(request: Request) -> Limiter:
    """The app's limiter."""
    limiter: Limiter = request.app.state.ratelimiter
    return limiter


def get_rules(request: Request) -> Rules:
    """The app's rules."""
    rules: Rules = request.app.state.ratelimit_rules
    return rules


async def off_the_loop(limiter: Limiter, call: Callable[[], None]) -> None:
    """Run a limiter call from the event loop: in place if it does no I/O, else in the pool."""
    if limiter.blocking:
        await run_in_threadpool(call)
    else:
        call()


def identity_key(request: Request) -> str:
    """The rate-limit key of the caller: their account, their platform, else their address."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.account_id is not None:
        return f"person:{principal.account_id}"
    if principal is not None and principal.platform is not None:
        return f"platform:{principal.platform.platform_id}"
    return f"address:{client_address(request)}"


def per_identity(rule_name: str) -> Callable[[Request], Awaitable[None]]:
    """A route dependency spending one token of the caller's bucket for ``rule_name``.

    Declare it as a parameter so that it runs after the route's access policy (FastAPI
    solves route-level ``dependencies`` first): ``_: ReportsLimit`` or ``_: VotesLimit``.
    A platform's calls are already limited per key by ``api_platform``: a platform files
    reports in bulk for many people, so a per-person rule does not apply to it.
    """

    async def dependency(request: Request) -> None:  # the pool only for a shared limiter
        principal = getattr(request.state, "principal", None)
        if principal is not None and principal.platform is not None:
            return
        rule: Rule = getattr(get_rules(request), rule_name)
        limiter, key = get_limiter(request), identity_key(request)
        await off_the_loop(limiter, lambda: limiter.limit(key, rule))

    return dependency


ReportsLimit = Annotated[None, Depends(per_identity("reports"))]
VotesLimit = Annotated[None, Depends(per_identity("votes"))]


def _api_budget(request: Request) -> tuple[Limiter, str, Rule] | None:
    """The limiter, bucket and rule an API call spends from, or None when limits are off."""
    limiter: Limiter | None = getattr(request.app.state, "ratelimiter", None)
    # Probes a load balancer or monitor sends every few seconds from one address must not
    # spend its API budget (nor, shared, write a bucket row each): the paths never refused
    # for load are the ones never counted either.
    if limiter is None or not limiter.enabled or request.url.path in EXEMPT_PATHS:
        return None
    rules = get_rules(request)
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.account_id is not None:
        return limiter, f"person:{principal.account_id}", rules.api_person
    if principal is not None and principal.platform is not None:
        return limiter, f"platform:{principal.platform.platform_id}", rules.api_platform
    return limiter, f"address:{client_address(request)}", rules.api_address


def check_api_request(request: Request) -> None:
    """Every API call spends a token: per person, per platform, or per address if anonymous."""
    budget = _api_budget(request)
    if budget is not None:
        limiter, key, rule = budget
        limiter.limit(key, rule)


async def check_api_request_on_loop(request: Request) -> None:
    """``check_api_request`` for a caller on the event loop."""
    budget = _api_budget(request)
    if budget is not None:
        limiter, key, rule = budget
        await off_the_loop(limiter, lambda: limiter.limit(key, rule))


def login_key(login: str) -> str:
    """The failure bucket of a submitted login, whether or not such an account exists."""
    return "login:" + login.strip().casefold()[:64]


def before_login(request: Request, login: str) -> None:
    """Refuse a login attempt from a busy address or for a login with too many failures.

    The same rules apply to logins that do not exist, so a 429 reveals nothing about which
    accounts exist (ASVS 2.2.1 with no account enumeration).
    """
    limiter: Limiter | None = getattr(request.app.state, "ratelimiter", None)
    if limiter is None:
        return
    rules = get_rules(request)
    limiter.limit(f"address:{client_address(request)}", rules.login_address)
    limiter.require(login_key(login), rules.login_failures)
    # Failures from one address across many logins (password spraying) have their own bucket.
    limiter.require(f"failures:{client_address(request)}", rules.login_address_failures)


def after_login(request: Request, login: str, *, succeeded: bool) -> None:
    """A failure spends a token of the login's and the address's buckets; a success refills
    the login's (a wrong password or second-factor code counts the same)."""
    limiter: Limiter | None = getattr(request.app.state, "ratelimiter", None)
    if limiter is None:
        return
    rules = get_rules(request)
    if succeeded:
        limiter.reset(login_key(login), rules.login_failures)
    else:
        limiter.hit(login_key(login), rules.login_failures)
        limiter.hit(f"failures:{client_address(request)}", rules.login_address_failures)
