"""Every figure of the transparency report against a small log computed by hand."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from isegoria.log.entries import DecodedEntry
from isegoria.reports.figures import Scope, nearest_rank
from isegoria.reports.ledger import build_ledger
from isegoria.reports.report import build_report, report_csv, report_from_ledger

DAY1 = datetime(2026, 3, 1, tzinfo=UTC)


def at(day: int, hour: int = 0) -> datetime:
    """Day 1 is 2026-03-01, in UTC."""
    return DAY1 + timedelta(days=day - 1, hours=hour)


def stamp(instant: datetime) -> str:
    """An instant as the log writes it."""
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Log:
    """Build decoded entries in index order."""

    def __init__(self) -> None:
        self.entries: list[DecodedEntry] = []

    def add(self, kind: str, when: datetime, **facts: Any) -> None:
        """Append one entry."""
        subject = str(facts.get("case_id", facts.get("code", "x")))
        self.entries.append(
            DecodedEntry(len(self.entries), kind, stamp(when), "case", subject, facts)
        )

    def opened(
        self, case_id: int, rule: str, code: str, lang: str, source: str, when: datetime
    ) -> None:
        """A CaseOpened entry."""
        self.add(
            "CaseOpened",
            when,
            case_id=case_id,
            platform_id=1,
            content_digest="d" * 64,
            author=f"@author{case_id}",
            rule=rule,
            jurisdiction=code,
            posted_at=stamp(when - timedelta(hours=1)),
            source=source,
            language=lang,
        )

    def verdict(
        self, case_id: int, stage: str, outcome: str, sanction: str, when: datetime
    ) -> None:
        """A VerdictReached entry."""
        self.add(
            "VerdictReached",
            when,
            case_id=case_id,
            stage=stage,
            outcome=outcome,
            sanction=sanction,
            suspension_days=None,
            tally={},
            ballots=[],
            statement_sha256="0" * 64,
            final=stage == "appeal",
        )

    def issued(self, decision_id: int, case_id: int, kind: str, when: datetime) -> None:
        """A DecisionIssued entry, due a day later."""
        self.add(
            "DecisionIssued",
            when,
            case_id=case_id,
            decision_id=decision_id,
            platform_id=1,
            decision_kind=kind,
            apply_by=stamp(when + timedelta(days=1)),
        )

    def confirmed(self, decision_id: int, status: str, on_time: bool, when: datetime) -> None:
        """A DecisionConfirmed entry."""
        self.add(
            "DecisionConfirmed",
            when,
            decision_id=decision_id,
            case_id=None,
            status=status,
            on_time=on_time,
        )


def fixture_log() -> list[DecodedEntry]:
    """Four cases in MX and FR over five days (the expected figures are in the tests)."""
    log = Log()
    log.add("JurisdictionCreated", at(1), code="intl", name="World", parent=None, languages=[])
    log.add("JurisdictionCreated", at(1), code="MX", name="México", parent="intl", languages=[])
    log.add("JurisdictionCreated", at(1), code="FR", name="France", parent="intl", languages=[])
    log.add("PlatformRegistered", at(1), platform_id=1, name="Forum")
    log.opened(1, "MX-1@v2", "MX", "es", "user", at(1, 0))
    log.add("ReportFiled", at(1, 1), case_id=1, report_id=2, source="trusted_flagger")
    log.opened(2, "MX-1@v2", "MX", "es", "user", at(1, 2))
    log.add("InterimMeasureImposed", at(1, 2), case_id=2, lapses_at=stamp(at(3)))
    log.add("JuryDrawn", at(1, 3), case_id=1, stage="first", jurors=["a", "b", "c"])
    log.add("JurorReplied", at(1, 4), case_id=1, stage="first", juror="a", accepted=True)
    log.add("JurorReplied", at(1, 4), case_id=1, stage="first", juror="b", accepted=False)
    log.add(
        "JurorsReplaced", at(1, 5), case_id=1, stage="first", replaced=["b"], replacements=["d"]
    )
    log.add("JurorReplied", at(1, 6), case_id=1, stage="first", juror="d", accepted=True)
    log.add("BallotCast", at(1, 7), case_id=1, stage="first", juror="a")
    log.add("BallotCast", at(1, 8), case_id=1, stage="first", juror="d")
    log.verdict(1, "first", "violation", "remove", at(1, 10))
    log.issued(1, 1, "sanction_imposed", at(1, 10))
    log.add("SanctionImposed", at(1, 10), case_id=1, decision_id=1, sanction="remove")
    log.confirmed(1, "applied", True, at(1, 12))
    log.verdict(2, "first", "violation", "suspend", at(1, 22))
    log.issued(2, 2, "sanction_imposed", at(1, 22))
    log.add("SanctionImposed", at(1, 22), case_id=2, decision_id=2, sanction="suspend")
    log.opened(3, "FR-1@v1", "FR", "fr", "automated", at(2, 0))
    log.verdict(3, "first", "lapsed", "none", at(2, 6))
    log.issued(3, 3, "no_action", at(2, 6))
    log.add("AppealFiled", at(2, 12), case_id=1, appellant="author")
    log.add(
        "NoteStatusChanged",
        at(2, 13),
        note_id=1,
        content_id="p1",
        jurisdiction="MX",
        previous="needs_more_ratings",
        status="helpful",
    )
    log.opened(4, "MX-2@v1", "MX", "es", "user", at(3, 0))
    log.confirmed(3, "applied", False, at(3, 8))
    log.verdict(1, "appeal", "no_violation", "none", at(3, 12))
    log.issued(4, 1, "sanction_lifted", at(3, 12))
    log.add("SanctionLifted", at(3, 12), case_id=1, decision_id=4, restores=1)
    log.confirmed(4, "failed", False, at(3, 13))
    log.add(
        "NoteStatusChanged",
        at(5),
        note_id=2,
        content_id="p9",
        jurisdiction="FR",
        previous="helpful",
        status="not_helpful",
    )
    return log.entries


def test_whole_log_figures_match_the_hand_count() -> None:
    report = build_report(fixture_log(), Scope())
    assert report["reports"] == {
        "total": 5,
        "by_source": {"automated": 1, "trusted_flagger": 1, "user": 3},
        "by_rule": {"FR-1": 1, "MX-1": 3, "MX-2": 1},
    }
    assert report["cases"] == {
        "opened": 4,
        "decided": 2,
        "violation_found": 2,
        "no_violation": 0,
        "lapsed": 1,
        "pending": 1,
    }
    assert report["sanctions"]["rows"] == [
        {"rule": "MX-1", "version": 2, "sanction": "remove", "count": 1},
        {"rule": "MX-1", "version": 2, "sanction": "suspend", "count": 1},
    ]
    assert report["sanctions"]["by_step"] == {
        "note": 0,
        "reduce_reach": 0,
        "remove": 1,
        "suspend": 1,
        "ban": 0,
    }
    assert report["interim_measures"] == {"imposed": 1, "upheld": 1, "lapsed": 0, "pending": 0}
    assert report["time_to_verdict"] == {
        "count": 3,
        "median_hours": 10.0,
        "p90_hours": 20.0,
        "hours": [6.0, 10.0, 20.0],
    }
    assert report["appeals"] == {
        "filed": 1,
        "decided": 1,
        "overturned": 1,
        "sanction_changed": 1,
        "by_rule": {"MX-1": {"filed": 1, "decided": 1, "overturned": 1, "sanction_changed": 1}},
    }
    assert report["jurors"] == {
        "draws": 2,
        "summoned": 4,
        "accepted": 2,
        "declined": 1,
        "no_reply": 1,  # juror c never answered before the jury closed
        "ballots_cast": 2,
        "accepted_without_ballot": 0,
    }
    assert report["notes"] == {"shown": 1, "hidden": 1}
    assert report["compliance"]["platforms"] == [
        {
            "platform_id": 1,
            "platform": "Forum",
            "issued": 4,
            "on_time": 1,
            "late": 1,
            "failed": 1,
            "never_confirmed": 1,
            "awaiting": 0,
            "on_time_share": 0.25,
        }
    ]
    assert report["compliance"]["as_of"] == at(5).isoformat()
    assert report["daily"] == {
        "dates": ["2026-03-01", "2026-03-02", "2026-03-03"],
        "reports": [3, 1, 1],
        "verdicts": [2, 1, 1],
    }
    assert report["log"]["size"] == len(fixture_log())


def test_a_jurisdiction_counts_only_its_cases_and_notes() -> None:
    report = build_report(fixture_log(), Scope(jurisdiction="MX"))
    assert report["scope"]["jurisdictions"] == ["MX"]
    assert report["reports"]["total"] == 4
    assert report["reports"]["by_source"] == {"trusted_flagger": 1, "user": 3}
    assert report["cases"]["lapsed"] == 0 and report["cases"]["pending"] == 1
    assert report["notes"] == {"shown": 1, "hidden": 0}
    platform = report["compliance"]["platforms"][0]
    assert (platform["issued"], platform["on_time"], platform["late"]) == (3, 1, 0)
    assert (platform["failed"], platform["never_confirmed"]) == (1, 1)


def test_a_parent_jurisdiction_includes_those_below_it() -> None:
    world = build_report(fixture_log(), Scope(jurisdiction="intl"))
    assert world["scope"]["jurisdictions"] == ["FR", "MX", "intl"]
    assert world["reports"] == build_report(fixture_log(), Scope())["reports"]


def test_a_period_counts_events_inside_it_only() -> None:
    report = build_report(fixture_log(), Scope(start=at(2), end=at(3)))
    assert report["reports"]["total"] == 1
    assert report["cases"] == {
        "opened": 1,
        "decided": 0,
        "violation_found": 0,
        "no_violation": 0,
        "lapsed": 1,
        "pending": 0,
    }
    assert report["appeals"]["filed"] == 1 and report["appeals"]["decided"] == 0
    assert report["time_to_verdict"]["hours"] == [6.0]
    assert report["sanctions"]["total"] == 0
    # Decision 3 was issued on day 2 and confirmed (late) on day 3, after the period.
    assert report["compliance"]["as_of"] == at(3).isoformat()
    assert report["compliance"]["platforms"][0]["awaiting"] == 1


def test_pending_counts_cases_open_at_the_end_of_the_period() -> None:
    report = build_report(fixture_log(), Scope(end=at(1, 12)))
    # Cases 1 (decided at 10:00) and 2 (opened at 02:00, decided at 22:00).
    assert report["cases"]["pending"] == 1
    assert report["cases"]["decided"] == 1


def test_an_empty_log_gives_zeros_not_errors() -> None:
    report = build_report([], Scope(jurisdiction="MX"))
    assert report["reports"] == {"total": 0, "by_source": {}, "by_rule": {}}
    assert report["time_to_verdict"] == {
        "count": 0,
        "median_hours": None,
        "p90_hours": None,
        "hours": [],
    }
    assert report["compliance"] == {"as_of": None, "platforms": []}
    assert report["consistency"]["pairs"] == 0 and report["consistency"]["violation"] == []
    json.dumps(report, allow_nan=False)  # valid JSON, no NaN
    assert report_csv(report).startswith("section,figure,value\n")


def test_nearest_rank_percentiles() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([7.0], 90) == 7.0
    values = [float(v) for v in range(1, 11)]
    assert nearest_rank(values, 50) == 5.0
    assert nearest_rank(values, 90) == 9.0
    assert nearest_rank(values, 91) == 10.0


def test_csv_holds_every_number_of_the_report() -> None:
    report = build_report(fixture_log(), Scope())
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    lookup = {(r["section"], r["figure"]): r["value"] for r in rows}
    assert lookup[("reports", "by_source.user")] == "3"
    assert lookup[("cases", "pending")] == "1"
    assert lookup[("time_to_verdict", "p90_hours")] == "20.0"
    assert lookup[("compliance", "platforms[0].never_confirmed")] == "1"
    assert lookup[("daily", "2026-03-01.reports")] == "3"


def _retrials(pairs: list[tuple[str, str, str, str]]) -> list[DecodedEntry]:
    log = Log()
    for n, (first, first_sanction, second, second_sanction) in enumerate(pairs, start=1):
        log.opened(n, "MX-1@v1", "MX", "es", "user", at(1))
        both = [(first, first_sanction), (second, second_sanction)]
        sides = [{"outcome": o, "sanction": s, "ballots": []} for o, s in both]
        log.add(
            "ConsistencyRetrialSettled",
            at(1, 6),
            case_id=n,
            first=sides[0],
            retrial=sides[1],
            stands="first",
        )
        # What stood: the milder verdict (here, the test only needs one to exist).
        log.verdict(n, "first", second, second_sanction, at(1, 6))
    return log.entries


def test_consistency_pairs_give_alpha_and_raw_agreement() -> None:
    entries = _retrials(
        [
            ("violation", "remove", "violation", "remove"),
            ("no_violation", "none", "no_violation", "none"),
            ("violation", "remove", "no_violation", "none"),
        ]
    )
    report = report_from_ledger(build_ledger(entries), Scope(), min_pairs=2)
    [row] = report["consistency"]["violation"]
    assert report["consistency"]["pairs"] == 3
    assert row["rule"] == "MX-1" and row["pairs"] == 3
    assert row["raw_agreement"] == pytest.approx(2 / 3)
    # Hand count: o_TT = o_FF = 2, o_TF = o_FT = 1, n = 6: alpha = 1 - (2/6) / (18/30).
    assert row["alpha"] == pytest.approx(4 / 9)
    assert row["status"] == "vague" and row["flagged"] is True
    assert report["consistency"]["vague_rules"] == ["MX-1"]
    again = report_from_ledger(build_ledger(entries), Scope(), min_pairs=2)
    assert again["consistency"] == report["consistency"]  # the bootstrap is reproducible


def test_too_few_pairs_are_not_judged() -> None:
    entries = _retrials([("violation", "remove", "violation", "remove")])
    report = build_report(entries, Scope())
    [row] = report["consistency"]["violation"]
    assert row["status"] == "not_enough_data" and not row["flagged"]
    assert report["consistency"]["vague_rules"] == []


def test_small_groups_are_suppressed_and_large_ones_shown() -> None:
    log = Log()
    for n in range(1, 31):
        lang = "es" if n <= 25 else "fr"  # 25 Spanish posts, 5 French: French is hidden
        log.opened(n, "MX-1@v1", "MX", lang, "user", at(1))
        found = n % 2 == 0
        log.verdict(
            n,
            "first",
            "violation" if found else "no_violation",
            "remove" if found else "none",
            at(2),
        )
    report = build_report(log.entries, Scope())
    table = next(
        t
        for t in report["disparity"]
        if t["dimension"] == "language" and t["outcome"] == "violation_found"
    )
    assert [g["group"] for g in table["groups"]] == []  # es alone would reveal fr by subtraction
    assert table["suppressed"] == 2 and table["total"] == 30
    assert "fr" not in json.dumps(table)
    shown = report_from_ledger(build_ledger(log.entries), Scope(), min_group_size=5)
    table = next(
        t
        for t in shown["disparity"]
        if t["dimension"] == "language" and t["outcome"] == "violation_found"
    )
    es = next(g for g in table["groups"] if g["group"] == "es")
    assert (es["successes"], es["trials"]) == (12, 25)
    assert es["ci_low"] < 12 / 25 < es["ci_high"]
