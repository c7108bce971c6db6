"""A real Synapse homeserver on loopback for the Matrix integration tests.

Synapse lives in its own virtual environment (``scripts/synapse-venv``), never in the
project's ``.venv``. The homeserver here uses SQLite, listens only on 127.0.0.1, has no
federation listener and no key servers, and registers users through the shared-secret admin
API (``/_synapse/admin/v1/register``), which needs no captcha, e-mail or rate limit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.postgres import free_port

SERVER_NAME = "localhost"
NOTICES_LOCALPART = "isegoria-notices"  # the sender of server notices (statements of reasons)
STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
_GENEROUS = {"per_second": 1000, "burst_count": 1000}  # tests send bursts; no throttling


def synapse_venv() -> Path:
    """Where ``scripts/synapse-venv`` puts Synapse's virtual environment."""
    default = Path.home() / ".cache" / "isegoria" / "synapse-venv"
    return Path(os.environ.get("ISEGORIA_SYNAPSE_VENV", str(default)))


def synapse_python() -> Path:
    """The interpreter of the Synapse venv, or a clear error naming the script that makes it."""
    python = synapse_venv() / "bin" / "python"
    if not python.exists():
        raise RuntimeError(
            f"Synapse's virtual environment is missing ({python} does not exist). "
            "Create it with scripts/synapse-venv (scripts/test does this for you)."
        )
    return python


@dataclass(frozen=True)
class MatrixUser:
    """A registered account and its access token."""

    user_id: str
    access_token: str
    password: str


@dataclass
class Homeserver:
    """A running Synapse: its URL, its shared secret and the admin account."""

    url: str
    directory: Path
    shared_secret: str
    process: subprocess.Popen[bytes]
    version: str
    startup_seconds: float
    admin: MatrixUser | None = None

    def register(self, localpart: str, *, admin: bool = False) -> MatrixUser:
        """Register a user with the shared-secret scheme (HMAC-SHA1 over the nonce and fields)."""
        password = secrets.token_urlsafe(12)
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = httpx.get(endpoint, timeout=10).raise_for_status().json()["nonce"]
        # Synapse admin API, "Shared-Secret Registration": the MAC covers nonce, user, password
        # and "admin"/"notadmin", NUL-separated, keyed by registration_shared_secret.
        message = b"\x00".join(
            [
                nonce.encode(),
                localpart.encode(),
                password.encode(),
                b"admin" if admin else b"notadmin",
            ]
        )
        mac = hmac.new(self.shared_secret.encode(), message, hashlib.sha1).hexdigest()
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac,
        }
        reply = httpx.post(endpoint, json=body, timeout=30).raise_for_status().json()
        return MatrixUser(reply["user_id"], reply["access_token"], password)

    def client(self, user: MatrixUser) -> httpx.Client:
        """An HTTP client authenticated as ``user``."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {user.access_token}"},
            timeout=30,
        )

    def log_tail(self, lines: int = 60) -> str:
        """The end of the homeserver's log, for failure messages."""
        path = self.directory / "synapse.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def homeserver_config(directory: Path, port: int, shared_secret: str) -> dict[str, Any]:
    """A minimal single-process homeserver: loopback, SQLite, no federation, quiet."""
    return {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(directory / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "media_store_path": str(directory / "media"),
        "signing_key_path": str(directory / "signing.key"),
        "log_config": str(directory / "log.yaml"),
        "report_stats": False,
        "enable_registration": False,
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "trusted_key_servers": [],
        "federation_domain_whitelist": [],
        "enable_metrics": False,
        "url_preview_enabled": False,
        "presence": {"enabled": False},
        # A fresh database runs its background updates at once instead of sleeping between
        # batches, so the admin APIs that depend on them answer within a second.
        "background_updates": {"sleep_enabled": False},
        "server_notices": {
            "system_mxid_localpart": NOTICES_LOCALPART,
            "system_mxid_display_name": "isegoria",
            "room_name": "isegoria: decisions about your account",
        },
        **{
            name: _GENEROUS
            for name in (
                "rc_message",
                "rc_registration",
                "rc_admin_redaction",
                "rc_joins_local",
                "rc_joins_per_room",
                "rc_invites_per_room",
                "rc_invites_per_user",
                "rc_invites_per_issuer",
                "rc_room_creation",
                "rc_reports",
                "rc_profile",
            )
        },
        "rc_login": {
            "address": _GENEROUS,
            "account": _GENEROUS,
            "failed_attempts": _GENEROUS,
        },
    }


def _log_config(directory: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "filename": str(directory / "synapse.log"),
                "formatter": "plain",
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "loggers": {"synapse.access": {"level": "WARNING"}},
        "disable_existing_loggers": False,
    }


def _write_json_as_yaml(path: Path, data: dict[str, Any]) -> None:
    import json

    # JSON is a subset of YAML 1.2, so Synapse's YAML loader reads it as is.
    path.write_text(json.dumps(data, indent=2))


@contextmanager
def running_homeserver(directory: Path) -> Iterator[Homeserver]:
    """Generate a config and keys, start Synapse, wait until it answers, stop it at the end."""
    python = synapse_python()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    shared_secret = secrets.token_hex(16)
    config = directory / "homeserver.yaml"
    _write_json_as_yaml(config, homeserver_config(directory, port, shared_secret))
    _write_json_as_yaml(directory / "log.yaml", _log_config(directory))
    env = dict(os.environ)
    subprocess.run(  # noqa: S603 - our own interpreter and config
        [str(python), "-m", "synapse.app.homeserver", "--generate-keys", "-c", str(config)],
        check=True,
        capture_output=True,
        env=env,
        cwd=directory,
    )
    version = subprocess.run(  # noqa: S603
        [str(python), "-c", "import synapse; print(synapse.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    started = time.monotonic()
    with (directory / "stdout.log").open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            [str(python), "-m", "synapse.app.homeserver", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
        )
    url = f"http://127.0.0.1:{port}"
    server = Homeserver(url, directory, shared_secret, process, version, 0.0)
    try:
        _wait_until_ready(server, started)
        server.startup_seconds = time.monotonic() - started
        server.admin = server.register("isegoria-admin", admin=True)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(server: Homeserver, started: float) -> None:
    while True:
        if server.process.poll() is not None:
            stdout = (server.directory / "stdout.log").read_text(errors="replace")
            raise RuntimeError(
                f"Synapse exited with {server.process.returncode}:\n{stdout}\n{server.log_tail()}"
            )
        try:
            if httpx.get(f"{server.url}/_matrix/client/versions", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() - started > STARTUP_TIMEOUT_S:
            raise RuntimeError(f"Synapse did not answer within {STARTUP_TIMEOUT_S} s")
        time.sleep(0.1)
