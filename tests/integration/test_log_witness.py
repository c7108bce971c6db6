"""The witness over the public API (in-process HTTP), and the API's answers to bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete

from isegoria.config import Settings
from isegoria.http.deps import Services
from isegoria.jobs.checkpoint_timer import ensure_checkpoint
from isegoria.log.remote import RemoteLog, WitnessError
from isegoria.log.signing import LogSigner
from isegoria.log.verify import verify_database, verify_remote
from isegoria.log.witness import load_state, run_witness
from isegoria.store.models import LogCheckpoint
from isegoria.unit_of_work import UnitOfWork
from tests.integration.test_log_tamper import rewrite_entry, truncate
from tests.integration.test_log_verify import BATCHES
from tests.integration.test_log_verify import fill_log as fill

URL = "http://testserver"


@pytest.fixture(params=["inline", "batched"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Each test twice: writers integrating their own entries, and writers that only
    sequence them for the integrator (a checkpoint policy; its timer set never to tick
    here, so the tests integrate at the moments they choose)."""
    if request.param == "inline":
        return settings
    return settings.model_copy(update={"checkpoint_interval_ms": 3_600_000})


@pytest.fixture
def services(app: FastAPI) -> Services:
    """The app's services: its database and the key that signs its checkpoints."""
    instance: Services = app.state.services
    return instance


def fill_log(uow: UnitOfWork, batches: tuple[int, ...] = BATCHES) -> None:
    """Append entries, each batch integrated as a timer tick would (a no-op inline)."""
    assert uow.signer is not None
    for batch in batches:
        fill(uow, (batch,))
        ensure_checkpoint(uow.database, uow.clock, uow.signer, uow.log_memory)


