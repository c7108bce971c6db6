"""The transparency report on a real instance: hand-counted, equal to the database, public."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.decisions import lifecycle as cases_decisions
from isegoria.domain.decisions import ReportSource
from isegoria.domain.states import JurorStatus
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.log.signing import LogSigner
from isegoria.reports import instance as reports
from isegoria.reports.figures import Scope
from isegoria.reports.instance import DATABASE_SECTIONS
from isegoria.reports.report import build_report
from isegoria.store.models_cases import Case, CaseBallot, DecisionRow, Juror, Jury, Report
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs

HOUR = timedelta(hours=1)
URL = "/api/v1/reports/transparency"
# Names and logins of the fixture's people (tests/support/world.py, cases_world.py).
PERSONAL = re.compile(r"\b(ana|Ana|olga|Olga|audrey|Audrey|v0\d\d|Volunteer \d+)\b|@troll|@victim")


def log_report(report: dict[str, Any]) -> dict[str, Any]:
    """The part of a report anyone can recompute from the public log (no database groups)."""
    return {k: v for k, v in report.items() if k not in DATABASE_SECTIONS}


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


def _file(uow: UnitOfWork, world: CasesWorld, **kwargs: Any) -> int:
    source = kwargs.pop("source", ReportSource.USER)
    request = dataclasses.replace(report_request(uow.now() - HOUR, **kwargs), source=source)
    with uow.begin():
        case, _ = cases_intake.file_report(uow, platform_id=world.base.platform_id, request=request)
        return case.id


def _serve(uow: UnitOfWork, case_id: int, violation: bool, declines: int = 0) -> None:
    with uow.begin(readonly=True):
        jury = uow.session.scalars(
            select(Jury).where(Jury.case_id == case_id, Jury.stage == "first")
        ).one()
        jurors = list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))
    for n, juror in enumerate(jurors):
        with uow.begin():
            cases_jury.reply(
                uow, account_id=juror.account_id, case_id=case_id, accept=n >= declines
            )
    for juror in jurors[declines:]:
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=violation,
                sanction="remove" if violation else None,
                suspension_days=None,
                reason="A threat." if violation else "Hyperbole.",
            )


@pytest.fixture
def activity(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> dict[str, int]:
    """Three cases: one removed (confirmed on time), one cleared, one still pending."""
    removed = _file(uow, world, interim=True)
    _file(uow, world, content_id=None, source=ReportSource.TRUSTED_FLAGGER)
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        content = uow.session.get(Case, removed)
        assert content is not None
        post = content.platform_content_id
    _file(uow, world, content_id=post, source=ReportSource.TRUSTED_FLAGGER)  # joins the case
    cleared = removed + 1
    clock.advance(2 * HOUR)
    _serve(uow, removed, violation=True)
    clock.advance(HOUR)
    _serve(uow, cleared, violation=False, declines=0)
    pending = _file(uow, world, source=ReportSource.AUTOMATED)
    with uow.begin(readonly=True):
        decisions = cases_decisions.pending_for(uow, world.base.platform_id)
    with uow.begin():
        first = next(d for d in decisions if d.case_id == removed and d.kind == "sanction_imposed")
        cases_decisions.confirm(
            uow, platform_id=world.base.platform_id, decision_id=first.id, applied=True, reason=None
        )
    run_jobs(uow, clock, signer)
    return {"removed": removed, "cleared": cleared, "pending": pending}


def _report(uow: UnitOfWork, **scope: Any) -> dict[str, Any]:
    with uow.begin(readonly=True):
        return reports.transparency_report(uow, Scope(**scope))


def test_figures_match_a_hand_count(uow: UnitOfWork, activity: dict[str, int]) -> None:
    report = _report(uow)
    assert report["reports"] == {
        "total": 4,
        "by_source": {"automated": 1, "trusted_flagger": 2, "user": 1},
        "by_rule": {"MX-1": 4},
    }
    assert report["cases"] == {
        "opened": 3,
        "decided": 2,
        "violation_found": 1,
        "no_violation": 1,
        "lapsed": 0,
        "pending": 1,
    }
    assert report["sanctions"]["rows"] == [
        {"rule": "MX-1", "version": 1, "sanction": "remove", "count": 1}
    ]
    assert report["interim_measures"] == {"imposed": 1, "upheld": 1, "lapsed": 0, "pending": 0}
    assert report["time_to_verdict"]["hours"] == [2.0, 3.0]
    assert report["time_to_verdict"]["median_hours"] == 2.0
    assert report["jurors"]["accepted"] == 10 and report["jurors"]["ballots_cast"] == 10
    [platform] = report["compliance"]["platforms"]
    # Two decisions: the removal (confirmed on time) and the no-action one (not yet due).
    assert (platform["issued"], platform["on_time"], platform["awaiting"]) == (2, 1, 1)


def test_the_log_report_equals_the_database(uow: UnitOfWork, activity: dict[str, int]) -> None:
    report = _report(uow)
    with uow.begin(readonly=True):
        s = uow.session
        sources = dict(
            s.execute(select(Report.source, func.count()).group_by(Report.source)).tuples().all()
        )
        decided = s.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.outcome.in_(("violation", "no_violation")))
        )
        open_cases = s.scalar(select(func.count()).select_from(Case).where(Case.outcome.is_(None)))
        imposed = s.scalar(
            select(func.count())
            .select_from(DecisionRow)
            .where(DecisionRow.kind == "sanction_imposed")
        )
        issued = s.scalar(select(func.count()).select_from(DecisionRow))
        applied = s.scalar(
            select(func.count()).select_from(DecisionRow).where(DecisionRow.status == "applied")
        )
        ballots = s.scalar(select(func.count()).select_from(CaseBallot))
        accepted = s.scalar(
            select(func.count())
            .select_from(Juror)
            .where(Juror.status.in_((JurorStatus.ACCEPTED, JurorStatus.VOTED)))
        )
    assert report["reports"]["by_source"] == sources
    assert report["reports"]["total"] == sum(sources.values())
    assert report["cases"]["decided"] == decided
    assert report["cases"]["pending"] == open_cases
    assert report["sanctions"]["total"] == imposed
    assert report["compliance"]["platforms"][0]["issued"] == issued
    assert report["compliance"]["platforms"][0]["on_time"] == applied
    assert report["jurors"]["ballots_cast"] == ballots
    assert report["jurors"]["accepted"] == accepted


def test_api_serves_the_report_anyone_can_recompute(
    uow: UnitOfWork, client: TestClient, activity: dict[str, int]
) -> None:
    served = client.get(URL, params={"jurisdiction": "MX"})
    assert served.status_code == 200, served.text
    body = served.json()
    with uow.begin(readonly=True):
        entries = [decode_entry(e.payload) for e in log_read.entries(uow.session, 0, 1000)]
    recomputed = build_report(entries, Scope(jurisdiction="MX"))
    assert log_report(body) == json.loads(json.dumps(recomputed))
    assert body["reports"]["total"] == 4
    csv = client.get(f"{URL}.csv", params={"from": "2000-01-01", "jurisdiction": "MX"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "section,figure,value"
    assert "reports,total,4" in csv.text.splitlines()


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "yesterday"}, 422, "from"),
        ({"to": "2026-13-45"}, 422, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, 422, "to"),
        ({"jurisdiction": "ATLANTIS"}, 404, "jurisdiction"),
        ({"from": "x" * 41}, 422, "from"),
    ],
)
def test_bad_scope_is_a_clear_4xx_that_changes_nothing(
    uow: UnitOfWork,
    client: TestClient,
    world: CasesWorld,
    params: dict[str, str],
    status: int,
    field: str,
) -> None:
    with uow.begin(readonly=True):
        before = log_read.tree_size(uow.session)
    answer = client.get(URL, params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.text
    with uow.begin(readonly=True):
        assert log_read.tree_size(uow.session) == before


def test_no_personal_data_in_any_output(client: TestClient, activity: dict[str, int]) -> None:
    outputs = [
        client.get(URL).text,
        client.get(f"{URL}.csv").text,
    ]
    for text in outputs:
        assert PERSONAL.search(text) is None, PERSONAL.search(text)


def test_small_juror_strata_are_suppressed(uow: UnitOfWork, activity: dict[str, int]) -> None:
    report = _report(uow)
    tables = {t["dimension"]: t for t in report["juror_strata"]}
    assert set(tables) == {"juror_region", "juror_age_band", "juror_leaning"}
    for table in tables.values():
        assert table["total"] == 10  # ten ballots in all
        assert all(g["trials"] >= table["min_group_size"] for g in table["groups"])
        assert table["suppressed"] >= 1  # 10 ballots over 3 or 4 strata: some groups are small
    assert report["author_leaning"][0]["total"] == 0  # no author linked an account


def test_report_page_shows_figures_and_accessible_charts(
    client: TestClient, activity: dict[str, int]
) -> None:
    page = client.get("/reports", params={"jurisdiction": "MX", "from": "2000-01-01"})
    assert page.status_code == 200, page.text
    html = page.text
    assert html.count('role="img"') >= 6
    assert "<title" in html and "<desc" in html  # every chart is named and described
    assert html.count('<table class="chart-data">') == html.count('role="img"')
    assert "Reports and verdicts per day" in html and "Sanctions by rule" in html
    assert '<option value="MX" selected>' in html
    assert PERSONAL.search(html) is None
    printed = client.get("/reports/print", params={"jurisdiction": "MX"})
    assert printed.status_code == 200
    assert "<details>" not in printed.text  # on paper every table is shown
    assert printed.text.count('role="img"') == html.count('role="img"')


def test_report_page_refuses_a_bad_period_clearly(client: TestClient, world: CasesWorld) -> None:
    page = client.get("/reports", params={"from": "2026-03-02", "to": "2026-03-01"})
    assert page.status_code == 422
    assert "the period must end" in page.text


def test_linked_authors_are_grouped_by_their_declared_leaning(
    uow: UnitOfWork, world: CasesWorld, activity: dict[str, int]
) -> None:
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym="@troll"
        )
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=world.volunteers[0], code=code)
    report = _report(uow)
    tables = {t["outcome"]: t for t in report["author_leaning"]}
    found = tables["violation_found"]
    assert found["dimension"] == "author_leaning"
    assert found["total"] == 2  # the two decided cases about @troll's posts
    assert found["groups"] == [] and found["suppressed"] == 1  # one author: never shown
    assert tables["sanction_severity"]["total"] == 2
