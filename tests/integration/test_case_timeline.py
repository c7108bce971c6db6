"""A case's timeline lists every step but only the first reports of a much-reported post."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from isegoria.cases import intake as cases_intake
from isegoria.cases import views as cases_views
from isegoria.clock import ManualClock
from isegoria.log import read as log_read
from isegoria.log.signing import LogSigner
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request

HOUR = timedelta(hours=1)


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


def report_viral(uow: UnitOfWork, world: CasesWorld, reports: int) -> int:
    """``reports`` reports of one post by different people; the case they opened or joined."""
    for n in range(reports):
        with uow.begin():
            case, _ = cases_intake.file_report(
                uow,
                platform_id=world.base.platform_id,
                request=report_request(uow.now() - HOUR, content_id="viral", reporter=f"@r{n}"),
            )
    return case.id


def test_a_case_page_lists_twenty_reports_and_counts_the_rest(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = report_viral(uow, world, cases_views.TIMELINE_REPORTS + 6)
    with uow.begin(readonly=True):
        view = cases_views.case_view(uow, case_id)
        every = log_read.entries_about(uow.session, "case", str(case_id))
    kinds = [item["kind"] for item in view["timeline"]]
    assert kinds.count("ReportFiled") == cases_views.TIMELINE_REPORTS
    assert "CaseOpened" in kinds
    # The first report opened the case; each further one is a ReportFiled entry.
    assert view["reports_not_listed"] == 5
    listed = [item["index"] for item in view["timeline"]]
    assert listed == sorted(listed)
    assert set(listed) <= {e.idx for e in every}
    assert len(every) - len(listed) == 5


def test_the_api_and_the_page_say_how_many_reports_are_not_listed(
    uow: UnitOfWork, world: CasesWorld, client: TestClient
) -> None:
    case_id = report_viral(uow, world, cases_views.TIMELINE_REPORTS + 3)
    answer = client.get(f"/api/v1/cases/{case_id}")
    assert answer.status_code == 200
    assert answer.json()["reports_not_listed"] == 2
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "2 further reports of this post are not listed here" in page.text
