"""Rate limits shared by every app process: the same token buckets, kept in PostgreSQL.

With ``isegoria serve --workers N``, or N machines behind a load balancer, buckets kept in
each process would let an address make N times a rule's count. Here a bucket is a row of
``rate_buckets`` and a hit is one statement: PostgreSQL refills the bucket from the time
since its last hit, spends the tokens if they are there, and says whether it did, atomically
(the row's lock orders concurrent hits from any process). Time is the database server's
own clock, so machines whose clocks disagree still share one bucket fairly.

The table is UNLOGGED: no write-ahead log, so a hit costs a round trip and little more, and
a crash of PostgreSQL empties it, which only hands out fresh bursts. Rows of buckets that
are full again are deleted now and then, so an attacker spraying keys fills no disk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from isegoria.rate_rules import Decision, Enforcing, Rule, refused
from isegoria.store.db import Database

#: A hit in this many prunes the rule's full buckets (about one statement per thousand).
PRUNE_EVERY = 1000

# EXCLUDED.updated is the statement's time (the row that would have been inserted), so the
# refill below is measured against the same clock reading as the insert.
_HIT = text(
    """
    INSERT INTO rate_buckets AS b (rule, key, tokens, updated, allowed)
    VALUES (
        :rule, :key,
        CASE WHEN :count >= :cost THEN :count - :cost ELSE :count END,
        COALESCE(CAST(:now AS double precision), extract(epoch FROM statement_timestamp())),
        :count >= :cost
    )
    ON CONFLICT (rule, key) DO UPDATE SET
        tokens = CASE
            WHEN least(:count, b.tokens + greatest(0, EXCLUDED.updated - b.updated) * :rate)
                 >= :cost
            THEN least(:count, b.tokens + greatest(0, EXCLUDED.updated - b.updated) * :rate)
                 - :cost
            ELSE least(:count, b.tokens + greatest(0, EXCLUDED.updated - b.updated) * :rate)
        END,
        updated = greatest(b.updated, EXCLUDED.updated),
        allowed = least(:count, b.tokens + greatest(0, EXCLUDED.updated - b.updated) * :rate)
                  >= :cost
    RETURNING tokens, allowed
    """
)
_PEEK = text(
    """
    SELECT least(:count, tokens + greatest(0,
        COALESCE(CAST(:now AS double precision), extract(epoch FROM statement_timestamp()))
        - updated) * :rate)
    FROM rate_buckets WHERE rule = :rule AND key = :key
    """
)
_RESET = text("DELETE FROM rate_buckets WHERE rule = :rule AND key = :key")
# A bucket untouched for the rule's whole period is full again: the same as no row.
_PRUNE = text(
    """
    DELETE FROM rate_buckets WHERE rule = :rule AND updated <
        COALESCE(CAST(:now AS double precision), extract(epoch FROM statement_timestamp()))
        - :seconds
    """
)


class SharedRateLimiter(Enforcing):
    """Token buckets per (rule, key) in the database, shared by every process that uses it.

    Each call is a database round trip, so callers on the event loop run it in the thread
    pool (``blocking`` says so); the in-process limiter answers in microseconds instead.
    """

    blocking = True

    def __init__(
        self,
        database: Database,
        *,
        enabled: bool = True,
        now: Callable[[], float] | None = None,
        on_limited: Callable[[Rule], None] | None = None,
    ) -> None:
        self.enabled = enabled
        self.database = database
        self.now = now  # None: the database server's clock; tests may pass their own
        self._on_limited = on_limited
        self._hits = 0
        self._count_lock = threading.Lock()

    def _params(self, rule: Rule, key: str, cost: int) -> dict[str, Any]:
        return {
            "rule": rule.name,
            "key": key[:200],
            "count": float(rule.count),
            "cost": float(cost),
            "rate": rule.refill_per_second,
            "now": self.now() if self.now is not None else None,
            "seconds": rule.seconds,
        }

    def _decision(self, rule: Rule, tokens: float, allowed: bool, cost: int) -> Decision:
        if allowed:
            return Decision(True, 0, int(tokens))
        if self._on_limited is not None:
            self._on_limited(rule)
        return refused(rule, tokens, cost)

    def hit(self, key: str, rule: Rule, cost: int = 1) -> Decision:
        """Spend ``cost`` tokens of ``key``'s bucket for ``rule`` if it holds that many."""
        if not self.enabled:
            return Decision(True, 0, rule.count)
        params = self._params(rule, key, cost)
        with self._count_lock:
            self._hits += 1
            prune = self._hits % PRUNE_EVERY == 0
        with self.database.engine.begin() as connection:
            if prune:
                connection.execute(_PRUNE, params)
            tokens, allowed = connection.execute(_HIT, params).one()
        return self._decision(rule, float(tokens), bool(allowed), cost)

    def peek(self, key: str, rule: Rule) -> Decision:
        """Whether a hit would be allowed now, spending nothing."""
        if not self.enabled:
            return Decision(True, 0, rule.count)
        with self.database.engine.connect() as connection:
            tokens = connection.execute(_PEEK, self._params(rule, key, 1)).scalar()
        if tokens is None:  # no row: a full bucket
            return Decision(True, 0, rule.count)
        return self._decision(rule, float(tokens), float(tokens) >= 1, 1)

    def reset(self, key: str, rule: Rule) -> None:
        """Forget ``key``'s bucket for ``rule`` (a full bucket next time)."""
        with self.database.engine.begin() as connection:
            connection.execute(_RESET, {"rule": rule.name, "key": key[:200]})
