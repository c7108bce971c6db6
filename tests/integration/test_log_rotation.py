"""`isegoria log rotate-key`: a new key, and every checkpoint signed before it still verifies."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from isegoria.algorithms.checkpoint import open_signed_note
from isegoria.cli import app as cli
from isegoria.config import Settings
from isegoria.http.deps import Services
from isegoria.log import read
from isegoria.log.remote import RemoteLog, WitnessError
from isegoria.log.signing import LogSigner, load_signer
from isegoria.log.verify import LogVerificationError, verify_database, verify_remote
from isegoria.log.witness import load_state, run_witness
from isegoria.store.db import Database
from tests.integration.test_log_verify import fill_log

runner = CliRunner()
URL = "http://testserver"


@pytest.fixture
def services(app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The app's services; the CLI sees the same data directory (log key) and database."""
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", settings.effective_database_url)
    instance: Services = app.state.services
    return instance


def _rotate(services: Services) -> tuple[LogSigner, LogSigner, int]:
    """Rotate with the CLI, then 'restart': the app picks up the new key file."""
    old = services.signer
    result = runner.invoke(cli, ["log", "rotate-key"])
    assert result.exit_code == 0, result.output
    new = load_signer(old.origin, services.settings.signing_key_path)
    assert new.verifier_key != old.verifier_key
    assert f"retired: {old.verifier_key}" in result.output
    assert f"current: {new.verifier_key}" in result.output
    services.signer = new
    session = services.database.session(readonly=True)
    try:
        index = read.tree_size(session) - 1
    finally:
        session.close()
    assert f"log key rotated at entry {index}" in result.output
    return old, new, index


def test_checkpoints_from_before_and_after_a_rotation_verify(
    services: Services, database: Database
) -> None:
    fill_log(services.uow(), (3, 4))
    old, new, index = _rotate(services)
    assert index == 7
    key_file = services.settings.signing_key_path
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not key_file.with_name(key_file.name + ".next").exists()
    fill_log(services.uow(), (2, 5))
    session = database.session(readonly=True)
    try:
        first, boundary, last = (read.checkpoint_at(session, n) for n in (7, 8, 15))
    finally:
        session.close()
    assert first is not None and boundary is not None and last is not None
    # The retiring key signed the checkpoint that covers the rotation entry; the new key after.
    open_signed_note(boundary.note, [old.verifier_key])
    open_signed_note(last.note, [new.verifier_key])
    with pytest.raises(ValueError, match="no signature by a trusted key"):
        open_signed_note(last.note, [old.verifier_key])
    for pinned in (old.verifier_key, new.verifier_key):
        report = verify_database(database, pinned)
        assert (report.size, report.checkpoints) == (15, 5)
    result = runner.invoke(cli, ["log", "verify"])  # pins the current key file
    assert result.exit_code == 0, result.output
    assert "15 entries" in result.output
    proof = runner.invoke(cli, ["log", "proof", "2", "--size", "7"])
    assert proof.exit_code == 0, proof.output
    assert f"signature by {old.verifier_key} verified" in proof.output


def test_a_retired_key_that_keeps_signing_is_caught(
    services: Services, database: Database, signer: LogSigner
) -> None:
    fill_log(services.uow(), (3,))
    old, new, _index = _rotate(services)
    services.signer = old  # a process that was not restarted, or a stolen retired key
    fill_log(services.uow(), (2,))
    with pytest.raises(LogVerificationError) as caught:
        verify_database(database, new.verifier_key)
    assert "checkpoint at size 6: no signature by a trusted key" in str(caught.value)
    assert f"the key valid at this size: {new.verifier_key}" in str(caught.value)
    with pytest.raises(LogVerificationError, match="is not one of the keys this log"):
        verify_database(database, signer.verifier_key)


def test_the_key_history_is_published(services: Services, client: TestClient) -> None:
    fill_log(services.uow(), (2,))
    old, new, index = _rotate(services)
    body = client.get("/api/v1/log/keys").json()
    assert body["current"] == new.verifier_key
    assert [(k["verifier_key"], k["first_size"], k["last_size"]) for k in body["keys"]] == [
        (old.verifier_key, 0, index + 1),
        (new.verifier_key, index + 1, None),
    ]
    assert body["keys"][1]["key_id"] == new.verifier_key.split("+")[1]
    assert body["rotations"][0]["index"] == index
    lines = client.get("/.well-known/isegoria-log-key").text.splitlines()
    assert lines == [new.verifier_key, old.verifier_key]
    assert client.get("/api/v1/log/key").json()["verifier_key"] == new.verifier_key


def test_remote_verify_and_the_witness_follow_the_rotation(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    state_file = tmp_path / "witness.json"
    fill_log(services.uow(), (3, 4))
    old_key = services.signer.verifier_key
    assert run_witness(URL, state_file, key=old_key, client=client).size == 7
    _old, new, _index = _rotate(services)
    fill_log(services.uow(), (6,))
    warnings: list[str] = []
    result = run_witness(URL, state_file, client=client, warn=warnings.append)
    assert (result.previous_size, result.size) == (7, 14)
    assert any("log key was rotated at entry 7" in w for w in warnings), warnings
    state = load_state(state_file)
    assert state is not None and state.verifier_key == new.verifier_key
    remote = RemoteLog(URL, client)
    assert verify_remote(remote, old_key).size == 14
    assert verify_remote(remote, new.verifier_key).checkpoints == 4


def test_the_witness_refuses_a_key_the_pinned_key_never_vouched_for(
    services: Services, client: TestClient, tmp_path: Path, signer: LogSigner
) -> None:
    state_file = tmp_path / "witness.json"
    fill_log(services.uow(), (3,))
    run_witness(URL, state_file, key=services.signer.verifier_key, client=client)
    services.signer = signer  # the key file swapped with no rotation entry
    fill_log(services.uow(), (2,))
    with pytest.raises(WitnessError, match="rejected: no signature by a trusted key"):
        run_witness(URL, state_file, client=client)
