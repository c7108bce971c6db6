"""Appending: entries in the caller's transaction, consecutive indexes under concurrency."""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import dataclass
from typing import ClassVar

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from isegoria.algorithms import checkpoint, merkle
from isegoria.clock import SystemClock
from isegoria.domain.events import Event
from isegoria.log import read
from isegoria.log.entries import decode_entry
from isegoria.log.signing import LogSigner
from isegoria.people import jurisdictions
from isegoria.store.db import Database
from isegoria.store.models import Jurisdiction, LogCheckpoint, LogEntry
from isegoria.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Noted(Event):
    """A test event."""

    kind: ClassVar[str] = "Noted"
    subject_type: ClassVar[str] = "test"
    writer: str
    n: int

    @property
    def subject_id(self) -> str:
        return f"{self.writer}-{self.n}"


def assert_log_is_sound(database: Database, signer: LogSigner, expected: int) -> None:
    """Indexes 0..n-1, each checkpoint signed and equal to the root recomputed from payloads."""
    with database.session(readonly=True) as session:
        rows = list(session.execute(select(LogEntry.idx, LogEntry.payload).order_by(LogEntry.idx)))
        checkpoints = {
            c.size: c for c in session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size))
        }
        assert read.tree_size(session) == expected
    assert [idx for idx, _ in rows] == list(range(expected))
    tree = merkle.CompactTree()
    for idx, payload in rows:
        assert decode_entry(payload).index == idx
        tree.append(merkle.leaf_hash(payload))
        if tree.size in checkpoints:
            cp = checkpoints[tree.size]
            opened = checkpoint.open_signed_note(cp.note, [signer.verifier_key])
            assert opened.root_hash == cp.root_hash == tree.root()
    assert max(checkpoints) == expected


def test_entries_commit_with_the_state_change(uow: UnitOfWork) -> None:
    with uow.begin():
        jurisdictions.add_jurisdiction(uow, code="intl", name="Intl", parent=None, languages=[])
    with pytest.raises(RuntimeError):
        with uow.begin():
            jurisdictions.add_jurisdiction(uow, code="EU", name="EU", parent="intl", languages=[])
            raise RuntimeError("crash after the log append, before commit")
    with uow.begin(readonly=True):
        assert uow.session.get(Jurisdiction, "EU") is None
        assert [e.subject_id for e in read.entries(uow.session, 0, 10)] == ["intl"]
        assert read.tree_size(uow.session) == 1
    with uow.begin():
        jurisdictions.add_jurisdiction(uow, code="EU", name="EU", parent="intl", languages=[])
    with uow.begin(readonly=True):
        found = [(e.idx, e.kind, e.subject_id) for e in read.entries(uow.session, 0, 10)]
    if uow.database.is_sqlite:
        # One writer at a time: the rolled-back entry's index is simply given again.
        assert found == [(0, "JurisdictionCreated", "intl"), (1, "JurisdictionCreated", "EU")]
    else:
        # The sequence never gives an index twice: the next writer, finding index 1 free
        # of any writer and of any row, accounts for it in public before its own entry.
        assert found == [
            (0, "JurisdictionCreated", "intl"),
            (1, "IndexVoided", "1"),
            (2, "JurisdictionCreated", "EU"),
        ]


def test_one_checkpoint_per_transaction_that_appended(uow: UnitOfWork, signer: LogSigner) -> None:
    with uow.begin():
        for n in range(5):
            uow.log.append(Noted("batch", n))
    with uow.begin():
        uow.log.append(Noted("single", 0))
    with uow.begin(readonly=True):
        sizes = [c.size for c in read.checkpoints(uow.session, 0, 10)]
    assert sizes == [5, 6]
    assert_log_is_sound(uow.database, signer, 6)


def test_a_transaction_may_integrate_between_appends(uow: UnitOfWork, signer: LogSigner) -> None:
    """As a draw does when it seeds from the checkpoint of an entry it just wrote."""
    with uow.begin():
        uow.log.append(Noted("first", 0))
        done = uow.log.integrate()
        assert done is not None and done.size == 1
        uow.log.append(Noted("then", 1))
        uow.log.append(Noted("then", 2))
    with uow.begin(readonly=True):
        sizes = [c.size for c in read.checkpoints(uow.session, 0, 10)]
    assert sizes == [1, 3]
    assert_log_is_sound(uow.database, signer, 3)


def test_proofs_from_stored_nodes_verify(uow: UnitOfWork) -> None:
    for n in range(23):
        with uow.begin():
            uow.log.append(Noted("w", n))
    with uow.begin(readonly=True):
        session = uow.session
        for size in (1, 2, 7, 16, 23):
            root = read.root_at(session, size)
            assert root == read.checkpoint_at(session, size).root_hash  # type: ignore[union-attr]
            for index in range(size):
                leaf = merkle.leaf_hash(read.entry(session, index).payload)
                proof = read.inclusion_proof(session, index, size)
                assert merkle.verify_inclusion(index, size, leaf, proof, root)
            for first in range(size + 1):
                proof = read.consistency_proof(session, first, size)
                assert merkle.verify_consistency(
                    first, size, read.root_at(session, first), root, proof
                )


def test_threads_appending_at_once_get_consecutive_indexes(
    database: Database, signer: LogSigner
) -> None:
    writers, per_writer = 6, 15
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            uow = UnitOfWork(database, SystemClock(), signer)
            for n in range(per_writer):
                with uow.begin():
                    uow.log.append(Noted(name, n))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert_log_is_sound(database, signer, writers * per_writer)


def _process_writer(url: str, pem: bytes, origin: str, name: str, count: int) -> None:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    database = Database(url)
    uow = UnitOfWork(database, SystemClock(), LogSigner(origin, key))
    for n in range(count):
        with uow.begin():
            uow.log.append(Noted(name, n))
    database.dispose()


def test_processes_appending_at_once_get_consecutive_indexes(
    database: Database, database_url: str, signer: LogSigner
) -> None:
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_process_writer, args=(database_url, pem, signer.origin, f"p{i}", 20)
        )
        for i in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert_log_is_sound(database, signer, 60)


def test_the_timer_signs_a_head_that_no_checkpoint_covers(
    uow: UnitOfWork, signer: LogSigner
) -> None:
    from sqlalchemy import delete

    from isegoria.jobs.checkpoint_timer import ensure_checkpoint

    for n in range(3):
        with uow.begin():
            uow.log.append(Noted("timer", n))
    assert not ensure_checkpoint(uow.database, uow.clock, signer)  # every commit signed one
    with uow.begin():  # as after a restore that lost the newest checkpoint
        uow.session.execute(delete(LogCheckpoint).where(LogCheckpoint.size == 3))
    assert ensure_checkpoint(uow.database, uow.clock, signer)
    assert_log_is_sound(uow.database, signer, 3)
