"""A rate-limit rule, ``"20/1m"``: parsed by the settings when they load, applied by the limiter.

It lives on the ground floor so that ``config`` can check a setting without importing the
HTTP layer that enforces it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from isegoria.errors import RateLimited

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_RULE_PATTERN = re.compile(r"(\d+)\s*/\s*(\d*)\s*([smhd])")


@dataclass(frozen=True)
class Rule:
    """At most ``count`` hits per ``seconds`` (a burst of ``count``, then a steady rate)."""

    name: str
    count: int
    seconds: float

    @classmethod
    def parse(cls, name: str, text: str) -> Rule:
        """Parse ``"20/1m"``, ``"5/15m"``, ``"100/s"`` (count / [n]unit, units s, m, h, d)."""
        match = _RULE_PATTERN.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"rate limit {name}={text!r} is not COUNT/[N]UNIT, e.g. 20/1m")
        count, multiple, unit = int(match[1]), int(match[2] or 1), match[3]
        if count < 1 or multiple < 1:
            raise ValueError(f"rate limit {name}={text!r} must be positive")
        return cls(name, count, multiple * _UNITS[unit])

    @property
    def refill_per_second(self) -> float:
        """Tokens regained per second."""
        return self.count / self.seconds


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: allowed or not, and when to retry (whole seconds, ≥ 1)."""

    allowed: bool
    retry_after: int
    remaining: int


def refused(rule: Rule, tokens: float, cost: int) -> Decision:
    """A refusal, with the whole seconds until ``cost`` tokens will be back (at least one)."""
    return Decision(False, max(1, math.ceil((cost - tokens) / rule.refill_per_second)), 0)


def refusal(rule: Rule, decision: Decision) -> RateLimited:
    """The error a refused caller gets: 429, with when to try again."""
    return RateLimited(
        "too many requests (%(rule)s: at most %(count)s per %(seconds)s s); retry in %(wait)s s",
        retry_after=decision.retry_after,
        rule=rule.name,
        count=rule.count,
        seconds=format(rule.seconds, "g"),
        wait=decision.retry_after,
    )


class Enforcing:
    """``limit`` and ``require`` for a limiter, from its own ``hit`` and ``peek``."""

    def hit(self, key: str, rule: Rule, cost: int = 1) -> Decision:
        """Spend ``cost`` tokens of ``key``'s bucket for ``rule`` if it holds that many."""
        raise NotImplementedError

    def peek(self, key: str, rule: Rule) -> Decision:
        """Whether a hit would be allowed now, spending nothing."""
        raise NotImplementedError

    def limit(self, key: str, rule: Rule, cost: int = 1) -> None:
        """Spend ``cost`` tokens (default one) or raise ``RateLimited`` (429 with Retry-After)."""
        decision = self.hit(key, rule, cost)
        if not decision.allowed:
            raise refusal(rule, decision)

    def require(self, key: str, rule: Rule) -> None:
        """Raise ``RateLimited`` if ``key``'s bucket is empty, spending nothing."""
        decision = self.peek(key, rule)
        if not decision.allowed:
            raise refusal(rule, decision)