def test_the_witness_accepts_honest_growth(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    state_file = tmp_path / "witness" / "state.json"
    key = services.signer.verifier_key
    fill_log(services.uow(), (3, 4))
    first = run_witness(URL, state_file, key=key, client=client)
    assert (first.previous_size, first.size) == (None, 7)
    fill_log(services.uow(), (1, 9, 2))
    second = run_witness(URL, state_file, client=client)  # the key comes from the state
    assert (second.previous_size, second.size) == (7, 19)
    assert "consistent, size 7 -> 19 (+12)" in second.summary()
    again = run_witness(URL, state_file, client=client)
    assert (again.previous_size, again.size) == (19, 19)
    saved = json.loads(state_file.read_text())
    assert saved["size"] == 19 and saved["verifier_key"] == key and saved["url"] == URL
    assert saved["root_hash"] == second.root_hash.hex()
    assert [p.name for p in state_file.parent.iterdir()] == ["state.json"]  # no temp files


def test_first_use_trusts_the_served_key_and_says_so(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    fill_log(services.uow(), (2,))
    warnings: list[str] = []
    run_witness(URL, tmp_path / "s.json", client=client, warn=warnings.append)
    assert len(warnings) == 1 and "trust on first use" in warnings[0]
    state = load_state(tmp_path / "s.json")
    assert state is not None and state.verifier_key == services.signer.verifier_key


def test_the_witness_catches_a_rewrite_re_signed_with_the_instance_key(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    uow = services.uow()
    fill_log(uow)
    held = run_witness(URL, state_file, key=services.signer.verifier_key, client=client)
    assert held.size == 36
    # The operator rewrites entry 3, recomputes every node, re-signs every checkpoint with
    # the real key, and appends more so the witness sees a larger, validly signed tree.
    with services.database.engine.begin() as connection:
        rewrite_entry(connection, 3, services.signer)
    # A running integrator would extend the tree it remembers and so sign the old history
    # (log/coalesce.py); an operator this thorough restarts it: it forgets.
    services.log_memory.forget()
    fill_log(uow, (5,))
    assert verify_database(services.database, services.signer.verifier_key).size == 41
    with pytest.raises(WitnessError, match=r"consistency proof from size 36 .* to size 41 .*"):
        run_witness(URL, state_file, client=client)
    with pytest.raises(WitnessError, match="history was rewritten"):
        run_witness(URL, state_file, client=client)
    state = load_state(state_file)
    assert state is not None and state.size == 36 and state.root_hash == held.root_hash


def test_the_witness_catches_a_fork_at_the_same_size(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    fill_log(services.uow())
    run_witness(URL, tmp_path / "s.json", key=services.signer.verifier_key, client=client)
    with services.database.engine.begin() as connection:
        rewrite_entry(connection, 30, services.signer)
    with pytest.raises(WitnessError, match=r"signed two different roots for size 36.*a fork"):
        run_witness(URL, tmp_path / "s.json", client=client)


def test_the_witness_refuses_a_smaller_tree(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    fill_log(services.uow())
    run_witness(URL, tmp_path / "s.json", key=services.signer.verifier_key, client=client)
    with services.database.engine.begin() as connection:
        truncate(connection, 17)
        connection.execute(delete(LogCheckpoint).where(LogCheckpoint.size > 17))
    with pytest.raises(WitnessError, match=r"size 17, smaller than the size 36 already verified"):
        run_witness(URL, tmp_path / "s.json", client=client)


def test_the_witness_refuses_a_checkpoint_signed_by_another_key(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    fill_log(services.uow(), (3,))
    other = LogSigner(services.signer.origin, Ed25519PrivateKey.generate())
    with pytest.raises(WitnessError, match="rejected: no signature by a trusted key"):
        run_witness(URL, tmp_path / "s.json", key=other.verifier_key, client=client)
    assert not (tmp_path / "s.json").exists()
    run_witness(URL, tmp_path / "s.json", key=services.signer.verifier_key, client=client)
    with pytest.raises(WitnessError, match="differs from the key pinned in the state file"):
        run_witness(URL, tmp_path / "s.json", key=other.verifier_key, client=client)


def test_remote_verification_through_the_api(services: Services, client: TestClient) -> None:
    fill_log(services.uow())
    report = verify_remote(RemoteLog(URL, client), services.signer.verifier_key)
    local = verify_database(services.database, services.signer.verifier_key)
    assert (report.size, report.root_hash, report.checkpoints) == (36, local.root_hash, 6)


# -- bad input to the proof endpoints: a 4xx problem that names what was wrong ----------------

HUGE = "99999999999999999999"
BAD_INPUT: list[tuple[str, int, str]] = [
    ("/entries/36", 422, "index 36 is not in the log; it must be below 36"),
    ("/entries/5?tree_size=5", 422, "index 5 is not in a tree of size 5"),
    ("/entries/0?tree_size=37", 422, "tree_size 37 is beyond the log, which holds 36"),
    ("/entries/0?tree_size=0", 422, "tree_size"),
    ("/entries/-1", 422, "index"),
    (f"/entries/{HUGE}", 422, "index"),
    ("/entries/abc", 422, "index"),
    ("/entries/0?tree_size=ten", 422, "tree_size"),
    (f"/entries/0?tree_size={HUGE}", 422, "tree_size"),
    ("/consistency?first=6&second=3", 422, "first (6) must be between 0 and second (3)"),
    ("/consistency?first=1&second=37", 422, "second 37 is beyond the log, which holds 36"),
    ("/consistency?first=-1&second=3", 422, "first"),
    (f"/consistency?first=1&second={HUGE}", 422, "second"),
    ("/consistency?first=x&second=3", 422, "first"),
    ("/consistency?first=1", 422, "second"),
    ("/entries?start=-5", 422, "start"),
    ("/entries?limit=0", 422, "limit"),
    ("/entries?limit=1000000", 422, "limit"),
    ("/checkpoints?start_size=none", 422, "start_size"),
]


@pytest.mark.parametrize(("path", "status", "named"), BAD_INPUT)
def test_bad_input_to_the_log_api_is_a_problem(
    services: Services, client: TestClient, path: str, status: int, named: str
) -> None:
    fill_log(services.uow())
    response = client.get(f"/api/v1/log{path}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert named in problem.get("field", "") + " " + problem["detail"], problem
