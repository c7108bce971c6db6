"""`isegoria notes score`: on this instance's notes, and on public Community Notes files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from isegoria.algorithms.bridging_synthetic import two_camp_ratings
from isegoria.cli import app
from isegoria.integrations.community_notes_run import HELPFULNESS_COLUMNS, SCORED_NOTES_COLUMNS
from isegoria.integrations.community_notes_tsv import (
    Enrollment,
    Note,
    NoteStatusRecord,
    Rating,
    read_note_status_history,
    write_note_status_history,
    write_notes,
    write_ratings,
    write_user_enrollment,
)
from isegoria.integrations.community_notes_tsv_format import STATUS_LABELS
from isegoria.store.db import Database
from isegoria.store.models_notes import NoteRow, NoteRunRow
from isegoria.unit_of_work import UnitOfWork
from tests.support.demo_world import DemoCopy
from tests.support.notes_world import build, planted

runner = CliRunner()
START = 1_700_000_000_000  # createdAtMillis of the first fixture note (Nov 2023)


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(data))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    return data


def test_score_command_scores_the_instance_notes_and_logs_the_run(
    env: Path, uow: UnitOfWork
) -> None:
    world = build(uow)
    kinds = planted(uow, world)  # 12 notes: every rater passes the 10-ratings bar
    result = runner.invoke(app, ["notes", "score"])
    assert result.exit_code == 0, result.output
    assert "3 notes now shown, 0 hidden again" in result.output
    # The notes neither camp likes are rated low on both sides.
    assert "published rules that acted on notes: RatioCRNH 3" in result.output
    with uow.begin(readonly=True):
        helpful = set(uow.session.scalars(select(NoteRow.id).where(NoteRow.status == "helpful")))
        [run] = uow.session.scalars(select(NoteRunRow))
    assert helpful == {i for i, k in kinds.items() if k == "bridging"}
    assert run.changed == len(kinds) - 6  # partisan notes stay needing ratings
    assert runner.invoke(app, ["notes", "score", "--out", str(env)]).exit_code == 2


def _fixture_files(directory: Path, seed: int = 3) -> dict[int, str]:
    """Two-camp data written as the four public files; the "published" status is planted."""
    data = two_camp_ratings(80, 40, 2400, seed)
    r = data.ratings
    order = range(len(r.value))
    level = {1.0: "HELPFUL", 0.5: "SOMEWHAT_HELPFUL", 0.0: "NOT_HELPFUL"}
    write_ratings(
        directory / "ratings-00000.tsv",
        (
            Rating(1000 + int(r.note[i]), f"P{int(r.rater[i]):03d}", START + 60_000 * i, r.value[i])
            for i in order
        ),
    )
    assert set(level) >= set(r.value.tolist())
    write_notes(
        directory / "notes-00000.tsv",
        (
            Note(1000 + n, "AUTHOR", START - 1000, 1, "MISINFORMED_OR_POTENTIALLY_MISLEADING", "x")
            for n in range(r.n_notes)
        ),
    )
    published = {1000 + n: STATUS_LABELS[int(c)] for n, c in enumerate(data.expected_status())}
    write_note_status_history(
        directory / "noteStatusHistory-00000.tsv",
        (
            NoteStatusRecord(n, "AUTHOR", START - 1000, None, "", START, s, None, "")
            for n, s in published.items()
        ),
    )
    write_user_enrollment(
        directory / "userEnrollment-00000.tsv",
        (Enrollment(f"P{i:03d}", "newUser", 5, START, "CORE") for i in range(r.n_raters)),
    )
    return published


def test_import_dir_scores_public_files_and_compares_with_published_statuses(
    tmp_path: Path,
) -> None:
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    published = _fixture_files(source)
    result = runner.invoke(app, ["notes", "score", "--import-dir", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["notes"] == 40 and comparison["enrolled"] == 80
    assert comparison["compared"] == 40
    assert comparison["agreed"] == sum(comparison["matrix"][s][s] for s in STATUS_LABELS)
    # The planted bridging notes come out helpful; no partisan or bad note does.
    helpful_planted = comparison["matrix"]["CURRENTLY_RATED_HELPFUL"]
    assert helpful_planted["CURRENTLY_RATED_HELPFUL"] >= 0.8 * sum(helpful_planted.values())
    for label in ("NEEDS_MORE_RATINGS", "CURRENTLY_RATED_NOT_HELPFUL"):
        assert comparison["matrix"][label]["CURRENTLY_RATED_HELPFUL"] == 0
    assert f"{comparison['agreed']}/40" in result.output
    # Outputs in the published layouts.
    history = {r.note_id: r for r in read_note_status_history(out / "noteStatusHistory-00000.tsv")}
    assert set(history) == set(published)
    scored = (out / "scored_notes.tsv").read_text().splitlines()
    assert scored[0].split("\t") == list(SCORED_NOTES_COLUMNS) and len(scored) == 41
    raters = (out / "helpfulness_scores.tsv").read_text().splitlines()
    assert (
        raters[0].split("\t") == list(HELPFULNESS_COLUMNS)
        and len(raters) == 1 + comparison["raters"]
    )
    ours = {int(line.split("\t")[0]): line.split("\t")[-1] for line in scored[1:]}
    assert {n: r.current_status for n, r in history.items()} == ours


def test_import_dir_names_a_missing_or_malformed_file(tmp_path: Path) -> None:
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    missing = runner.invoke(app, ["notes", "score", "--import-dir", str(source), "--out", str(out)])
    assert missing.exit_code == 1 and "notes-*.tsv" in missing.output
    _fixture_files(source)
    (source / "ratings-00001.tsv").write_text("noteId\tbroken\n1\t2\n")
    bad = runner.invoke(app, ["notes", "score", "--import-dir", str(source), "--out", str(out)])
    assert bad.exit_code == 1 and "ratings-00001.tsv" in bad.output
    no_out = runner.invoke(app, ["notes", "score", "--import-dir", str(source)])
    assert no_out.exit_code == 2 and "--out" in no_out.output


def test_demo_shows_notes_with_every_status(demo_copy: DemoCopy) -> None:
    assert "12 demo notes written, rated and scored" in demo_copy.built.output
    database = Database(demo_copy.database_url)
    try:
        with database.session(readonly=True) as session:
            statuses = list(session.scalars(select(NoteRow.status)))
    finally:
        database.dispose()
    # Every status is shown. How many of each (and how many notes the juries' verdicts add to
    # the 12 written) follows the history the lotteries give the demo, which differs between
    # the databases: on PostgreSQL a rolled-back write leaves a voided log index, so later
    # seeds differ (4 helpful of 12 notes on SQLite today, 5 of 13 on PostgreSQL).
    assert set(statuses) == {"helpful", "not_helpful", "needs_more_ratings"}
