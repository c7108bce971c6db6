"""Reading the log: entries, checkpoints, and proofs from stored nodes in O(log n) reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from isegoria.algorithms import merkle
from isegoria.errors import InvalidInput, NotFound
from isegoria.store.models import LogCheckpoint, LogEntry, LogHead, LogNode

MAX_PAGE = 1000
# Row-value IN lists are chunked so no statement carries thousands of parameters.
_NODE_CHUNK = 400


def fetch_nodes(
    session: Session, wanted: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the given perfect nodes, in one query per chunk."""
    found: dict[tuple[int, int], bytes] = {}
    connection = session.connection()  # Core: plain rows, without the ORM's per-call cost
    for start in range(0, len(wanted), _NODE_CHUNK):
        by_level: dict[int, list[int]] = defaultdict(list)
        for level, idx in wanted[start : start + _NODE_CHUNK]:
            by_level[level].append(idx)
        levels = sorted(by_level)
        shape = tuple(len(by_level[level]) for level in levels)
        parameters: dict[str, object] = {}
        for term, level in enumerate(levels):
            parameters[f"l{term}"] = level
            if sum(shape) <= _FIXED_SHAPE_NODES:
                for n, idx in enumerate(by_level[level]):
                    parameters[f"i{term}_{n}"] = idx
            else:
                parameters[f"i{term}"] = by_level[level]
        query = _nodes_query(shape) if sum(shape) <= _FIXED_SHAPE_NODES else _expanding(len(shape))
        for level, idx, node in connection.execute(query, parameters):
            found[(level, idx)] = node
    return found


#: Node look-ups of at most this many nodes (every proof, root and frontier of a log of up
#: to 2^64 entries) use a statement built once per shape with one parameter per node.
_FIXED_SHAPE_NODES = 64

# The statements are built once and kept: SQLAlchemy then reuses their cache keys and
# compiled forms, which cost more than the query itself when built per call, and a fixed
# shape spares the per-call rendering of an "expanding" IN list. The form is one
# "level = ? AND idx IN (...)" term per level, ORed: SQLite answers a row-value IN list
# ("(level, idx) IN ((?, ?), ...)") by scanning the whole table, which made every proof and
# every append O(n); each term of this form is a primary-key search.
_NODE_COLUMNS = (LogNode.level, LogNode.idx, LogNode.hash)


@lru_cache(maxsize=1024)
def _nodes_query(shape: tuple[int, ...]) -> Select[tuple[int, int, bytes]]:
    """The look-up of ``shape[k]`` nodes on each of ``len(shape)`` levels."""
    terms = [
        and_(
            LogNode.level == bindparam(f"l{term}"),
            LogNode.idx.in_([bindparam(f"i{term}_{n}") for n in range(count)]),
        )
        for term, count in enumerate(shape)
    ]
    return select(*_NODE_COLUMNS).where(or_(*terms))


@lru_cache(maxsize=64)
def _expanding(levels: int) -> Select[tuple[int, int, bytes]]:
    """The look-up of any number of nodes on each of ``levels`` levels (large batches)."""
    terms = [
        and_(
            LogNode.level == bindparam(f"l{term}"),
            LogNode.idx.in_(bindparam(f"i{term}", expanding=True)),
        )
        for term in range(levels)
    ]
    return select(*_NODE_COLUMNS).where(or_(*terms))


