"""Who verified the whole log, when, and what they found: the last runs, kept for auditors.

A run is recorded in ``<data_dir>/log-checks.json``, beside the log's signing key: the
record says who checked (an auditor's login from the console, or the command line) and is
not itself evidence; the evidence is the signed checkpoint anyone can verify again. The
file keeps the newest ``MAX_KEPT`` runs and is replaced atomically, so a reader never sees
half of it.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

CHECKS_FILE: Final = "log-checks.json"
MAX_KEPT: Final = 20
_WRITING = threading.Lock()  # two runs finishing together in one process keep both records


@dataclass(frozen=True)
class LogCheck:
    """One verification run of the whole log."""

    at: str  # ISO 8601, UTC
    by: str  # the login of the person who ran it, or the command that did
    ok: bool
    size: int
    root_hash: str  # hex; empty for a log that did not verify
    summary: str  # the verdict, in the verifier's words


def _path(data_dir: Path) -> Path:
    return data_dir / CHECKS_FILE


def _parse(item: object) -> LogCheck | None:
    if not isinstance(item, dict):
        return None
    try:
        return LogCheck(
            at=str(item["at"]),
            by=str(item["by"]),
            ok=bool(item["ok"]),
            size=int(item["size"]),
            root_hash=str(item["root_hash"]),
            summary=str(item["summary"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def recent_checks(data_dir: Path) -> list[LogCheck]:
    """The recorded runs, newest first (none when the file is missing or unreadable)."""
    try:
        items = json.loads(_path(data_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(items, list):
        return []
    return [check for item in items if (check := _parse(item)) is not None]


def record_check(data_dir: Path, check: LogCheck) -> None:
    """Add a run to the record, dropping the oldest past MAX_KEPT."""
    with _WRITING:
        kept = [check, *recent_checks(data_dir)][:MAX_KEPT]
        data_dir.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=data_dir, prefix=".log-checks.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump([asdict(c) for c in kept], out, indent=1)
            os.replace(temporary, _path(data_dir))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
