"""A clock read from a file: TEST-ONLY, for driving a live server's deadlines from a test.

When ``ISEGORIA_CLOCK_FILE`` names a file, the app factory, ``isegoria serve`` and
``isegoria worker`` read the current time from it (one ISO 8601 instant with a timezone);
while the file is missing or empty they use the real time. A browser test writes a later
instant into the file to make a voting period close, instead of waiting a week. Never set it
in production: whoever can write the file can move the instance's clock.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from isegoria.clock import Clock, SystemClock

CLOCK_FILE_ENV = "ISEGORIA_CLOCK_FILE"


class FileClock:
    """The instant written in a file, or the fallback clock (the wall clock) while there is none."""

    def __init__(self, path: Path, fallback: Clock | None = None) -> None:
        self.path = path
        self._fallback = fallback or SystemClock()

    def now(self) -> datetime:
        """The instant in the file, else the fallback clock's."""
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            text = ""
        if not text:
            return self._fallback.now()
        instant = datetime.fromisoformat(text)
        if instant.tzinfo is None:
            raise ValueError(f"{self.path} holds {text!r}, which has no timezone")
        return instant


def clock_from_environment(fallback: Clock | None = None) -> Clock:
    """The test-only file clock if ``ISEGORIA_CLOCK_FILE`` is set, else ``fallback`` (default
    the wall clock), which the file clock also reads while its file is empty."""
    path = os.environ.get(CLOCK_FILE_ENV)
    if path:
        return FileClock(Path(path), fallback)
    return fallback or SystemClock()