def perfect_lookup(
    session: Session, wanted: Iterable[tuple[int, int]]
) -> Callable[[int, int], bytes]:
    """A lookup function over the given nodes, fetched up front."""
    nodes = fetch_nodes(session, list(wanted))

    def lookup(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise LookupError(f"log node ({level}, {index}) is missing from the store") from None

    return lookup


def tree_size(session: Session) -> int:
    """How many entries the log holds."""
    return int(session.execute(select(LogHead.size)).scalar_one())


def _check_size(session: Session, size: int, what: str = "tree_size") -> int:
    current = tree_size(session)
    if size < 0:
        raise InvalidInput("%(what)s must not be negative", field=what, what=what)
    if size > current:
        raise InvalidInput(
            "%(what)s %(size)s is beyond the log, which holds %(current)s entries",
            field=what,
            what=what,
            size=size,
            current=current,
        )
    return current


def root_at(session: Session, size: int) -> bytes:
    """The root hash of the first ``size`` entries."""
    _check_size(session, size)
    if size == 0:
        return merkle.EMPTY_ROOT
    lookup = perfect_lookup(session, merkle.perfect_subtrees(0, size))
    return merkle.range_hash(0, size, lookup)


def proof_and_root(session: Session, index: int, size: int) -> tuple[list[bytes], bytes]:
    """The inclusion proof of entry ``index`` in the tree of ``size`` and that tree's root,
    from one look-up of the nodes both need (what `GET /log/entries/{i}` answers)."""
    proof, lookup = _inclusion(session, index, size, with_root=True)
    return proof, merkle.range_hash(0, size, lookup)


def inclusion_proof(session: Session, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3 proof that entry ``index`` is in the tree of ``size``."""
    return _inclusion(session, index, size, with_root=False)[0]


def _inclusion(
    session: Session, index: int, size: int, *, with_root: bool
) -> tuple[list[bytes], Callable[[int, int], bytes]]:
    _check_size(session, size)
    if not 0 <= index < size:
        raise InvalidInput(
            "index %(index)s is not in a tree of size %(size)s (it must be below the size)",
            field="index",
            index=index,
            size=size,
        )
    ranges = merkle.inclusion_proof_ranges(index, size)
    lookup = perfect_lookup(
        session, merkle.nodes_needed([*ranges, (0, size)] if with_root else ranges)
    )
    return [merkle.range_hash(start, end, lookup) for start, end in ranges], lookup


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    """RFC 9162 §2.1.4 proof that the tree of ``first`` is a prefix of that of ``second``."""
    _check_size(session, second, "second")
    if not 0 <= first <= second:
        raise InvalidInput(
            "first (%(first)s) must be between 0 and second (%(second)s)",
            field="first",
            first=first,
            second=second,
        )
    if first in (0, second):
        return []
    ranges = merkle.consistency_proof_ranges(first, second)
    lookup = perfect_lookup(session, merkle.nodes_needed(ranges))
    return [merkle.range_hash(start, end, lookup) for start, end in ranges]


def entries(session: Session, start: int, limit: int) -> list[LogEntry]:
    """Entries from ``start`` on, in index order."""
    limit = max(1, min(limit, MAX_PAGE))
    # Only integrated entries: one sequenced but not yet in the tree has no proof to show.
    query = (
        select(LogEntry)
        .where(LogEntry.idx >= start, LogEntry.idx < tree_size(session))
        .order_by(LogEntry.idx)
        .limit(limit)
    )
    return list(session.scalars(query))


def is_sequenced(session: Session, index: int) -> bool:
    """Whether entry ``index`` is committed, integrated or still waiting for the tree."""
    return session.get(LogEntry, index) is not None


def entry(session: Session, index: int) -> LogEntry:
    """One entry, or NotFound."""
    row = session.get(LogEntry, index)
    if row is None:
        raise NotFound("no log entry %(index)s", field="index", index=index)
    return row


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    """The checkpoint of the largest tree, if any."""
    return session.scalars(
        select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1)
    ).first()


def checkpoint_at(session: Session, size: int) -> LogCheckpoint | None:
    """The checkpoint for exactly ``size`` entries, if one was issued."""
    return session.get(LogCheckpoint, size)


def checkpoints(session: Session, start_size: int, limit: int) -> list[LogCheckpoint]:
    """Checkpoints from ``start_size`` on, smallest first."""
    limit = max(1, min(limit, MAX_PAGE))
    query = (
        select(LogCheckpoint)
        .where(LogCheckpoint.size >= start_size)
        .order_by(LogCheckpoint.size)
        .limit(limit)
    )
    return list(session.scalars(query))


def entries_about(
    session: Session,
    subject_type: str,
    subject_id: str,
    *,
    kind: str | None = None,
    except_kind: str | None = None,
    limit: int | None = None,
) -> list[LogEntry]:
    """Entries about one subject, oldest first (for the subject's page): every one, or
    those of ``kind``, or all but ``except_kind``, at most ``limit``."""
    query = (
        select(LogEntry)
        .where(LogEntry.subject_type == subject_type, LogEntry.subject_id == subject_id)
        .order_by(LogEntry.idx)
    )
    if kind is not None:
        query = query.where(LogEntry.kind == kind)
    if except_kind is not None:
        query = query.where(LogEntry.kind != except_kind)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_about(session: Session, subject_type: str, subject_id: str, *, kind: str) -> int:
    """How many entries of ``kind`` are about one subject."""
    query = (
        select(func.count())
        .select_from(LogEntry)
        .where(
            LogEntry.subject_type == subject_type,
            LogEntry.subject_id == subject_id,
            LogEntry.kind == kind,
        )
    )
    return int(session.scalar(query) or 0)
