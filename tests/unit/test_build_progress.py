"""The demo build shows its progress: a bar on a terminal, one line per stage in a pipe."""

from __future__ import annotations

import io

from rich.console import Console

from isegoria.cli.progress import StageBar, StageLines, build_progress


def _console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=100, color_system=None), out


def test_a_pipe_gets_one_line_per_stage_and_each_stage_its_time() -> None:
    console, out = _console(terminal=False)
    progress = build_progress(console)
    assert isinstance(progress, StageLines)
    with progress:
        progress.stage("building the world", 0)
        progress.stage("running the reports", 3)
        for _ in range(3):
            progress.step()
    lines = out.getvalue().splitlines()
    assert lines[0] == "building the world..."
    assert lines[1].startswith("  done in ") and lines[1].endswith(" s")
    assert lines[2] == "running the reports..."
    assert lines[3].startswith("  done in ")
    assert len(lines) == 4  # steps print nothing in a pipe


def test_a_terminal_gets_a_bar_that_counts_the_steps_of_each_stage() -> None:
    console, out = _console(terminal=True)
    progress = build_progress(console)
    assert isinstance(progress, StageBar)
    with progress:
        progress.stage("running the reports", 23)
        for _ in range(23):
            progress.step()
        progress.stage("scoring the notes", 5)
        progress.step()
    shown = out.getvalue()
    assert "running the reports" in shown and "23/23" in shown
    # A stage left early (here after 1 of 5) is shown complete at what it did, not stuck.
    assert "1/1" in shown
