"""Tamper evidence: edits made straight in the database are caught by `log verify`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, delete, insert, select, update

from isegoria.algorithms import merkle
from isegoria.log.signing import LogSigner
from isegoria.log.verify import LogVerificationError, verify_database
from isegoria.log.witness import WitnessState, load_state, save_state
from isegoria.store.db import Database
from isegoria.store.models import LogCheckpoint, LogEntry, LogHead, LogNode
from isegoria.unit_of_work import UnitOfWork
from tests.conftest import START
from tests.integration.test_log_verify import fill_log


def _payload(c: Connection, index: int) -> bytes:
    return c.execute(select(LogEntry.payload).where(LogEntry.idx == index)).scalar_one()


def _set_payload(c: Connection, index: int, payload: bytes) -> None:
    c.execute(update(LogEntry).where(LogEntry.idx == index).values(payload=payload))


def change_one_byte(c: Connection) -> None:
    """'Land 7' becomes 'Lane 7': still canonical JSON with the right index."""
    payload = _payload(c, 7)
    at = payload.index(b"Land 7") + 3
    _set_payload(c, 7, payload[:at] + b"e" + payload[at + 1 :])


def break_canonical_form(c: Connection) -> None:
    """A space after the opening brace: the same JSON value, but not canonical bytes."""
    payload = _payload(c, 12)
    _set_payload(c, 12, b"{ " + payload[1:])


def delete_an_entry(c: Connection) -> None:
    c.execute(delete(LogEntry).where(LogEntry.idx == 10))


def swap_two_entries(c: Connection) -> None:
    four, nine = _payload(c, 4), _payload(c, 9)
    _set_payload(c, 4, nine)
    _set_payload(c, 9, four)


def truncate(c: Connection, size: int) -> None:
    """Delete the entries from ``size`` on and every node reaching past it; fix the head."""
    c.execute(delete(LogEntry).where(LogEntry.idx >= size))
    for level in range(8):
        c.execute(delete(LogNode).where(LogNode.level == level, LogNode.idx >= size >> level))
    c.execute(update(LogHead).values(size=size))


def truncate_to_30(c: Connection) -> None:
    truncate(c, 30)


def edit_a_leaf_node(c: Connection) -> None:
    c.execute(update(LogNode).where(LogNode.level == 0, LogNode.idx == 20).values(hash=b"\1" * 32))


def edit_an_interior_node(c: Connection) -> None:
    c.execute(update(LogNode).where(LogNode.level == 2, LogNode.idx == 1).values(hash=b"\2" * 32))


def delete_an_interior_node(c: Connection) -> None:
    c.execute(delete(LogNode).where(LogNode.level == 3, LogNode.idx == 2))


def forge_a_checkpoint(c: Connection) -> None:
    """Re-sign the checkpoint at 14 with another key under the instance's name."""
    note = c.execute(select(LogCheckpoint.note).where(LogCheckpoint.size == 14)).scalar_one()
    origin = note.split("\n", 1)[0]
    impostor = LogSigner(origin, Ed25519PrivateKey.generate())
    root = c.execute(select(LogCheckpoint.root_hash).where(LogCheckpoint.size == 14)).scalar_one()
    forged = impostor.sign(14, root)
    c.execute(update(LogCheckpoint).where(LogCheckpoint.size == 14).values(note=forged))


def rewrite_entry(c: Connection, index: int, signer: LogSigner | None) -> None:
    """Change entry ``index`` and recompute every node; re-sign checkpoints if given a signer."""
    entries = list(c.execute(select(LogEntry.payload).order_by(LogEntry.idx)).scalars())
    data = json.loads(entries[index])
    data["facts"]["name"] = "Rewritten history"
    entries[index] = rfc8785.dumps(data)
    _set_payload(c, index, entries[index])
    sizes = set(c.execute(select(LogCheckpoint.size)).scalars())
    tree = merkle.CompactTree()
    nodes, checkpoints = [], []
    for payload in entries:
        nodes += [
            {"level": lv, "idx": i, "hash": h}
            for lv, i, h in tree.append(merkle.leaf_hash(payload))
        ]
        if signer is not None and tree.size in sizes:
            root = tree.root()
            checkpoints.append(
                {"size": tree.size, "root_hash": root, "note": signer.sign(tree.size, root)}
            )
    c.execute(delete(LogNode))
    c.execute(insert(LogNode), nodes)
    if signer is not None:
        c.execute(delete(LogCheckpoint))
        c.execute(insert(LogCheckpoint), [{**cp, "created_at": START} for cp in checkpoints])


