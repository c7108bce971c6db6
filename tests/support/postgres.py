"""A throwaway PostgreSQL cluster for the test session (initdb into a temp dir, loopback)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) are needed for the tests: "
    "install the Debian package 'postgresql' (sudo apt-get install postgresql), "
    "or run ./scripts/test as root, which installs it."
)


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl, newest version first."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(INSTALL_HINT)


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_cluster_user(args: list[str], user: str | None) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's package creates the user postgres.
    return ["runuser", "-u", user, "--", *args] if user else args


@dataclass
class Cluster:
    """A running throwaway cluster: its base URL, and how to restart it."""

    url: str
    bindir: Path
    data: Path
    log: Path
    options: str
    user: str | None

    def restart(self) -> None:
        """Restart the server ("fast": sessions are ended, transactions rolled back)."""
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
        command += ["-o", self.options, "-m", "fast", "-w", "restart"]
        subprocess.run(  # noqa: S603 - fixed argument list, no shell
            _as_cluster_user(command, self.user), check=True, capture_output=True
        )


@contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[str]:
    """Start a cluster; yield a base URL ``postgresql+psycopg://isegoria@127.0.0.1:PORT``.

    Tests run without fsync (faster, and a crash of the test machine loses nothing of
    value); benchmarks of durable commits pass ``durable=True``.
    """
    with restartable_cluster(durable=durable) as cluster:
        yield cluster.url


@contextmanager
def restartable_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """Start a cluster (as ``throwaway_cluster``); yield it with its ``restart``."""
    bindir = find_bindir()
    user = None
    base = Path(tempfile.mkdtemp(prefix="isegoria-pg-"))
    if os.geteuid() == 0:
        user = "postgres"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise RuntimeError("running as root needs the system user 'postgres'") from None
        os.chmod(base, 0o755)  # noqa: S103 - the cluster runs as postgres, which must enter it
        os.chown(base, entry.pw_uid, entry.pw_gid)
    data = base / "data"
    port = free_port()
    run = subprocess.run  # noqa: S603 - fixed argument lists, no shell
    run(
        _as_cluster_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "isegoria",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            user,
        ),
        check=True,
        capture_output=True,
    )
    log = base / "server.log"
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    run(
        _as_cluster_user(
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
            user,
        ),
        check=True,
        capture_output=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        url = f"postgresql+psycopg://isegoria@127.0.0.1:{port}"
        yield Cluster(url, bindir, data, log, options, user)
    finally:
        run(
            _as_cluster_user(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], user
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)
