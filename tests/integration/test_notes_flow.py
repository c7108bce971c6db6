"""Notes through the services on both databases: write, rate, score, tell the platform."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from isegoria.clock import ManualClock
from isegoria.decisions import lifecycle as cases_decisions
from isegoria.domain.decisions import DecisionKind
from isegoria.errors import Forbidden, InvalidInput, NotFound
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.notes import scoring as notes_scoring
from isegoria.notes import views as notes_views
from isegoria.notes import writing as notes
from isegoria.reports import instance as reports
from isegoria.reports.figures import Scope
from isegoria.store.models_cases import DecisionRow
from isegoria.store.models_notes import NoteRatingRow, NoteRow, NoteStatusHistoryRow
from isegoria.unit_of_work import UnitOfWork
from tests.support.notes_world import NotesWorld, build, planted, rate_all, write


@pytest.fixture
def world(uow: UnitOfWork) -> NotesWorld:
    return build(uow)


def _entries(uow: UnitOfWork, kind: str) -> list[dict[str, object]]:
    with uow.begin(readonly=True):
        size = log_read.tree_size(uow.session)
        decoded = [decode_entry(e.payload) for e in log_read.entries(uow.session, 0, size)]
        return [entry.facts for entry in decoded if entry.kind == kind]


def _decisions(uow: UnitOfWork) -> list[dict[str, object]]:
    with uow.begin(readonly=True):
        return [
            json.loads(row.body)
            for row in uow.session.scalars(select(DecisionRow).order_by(DecisionRow.id))
        ]


def test_written_note_needs_ratings_and_is_logged_without_its_author(
    uow: UnitOfWork, world: NotesWorld
) -> None:
    note_id = write(uow, world)
    with uow.begin(readonly=True):
        note = notes.get_note(uow, note_id)
        assert note.status == "needs_more_ratings"
        assert note.author_account_id == world.writer and note.jurisdiction == "MX"
    [written] = _entries(uow, "NoteWritten")
    assert written == {
        "note_id": note_id,
        "content_id": world.content_id,
        "jurisdiction": "MX",
        "classification": "misinformed_or_potentially_misleading",
        "language": "es",
        "by_jury": False,
        "case_id": None,
    }


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"text": "Wrong date, see the archive of the newspaper."}, "text", "http"),
        ({"text": "Wrong, see ftp://example.org/file for the date."}, "text", "http"),
        ({"text": "short https://e.org"}, "text", "at least"),
        ({"classification": "lies"}, "classification", "classification"),
        ({"reasons": []}, "reasons", "reason"),
        ({"reasons": ["because"]}, "reasons", "because"),
        ({"language": "not a tag!"}, "language", "BCP 47"),
    ],
)
def test_bad_notes_are_refused_and_change_nothing(
    uow: UnitOfWork, world: NotesWorld, change: dict[str, object], field: str, words: str
) -> None:
    args: dict[str, object] = {
        "account_id": world.writer,
        "content_id": world.content_id,
        "classification": "misinformed_or_potentially_misleading",
        "reasons": ["factual_error"],
        "text": "The photo is from 2015: https://example.org/archive/2015",
        "language": "es",
        **change,
    }
    with pytest.raises(InvalidInput) as raised, uow.begin():
        notes.write_note(uow, **args)  # type: ignore[arg-type]
    assert raised.value.field == field and words in raised.value.detail
    with uow.begin(readonly=True):
        assert uow.session.scalar(select(func.count()).select_from(NoteRow)) == 0


def test_note_on_unknown_content_is_not_found(uow: UnitOfWork, world: NotesWorld) -> None:
    with pytest.raises(NotFound), uow.begin():
        notes.write_note(
            uow,
            account_id=world.writer,
            content_id=999,
            classification="not_misleading",
            reasons=[],
            text="Accurate, see https://example.org/source for it.",
            language="es",
        )


def test_rating_own_note_is_refused_and_rerating_replaces(
    uow: UnitOfWork, world: NotesWorld, clock: ManualClock
) -> None:
    note_id = write(uow, world)
    with pytest.raises(Forbidden, match="own note"), uow.begin():
        notes.rate_note(uow, account_id=world.writer, note_id=note_id, helpfulness="helpful")
    rater = world.left[0]
    with uow.begin():
        notes.rate_note(uow, account_id=rater, note_id=note_id, helpfulness="helpful")
    clock.advance(timedelta(minutes=5))
    with uow.begin():
        notes.rate_note(
            uow,
            account_id=rater,
            note_id=note_id,
            helpfulness="not_helpful",
            tags=["incorrect", "incorrect", "opinion_speculation"],
        )
    with uow.begin(readonly=True):
        rows = list(uow.session.scalars(select(NoteRatingRow)))
        assert [(r.rater_account_id, r.helpfulness) for r in rows] == [(rater, "not_helpful")]
        assert json.loads(rows[0].tags) == ["incorrect", "opinion_speculation"]
        assert rows[0].updated_at > rows[0].created_at
    with pytest.raises(InvalidInput, match="unknown answer"), uow.begin():
        notes.rate_note(uow, account_id=rater, note_id=note_id, helpfulness="meh")
    with pytest.raises(InvalidInput, match="reason tag"), uow.begin():
        notes.rate_note(uow, account_id=rater, note_id=note_id, helpfulness="helpful", tags=["x"])
    with uow.begin(readonly=True):
        assert notes.my_rating(uow, rater, note_id).helpfulness == "not_helpful"  # type: ignore[union-attr]


def test_scoring_shows_only_bridging_notes_and_tells_the_platform(
    uow: UnitOfWork, world: NotesWorld
) -> None:
    kinds = planted(uow, world)
    with uow.begin():
        summary = notes_scoring.run_scoring(uow)
    with uow.begin(readonly=True):
        status = {n.id: n.status for n in uow.session.scalars(select(NoteRow))}
    helpful = {i for i, s in status.items() if s == "helpful"}
    assert helpful == {i for i, k in kinds.items() if k == "bridging"}
    assert all(status[i] == "not_helpful" for i, k in kinds.items() if k == "neither")
    assert summary.changed == sum(s != "needs_more_ratings" for s in status.values())
    assert summary.shown == len(helpful) and summary.hidden == 0
    changes = _entries(uow, "NoteStatusChanged")
    assert {c["note_id"] for c in changes if c["status"] == "helpful"} == helpful
    assert all(c["previous"] == "needs_more_ratings" and c["run"] == 1 for c in changes)
    assert all(
        set(c) == {"note_id", "content_id", "jurisdiction", "previous", "status", "run"}
        for c in changes
    )
    [scored] = _entries(uow, "NotesScored")
    assert scored["changed"] == summary.changed and scored["run"] == summary.run_id
    assert scored["counts"]["helpful"] == len(helpful)  # type: ignore[index]
    assert scored["parameters"]["helpful_intercept"] == "0.4"  # type: ignore[index]
    shown = [d for d in _decisions(uow) if d["kind"] == DecisionKind.NOTE_SHOWN.value]
    assert {d["extra"]["note_id"] for d in shown} == helpful  # type: ignore[index]
    assert all(d["note_text"] and d["sanction"] == "none" for d in shown)
    # A second run with nothing new changes nothing and tells nobody anything.
    with uow.begin():
        again = notes_scoring.run_scoring(uow)
    assert again.changed == 0 and len(_decisions(uow)) == len(shown)


def test_note_that_stops_being_helpful_is_hidden_again(uow: UnitOfWork, world: NotesWorld) -> None:
    kinds = planted(uow, world)
    with uow.begin():
        notes_scoring.run_scoring(uow)
    bridging = min(i for i, k in kinds.items() if k == "bridging")
    rate_all(uow, world, {bridging: "neither"})  # everyone changes their mind
    with uow.begin():
        summary = notes_scoring.run_scoring(uow)
    assert summary.hidden >= 1
    with uow.begin(readonly=True):
        note = notes.get_note(uow, bridging)
        assert note.status != "helpful"
        history = list(
            uow.session.scalars(
                select(NoteStatusHistoryRow).where(NoteStatusHistoryRow.note_id == bridging)
            )
        )
        assert [(h.previous, h.status) for h in history] == [
            ("needs_more_ratings", "helpful"),
            ("helpful", note.status),
        ]
    decisions = [d for d in _decisions(uow) if d["extra"]["note_id"] == bridging]  # type: ignore[index]
    assert [d["kind"] for d in decisions] == ["note_shown", "note_hidden"]
    assert decisions[1]["restores"] == decisions[0]["id"] and decisions[1]["note_text"] is None
    changes = [c for c in _entries(uow, "NoteStatusChanged") if c["note_id"] == bridging]
    assert [c["status"] for c in changes] == ["helpful", note.status]


def test_empty_scoring_run_is_logged(uow: UnitOfWork, world: NotesWorld) -> None:
    with uow.begin():
        summary = notes_scoring.run_scoring(uow)
    assert (summary.notes, summary.ratings, summary.changed) == (0, 0, 0)
    assert _entries(uow, "NotesScored")[0]["counts"]["notes"] == 0  # type: ignore[index]


def test_queue_favours_notes_the_citizens_side_has_not_rated(
    uow: UnitOfWork, world: NotesWorld
) -> None:
    planted(uow, world)
    with uow.begin():
        notes_scoring.run_scoring(uow)
    fresh = [write(uow, world) for _ in range(2)]
    left_only, right_only = fresh
    with uow.begin():
        for rater in world.left[:3]:
            notes.rate_note(uow, account_id=rater, note_id=left_only, helpfulness="helpful")
        for rater in world.right[:3]:
            notes.rate_note(uow, account_id=rater, note_id=right_only, helpfulness="helpful")
    with uow.begin(readonly=True):
        left_queue = [n.id for n in notes_views.rating_queue(uow, world.left[-1])]
        right_queue = [n.id for n in notes_views.rating_queue(uow, world.right[-1])]
        writer_queue = [n.id for n in notes_views.rating_queue(uow, world.writer)]
    assert left_queue[0] == right_only and right_queue[0] == left_only
    assert set(left_queue) == set(right_queue) == set(fresh)
    assert writer_queue == []  # their own notes only


def test_explanation_counts_raters_by_factor_without_naming_them(
    uow: UnitOfWork, world: NotesWorld
) -> None:
    kinds = planted(uow, world)
    with uow.begin():
        notes_scoring.run_scoring(uow)
    bridging = min(i for i, k in kinds.items() if k == "bridging")
    partisan = min(i for i, k in kinds.items() if k == "left")
    with uow.begin(readonly=True):
        shown = notes_views.explain(uow, notes.get_note(uow, bridging))
        one_sided = notes_views.explain(uow, notes.get_note(uow, partisan))
    assert shown.meets_intercept and shown.meets_factor and shown.total == 16
    assert sum(b.helpful for b in shown.bins) == 16 and shown.unscored_raters == 0
    assert not one_sided.meets_intercept
    assert sum(b.helpful for b in one_sided.bins) == sum(b.not_helpful for b in one_sided.bins)
    # Raters of the two camps land on opposite sides of zero.
    helpful_lows = {b.low < 0 for b in one_sided.bins if b.helpful}
    unhelpful_lows = {b.low < 0 for b in one_sided.bins if b.not_helpful}
    assert len(helpful_lows) == len(unhelpful_lows) == 1 and helpful_lows != unhelpful_lows


def test_scoring_job_is_scheduled_once_and_runs(
    uow: UnitOfWork, world: NotesWorld, clock: ManualClock
) -> None:
    from tests.support.cases_world import run_jobs

    planted(uow, world, per_kind=2)
    with uow.begin():
        assert notes_scoring.ensure_scheduled(uow) is True
    with uow.begin():
        assert notes_scoring.ensure_scheduled(uow) is False
    report = run_jobs(uow, clock, uow.signer)  # type: ignore[arg-type]
    assert (report.done, report.failed) == (1, 0)
    assert len(_entries(uow, "NotesScored")) == 1


def test_new_accounts_rating_a_partisan_note_helpful_do_not_make_it_shown(
    uow: UnitOfWork, world: NotesWorld, clock: ManualClock
) -> None:
    """30 fresh accounts rate one left-camp note helpful, padding their history with
    ratings that agree with statuses already on show (which earn them no standing)."""
    from isegoria.domain.identity import Role
    from isegoria.people import accounts as people

    kinds = planted(uow, world)
    with uow.begin():
        notes_scoring.run_scoring(uow)
    left_notes = sorted(i for i, k in kinds.items() if k == "left")
    target = left_notes[0]
    statused = {i: k for i, k in kinds.items() if k in ("bridging", "neither")}
    clock.advance(timedelta(hours=1))
    with uow.begin():
        puppets = [
            people.add_account(
                uow,
                login=f"new{n:02d}",
                display_name="New",
                role=Role.CITIZEN,
                password=None,
                residences=["MX"],
            ).id
            for n in range(30)
        ]
        for puppet in puppets:
            for note_id in left_notes:
                notes.rate_note(uow, account_id=puppet, note_id=note_id, helpfulness="helpful")
            for note_id, kind in statused.items():
                answer = "helpful" if kind == "bridging" else "not_helpful"
                notes.rate_note(uow, account_id=puppet, note_id=note_id, helpfulness=answer)
            right = min(i for i, k in kinds.items() if k == "right")
            notes.rate_note(uow, account_id=puppet, note_id=right, helpfulness="not_helpful")
    with uow.begin():
        notes_scoring.run_scoring(uow)
    with uow.begin(readonly=True):
        assert notes.get_note(uow, target).status != "helpful"
        assert all(notes.get_note(uow, i).status != "helpful" for i in left_notes)
        # The organic bridging notes keep their status.
        assert all(
            notes.get_note(uow, i).status == "helpful"
            for i, k in statused.items()
            if k == "bridging"
        )


def test_ratings_made_after_a_status_earn_no_standing(
    uow: UnitOfWork, world: NotesWorld, clock: ManualClock
) -> None:
    """[contributors] "Valid Ratings": agreeing with a status already on show proves nothing."""
    from isegoria.domain.identity import Role
    from isegoria.people import accounts as people
    from isegoria.store.models_notes import NoteRaterRow

    kinds = planted(uow, world)
    with uow.begin():
        notes_scoring.run_scoring(uow)
    clock.advance(timedelta(hours=1))
    with uow.begin():
        late = people.add_account(
            uow,
            login="late",
            display_name="Late",
            role=Role.CITIZEN,
            password=None,
            residences=["MX"],
        ).id
        for note_id, kind in kinds.items():
            answer = {"bridging": "helpful", "left": "helpful"}.get(kind, "not_helpful")
            notes.rate_note(uow, account_id=late, note_id=note_id, helpfulness=answer)
    with uow.begin():
        notes_scoring.run_scoring(uow)
    with uow.begin(readonly=True):
        standing = {r.account_id: r for r in uow.session.scalars(select(NoteRaterRow))}
    assert standing[late].agreement is None and standing[late].included is False
    assert standing[world.left[0]].included is True  # organic raters keep their standing


def test_note_decisions_count_in_the_platforms_compliance(
    uow: UnitOfWork, world: NotesWorld, clock: ManualClock
) -> None:
    """A note shown is a decision like a verdict: unconfirmed past its deadline, it counts."""
    planted(uow, world)
    with uow.begin():
        notes_scoring.run_scoring(uow)
    issued = _entries(uow, "NoteDecisionIssued")
    shown = [d for d in _decisions(uow) if d["kind"] == DecisionKind.NOTE_SHOWN.value]
    assert sorted(e["decision_id"] for e in issued) == sorted(d["id"] for d in shown)
    assert all(e["jurisdiction"] == "MX" and e["decision_kind"] == "note_shown" for e in issued)
    first = int(shown[0]["id"])  # type: ignore[call-overload]
    with uow.begin():
        cases_decisions.confirm(
            uow, platform_id=world.base.platform_id, decision_id=first, applied=True, reason=None
        )
    clock.advance(cases_decisions.APPLY_WITHIN + timedelta(hours=1))
    with uow.begin():  # a later entry moves the report's "as of" past the deadline
        notes_scoring.run_scoring(uow)

    def compliance(code: str | None) -> list[dict[str, object]]:
        with uow.begin(readonly=True):
            report = reports.transparency_report(uow, Scope(jurisdiction=code))
        return list(report["compliance"]["platforms"])

    [row] = compliance("MX")
    assert row["issued"] == len(shown) and row["on_time"] == 1
    assert row["never_confirmed"] == len(shown) - 1
    assert compliance("US") == []  # another jurisdiction's report does not count them
