"""Proofs and appends read stored tree nodes by primary key, not by scanning the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from isegoria.clock import ManualClock
from isegoria.domain.events import JurisdictionCreated
from isegoria.log import read
from isegoria.log.signing import LogSigner
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork


def sqlite_log(
    tmp_path: Path, clock: ManualClock, signer: LogSigner, entries: int
) -> tuple[Database, UnitOfWork]:
    """A SQLite database whose log holds ``entries`` entries, one transaction each."""
    database = Database(f"sqlite:///{tmp_path / 'nodes.db'}")
    migrate.upgrade(database)
    uow = UnitOfWork(database, clock, signer)
    for n in range(entries):
        with uow.begin():
            uow.log.append(JurisdictionCreated(code=f"J{n}", name="J", parent=None, languages=[]))
    return database, uow


def node_statements(database: Database) -> list[tuple[str, Any]]:
    """Every statement (and its parameters) sent to ``database`` that reads tree nodes."""
    sent: list[tuple[str, Any]] = []

    @event.listens_for(database.engine, "before_cursor_execute")
    def seen(_c: object, _cur: object, statement: str, params: Any, *_rest: object) -> None:
        if "log_nodes" in statement:
            sent.append((statement, params))

    return sent


def test_stored_nodes_are_found_by_primary_key_on_sqlite(
    tmp_path: Path, clock: ManualClock, signer: LogSigner
) -> None:
    database, uow = sqlite_log(tmp_path, clock, signer, 40)
    sent = node_statements(database)

    with uow.begin(readonly=True):
        proof = read.inclusion_proof(uow.session, 5, 40)
        assert proof  # a tree of 40 has a proof of several nodes
        [(statement, params)] = sent
        plan = (
            uow.session.connection()
            .exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            .all()
        )
    details = " | ".join(str(row[-1]) for row in plan)
    # SQLite answered the former row-value IN list with "SCAN log_nodes": O(n) per proof.
    assert "SEARCH log_nodes USING" in details
    assert "SCAN log_nodes" not in details
    database.dispose()


def test_small_and_large_look_ups_find_the_same_nodes(
    tmp_path: Path, clock: ManualClock, signer: LogSigner
) -> None:
    database, uow = sqlite_log(tmp_path, clock, signer, 100)
    leaves = [(0, idx) for idx in range(100)]
    pairs = [(1, idx) for idx in range(50)]
    sent = node_statements(database)

    with uow.begin(readonly=True):
        # 150 nodes: more than a fixed shape takes, so an expanding IN list per level.
        together = read.fetch_nodes(uow.session, leaves + pairs)
        one_by_one: dict[tuple[int, int], bytes] = {}
        for node in leaves[:3] + pairs[:3]:
            one_by_one.update(read.fetch_nodes(uow.session, [node]))
        statements = len(sent)
        large_statement, large_params = sent[0]
        plan = (
            uow.session.connection()
            .exec_driver_sql("EXPLAIN QUERY PLAN " + large_statement, large_params)
            .all()
        )
    assert len(together) == 150
    assert all(together[node] == one_by_one[node] for node in one_by_one)
    assert statements == 1 + 6  # one statement for the 150, one for each single node
    assert "IN (__[POSTCOMPILE" not in large_statement  # rendered, as the driver got it
    details = " | ".join(str(row[-1]) for row in plan)
    assert "SEARCH log_nodes USING" in details
    assert "SCAN log_nodes" not in details
    database.dispose()
