"""A real isegoria server that a test can start, kill with SIGKILL and start again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.postgres import free_port
from tests.support.server import isegoria_command

STARTUP_SECONDS = 120  # a cold start takes 1–2 s on a quiet 2-core machine, a minute on a busy one
HEALTH_POLL_SECONDS = 0.1


@dataclass
class Crashable:
    """A running ``isegoria serve``: its URL and process."""

    url: str
    process: subprocess.Popen[bytes]


def start(data_dir: Path, env: dict[str, str], log_path: Path) -> Crashable:
    """Start ``isegoria serve`` on a free port and wait until /healthz answers."""
    port = free_port()
    full_env = {
        **os.environ,
        "ISEGORIA_DATA_DIR": str(data_dir),
        "ISEGORIA_PORT": str(port),
        "ISEGORIA_HOST": "127.0.0.1",
        **env,
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            isegoria_command("serve"), env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return Crashable(url, process)
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            kill(process)
            raise RuntimeError(f"server did not come up:\n{log_path.read_text()[-4000:]}")
        time.sleep(HEALTH_POLL_SECONDS)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server (no shutdown handler runs) and reap it."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