def rewrite_entry_3_and_its_nodes(c: Connection) -> None:
    rewrite_entry(c, 3, signer=None)


def truncate_and_keep_a_stale_head(c: Connection) -> None:
    c.execute(delete(LogEntry).where(LogEntry.idx >= 29))
    c.execute(delete(LogCheckpoint).where(LogCheckpoint.size > 29))


def corrupt_the_root_column(c: Connection) -> None:
    c.execute(update(LogCheckpoint).where(LogCheckpoint.size == 6).values(root_hash=b"\3" * 32))


TAMPERING: list[tuple[Callable[[Connection], None], str]] = [
    (
        change_one_byte,
        r"^entry 7: its payload hashes to leaf [0-9a-f]{64}, but the stored tree node \(0, 7\) is",
    ),
    (break_canonical_form, r"^entry 12 is malformed: not in canonical \(RFC 8785\) form"),
    (delete_an_entry, r"^entry 10 is missing \(the next stored entry is 11\)"),
    (swap_two_entries, r"^entry 4 holds the payload of entry 9: entries were swapped"),
    (truncate_to_30, r"^log truncated: checkpoint at size 36 but only 30 entries$"),
    (
        edit_a_leaf_node,
        r"^entry 20: its payload hashes to leaf .* but the stored tree node \(0, 20\) is 0101",
    ),
    (edit_an_interior_node, r"^tree node \(2, 1\) is not the hash of its children \(1, 2\)"),
    (delete_an_interior_node, r"^tree node \(3, 2\) is missing from a log of 36 entries"),
    (forge_a_checkpoint, r"^checkpoint at size 14: no signature by a trusted key"),
    (
        rewrite_entry_3_and_its_nodes,
        r"^checkpoint at size 6 does not match the entries: it signs root [0-9a-f]{64} but "
        r"entries 0..5 hash to [0-9a-f]{64}; since the previous good checkpoint \(size 1\) "
        r"one of entries 1..5 was altered$",
    ),
    (
        truncate_and_keep_a_stale_head,
        r"^local database says the log holds 36 entries, but 29 are stored; entry 29 is missing",
    ),
    (corrupt_the_root_column, r"^checkpoint at size 6: the stated root 0303"),
]


@pytest.mark.parametrize(("tamper", "message"), TAMPERING, ids=[t.__name__ for t, _ in TAMPERING])
def test_tampering_is_detected(
    uow: UnitOfWork,
    database: Database,
    signer: LogSigner,
    tamper: Callable[[Connection], None],
    message: str,
) -> None:
    fill_log(uow)
    verify_database(database, signer.verifier_key)  # honest before
    with database.engine.begin() as connection:
        tamper(connection)
    with pytest.raises(LogVerificationError, match=message):
        verify_database(database, signer.verifier_key)


def test_a_truncation_that_deletes_later_checkpoints_needs_the_state_file(
    uow: UnitOfWork, database: Database, signer: LogSigner, tmp_path: Path
) -> None:
    fill_log(uow)
    report = verify_database(database, signer.verifier_key)
    assert report.latest is not None
    state = WitnessState(
        None, signer.verifier_key, report.size, report.root_hash, report.latest.note, "then"
    )
    with database.engine.begin() as connection:
        truncate(connection, 17)
        connection.execute(delete(LogCheckpoint).where(LogCheckpoint.size > 17))
    # Nothing left inside the log contradicts the truncation ...
    assert verify_database(database, signer.verifier_key).size == 17
    # ... but the checkpoint verified earlier does.
    with pytest.raises(
        LogVerificationError,
        match=r"^log truncated: a checkpoint of size 36 was verified on then, but only 17 entries",
    ):
        verify_database(database, signer.verifier_key, state=state)


def test_a_rewrite_re_signed_with_the_instance_key_needs_the_state_file(
    uow: UnitOfWork, database: Database, signer: LogSigner, tmp_path: Path
) -> None:
    fill_log(uow)
    report = verify_database(database, signer.verifier_key)
    assert report.latest is not None
    state_file = tmp_path / "state.json"
    save_state(
        state_file,
        WitnessState(None, signer.verifier_key, 36, report.root_hash, report.latest.note, "then"),
    )
    with database.engine.begin() as connection:
        rewrite_entry(connection, 3, signer)
    fill_log(uow, (4,))
    assert verify_database(database, signer.verifier_key).size == 40  # self-consistent forgery
    held = load_state(state_file)
    with pytest.raises(
        LogVerificationError,
        match=r"^the log no longer matches the checkpoint of size 36 verified on then",
    ):
        verify_database(database, signer.verifier_key, state=held)
