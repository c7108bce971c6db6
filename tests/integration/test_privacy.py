"""No public page, API answer or log entry links a person to a ballot, or names a person at all.

A world where citizens voted on two proposals and a jury decided a case (every juror's
ballot published by pseudonym) is crawled as an anonymous visitor: every same-site link from
the home page, the law, the cases and the log, plus every log entry through the public API.
No citizen's login, display name or account id may appear in any of it.
"""

from __future__ import annotations

import json
import re
from collections import deque
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.http.deps import Services
from isegoria.store.models import Account, Elector
from isegoria.store.models_cases import Juror
from tests.support.cases_world import build, report_request, run_jobs

MAX_PAGES = 400  # the crawl stops here; the world has far fewer public pages
HREF = re.compile(r'href="(/[^"#?]*)"')
SKIP_PREFIXES = ("/static/", "/logout", "/login", "/register", "/me", "/jury", "/language")


@pytest.fixture
def voted(app: FastAPI, clock: ManualClock) -> list[Account]:
    """Two adopted proposals with every citizen's vote, and a decided case; the citizens."""
    services: Services = app.state.services
    uow = services.uow()
    world = build(uow, clock, services.signer, volunteers=12)
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - timedelta(hours=1)),
        )
    run_jobs(uow, clock, services.signer)
    with uow.begin(readonly=True):
        jurors = list(uow.session.scalars(select(Juror)))
    for juror in jurors:
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case.id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case.id,
                violation=True,
                sanction="remove",
                suspension_days=None,
                reason="A threat.",
            )
    with uow.begin(readonly=True):
        voters = set(uow.session.scalars(select(Elector.account_id).where(Elector.has_voted)))
        assert len(voters) >= 12 and len(jurors) == 5
        assert (
            uow.session.scalar(select(Elector.ballot_id).where(Elector.ballot_id.is_not(None)))
            is None
        )
        return list(uow.session.scalars(select(Account).where(Account.id.in_(voters))))


def _crawl(client: TestClient) -> dict[str, str]:
    pages: dict[str, str] = {}
    queue = deque(["/", "/law", "/cases", "/log", "/proposals", "/law/MX"])
    while queue and len(pages) < MAX_PAGES:
        path = queue.popleft()
        if path in pages or path.startswith(SKIP_PREFIXES):
            continue
        answer = client.get(path)
        if answer.status_code != 200 or "text/html" not in answer.headers["content-type"]:
            continue
        pages[path] = answer.text
        queue.extend(HREF.findall(answer.text))
    return pages


def _public_api(client: TestClient) -> dict[str, str]:
    answers = {}
    start: int | None = 0
    while start is not None:
        page = client.get("/api/v1/log/entries", params={"start": start, "limit": 1000}).json()
        answers[f"/api/v1/log/entries?start={start}"] = json.dumps(page, ensure_ascii=False)
        start = page["next_start"]
    for path in ("/api/v1/log/keys", "/api/v1/log", "/api/v1/jurisdictions"):
        answers[path] = client.get(path).text
    return answers


def test_no_public_page_or_entry_names_a_voter_or_a_juror(
    voted: list[Account], client: TestClient
) -> None:
    pages = _crawl(client)
    assert any(p.startswith("/cases/") for p in pages), sorted(pages)
    assert any(p.startswith("/proposals/") for p in pages), sorted(pages)
    assert sum(p.startswith("/log/") for p in pages) > 20  # every entry has a page
    verdict_page = next(t for p, t in pages.items() if re.fullmatch(r"/cases/\d+", p))
    assert "A threat." in verdict_page  # the ballots are published, by pseudonym
    assert "Statement of reasons" in verdict_page
    corpus = {**pages, **_public_api(client)}
    for person in voted:
        # Logins and names of the volunteers are distinctive ("v003", "Volunteer 3").
        needles = [person.display_name, f'"{person.login}"', f">{person.login}<"]
        needles += [f'"account_id": {person.id}', f'"account_id":{person.id}']
        for where, text in corpus.items():
            for needle in needles:
                assert needle not in text, f"{where} names {person.login} ({needle!r})"
