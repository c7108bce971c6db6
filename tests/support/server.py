"""A real isegoria server in a subprocess, on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.postgres import free_port


@dataclass
class LiveServer:
    """A running server: its base URL, data directory and process."""

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path


def isegoria_command(*args: str) -> list[str]:
    """The command line that runs the isegoria CLI of this checkout."""
    return [sys.executable, "-m", "isegoria", *args]


@contextmanager
def live_server(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Run ``isegoria <args>`` (a command that serves) until the block ends."""
    port = free_port()
    full_env = {
        **os.environ,
        "ISEGORIA_DATA_DIR": str(data_dir),
        "ISEGORIA_PORT": str(port),
        "ISEGORIA_HOST": "127.0.0.1",
        # Test receivers (webhooks, ActivityPub inboxes) listen on loopback.
        "ISEGORIA_WEBHOOK_ALLOW_PRIVATE": "true",
        **(env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            isegoria_command(*args), env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        # A demo build takes about a minute alone, several on a machine the tests share.
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not come up:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield LiveServer(url, data_dir, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
