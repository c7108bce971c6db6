"""Sequencing: giving a log entry its index inside the writer's transaction, without a queue.

An entry's index is fixed when it is written (the payload carries it, and rows such as a
case's ``opened_log_index`` store it), but the Merkle tree is extended later, in batches,
by one integrator at a time (``integrate.py``). What a writer must not do is wait on the
other writers: that was the single ``log_head`` row every write locked until it committed.

* **PostgreSQL.** The index comes from the ``log_index_seq`` sequence, which no transaction
  waits on, and the writer holds a transaction-scoped advisory lock keyed by that index
  until it commits or rolls back: an integrator that finds an index missing can then tell
  a writer still in flight (the lock is held) from one that rolled back (it is free and the
  row absent). A batched writer also holds the shared ``SEQUENCING`` lock for its whole
  transaction (an inline writer holds the integrator lock instead): an integrator that
  gets it exclusively knows no writer is half-way between ``nextval`` and its index lock
  (otherwise it lets time rule that out: integrate.py).
* **SQLite.** There is one writer at a time, so the next index is one past the highest
  stored entry, read under the write lock; a rolled-back index is simply given again and
  no index is ever missing.

Lock keys use PostgreSQL's two-integer advisory form, in classes of their own.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

#: Advisory lock class of the log's own locks, and the two locks in it.
LOG_LOCKS = 0x15E601
INTEGRATOR = 1  # held (transaction-scoped) by whoever extends the tree
SEQUENCING = 2  # shared by writers while they sequence, exclusive to declare an index void
#: Advisory lock class of the per-index locks: index modulo 2^31 - 1 as the second key.
INDEX_LOCKS = 0x15E602
_KEY_MODULUS = 2_147_483_647

_NEXT_INDEX = text(
    "SELECT v, pg_advisory_xact_lock(:cls, (v % :modulus)::int4) "
    "FROM (SELECT nextval('log_index_seq') AS v) AS allocated"
)
# The tree's size comes along: an inline writer then integrates without reading it again.
_NEXT_SQLITE = text(
    "SELECT size, (SELECT coalesce(max(idx), -1) + 1 FROM log_entries) FROM log_head WHERE id = 1"
)
_LOCK = text("SELECT pg_advisory_xact_lock(:cls, :key)")
_LOCK_SHARED = text("SELECT pg_advisory_xact_lock_shared(:cls, :key)")
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:cls, :key)")


def is_postgresql(connection: Connection) -> bool:
    """Whether the log lives in PostgreSQL (sequence and advisory locks) or SQLite."""
    return connection.dialect.name == "postgresql"


def index_key(index: int) -> int:
    """The second key of ``index``'s advisory lock (indexes 2^31 - 1 apart share one)."""
    return index % _KEY_MODULUS


def hold_integrator(connection: Connection, *, wait: bool = True) -> bool:
    """Hold, until this transaction ends, the right to extend the tree; without ``wait``,
    give up (False) when another transaction has it."""
    if not is_postgresql(connection):
        return True
    if wait:
        connection.execute(_LOCK, {"cls": LOG_LOCKS, "key": INTEGRATOR})
        return True
    taken = connection.execute(_TRY_LOCK, {"cls": LOG_LOCKS, "key": INTEGRATOR})
    return bool(taken.scalar_one())


class Sequencer:
    """Hands out the indexes of one transaction's entries."""

    def __init__(self, connection: Connection, *, integrating: bool) -> None:
        """``integrating``: the writer holds the integrator lock already (inline), so no
        integrator can run while it is between taking an index and locking it."""
        self._connection = connection
        self._postgresql = is_postgresql(connection)
        self._integrating = integrating
        self._next: int | None = None  # SQLite: the next index, once read
        #: SQLite: the tree's size, read with the first index under the write lock.
        self.tree_size: int | None = None

    def start(self) -> None:
        """Take what a batched writer holds while it sequences (PostgreSQL: the shared
        lock; an inline writer holds the integrator lock, which covers it)."""
        if self._postgresql and not self._integrating:
            self._connection.execute(_LOCK_SHARED, {"cls": LOG_LOCKS, "key": SEQUENCING})

    def next(self) -> int:
        """A fresh index for this transaction's next entry."""
        if self._postgresql:
            row = self._connection.execute(
                _NEXT_INDEX, {"cls": INDEX_LOCKS, "modulus": _KEY_MODULUS}
            ).one()
            return int(row[0])
        if self._next is None:
            size, self._next = self._connection.execute(_NEXT_SQLITE).one()
            self.tree_size = int(size)
        index, self._next = self._next, self._next + 1
        return index


def in_flight(connection: Connection, index: int) -> bool:
    """Whether a writer that was given ``index`` may still commit it (PostgreSQL only).

    Takes the index's lock when it is free, which then stays with this transaction: the
    writer that had it is gone, and an index is never given twice.
    """
    if not is_postgresql(connection):
        return False  # one writer at a time, and it is this transaction
    free = connection.execute(_TRY_LOCK, {"cls": INDEX_LOCKS, "key": index_key(index)})
    return not bool(free.scalar_one())


def quiesce_sequencing(connection: Connection) -> bool:
    """Hold the sequencing lock exclusively if no writer holds it (else False): no writer
    is then between ``nextval`` and its index lock."""
    if not is_postgresql(connection):
        return True
    taken = connection.execute(_TRY_LOCK, {"cls": LOG_LOCKS, "key": SEQUENCING})
    return bool(taken.scalar_one())
