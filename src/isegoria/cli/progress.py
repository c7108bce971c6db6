"""How the demo build shows its progress: a bar on a terminal, one line per stage in a pipe."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class StageLines:
    """One line per stage as it starts, and its time when it ends: for logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._current: tuple[str, float] | None = None

    def stage(self, description: str, steps: int) -> None:
        """Close the stage before, then announce this one."""
        self._finish()
        self.console.print(f"{description}...")
        self._current = (description, time.monotonic())

    def step(self) -> None:
        """Steps are not printed: a pipe gets one line per stage."""

    def _finish(self) -> None:
        if self._current is not None:
            _description, started = self._current
            self.console.print(f"  done in {time.monotonic() - started:.0f} s")
            self._current = None

    def __enter__(self) -> StageLines:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self._finish()


class StageBar:
    """A Rich progress bar per stage, with its steps and the time it has taken."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID | None = None

    def stage(self, description: str, steps: int) -> None:
        """Complete the stage before and start a bar for this one."""
        self._complete()
        # A stage of unknown length pulses until it ends.
        self._task = self._bar.add_task(description, total=steps or None)

    def step(self) -> None:
        """Move the current stage's bar by one."""
        if self._task is not None:
            self._bar.advance(self._task)

    def _complete(self) -> None:
        if self._task is not None:
            task = self._bar.tasks[self._task]
            self._bar.update(self._task, total=task.completed or 1, completed=task.completed or 1)

    def __enter__(self) -> StageBar:
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self._complete()
        self._bar.stop()


def build_progress(console: Console) -> StageBar | StageLines:
    """A bar when a person watches a terminal, stage lines when the output is piped."""
    return StageBar(console) if console.is_terminal else StageLines(console)
