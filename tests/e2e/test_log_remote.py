"""An outside auditor's tools against a real server: `log verify --url`, `witness`, `proof`."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from isegoria.algorithms.checkpoint import verifier_key
from tests.support.server import LiveServer, isegoria_command


def _isegoria(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A data directory of its own: the auditor's machine has no instance of its own.
    env = {**os.environ, "ISEGORIA_DATA_DIR": str(tmp_path / "auditor"), "TERM": "dumb"}
    return subprocess.run(  # noqa: S603 - our own CLI
        isegoria_command(*args), env=env, capture_output=True, text=True, timeout=120
    )


def test_log_verify_over_http(demo_server: LiveServer, tmp_path: Path) -> None:
    key = httpx.get(f"{demo_server.url}/api/v1/log/key").json()["verifier_key"]
    size = httpx.get(f"{demo_server.url}/api/v1/log").json()["size"]
    done = _isegoria(tmp_path, "log", "verify", "--url", demo_server.url, "--key", key)
    assert done.returncode == 0, done.stderr
    # The demo's worker may append (a scoring run, a checkpoint) while we verify: at least
    # the entries seen before must have been verified.
    verified = re.search(
        rf"log verified \({re.escape(demo_server.url)}\): (\d+) entries", done.stdout
    )
    assert verified is not None, done.stdout
    assert int(verified.group(1)) >= size
    assert done.stderr == ""  # a pinned key: no warning, and no progress bar off a TTY
    assert not (tmp_path / "auditor").exists()  # a remote check touches no local instance


def test_log_verify_over_http_refuses_a_wrong_key(demo_server: LiveServer, tmp_path: Path) -> None:
    origin = httpx.get(f"{demo_server.url}/api/v1/log/key").json()["origin"]
    impostor = verifier_key(origin, Ed25519PrivateKey.generate().public_key())
    done = _isegoria(tmp_path, "log", "verify", "--url", demo_server.url, "--key", impostor)
    assert done.returncode == 1
    assert "error: log verification failed: checkpoint at size" in done.stderr
    assert "no signature by a trusted key" in done.stderr


def test_log_witness_from_cron(demo_server: LiveServer, tmp_path: Path) -> None:
    state = tmp_path / "witness.json"
    first = _isegoria(tmp_path, "log", "witness", "--url", demo_server.url, "--state", str(state))
    assert first.returncode == 0, first.stderr
    assert "trust on first use" in first.stderr  # no --key: the warning is printed
    assert "first checkpoint recorded" in first.stdout
    saved = json.loads(state.read_text())
    served = httpx.get(f"{demo_server.url}/api/v1/log").json()
    # The demo's worker may have appended since (an hourly notes scoring run, for one).
    assert 0 < saved["size"] <= served["size"]
    if saved["size"] == served["size"]:
        assert saved["root_hash"] == served["root_hash"]
    second = _isegoria(tmp_path, "log", "witness", "--url", demo_server.url, "--state", str(state))
    assert second.returncode == 0, second.stderr
    assert second.stderr == "" and "consistent, size" in second.stdout
    assert len(second.stdout.strip().splitlines()) == 1


def test_log_proof_over_http(demo_server: LiveServer, tmp_path: Path) -> None:
    done = _isegoria(tmp_path, "log", "proof", "0", "--url", demo_server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    computed = next(line for line in lines if line.startswith("computed root = "))
    signed = next(line for line in lines if line.startswith("signed checkpoint root"))
    assert computed.split(" = ")[1] == signed.split(" = ")[1]
    assert lines[-1].startswith("MATCH: entry 0 is in the tree of size")
