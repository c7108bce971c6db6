"""`isegoria log verify` and `log proof` on a real log, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from isegoria.algorithms import merkle
from isegoria.algorithms.checkpoint import open_signed_note
from isegoria.cli import app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.domain.events import JurisdictionCreated
from isegoria.log import checks, read
from isegoria.log.explain import LEFT, RIGHT, render_proof, trace_inclusion
from isegoria.log.signing import LogSigner, load_signer
from isegoria.log.verify import verify_database
from isegoria.log.witness import load_state
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork
from tests.conftest import START

runner = CliRunner()

# 36 entries in six transactions: checkpoints at sizes 1, 6, 14, 17, 29 and 36.
BATCHES = (1, 5, 8, 3, 12, 7)
CHECKPOINT_SIZES = (1, 6, 14, 17, 29, 36)


def fill_log(uow: UnitOfWork, batches: tuple[int, ...] = BATCHES) -> None:
    """Append one JurisdictionCreated per entry, one transaction per batch."""
    with uow.begin(readonly=True):
        n = read.tree_size(uow.session)
    for batch in batches:
        with uow.begin():
            for _ in range(batch):
                uow.log.append(
                    JurisdictionCreated(code=f"J{n}", name=f"Land {n}", parent=None, languages=[])
                )
                n += 1


def payloads(database: Database) -> list[bytes]:
    """Every stored payload, in index order."""
    session = database.session(readonly=True)
    try:
        return [e.payload for e in read.entries(session, 0, read.MAX_PAGE)]
    finally:
        session.close()


def test_a_log_written_in_several_transactions_verifies(
    uow: UnitOfWork, database: Database, signer: LogSigner
) -> None:
    fill_log(uow)
    report = verify_database(database, signer.verifier_key)
    stored = payloads(database)
    assert report.size == len(stored) == sum(BATCHES)
    # The root is recomputed independently of the stored nodes and checkpoints.
    assert report.root_hash == merkle.root([merkle.leaf_hash(p) for p in stored])
    assert report.checkpoints == len(CHECKPOINT_SIZES)
    assert report.latest is not None and report.latest.size == CHECKPOINT_SIZES[-1]
    assert report.nodes == 2 * 36 - (36).bit_count()  # every perfect node of the tree


def test_an_empty_log_verifies(database: Database, signer: LogSigner) -> None:
    report = verify_database(database, signer.verifier_key)
    assert (report.size, report.checkpoints, report.root_hash) == (0, 0, merkle.EMPTY_ROOT)


def test_the_trace_agrees_with_verify_inclusion_for_every_small_tree() -> None:
    """Every index of every size up to 64, with the honest proof and corrupted ones."""
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(64)]
    tree = merkle.MerkleTree(leaves)
    for size in range(1, 65):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            good = trace_inclusion(index, size, leaves[index], proof, root)
            assert good.ok and good.computed_root == root
            assert len(good.steps) == len(proof)
            for step, sibling in zip(good.steps, proof, strict=True):
                assert sibling == (step.left if step.sibling_side == LEFT else step.right)
                assert step.sibling_side in (LEFT, RIGHT)
                assert step.result == merkle.node_hash(step.left, step.right)
            wrong_leaf = trace_inclusion(index, size, leaves[(index + 1) % 64], proof, root)
            assert not wrong_leaf.ok
            if proof:
                flipped = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
                assert not trace_inclusion(index, size, leaves[index], flipped, root).ok
                assert not trace_inclusion(index, size, leaves[index], proof[:-1], root).ok
            assert not trace_inclusion(index, size, leaves[index], [*proof, root], root).ok


def test_a_printed_step_can_be_redone_by_hand() -> None:
    leaves = [merkle.leaf_hash(b"entry %d" % i) for i in range(7)]
    tree = merkle.MerkleTree(leaves)
    trace = trace_inclusion(6, 7, leaves[6], tree.inclusion_proof(6, 7), tree.root())
    text = render_proof(trace, b"entry 6", root_source="signed root")
    # Leaf 6 of 7 is the right edge: fn = sn = 6, its sibling (4..5) is on the left.
    assert "step 1: fn = 6, sn = 6; fn = sn, so proof[0] is on the LEFT" in text
    assert f"= {merkle.leaf_hash(b'entry 6').hex()}" in text
    assert text.rstrip().endswith("MATCH: entry 6 is in the tree of size 7.")


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def instance(
    tmp_path: Path, database_url: str, database: Database, monkeypatch: pytest.MonkeyPatch
) -> tuple[UnitOfWork, LogSigner]:
    """The CLI's environment, and a unit of work signing with the instance's own key."""
    data = tmp_path / "data"
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(data))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    settings = Settings()
    own = load_signer(settings.origin, settings.signing_key_path)
    return UnitOfWork(database, ManualClock(START), own), own


def test_cli_verify_prints_a_summary(instance: tuple[UnitOfWork, LogSigner]) -> None:
    uow, _own = instance
    fill_log(uow)
    result = runner.invoke(app, ["log", "verify"])
    assert result.exit_code == 0, result.output
    assert "log verified (local database): 36 entries" in result.output
    assert "6 signed checkpoints checked" in result.output
    assert "\x1b[" not in result.output  # no terminal codes when not on a TTY


def test_cli_verify_records_each_run_for_the_audit_console(
    instance: tuple[UnitOfWork, LogSigner], signer: LogSigner
) -> None:
    uow, _own = instance
    fill_log(uow)
    assert runner.invoke(app, ["log", "verify"]).exit_code == 0
    assert runner.invoke(app, ["log", "verify", "--key", signer.verifier_key]).exit_code == 1
    failed, passed = checks.recent_checks(Settings().data_dir)
    assert passed.ok and passed.size == 36 and passed.by.endswith("(isegoria log verify)")
    assert passed.summary.startswith("log verified (local database): 36 entries")
    assert not failed.ok and "no signature by a trusted key" in failed.summary


def test_cli_verify_refuses_another_pinned_key(
    instance: tuple[UnitOfWork, LogSigner], signer: LogSigner
) -> None:
    uow, _own = instance
    fill_log(uow)
    result = runner.invoke(app, ["log", "verify", "--key", signer.verifier_key])
    assert result.exit_code == 1
    assert "checkpoint at size 1: no signature by a trusted key" in result.output


def test_cli_verify_state_records_the_latest_checkpoint(
    instance: tuple[UnitOfWork, LogSigner], tmp_path: Path
) -> None:
    uow, own = instance
    fill_log(uow)
    state_file = tmp_path / "state.json"
    assert runner.invoke(app, ["log", "verify", "--state", str(state_file)]).exit_code == 0
    state = load_state(state_file)
    assert state is not None and state.url is None and state.verifier_key == own.verifier_key
    with uow.begin(readonly=True):
        assert state.root_hash == read.root_at(uow.session, 36) and state.size == 36


def test_cli_proof_ends_with_the_signed_checkpoint_root(
    instance: tuple[UnitOfWork, LogSigner],
) -> None:
    uow, own = instance
    fill_log(uow)
    result = runner.invoke(app, ["log", "proof", "9", "--size", "17"])
    assert result.exit_code == 0, result.output
    with uow.begin(readonly=True):
        row = read.checkpoint_at(uow.session, 17)
        assert row is not None
        signed_root = open_signed_note(row.note, [own.verifier_key]).root_hash
        leaf = merkle.leaf_hash(read.entry(uow.session, 9).payload)
    computed = re.search(r"^computed root = ([0-9a-f]{64})$", result.output, re.M)
    claimed = re.search(r"^signed checkpoint root .*= ([0-9a-f]{64})$", result.output, re.M)
    assert computed and claimed, result.output
    assert computed.group(1) == claimed.group(1) == signed_root.hex()
    assert leaf.hex() in result.output
    assert "MATCH: entry 9 is in the tree of size 17." in result.output


def test_cli_proof_refuses_an_index_beyond_the_tree(
    instance: tuple[UnitOfWork, LogSigner],
) -> None:
    uow, _own = instance
    fill_log(uow)
    result = runner.invoke(app, ["log", "proof", "17", "--size", "17"])
    assert result.exit_code == 1
    assert "index 17 is not in a tree of size 17" in result.output
