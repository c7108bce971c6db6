"""Notes pages: a post with its notes, writing and rating by form, the note's explanation."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.clock import ManualClock
from isegoria.http.deps import Services
from isegoria.notes import scoring as notes_scoring
from tests.support.notes_world import SOURCE, NotesWorld, build, planted
from tests.support.world import csrf_from, login


@pytest.fixture
def world(app: FastAPI) -> NotesWorld:
    services: Services = app.state.services
    return build(services.uow())


def test_write_a_note_by_form_then_another_citizen_rates_it(
    app: FastAPI, world: NotesWorld
) -> None:
    with TestClient(app) as writer:
        login(writer, "writer")
        page = writer.get(f"/contents/{world.content_id}")
        assert page.status_code == 200 and "Write a note" in page.text
        form = {
            "csrf_token": csrf_from(page.text),
            "classification": "misinformed_or_potentially_misleading",
            "reasons": ["outdated_information", "factual_error"],
            "text": SOURCE,
            "language": "es",
        }
        forged = writer.post(
            f"/contents/{world.content_id}/notes", data={**form, "csrf_token": "x" * 40}
        )
        assert forged.status_code == 403
        bad = writer.post(
            f"/contents/{world.content_id}/notes", data={**form, "text": "No link in this text."}
        )
        assert bad.status_code == 422 and "http" in bad.text
        made = writer.post(f"/contents/{world.content_id}/notes", data=form, follow_redirects=False)
        assert made.status_code == 303
        note_url = made.headers["location"]
        own = writer.get(note_url)
        assert "Not shown yet: needs more ratings" in own.text
        assert "Rate this note" not in own.text  # writers cannot rate their own notes
    with TestClient(app) as rater:
        login(rater, "left00")
        queue = rater.get("/notes/rate")
        assert queue.status_code == 200 and SOURCE in queue.text
        # The token must come from the rating form itself (not from another form of the page).
        form_html = queue.text[queue.text.index(f'action="{note_url}/rating"') :]
        own_token = re.search(r'name="csrf_token" value="([^"]*)"', form_html)
        assert own_token and own_token.group(1) == csrf_from(queue.text)
        rated = rater.post(
            f"{note_url}/rating",
            data={
                "csrf_token": csrf_from(form_html),
                "helpfulness": "helpful",
                "tags": ["good_sources", "clear"],
                "back": "queue",
            },
            follow_redirects=False,
        )
        assert rated.status_code == 303 and rated.headers["location"] == "/notes/rate"
        assert "Nothing to rate right now" in rater.get("/notes/rate").text
        mine = rater.get(note_url)
        assert "Change my rating" in mine.text
        assert re.search(r'value="helpful" required checked', mine.text)
    with TestClient(app) as anyone:
        public = anyone.get(note_url).text
        assert "1 helpful, 0 somewhat helpful, 0 not helpful" in public
        assert "Left 0" not in public and "left00" not in public
        assert anyone.get("/notes/rate").status_code == 401


def test_note_page_explains_a_shown_note_with_an_accessible_chart(
    app: FastAPI, world: NotesWorld
) -> None:
    services: Services = app.state.services
    uow = services.uow()
    kinds = planted(uow, world)
    with uow.begin():
        notes_scoring.run_scoring(uow)
    bridging = min(i for i, k in kinds.items() if k == "bridging")
    partisan = min(i for i, k in kinds.items() if k == "left")
    with TestClient(app) as anyone:
        shown = anyone.get(f"/notes/{bridging}").text
        assert "Shown: rated helpful" in shown
        assert "It reaches the bar." in shown and "Its support crosses the divide." in shown
        assert "<svg" in shown and 'role="img"' in shown and "<title" in shown and "<desc" in shown
        assert "Raters of this note by viewpoint" in shown
        assert '<table class="chart-data">' in shown
        assert "scoring run" in shown  # the status history
        one_sided = anyone.get(f"/notes/{partisan}").text
        assert "It does not reach the bar." in one_sided
        assert "<script" not in one_sided
        assert anyone.get("/notes/999999").status_code == 404
        content = anyone.get(f"/contents/{world.content_id}")
        assert content.status_code == 200 and "Write a note" not in content.text


def test_pages_are_translated(app: FastAPI, world: NotesWorld) -> None:
    with TestClient(app) as anyone:
        page = anyone.get(f"/contents/{world.content_id}", headers={"Accept-Language": "es"})
        assert "Notas de contexto" in page.text


def test_case_page_shows_the_jury_note(app: FastAPI, clock: ManualClock) -> None:
    from tests.integration.test_notes_jury import JURY_NOTE, _case, _jurors, _vote
    from tests.support.cases_world import build as build_cases

    services: Services = app.state.services
    uow = services.uow()
    assert services.signer is not None
    world = build_cases(uow, clock, services.signer)
    case_id = _case(uow, clock, services.signer, world)
    with TestClient(app) as anyone:
        assert "No notes on this post yet." in anyone.get(f"/cases/{case_id}").text
    for juror in _jurors(uow, case_id, "first"):
        _vote(uow, case_id, juror, "note", JURY_NOTE)
    with TestClient(app) as anyone:
        page = anyone.get(f"/cases/{case_id}").text
        assert "Context notes on this post" in page and JURY_NOTE in page
        assert "from the jury of case" in page and "Shown: rated helpful" in page
