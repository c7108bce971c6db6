"""Public answers kept in memory and keyed by the log: an answer changes only when it does.

Every state change commits in one transaction with the log entry that records it
(unit_of_work.py), and signed checkpoints are rows of their own. So the triple (entries in
the tree, size of the newest checkpoint, entries committed but not yet integrated) names a
version of everything the public case and log answers show, and one indexed query tells
whether a stored answer is still the answer. The third count matters under batched
integration (log/append.py): a write commits before the tree grows, and on PostgreSQL two
writers may commit in either order, so neither the head nor the highest index alone moves
with every commit; for a given tree size the count of waiting entries only grows.

Correctness does not rest on expiry times: the version is read first and the answer is
built after it, in a read transaction of its own, so an answer stored under a version is
never older than that version (it may be newer, which only means the next request at the
newer version builds it again). A row edited behind the log's
back, by someone with database access, shows in these answers after the next log entry at
the latest; `isegoria log verify` and the pages check rows against the log on every read.

Answers carry a strong ETag (a hash of the body) and ``Cache-Control: no-cache``: browsers
and proxies may keep them but must ask again, and ``If-None-Match`` is answered 304.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response
from pydantic import TypeAdapter

from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork

#: Answers one app process keeps (0 turns the cache off); ISEGORIA_READ_CACHE_ENTRIES.
DEFAULT_ENTRIES = 4096
#: Bytes of answer bodies one process keeps at most, whatever the count: 64 MiB.
MAX_BYTES = 64 * 1024 * 1024
#: Headers of every answer: keep it, but ask again before using it (RFC 9111, 5.2.2.4).
CACHE_CONTROL = "no-cache"
JSON = "application/json"

Outcome = Literal["hit", "miss", "not_modified"]
LogVersion = tuple[int, int, int]

# One round trip, three indexed look-ups (the last counts at most one batch of waiting
# entries); plain SQL that every supported database reads alike.
# (store/models.py: LogHead, LogCheckpoint, LogEntry; tests/unit/test_read_cache.py checks).
_VERSION_SQL = (
    "SELECT size, (SELECT max(size) FROM log_checkpoints), "
    "(SELECT count(*) FROM log_entries WHERE idx >= log_head.size) FROM log_head WHERE id = 1"
)


def log_version(database: Database) -> LogVersion:
    """(entries in the tree, newest checkpoint's size, entries waiting), as committed now.

    Read on a pooled driver connection, outside any ORM session: a session's transaction
    bookkeeping cost several times the query, and this runs on every public read.
    """
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(_VERSION_SQL)
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool, which ends the driver's transaction
    return _as_version(row)


def _as_version(row: Any) -> LogVersion:
    """The version in a row of ``_VERSION_SQL``; no row: a log never started."""
    if row is None:
        return (0, 0, 0)
    return (int(row[0]), int(row[1] or 0), int(row[2] or 0))


#: How long the event loop's own version read waits for SQLite before it gives up and the
#: request asks from the thread pool instead (WAL readers are not blocked by writers; this
#: bounds the rare wait on a WAL reset).
LOOP_BUSY_TIMEOUT_MS = 20


class LoopVersion:
    """The log's version read on the event loop itself, from SQLite only.

    A SQLite read of two indexed rows takes microseconds of C and no network, so a cache
    hit need not hop to the thread pool, which cost more than the rest of the answer. It
    uses a connection of its own, outside the pool: the event loop must never wait for a
    pooled connection that busy writers hold. On PostgreSQL (a network round trip), or if
    anything goes wrong, it answers None and the request asks from a thread.
    """

    def __init__(self, database: Database) -> None:
        path = database.url.database if database.is_sqlite else None
        self._path = path if path and path != ":memory:" else None
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the app's loop; tests may run several

    def read(self) -> LogVersion | None:
        """The version as committed now, or None when it must be read from a thread."""
        if self._path is None:
            return None
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = sqlite3.connect(
                        self._path, isolation_level=None, check_same_thread=False
                    )
                    self._connection.execute(f"PRAGMA busy_timeout={LOOP_BUSY_TIMEOUT_MS}")
                row = self._connection.execute(_VERSION_SQL).fetchone()
            except sqlite3.Error:
                return None
        return _as_version(row)

    def close(self) -> None:
        """Close the connection (the app's shutdown)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


@dataclass(frozen=True, slots=True)
class Stored:
    """An answer's JSON body and its entity tag."""

    body: bytes
    etag: str


def entity_tag(body: bytes) -> str:
    """A strong entity tag for ``body`` (RFC 9110, 8.8.3)."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


_adapters: dict[Any, TypeAdapter[Any]] = {}


def render_json(value: Any, shape: Any) -> bytes:
    """``value`` as the JSON FastAPI would send for a route whose response model is ``shape``."""
    adapter = _adapters.get(shape)
    if adapter is None:
        adapter = _adapters.setdefault(shape, TypeAdapter(shape))
    return adapter.dump_json(value, by_alias=True)


class ReadCache:
    """A bounded, thread-safe map from (answer, log version) to a rendered answer."""

    def __init__(
        self,
        max_entries: int = DEFAULT_ENTRIES,
        max_bytes: int = MAX_BYTES,
        record: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        #: Counts each answer's outcome (the app points it at its Prometheus counter).
        self.record = record
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Hashable, LogVersion], Stored] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def lookup(self, key: Hashable, version: LogVersion) -> Stored | None:
        """The answer stored for ``key`` at ``version``, if any."""
        return self._get((key, version))

    def answer(
        self,
        request: Request,
        uow: UnitOfWork,
        key: Hashable,
        build: Callable[[UnitOfWork], Any],
        shape: Any,
    ) -> Response:
        """The answer named ``key``: stored if the log has not moved, else built and stored.

        ``build(uow)`` runs in a read transaction of ``uow`` and returns a value of type
        ``shape`` (the route's response model); what it raises (404, 422) is not stored.
        """
        # The version is read before the answer is built, so what is stored under a version
        # is never older than it (see the module's docstring).
        full_key = (key, log_version(uow.database))
        stored = self._get(full_key)
        outcome: Outcome = "hit"
        if stored is None:
            with uow.begin(readonly=True):
                body = render_json(build(uow), shape)
            stored = Stored(body, entity_tag(body))
            self._put(full_key, stored)
            outcome = "miss"
        return self.respond(request, stored, outcome)

    def respond(self, request: Request, stored: Stored, outcome: Outcome) -> Response:
        """200 with the body, or 304 when the caller already holds this version."""
        headers = {"ETag": stored.etag, "Cache-Control": CACHE_CONTROL}
        if matches(request.headers.get("if-none-match"), stored.etag):
            self._count("not_modified")
            return Response(status_code=304, headers=headers)
        self._count(outcome)
        return Response(stored.body, media_type=JSON, headers=headers)

    def _count(self, outcome: Outcome) -> None:
        if self.record is not None:
            self.record(outcome)

    def _get(self, key: tuple[Hashable, LogVersion]) -> Stored | None:
        if self.max_entries <= 0:
            return None
        with self._lock:
            stored = self._items.get(key)
            if stored is not None:
                self._items.move_to_end(key)
            return stored

    def _put(self, key: tuple[Hashable, LogVersion], stored: Stored) -> None:
        size = len(stored.body)
        if self.max_entries <= 0 or size > self.max_bytes // 8:
            return  # one answer may not crowd out the rest
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._items[key] = stored
            self._bytes += size
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted.body)
